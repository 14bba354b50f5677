"""Privacy endpoints (admins only): a contact's personal data, and its erasure.

Both run in one write transaction, so that their record in the audit trail commits with them.
"""

from __future__ import annotations

from typing import Annotated

from anyio import to_thread
from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from ordino.kernel.auth import Principal, Role, database, forget_cached_keys, require
from ordino.kernel.endpoint import run_command
from ordino.kernel.http import dumps, json_response
from ordino.kernel.openapi import documented
from ordino.privacy import service
from ordino.privacy.schemas import ErasureOut, PersonalDataOut

router = APIRouter(prefix="/api/v1/contacts", tags=["privacy"])

Admin = Annotated[Principal, Depends(require(Role.ADMIN))]


@router.get(
    "/{contact_id}/personal-data", summary="Export everything held about a contact",
    description="GDPR art. 15 and 20: the contact, the addresses, orders, quotes, approvals, API keys "
                "and events that name the person, as one JSON document.",
    responses=documented(PersonalDataOut, problems={404: "The contact is not known or not visible to the key"}),
)
async def export_personal_data(contact_id: str, request: Request, principal: Admin) -> Response:
    db = database(request)
    doc = await to_thread.run_sync(
        db.transaction, lambda s: service.export_personal_data(s, contact_id, principal)
    )
    return json_response(doc)


@router.post(
    "/{contact_id}/erasure", summary="Erase a contact's personal data",
    description="GDPR art. 17: anonymises the contact wherever it is named and revokes its API keys; "
                "invoices and credit memos keep what they show for their legal retention. "
                "Erasing again answers the first erasure. Idempotent by `Idempotency-Key`; no body.",
    responses=documented(ErasureOut, problems={
        404: "The contact is not known or not visible to the key",
        409: "The contact's orders or quotes are still open (contact-has-open-business)",
    }),
)
async def erase_contact(contact_id: str, request: Request, principal: Admin) -> Response:
    body = await request.body()

    def work(session: Session) -> tuple[int, bytes]:
        return 200, dumps(service.erase_contact(session, contact_id, principal))

    response = await run_command(request, principal, work, body)
    forget_cached_keys()  # after commit: the revoked keys stop working in this process at once
    return response
