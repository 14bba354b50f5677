"""RFC 9457 responses: a `Problem` (or a payload validation error, an HTTP error, a database that
cannot be reached, an unexpected exception) as `application/problem+json`. The app installs
these handlers (`create_app`)."""

from __future__ import annotations

import logging

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from ordino.kernel.db import is_nul_refusal, is_unavailable
from ordino.kernel.errors import (
    NUL_MESSAGE,
    PROBLEM_JSON,
    FieldError,
    HttpError,
    InternalError,
    Problem,
    ServiceUnavailable,
    ValidationFailed,
    field_path,
)

log = logging.getLogger("ordino.api")
UNEXPECTED = "An unexpected error occurred; it has been logged."


def problem_response(problem: Problem, instance: str | None = None) -> Response:
    return Response(
        orjson.dumps(problem.body(instance)),
        status_code=problem.status,
        media_type=PROBLEM_JSON,
        headers=problem.headers() or None,
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

    async def on_database(request: Request, exc: Exception) -> Response:
        if is_unavailable(exc):
            log.warning("database unavailable: %s %s: %s", request.method, request.url.path, type(exc).__name__)
            return problem_response(ServiceUnavailable("the database cannot be reached; retry later"),
                                    request.url.path)
        if is_nul_refusal(exc):
            return problem_response(ValidationFailed([FieldError("request", NUL_MESSAGE)]), request.url.path)
        return await on_unexpected(request, exc)

    async def on_unexpected(request: Request, exc: Exception) -> Response:
        log.error("unexpected error: %s %s", request.method, request.url.path, exc_info=exc)
        return problem_response(InternalError(UNEXPECTED), request.url.path)

    app.add_exception_handler(Problem, on_problem)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(DBAPIError, on_database)
    app.add_exception_handler(PoolTimeout, on_database)
    # An `Exception` handler goes to Starlette's outermost ServerErrorMiddleware, which answers and
    # then raises the error again (the server logs it twice and closes the keep-alive connection):
    # `kernel.guard` answers unexpected errors itself; this one is for errors of the middleware.
    app.add_exception_handler(Exception, on_unexpected)
