"""RFC 9457 responses: a `Problem` (or a payload validation error, an HTTP error, an unexpected
exception) as `application/problem+json`. The app installs these handlers (`create_app`)."""

from __future__ import annotations

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from ordino.kernel.errors import (
    PROBLEM_JSON,
    FieldError,
    HttpError,
    InternalError,
    Problem,
    ValidationFailed,
    field_path,
)


def problem_response(problem: Problem, instance: str | None = None) -> Response:
    # RFC 9110 §15.5.2: a 401 response must say how to authenticate.
    headers = problem.headers()
    if problem.status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return Response(
        orjson.dumps(problem.body(instance)),
        status_code=problem.status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


def _validation_errors(exc: RequestValidationError) -> list[FieldError]:
    errors = []
    for err in exc.errors():
        msg = str(err.get("msg", "invalid"))
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
        errors.append(FieldError(field_path(err.get("loc", ())), msg))
    return errors


def install_problem_handlers(app: FastAPI) -> None:
    async def on_problem(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Problem)
        return problem_response(exc, request.url.path)

    async def on_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return problem_response(ValidationFailed(_validation_errors(exc)), request.url.path)

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        response = problem_response(HttpError(exc.status_code, str(exc.detail)), request.url.path)
        if exc.headers:
            response.headers.update(exc.headers)
        return response

    async def on_unexpected(request: Request, exc: Exception) -> Response:
        return problem_response(InternalError("An unexpected error occurred; it has been logged."), request.url.path)

    app.add_exception_handler(Problem, on_problem)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_unexpected)
