"""Process exception endpoints: list, read, assign, retry, and the lifecycle actions (triage,
pause, ignore, void, resolve with a note)."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import Field
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from ordino.kernel.auth import Principal, Role, database, require
from ordino.kernel.db import Database
from ordino.kernel.endpoint import body_schema, parse_body, read_json, run_command, run_in_steps
from ordino.kernel.errors import FieldError, NotFound, ValidationFailed
from ordino.kernel.http import dumps, json_response
from ordino.kernel.idempotency import Command, Outcome
from ordino.kernel.ids import parse_id
from ordino.kernel.openapi import documented, one_of
from ordino.kernel.schema import Page, Strict
from ordino.orders.process_exceptions import retries, service
from ordino.orders.process_exceptions.models import CATEGORIES, SEVERITIES, STATUSES
from ordino.orders.process_exceptions.schemas import ProcessExceptionOut
from ordino.payments import orchestrator
from ordino.payments.gateway import gateways_of
from ordino.payments.methods import MethodSpec

router = APIRouter(prefix="/api/v1/process-exceptions", tags=["process exceptions"])

Staff = Annotated[Principal, Depends(require(Role.ADMIN, Role.AGENT))]


Text = Annotated[str, Field(min_length=1, max_length=500)]


class ActionIn(Strict):
    reason: Text | None = None
    note: Annotated[
        str, Field(min_length=1, max_length=2000, description="resolve only: the resolution note")
    ] | None = None


class AssignIn(Strict):
    assignee: Annotated[str, Field(min_length=1, max_length=120, description="a user's or API key's name")] | None


class PaymentMethodIn(Strict):
    method: Literal["card", "wallet"]
    gateway: Annotated[str, Field(min_length=1, max_length=60)]
    token: Annotated[str, Field(min_length=1, max_length=200)]
    card_brand: Annotated[str, Field(min_length=1, max_length=40)] | None = None
    card_last4: Annotated[str, Field(pattern=r"^[0-9]{4}$")] | None = None


class RetryIn(Strict):
    payment_method: PaymentMethodIn | None = Field(
        None, description="a declined authorization only: the card to authorize instead of the declined one",
    )


def _ident(exception_id: str) -> uuid.UUID:
    ident = parse_id(exception_id)
    if ident is None:
        raise NotFound("process exception not found")
    return ident


@router.get(
    "", summary="List process exceptions, newest first",
    responses=documented(Page[ProcessExceptionOut]),
)
async def list_exceptions(
    request: Request,
    principal: Staff,
    status: Annotated[str | None, one_of(STATUSES)] = None,
    category: Annotated[str | None, one_of(CATEGORIES)] = None,
    severity: Annotated[str | None, one_of(SEVERITIES)] = None,
    order: Annotated[str | None, Query(description="An order id or number")] = None,
    active: bool | None = None,
    assignee: Annotated[str | None, Query(max_length=120, description="Who the exceptions are assigned to")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> Response:
    f = service.ExceptionFilter(status, category, severity, order, active, assignee)

    def read() -> Response:
        with database(request).read() as session:
            return json_response(service.list_exceptions(session, principal, f, limit, cursor))

    return await run_in_threadpool(read)


@router.get(
    "/{exception_id}", summary="Get a process exception with its status history",
    responses=documented(ProcessExceptionOut, problems=(404,)),
)
async def get_exception(exception_id: str, request: Request, principal: Staff) -> Response:
    return await read_json(request, lambda session: service.get_exception(session, exception_id, principal))


@router.post(
    "/{exception_id}/assign", summary="Assign a process exception to a person, or to nobody",
    openapi_extra=body_schema(AssignIn),
    responses=documented(ProcessExceptionOut, problems={
        404: "The exception is not known", 409: "The exception is resolved, ignored or voided",
    }),
)
async def assign(exception_id: str, request: Request, principal: Staff) -> Response:
    body = await request.body()
    data = parse_body(AssignIn, body)
    ident = _ident(exception_id)

    def work(session: Session) -> tuple[int, bytes]:
        service.get_exception(session, ident, principal)
        service.assign(session, ident, data.assignee)
        return 200, dumps(service.get_exception(session, ident, principal))

    return await run_command(request, principal, work, body)


@router.post(
    "/{exception_id}/retry", summary="Re-run the step that failed",
    description=(
        "A dead letter is put back in the queue and the exception is resolved once it is delivered; a declined"
        " authorization is authorized again (with `payment_method` when given), and the exception is resolved"
        " when it succeeds; a failed capture or refund is tried again. A retry that fails keeps the exception"
        " with its new `error` and `retry_count` one higher."
    ),
    openapi_extra=body_schema(RetryIn),
    responses=documented(ProcessExceptionOut, problems={
        404: "The exception is not known",
        409: "The exception is resolved, ignored or voided, or names no step to re-run",
    }),
)
async def retry(exception_id: str, request: Request, principal: Staff) -> Response:
    body = await request.body()
    data = parse_body(RetryIn, body) if body else RetryIn()
    ident = _ident(exception_id)
    gateways = gateways_of(request)
    retriers: retries.Retriers = getattr(request.app.state, "process_exception_retriers", retries.RETRIERS)
    method = MethodSpec(**data.payment_method.model_dump()) if data.payment_method is not None else None

    def steps(db: Database, command: Command) -> Outcome:
        with db.read() as session:
            service.get_exception(session, ident, principal)
        return orchestrator.run_then_answer(
            db, command,
            lambda: retries.retry(db, gateways, retriers, ident, payment_method=method, actor=principal.actor),
            lambda s: (200, dumps(service.get_exception(s, ident, principal))),
        )

    return await run_in_steps(request, principal, body, steps)



@router.post(
    "/{exception_id}/{action}",
    summary="Triage, pause, ignore, void or resolve a process exception",
    description=(
        "`action` is one of triage, pause, ignore, void, resolve. The body is optional: "
        '`{"reason": "…"}` goes into the status history; resolve also takes `{"note": "…"}`, the resolution note. '
        "An action the status does not allow is 409."
    ),
    responses=documented(
        ProcessExceptionOut,
        problems={404: "The exception or the action is not known", 409: "The status does not allow the action"},
    ),
)
async def act(
    exception_id: str,
    action: Annotated[str, Path(json_schema_extra={"enum": list(service.ACTIONS)})],
    request: Request,
    principal: Staff,
) -> Response:
    if action not in service.ACTIONS:
        raise NotFound(f"no action '{action}' on process exceptions")
    body = await request.body()
    data = parse_body(ActionIn, body) if body else ActionIn()
    ident = _ident(exception_id)
    if data.note is not None and action != "resolve":
        raise ValidationFailed([FieldError("note", "is only taken by resolve")])

    def work(session: Session) -> tuple[int, bytes]:
        service.get_exception(session, ident, principal)  # 404 for unknown or foreign ones
        service.transition(session, ident, action, actor=principal.actor, reason=data.reason, note=data.note)
        return 200, dumps(service.get_exception(session, ident, principal))

    return await run_command(request, principal, work, body)
