"""A contact's notification preferences: GET and PUT /accounts/{ref}/contacts/{contact_id}/notifications."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from ordino.accounts import service as accounts
from ordino.kernel.auth import Principal, Role, database, require
from ordino.kernel.endpoint import body_schema, parse_body, read
from ordino.kernel.http import json_response
from ordino.kernel.openapi import documented
from ordino.notifications import service
from ordino.notifications.schemas import NotificationsIn, NotificationsOut

router = APIRouter(prefix="/api/v1", tags=["accounts"])

Reader = Annotated[Principal, Depends(require())]  # every role; a buyer sees only its own account
Writer = Annotated[Principal, Depends(require(Role.ADMIN, Role.AGENT))]
PATH = "/accounts/{ref}/contacts/{contact_id}/notifications"


def _doc(session: Session, ref: str, contact_id: str, principal: Principal) -> dict[str, Any]:
    contact = accounts.get_contact(session, ref, contact_id, principal)  # 404 outside the key's account
    return service.notifications_doc(session, uuid.UUID(str(contact["id"])))


@router.get(PATH, summary="Which e-mail notifications a contact receives",
            responses=documented(NotificationsOut, problems=(404,)))
async def get_notifications(ref: str, contact_id: str, request: Request, principal: Reader) -> Response:
    return json_response(await read(request, lambda s: _doc(s, ref, contact_id, principal)))


@router.put(PATH, summary="Choose which e-mail notifications a contact receives",
            openapi_extra=body_schema(NotificationsIn), responses=documented(NotificationsOut, problems=(404,)))
async def set_notifications(ref: str, contact_id: str, request: Request, principal: Writer) -> Response:
    body = parse_body(NotificationsIn, await request.body())

    def work(session: Session) -> dict[str, Any]:
        contact = accounts.get_contact(session, ref, contact_id, principal)
        service.set_preferences(session, uuid.UUID(str(contact["id"])), body.kinds)
        return _doc(session, ref, contact_id, principal)

    return json_response(await run_in_threadpool(database(request).transaction, work))
