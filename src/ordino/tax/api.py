"""Tax profiles of accounts: business or consumer, and exemption certificates."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from ordino.kernel.auth import Principal, Role, database, require
from ordino.kernel.endpoint import body_schema, parse_body, read
from ordino.kernel.http import etag, json_response
from ordino.kernel.openapi import documented
from ordino.tax import service
from ordino.tax.schemas import TaxProfileIn, TaxProfileOut

router = APIRouter(prefix="/api/v1", tags=["tax"])

Reader = Annotated[Principal, Depends(require(Role.ADMIN, Role.AGENT, Role.FINANCE, Role.INTEGRATION))]
Writer = Annotated[Principal, Depends(require(Role.ADMIN, Role.FINANCE))]
IfMatch = Annotated[str | None, Header(description="The profile's ETag; required once a profile exists")]


@router.get(
    "/accounts/{number}/tax-profile", summary="Get an account's tax profile",
    responses=documented(TaxProfileOut, problems={404: "The account is not known (or not the key's)"}),
)
async def get_tax_profile(number: str, request: Request, principal: Reader) -> Response:
    doc = await read(request, lambda session: service.get_profile(session, number, principal))
    return json_response(doc, headers={"ETag": etag(doc["version"])})


@router.put(
    "/accounts/{number}/tax-profile",
    summary="Set an account's tax profile",
    description=(
        "`business: false` taxes the account's orders as consumer sales (EU: at the destination's rate). "
        "Certificates exempt the account's orders shipped to the regions they cover ('US' or 'US-CA'), "
        "up to and including `expires_on`. The list replaces the account's certificates."
    ),
    openapi_extra=body_schema(TaxProfileIn),
    responses=documented(TaxProfileOut, problems=(404, 409, 428)),
)
async def put_tax_profile(number: str, request: Request, principal: Writer, if_match: IfMatch = None) -> Response:
    data = parse_body(TaxProfileIn, await request.body())

    def work(session: Session) -> dict[str, object]:
        return service.put_profile(session, number, data, if_match, actor=principal)

    doc = await run_in_threadpool(database(request).transaction, work)
    return json_response(doc, headers={"ETag": etag(int(str(doc["version"])))})
