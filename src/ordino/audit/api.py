"""GET /api/v1/audit-events: the audit log, for admin and finance keys not scoped to an account.

The log is installation-wide (price books, API keys and other keys' grants are in it), so a key
scoped to an account reads none of it (403), whatever its role.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from ordino.audit import service
from ordino.audit.domain import Action
from ordino.audit.schemas import AuditEventOut
from ordino.kernel.auth import Principal, Role, require_unscoped
from ordino.kernel.endpoint import read_json
from ordino.kernel.openapi import documented
from ordino.kernel.schema import AwareDatetime, Page

router = APIRouter(prefix="/api/v1", tags=["audit"])

Auditor = Annotated[Principal, Depends(require_unscoped(Role.ADMIN, Role.FINANCE, what="read the audit log"))]


@router.get(
    "/audit-events", summary="List the audit log, newest first",
    description=(
        "Privileged changes (refunds, price, credit-limit, tax-profile and contact-role changes, API keys, "
        "data exports and erasures) with who, when, the subject, and the changed fields before and after. "
        "Each entry carries the hash of the one before; `ordino audit verify` checks the chain."
    ),
    responses=documented(Page[AuditEventOut]),
)
async def list_audit_events(
    request: Request,
    principal: Auditor,
    action: Action | None = None,
    subject_type: Annotated[str | None, Query(description="`payment`, `price_book`, `account` …")] = None,
    subject_id: str | None = None,
    actor: Annotated[str | None, Query(description="An API key's id, or an actor's name")] = None,
    account_id: Annotated[uuid.UUID | None, Query(description="Entries about this account's records")] = None,
    since: Annotated[AwareDatetime | None, Query(description="Entries recorded at or after this time")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> Response:
    f = service.AuditFilter(action.value if action else None, subject_type, subject_id, actor, account_id, since)
    return await read_json(request, lambda session: service.list_events(session, f, limit, cursor))
