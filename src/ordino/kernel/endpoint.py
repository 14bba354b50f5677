"""Helpers for writing endpoints: body validation and idempotent command execution."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, TypeVar

from anyio import to_thread
from fastapi import Request
from pydantic import BaseModel, ValidationError
from pydantic_core import from_json
from sqlalchemy.orm import Session
from starlette.responses import Response

from ordino.kernel import idempotency
from ordino.kernel.auth import Principal, database
from ordino.kernel.combining import Combiner, combiner, command_slots
from ordino.kernel.db import Database
from ordino.kernel.errors import NUL_MESSAGE, FieldError, ValidationFailed, field_path
from ordino.kernel.http import json_response, raw_json

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")
C = TypeVar("C")


_NUL = b"\\u0000"  # how JSON writes the NUL character (a raw one is not valid JSON)
NON_FINITE_MESSAGE = "must be a finite number: NaN and Infinity are not JSON"
_UNPARSED: Any = object()


def parse_body(model: type[M], body: bytes) -> M:
    """Validate a JSON body, parsed once; every problem is reported with its field path. Strings
    holding NUL (PostgreSQL cannot store them) and NaN or Infinity (which the parser accepts,
    though they are not JSON) are refused too."""
    if not body:
        raise ValidationFailed([FieldError("body", "a JSON body is required")])
    if _NUL in body:  # rare: only then is the body looked at twice
        _refuse_nul(body)
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        raise ValidationFailed(_field_errors(exc, body)) from None


def _loads(body: bytes) -> Any:
    """The body as Python values, NaN and Infinity included (a second parse: refusals only)."""
    try:
        return from_json(body, allow_inf_nan=True)
    except ValueError:
        return _UNPARSED


def _field_errors(exc: ValidationError, body: bytes) -> list[FieldError]:
    errors = []
    data: Any = _UNPARSED
    for err in exc.errors(include_url=False):
        msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        if err.get("type") == "json_invalid":
            errors.append(FieldError("body", f"is not valid JSON: {err.get('ctx', {}).get('error', msg)}"))
            continue
        if data is _UNPARSED:
            data = _loads(body)  # valid JSON: only then are there field errors
        value = err.get("input")
        if isinstance(value, float) and not math.isfinite(value):
            msg = NON_FINITE_MESSAGE
        loc = err.get("loc", ())
        errors.append(FieldError(field_path(loc, data) if data is not _UNPARSED else field_path(loc), msg))
    return errors


def _refuse_nul(body: bytes) -> None:
    data = _loads(body)
    if data is _UNPARSED:
        return  # not JSON: validation says so
    found: list[FieldError] = []
    stack: list[tuple[str, Any]] = [("", data)]
    while stack:
        path, node = stack.pop()
        if isinstance(node, str):
            if "\x00" in node:
                found.append(FieldError(path or "body", NUL_MESSAGE))
        elif isinstance(node, dict):
            for key, value in reversed(node.items()):
                name = key.replace("\x00", "\\u0000")
                stack.append((f"{path}.{name}" if path else name, value))
                if name != key:
                    found.append(FieldError(stack[-1][0], NUL_MESSAGE))
        elif isinstance(node, list):
            stack.extend((f"{path}[{i}]", value) for i, value in reversed(list(enumerate(node))))
    if found:
        raise ValidationFailed(found)


async def read(request: Request, use_case: Callable[[Session], T]) -> T:
    """Run a read use case in a read transaction on a worker thread, so the event loop never waits
    on the database."""

    def run() -> T:
        with database(request).read() as session:
            return use_case(session)

    return await to_thread.run_sync(run)


async def read_json(request: Request, use_case: Callable[[Session], Any]) -> Response:
    """`read`, answered as JSON."""
    return json_response(await read(request, use_case))


def body_schema(model: type[BaseModel]) -> dict[str, Any]:
    """`openapi_extra` documenting a body that the endpoint validates itself."""
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": model.model_json_schema(ref_template="#/components/schemas/{model}")
                }
            },
        }
    }


def command(request: Request, principal: Principal, body: bytes) -> idempotency.Command:
    """The request as a state-changing command: its key, Idempotency-Key, method, path and body."""
    return idempotency.Command(
        principal.key_id, request.headers.get("idempotency-key"), request.method, request.url.path, body
    )


async def run_command(
    request: Request,
    principal: Principal,
    work: idempotency.Work,
    body: bytes,
    headers: Callable[[int, bytes], dict[str, str]] | None = None,
) -> Response:
    """Run a state-changing command in one transaction under the request's Idempotency-Key.
    `work` answers (status, body), or `idempotency.Deferred` to take contended rows last."""
    run = partial(command(request, principal, body).run, database(request), work)
    outcome = await to_thread.run_sync(run, limiter=command_slots())
    extra = headers(outcome.status_code, outcome.body) if headers else {}
    return _respond(outcome, extra)


async def run_in_steps(
    request: Request,
    principal: Principal,
    body: bytes,
    steps: Callable[[Database, idempotency.Command], idempotency.Outcome],
) -> Response:
    """Run a command that cannot be one transaction (it calls another system between two, e.g.
    payments.orchestrator): `steps` runs in a worker thread, owns its transactions, and ends with
    `command.run`, which stores its answer under the Idempotency-Key or replays the stored one."""
    cmd = command(request, principal, body)
    if cmd.key is not None:
        idempotency.check_key(cmd.key)  # before anything runs, not only when the answer is stored
    outcome = await to_thread.run_sync(steps, database(request), cmd)
    return _respond(outcome, {})


async def run_combined(
    request: Request, use_case: str, run_calls: Callable[[Database, Sequence[C]], Sequence[Any]], call: C
) -> Response:
    """Submit `call` to the process's combiner of `use_case` (kernel.combining): it runs with the
    calls that arrive at the same moment, through `run_calls`, and answers as if alone."""
    db = database(request)
    batches: Combiner[C, idempotency.Outcome] = combiner((use_case, db), lambda: Combiner(partial(run_calls, db)))
    return _respond(await batches.submit(call), {})


def _respond(outcome: idempotency.Outcome, extra: dict[str, str]) -> Response:
    if outcome.replayed:
        extra["Idempotent-Replayed"] = "true"
    return raw_json(outcome.body, outcome.status_code, extra)
