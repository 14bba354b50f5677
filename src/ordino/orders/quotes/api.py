"""Quotes: requested by buyers or agents, priced by agents, accepted into orders.

POST /quotes (a buyer for its own account, or staff) requests prices; agents price (POST
/quotes/{ref}/price) and send (/send) it; the buyer accepts (/accept: the order is answered, 201,
and the same order again, 200) or rejects (/reject) it. An expired quote answers 409 naming its
expiry. Commands are idempotent by `Idempotency-Key`; PATCH needs `If-Match`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Header, Query, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from ordino.kernel.auth import Principal, Role, database, require
from ordino.kernel.endpoint import body_schema, parse_body, read, read_json, run_command
from ordino.kernel.http import dumps, etag, json_response
from ordino.kernel.openapi import documented
from ordino.kernel.schema import Page
from ordino.orders.intake import check_gateways
from ordino.orders.quotes import service as quotes
from ordino.orders.quotes.schemas import (
    QuoteAcceptIn,
    QuoteIn,
    QuoteOut,
    QuotePatch,
    QuotePricingIn,
    QuoteRejectIn,
    QuoteRowOut,
    QuoteStatus,
)
from ordino.orders.schemas import OrderOut
from ordino.payments.gateway import gateways_of

router = APIRouter(prefix="/api/v1", tags=["quotes"])

Reader = Annotated[Principal, Depends(require())]
Buyer = Annotated[Principal, Depends(require(Role.ADMIN, Role.AGENT, Role.BUYER))]
Agent = Annotated[Principal, Depends(require(Role.ADMIN, Role.AGENT))]
Doc = dict[str, Any]
QUOTE_PROBLEMS = {404: "The quote is not known", 409: "The status does not allow the action"}


async def _command(request: Request, principal: Principal, use_case: Callable[[Session], Doc]) -> Response:
    body = await request.body()
    return await run_command(request, principal, lambda s: (200, dumps(use_case(s))), body)


@router.post(
    "/quotes", status_code=201, summary="Request a quote", openapi_extra=body_schema(QuoteIn),
    responses=documented(QuoteOut, 201, problems={404: "The account, channel or a SKU is not known"}),
)
async def create_quote(request: Request, principal: Buyer) -> Response:
    body = await request.body()
    data = parse_body(QuoteIn, body)
    base = request.url.path

    def work(session: Session) -> tuple[int, bytes]:
        return 201, dumps(quotes.create_quote(session, data, principal))

    def headers(_status: int, payload: bytes) -> dict[str, str]:
        doc = orjson.loads(payload)
        return {"Location": f"{base}/{doc['id']}", "ETag": etag(doc["version"])}

    return await run_command(request, principal, work, body, headers)


@router.get(
    "/quotes", summary="List quotes, newest first",
    responses=documented(Page[QuoteRowOut]),
)
async def list_quotes(
    request: Request,
    principal: Reader,
    status: QuoteStatus | None = None,
    account: Annotated[str | None, Query(description="An account number")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> Response:
    f = quotes.QuoteFilter(status, account)
    return await read_json(request, lambda session: quotes.list_quotes(session, principal, f, limit, cursor))



@router.get(
    "/quotes/{ref}", summary="Get a quote by id or number",
    responses=documented(QuoteOut, problems=(404,)),
)
async def get_quote(ref: str, request: Request, principal: Reader) -> Response:
    doc = await read(request, lambda session: quotes.get_quote(session, ref, principal))
    return json_response(doc, headers={"ETag": etag(doc["version"])})


@router.patch(
    "/quotes/{ref}",
    summary="Change a quote request's lines or notes",
    description="While the quote is a draft or requested. `lines` replaces all lines.",
    openapi_extra=body_schema(QuotePatch),
    responses=documented(QuoteOut, problems=(404, 409, 428)),
)
async def update_quote(
    ref: str, request: Request, principal: Buyer,
    if_match: Annotated[str | None, Header(description="The quote's ETag (its version)")] = None,
) -> Response:
    patch = parse_body(QuotePatch, await request.body())
    doc = await run_in_threadpool(
        database(request).transaction, lambda s: quotes.update_quote(s, ref, patch, if_match, principal)
    )
    return json_response(doc, headers={"ETag": etag(doc["version"])})


@router.post(
    "/quotes/{ref}/submit", summary="Request prices for a draft quote",
    responses=documented(QuoteOut, problems=QUOTE_PROBLEMS),
)
async def submit_quote(ref: str, request: Request, principal: Buyer) -> Response:
    return await _command(request, principal, lambda s: quotes.submit_quote(s, ref, principal))


@router.post(
    "/quotes/{ref}/price",
    summary="Price a quote (agents)",
    description=(
        "Lines take their catalog price and automatic promotions unless a `unit_price` is given; "
        "`discount_percent` or `discount_amount` come off the line. `valid_until` is the expiry."
    ),
    openapi_extra=body_schema(QuotePricingIn),
    responses=documented(QuoteOut, problems=QUOTE_PROBLEMS),
)
async def price_quote(ref: str, request: Request, principal: Agent) -> Response:
    data = parse_body(QuotePricingIn, await request.body())
    return await _command(request, principal, lambda s: quotes.price_quote(s, ref, data, principal))


@router.post(
    "/quotes/{ref}/send", summary="Send a priced quote to the buyer (agents)",
    responses=documented(QuoteOut, problems=QUOTE_PROBLEMS),
)
async def send_quote(ref: str, request: Request, principal: Agent) -> Response:
    return await _command(request, principal, lambda s: quotes.send_quote(s, ref, principal))


@router.post(
    "/quotes/{ref}/reject", summary="Decline a quote", openapi_extra=body_schema(QuoteRejectIn),
    responses=documented(QuoteOut, problems=QUOTE_PROBLEMS),
)
async def reject_quote(ref: str, request: Request, principal: Buyer) -> Response:
    body = await request.body()
    data = parse_body(QuoteRejectIn, body) if body else QuoteRejectIn()
    return await _command(request, principal, lambda s: quotes.reject_quote(s, ref, data.reason, principal))


@router.post(
    "/quotes/{ref}/accept",
    status_code=201,
    summary="Accept a sent quote: it becomes an order",
    description=(
        "Answers the order (201), placed at the quoted prices with this ship-to and payments; accepting "
        "again answers the same order (200). A quote past its `valid_until` is 409 `quote-expired`."
    ),
    openapi_extra=body_schema(QuoteAcceptIn),
    responses=documented(
        OrderOut, 201, description="The order placed", also={200: "The quote was accepted before: its order"},
        problems={404: "The quote is not known", 409: "The quote is not sent, or expired (`quote-expired`)"},
    ),
)
async def accept_quote(ref: str, request: Request, principal: Buyer) -> Response:
    body = await request.body()
    data = parse_body(QuoteAcceptIn, body)
    check_gateways(data.payments, gateways_of(request))
    # An expired quote is marked so in its own transaction, before the acceptance is refused.
    await run_in_threadpool(database(request).transaction, lambda s: quotes.expire_due(s, ref, principal))

    def work(session: Session) -> tuple[int, bytes]:
        created, order = quotes.accept_quote(session, ref, data, principal)
        return (201 if created else 200), dumps(order)

    def headers(_status: int, payload: bytes) -> dict[str, str]:
        return {"Location": f"/api/v1/orders/{orjson.loads(payload)['id']}"}

    return await run_command(request, principal, work, body, headers)
