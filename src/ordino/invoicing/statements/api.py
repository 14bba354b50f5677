"""Account statements: open items, payments, balance, aging, and the credit left."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from ordino.invoicing.schemas import StatementOut
from ordino.invoicing.statements.service import statement
from ordino.kernel import clock
from ordino.kernel.auth import Principal, Role, require
from ordino.kernel.endpoint import read_json
from ordino.kernel.openapi import documented

router = APIRouter(prefix="/api/v1", tags=["invoicing"])

# Buyers see their own account's statement (and its children's, when they belong to the parent).
Reader = Annotated[Principal, Depends(require(Role.ADMIN, Role.AGENT, Role.FINANCE, Role.BUYER))]


@router.get(
    "/accounts/{number}/statement",
    summary="An account's statement",
    description=(
        "Open invoices with their balance, days past due and aging bucket (not yet due, 1–30, 31–60, "
        "61–90, over 90 days) as of `as_of` (default today), open credit memos, the latest remittances "
        "with what was applied, the balance per currency, and every credit limit covering the account "
        "with its exposure and what is available."
    ),
    responses=documented(StatementOut, problems={404: "The account is not known"}),
)
async def get_statement(
    number: str, request: Request, principal: Reader, as_of: date | None = None,
    include_children: Annotated[bool, Query(description="Include the accounts below this one")] = False,
) -> Response:
    day = as_of or clock.now().date()
    return await read_json(
        request, lambda session: statement(session, number, principal, day, include_children=include_children)
    )

