"""Process exception endpoints: list, read, and the lifecycle actions (triage, pause, ignore,
void, resolve)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import Field
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from ordino.kernel.auth import Principal, Role, database, require
from ordino.kernel.endpoint import parse_body, read_json, run_command
from ordino.kernel.errors import NotFound
from ordino.kernel.http import dumps, json_response
from ordino.kernel.ids import parse_id
from ordino.kernel.openapi import documented, one_of
from ordino.kernel.schema import Page, Strict
from ordino.orders.process_exceptions import service
from ordino.orders.process_exceptions.models import CATEGORIES, SEVERITIES, STATUSES
from ordino.orders.process_exceptions.schemas import ProcessExceptionOut

router = APIRouter(prefix="/api/v1/process-exceptions", tags=["process exceptions"])

Staff = Annotated[Principal, Depends(require(Role.ADMIN, Role.AGENT))]


class ActionIn(Strict):
    reason: Annotated[str, Field(min_length=1, max_length=500)] | None = None


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
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> Response:
    f = service.ExceptionFilter(status, category, severity, order, active)

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
    "/{exception_id}/{action}",
    summary="Triage, pause, ignore, void or resolve a process exception",
    description=(
        "`action` is one of triage, pause, ignore, void, resolve. The body is optional: "
        '`{"reason": "…"}` goes into the status history. An action the status does not allow is 409.'
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
    ident = parse_id(exception_id)
    if ident is None:
        raise NotFound("process exception not found")

    def work(session: Session) -> tuple[int, bytes]:
        service.get_exception(session, ident, principal)  # 404 for unknown or foreign ones
        service.transition(session, ident, action, actor=principal.actor, reason=data.reason)
        return 200, dumps(service.get_exception(session, ident, principal))

    return await run_command(request, principal, work, body)
