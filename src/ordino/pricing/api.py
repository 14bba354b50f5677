"""Pricing endpoints: /price-books (with entries and accounts), /promotions (with coupons) and
POST /prices/quote.

Thin: validate the payload, run the use case in one transaction, answer JSON. Creations are
idempotent by `Idempotency-Key`; updates need `If-Match` with the ETag (the record's version).
Staff read price books and promotions (contract prices and coupons are not for buyers); admins set
price books, integration also syncs their entries, agents keep promotions and coupons. A
buyer may ask for a quote for its own account.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, TypeVar

import orjson
from fastapi import APIRouter, Depends, Header, Query, Request
from pydantic import BaseModel
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from ordino.kernel.auth import Principal, Role, database, require
from ordino.kernel.endpoint import body_schema, parse_body, read, read_json, run_command
from ordino.kernel.errors import FieldError, ValidationFailed
from ordino.kernel.http import dumps, etag, json_response
from ordino.kernel.openapi import documented
from ordino.kernel.schema import Page
from ordino.pricing import books, promotions, service
from ordino.pricing.schemas import (
    AccountsIn,
    BookKind,
    CouponOut,
    CouponPatch,
    CouponsIn,
    CouponsOut,
    EntriesIn,
    PriceBookAccountsOut,
    PriceBookEntriesOut,
    PriceBookIn,
    PriceBookOut,
    PriceBookPatch,
    PriceQuoteOut,
    PromotionIn,
    PromotionKind,
    PromotionLevel,
    PromotionOut,
    PromotionPatch,
    QuoteIn,
)

router = APIRouter(prefix="/api/v1", tags=["pricing"])

STAFF = (Role.ADMIN, Role.AGENT, Role.FULFILLMENT, Role.FINANCE, Role.INTEGRATION)
Reader = Annotated[Principal, Depends(require(*STAFF))]
Writer = Annotated[Principal, Depends(require(Role.ADMIN, Role.AGENT))]  # promotions and coupons
# Price books are a pricing decision (admin); their entries are also synced from an ERP (integration).
BookWriter = Annotated[Principal, Depends(require(Role.ADMIN))]
PriceWriter = Annotated[Principal, Depends(require(Role.ADMIN, Role.INTEGRATION))]
Quoter = Annotated[Principal, Depends(require())]  # a buyer quotes for its own account

M = TypeVar("M", bound=BaseModel)
Doc = dict[str, Any]
Limit = Annotated[int, Query(ge=1, le=200)]
IfMatch = Annotated[str | None, Header(description="The record's ETag (its version)")]


def _versioned(doc: Doc) -> Response:
    return json_response(doc, headers={"ETag": etag(doc["version"])})




async def _create(
    request: Request, principal: Principal, model: type[M], use_case: Callable[[Session, M], Doc]
) -> Response:
    body = await request.body()
    data = parse_body(model, body)
    base = request.url.path

    def work(session: Session) -> tuple[int, bytes]:
        return 201, dumps(use_case(session, data))

    def headers(_status: int, payload: bytes) -> dict[str, str]:
        doc = orjson.loads(payload)
        return {"Location": f"{base}/{doc['id']}", "ETag": etag(doc["version"])}

    return await run_command(request, principal, work, body, headers)


async def _command(
    request: Request, principal: Principal, model: type[M], use_case: Callable[[Session, M], Doc], status: int = 200
) -> Response:
    """A change under the Idempotency-Key that answers a document without a location."""
    body = await request.body()
    data = parse_body(model, body)
    return await run_command(request, principal, lambda s: (status, dumps(use_case(s, data))), body)


async def _update(request: Request, model: type[M], use_case: Callable[[Session, M], Doc]) -> Response:
    patch = parse_body(model, await request.body())
    doc = await run_in_threadpool(database(request).transaction, lambda s: use_case(s, patch))
    return _versioned(doc)


# ----------------------------------------------------------------------------------------------
# Price books


@router.post(
    "/price-books", status_code=201, summary="Create a price book", openapi_extra=body_schema(PriceBookIn),
    responses=documented(PriceBookOut, 201, problems={409: "The code is in use"}),
)
async def create_price_book(request: Request, principal: BookWriter) -> Response:
    return await _create(request, principal, PriceBookIn, books.create_book)


@router.get(
    "/price-books", summary="List price books, newest first",
    responses=documented(Page[PriceBookOut]),
)
async def list_price_books(
    request: Request,
    principal: Reader,
    currency: str | None = None,
    kind: BookKind | None = None,
    account: Annotated[str | None, Query(description="Books assigned to this account (number)")] = None,
    active: bool | None = None,
    q: Annotated[str | None, Query(description="Part of the code or name")] = None,
    limit: Limit = 50,
    cursor: str | None = None,
) -> Response:
    f = books.BookFilter(currency, kind, account, active, q)
    return json_response(await read(request, lambda s: books.list_books(s, f, limit, cursor, principal)))


@router.get(
    "/price-books/{ref}", summary="Get a price book by code or id",
    responses=documented(PriceBookOut, problems=(404,)),
)
async def get_price_book(ref: str, request: Request, principal: Reader) -> Response:
    return _versioned(await read(request, lambda s: books.get_book(s, ref, principal)))


@router.patch(
    "/price-books/{ref}",
    summary="Change a price book",
    description="Code, currency and kind cannot change. Making a list book standard un-flags the previous one.",
    openapi_extra=body_schema(PriceBookPatch),
    responses=documented(PriceBookOut, problems=(404, 409, 428)),
)
async def update_price_book(ref: str, request: Request, principal: BookWriter, if_match: IfMatch = None) -> Response:
    return await _update(request, PriceBookPatch, lambda s, p: books.update_book(s, ref, p, if_match))


@router.put(
    "/price-books/{ref}/entries",
    summary="Upsert entries (with tiers) of a price book",
    description="Each SKU named gets exactly the entries given; SKUs in `remove` lose theirs; others stay.",
    openapi_extra=body_schema(EntriesIn),
    responses=documented(PriceBookEntriesOut, problems={404: "The price book is not known"}),
)
async def put_price_book_entries(ref: str, request: Request, principal: PriceWriter) -> Response:
    return await _command(request, principal, EntriesIn, lambda s, d: books.put_entries(s, ref, d, actor=principal))


@router.get(
    "/price-books/{ref}/entries", summary="List a price book's entries, newest first",
    responses=documented(PriceBookEntriesOut, problems={404: "The price book is not known"}),
)
async def list_price_book_entries(
    ref: str,
    request: Request,
    principal: Reader,
    sku: str | None = None,
    at: Annotated[datetime | None, Query(description="Only entries valid at this time")] = None,
    limit: Limit = 50,
    cursor: str | None = None,
) -> Response:
    if at is not None and at.utcoffset() is None:
        raise ValidationFailed([FieldError("at", "must carry a timezone, e.g. 2026-11-26T10:00:00Z")])
    return json_response(await read(request, lambda s: books.list_entries(s, ref, sku, at, limit, cursor, principal)))


@router.post(
    "/price-books/{ref}/accounts",
    summary="Assign a contract book to accounts",
    description=(
        "Their descendant accounts inherit the book unless they have their own. Assigning again changes nothing."
    ),
    openapi_extra=body_schema(AccountsIn),
    responses=documented(PriceBookAccountsOut, problems=(404, 409)),
)
async def assign_price_book_accounts(ref: str, request: Request, principal: BookWriter) -> Response:
    return await _command(request, principal, AccountsIn, lambda s, d: books.assign_accounts(s, ref, d))


@router.get(
    "/price-books/{ref}/accounts", summary="The accounts a contract book is assigned to",
    responses=documented(PriceBookAccountsOut, problems={404: "The price book is not known"}),
)
async def list_price_book_accounts(ref: str, request: Request, principal: Reader) -> Response:
    return json_response(await read(request, lambda s: books.list_accounts(s, ref, principal)))


@router.delete(
    "/price-books/{ref}/accounts/{account}", status_code=204, summary="Unassign a contract book",
    responses=documented(None, 204, description="Unassigned", problems=(404, 409)),
)
async def unassign_price_book_account(ref: str, account: str, request: Request, principal: BookWriter) -> Response:
    await run_in_threadpool(database(request).transaction, lambda s: books.unassign_account(s, ref, account))
    return Response(status_code=204)


# ----------------------------------------------------------------------------------------------
# Promotions and coupons


@router.post(
    "/promotions", status_code=201, summary="Create a promotion", openapi_extra=body_schema(PromotionIn),
    responses=documented(PromotionOut, 201, problems={409: "The code is in use"}),
)
async def create_promotion(request: Request, principal: Writer) -> Response:
    return await _create(request, principal, PromotionIn, promotions.create_promotion)


@router.get(
    "/promotions", summary="List promotions, newest first",
    responses=documented(Page[PromotionOut]),
)
async def list_promotions(
    request: Request,
    principal: Reader,
    active: bool | None = None,
    level: PromotionLevel | None = None,
    kind: PromotionKind | None = None,
    coupon: Annotated[str | None, Query(description="The promotion of this coupon code")] = None,
    q: Annotated[str | None, Query(description="Part of the code or name")] = None,
    limit: Limit = 50,
    cursor: str | None = None,
) -> Response:
    f = promotions.PromotionFilter(active, level, kind, coupon, q)
    return json_response(await read(request, lambda s: promotions.list_promotions(s, f, limit, cursor, principal)))


@router.get(
    "/promotions/{ref}", summary="Get a promotion by code or id",
    responses=documented(PromotionOut, problems=(404,)),
)
async def get_promotion(ref: str, request: Request, principal: Reader) -> Response:
    return _versioned(await read(request, lambda s: promotions.get_promotion(s, ref, principal)))


@router.patch(
    "/promotions/{ref}",
    summary="Change a promotion",
    description="The code cannot change. A list given (skus, accounts, channels) replaces the current one.",
    openapi_extra=body_schema(PromotionPatch),
    responses=documented(PromotionOut, problems=(404, 409, 428)),
)
async def update_promotion(ref: str, request: Request, principal: Writer, if_match: IfMatch = None) -> Response:
    return await _update(
        request, PromotionPatch, lambda s, p: promotions.update_promotion(s, ref, p, if_match, principal)
    )


@router.post(
    "/promotions/{ref}/coupons", status_code=201, summary="Add coupons to a promotion",
    openapi_extra=body_schema(CouponsIn),
    responses=documented(CouponsOut, 201, problems={404: "The promotion is not known", 409: "A code is in use"}),
)
async def create_coupons(ref: str, request: Request, principal: Writer) -> Response:
    return await _command(
        request, principal, CouponsIn, lambda s, d: promotions.create_coupons(s, ref, d, principal), 201
    )


@router.get(
    "/promotions/{ref}/coupons", summary="List a promotion's coupons with their use, newest first",
    responses=documented(Page[CouponOut], problems={404: "The promotion is not known"}),
)
async def list_coupons(
    ref: str, request: Request, principal: Reader, limit: Limit = 50, cursor: str | None = None
) -> Response:
    return json_response(await read(request, lambda s: promotions.list_coupons(s, ref, limit, cursor, principal)))


@router.get(
    "/promotions/{ref}/coupons/{code}", summary="Get a coupon (the code ignores case)",
    responses=documented(CouponOut, problems=(404,)),
)
async def get_coupon(ref: str, code: str, request: Request, principal: Reader) -> Response:
    return _versioned(await read(request, lambda s: promotions.get_coupon(s, ref, code, principal)))


@router.patch(
    "/promotions/{ref}/coupons/{code}", summary="Change a coupon's usage limit or deactivate it",
    openapi_extra=body_schema(CouponPatch),
    responses=documented(CouponOut, problems=(404, 409, 428)),
)
async def update_coupon(
    ref: str, code: str, request: Request, principal: Writer, if_match: IfMatch = None
) -> Response:
    return await _update(
        request, CouponPatch, lambda s, p: promotions.update_coupon(s, ref, code, p, if_match, principal)
    )


# ----------------------------------------------------------------------------------------------
# Quotes


@router.post(
    "/prices/quote",
    summary="Price lines for an account without writing",
    description=(
        "Unit prices from the account's contract books (its own, then its ancestors'), then the currency's "
        "standard list book; line amounts rounded once half up; promotions and coupons as adjustments."
    ),
    openapi_extra=body_schema(QuoteIn),
    responses=documented(
        PriceQuoteOut, problems={404: "The account, channel or a SKU is not known", 409: "A coupon is refused"}
    ),
)
async def quote(request: Request, principal: Quoter) -> Response:
    data = parse_body(QuoteIn, await request.body())

    return await read_json(request, lambda s: service.quote(s, data, principal))
