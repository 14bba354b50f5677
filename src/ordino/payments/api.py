"""Payments endpoints: payment methods, order payment summaries, payments and money movements.

A capture, refund, void, re-authorization or authorization runs in three steps
(payments.orchestrator.run_command): the pending record is written and its amount held in one
transaction, the gateway is called outside any transaction, and the outcome is recorded
together with the Idempotency-Key response in a second one. A retry with the same
key replays the stored response; a retry after a gateway timeout (502) finds the pending record
and settles it, and the gateway, called with the same key, moves no money twice.

`POST /payments/{id}/refund` is served by invoicing (invoicing.api): only it knows which of a
capture's money pays invoices, and that money goes back with a credit memo, never bare.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from ordino.kernel.auth import Principal, Role, require
from ordino.kernel.endpoint import body_schema, parse_body, read_json, run_command, run_in_steps
from ordino.kernel.errors import FieldError, NotFound, ValidationFailed
from ordino.kernel.http import dumps, page
from ordino.kernel.ids import new_id, parse_id
from ordino.kernel.openapi import documented
from ordino.kernel.schema import Page
from ordino.payments import orchestrator, reads, service
from ordino.payments.gateway import gateways_of
from ordino.payments.schemas import (
    AmountIn,
    AuthorizationIn,
    PaymentMethodIn,
    PaymentMethodOut,
    PaymentOut,
    PaymentSummaryOut,
    ReauthorizeIn,
    to_minor,
)
from ordino.payments.service import Intent, MethodSpec

router = APIRouter(prefix="/api/v1", tags=["payments"])

Reader = Annotated[Principal, Depends(require(Role.ADMIN, Role.AGENT, Role.FINANCE))]
Mover = Annotated[Principal, Depends(require(Role.ADMIN, Role.FINANCE))]
Taker = Annotated[Principal, Depends(require(Role.ADMIN, Role.FINANCE, Role.INTEGRATION))]
Limit = Annotated[int, Query(ge=1, le=200)]
Kind = Literal["authorization", "capture", "refund", "void"]
Status = Literal["pending", "authorized", "declined", "closed", "expired", "succeeded", "failed"]
# Moving money: the payment or its parent unknown, the amount not available, the gateway down
MONEY_PROBLEMS = (404, 409, 502)


OrderNumbers = Callable[[Session, str], uuid.UUID | None]
OrderRef = Annotated[str | None, Query(description="An order id or number")]


def _order_id(request: Request, session: Session, ref: str) -> uuid.UUID | None:
    """An order filter's id. Payments refers to orders by opaque id and reads no order table: an
    order number is looked up by the function the composition root sets as `app.state.order_numbers`."""
    ident = parse_id(ref)
    if ident is not None:
        return ident
    numbers: OrderNumbers = request.app.state.order_numbers
    return numbers(session, ref)


OrderAccounts = Callable[[Session, uuid.UUID], uuid.UUID | None]


def _check_order(request: Request, session: Session, principal: Principal, data: AuthorizationIn) -> None:
    """An authorization is the order's: the order exists and the key sees it (else 404), and the
    account given is the order's (else 422 naming `account_id`). Payments reads no order table:
    the order's account comes from the function the composition root sets as
    `app.state.order_accounts`."""
    accounts: OrderAccounts = request.app.state.order_accounts
    account_id = accounts(session, data.order_summary_id)
    if account_id is None or not principal.sees_account(account_id):
        raise NotFound("order not found")
    if account_id != data.account_id:
        raise ValidationFailed([FieldError("account_id", "is not the account of the order")])


def _id(text: str, what: str) -> uuid.UUID:
    found = parse_id(text)
    if found is None:
        raise NotFound(f"{what} not found")
    return found




async def _move(request: Request, principal: Principal, body: bytes, begin: Callable[[Session, str], Intent]
                ) -> Response:
    gateways = gateways_of(request)
    return await run_in_steps(request, principal, body, lambda db, command: orchestrator.run_command(
        db, gateways, command, begin, actor=principal.actor))


# ------------------------------------------------------------------------------------------------
# Payment methods


@router.post(
    "/payment-methods", status_code=201, summary="Add a payment method to an account",
    description="A gateway token (card, wallet) or invoice terms (`net_30`, `net_30_eom`, `eom`, "
    "`due_on_receipt`). Card numbers and security codes are refused and never stored. The same method "
    "again answers 200 with the existing one.",
    openapi_extra=body_schema(PaymentMethodIn),
    responses=documented(PaymentMethodOut, 201, also={200: "The same method existed"}, problems=(404, 409)),
)
async def create_method(request: Request, principal: Taker) -> Response:
    body = await request.body()
    data = parse_body(PaymentMethodIn, body).root
    principal.check_account(data.account_id, "account")
    spec = MethodSpec(data.method, getattr(data, "gateway", None), getattr(data, "token", None),
                      getattr(data, "terms", None))

    def work(session: Session) -> tuple[int, bytes]:
        method_id, created = service.ensure_method(session, data.account_id, spec)
        return (201 if created else 200), dumps(reads.get_method(session, method_id))

    return await run_command(request, principal, work, body)


@router.get(
    "/payment-methods", summary="List payment methods, newest first",
    responses=documented(Page[PaymentMethodOut]),
)
async def list_methods(
    request: Request, principal: Reader, account: uuid.UUID | None = None, limit: Limit = 50, cursor: str | None = None
) -> Response:
    return await read_json(
        request, lambda s: reads.list_methods(s, principal, account=account, limit=limit, cursor=cursor)
    )


@router.get(
    "/payment-methods/{method_id}", summary="Get a payment method",
    responses=documented(PaymentMethodOut, problems=(404,)),
)
async def get_method(method_id: str, request: Request, principal: Reader) -> Response:
    mid = _id(method_id, "payment method")
    return await read_json(request, lambda s: reads.get_method(s, mid, principal))


# ------------------------------------------------------------------------------------------------
# Order payment summaries


@router.get(
    "/payment-summaries", summary="List order payment summaries (filter by order or account)",
    responses=documented(Page[PaymentSummaryOut]),
)
async def list_summaries(
    request: Request,
    principal: Reader,
    order: OrderRef = None,
    account: uuid.UUID | None = None,
    limit: Limit = 50,
    cursor: str | None = None,
) -> Response:
    def use(s: Session) -> Any:
        order_id = None if order is None else _order_id(request, s, order)
        if order is not None and order_id is None:
            return page([], [], limit)
        return reads.list_summaries(s, principal, order=order_id, account=account, limit=limit, cursor=cursor)

    return await read_json(request, use)


@router.get(
    "/payment-summaries/{summary_id}", summary="Get an order payment summary",
    responses=documented(PaymentSummaryOut, problems=(404,)),
)
async def get_summary(summary_id: str, request: Request, principal: Reader) -> Response:
    sid = _id(summary_id, "payment summary")
    return await read_json(request, lambda s: reads.get_summary(s, sid, principal))


# ------------------------------------------------------------------------------------------------
# Payments


@router.get(
    "/payments", summary="List payments (authorizations, captures, refunds, voids), newest first",
    responses=documented(Page[PaymentOut]),
)
async def list_payments(
    request: Request,
    principal: Reader,
    order: OrderRef = None,
    summary: uuid.UUID | None = None,
    kind: Kind | None = None,
    status: Status | None = None,
    limit: Limit = 50,
    cursor: str | None = None,
) -> Response:
    def use(s: Session) -> Any:
        order_id = None if order is None else _order_id(request, s, order)
        if order is not None and order_id is None:
            return page([], [], limit)
        return reads.list_payments(
            s, principal, order=order_id, summary=summary, kind=kind, status=status, limit=limit, cursor=cursor
        )

    return await read_json(request, use)


@router.get(
    "/payments/{payment_id}", summary="Get a payment",
    responses=documented(PaymentOut, problems=(404,)),
)
async def get_payment(payment_id: str, request: Request, principal: Reader) -> Response:
    pid = _id(payment_id, "payment")
    return await read_json(request, lambda s: reads.get_payment(s, pid, principal))


@router.post(
    "/payments/authorizations", status_code=201, summary="Authorize an amount, or import an authorization",
    description="With `imported`, records an authorization the channel already took, without a gateway call. "
    "The order must exist and be visible to the key (else 404), and `account_id` must be the order's account "
    "(else 422).",
    openapi_extra=body_schema(AuthorizationIn),
    responses=documented(PaymentOut, 201, problems=MONEY_PROBLEMS),
)
async def authorize(request: Request, principal: Taker) -> Response:
    body = await request.body()
    data = parse_body(AuthorizationIn, body)
    principal.check_account(data.account_id, "account")
    amount = to_minor(data.amount, data.currency)
    assert amount is not None
    gateways = gateways_of(request)
    method: MethodSpec | uuid.UUID
    if data.payment_method is not None:
        method = MethodSpec(data.payment_method.method, data.payment_method.gateway, data.payment_method.token)
    else:
        assert data.payment_method_id is not None
        method = data.payment_method_id
    imported = data.imported
    if imported is not None:
        key = request.headers.get("idempotency-key")
        record_key = f"api:{principal.key_id}:{key}" if key is not None else f"api:{new_id()}"

        def work(session: Session) -> tuple[int, bytes]:
            _check_order(request, session, principal, data)
            pid = service.import_authorization(
                session, order_summary_id=data.order_summary_id, account_id=data.account_id,
                currency=data.currency, amount_minor=amount, method=method,
                gateway_reference=imported.gateway_reference, expires_at=imported.expires_at,
                idempotency_key=record_key, actor=principal.actor,
            )
            return 201, dumps(reads.get_payment(session, pid))

        return await run_command(request, principal, work, body)

    def begin(session: Session, record_key: str) -> Intent:
        _check_order(request, session, principal, data)
        return service.begin_authorization(
            session, gateways, order_summary_id=data.order_summary_id, account_id=data.account_id,
            currency=data.currency, amount_minor=amount, method=method, idempotency_key=record_key,
            actor=principal.actor,
        )

    return await _move(request, principal, body, begin)


def _visible_currency(session: Session, payment_id: uuid.UUID, principal: Principal) -> str:
    currency: str = reads.get_payment(session, payment_id, principal)["currency"]  # 404 when foreign
    return currency


@router.post(
    "/payments/{payment_id}/capture", status_code=201, summary="Capture from an authorization (partial allowed)",
    description="Without an amount, captures all that is available. The capture is answered with its status: "
    "`succeeded`, or `failed` with the gateway's reason.",
    openapi_extra=body_schema(AmountIn),
    responses=documented(PaymentOut, 201, problems=MONEY_PROBLEMS),
)
async def capture(payment_id: str, request: Request, principal: Mover) -> Response:
    pid = _id(payment_id, "payment")
    body = await request.body()
    data = parse_body(AmountIn, body)
    gateways = gateways_of(request)

    def begin(session: Session, record_key: str) -> Intent:
        amount = to_minor(data.amount, _visible_currency(session, pid, principal))
        return service.begin_capture(session, gateways, pid, amount, idempotency_key=record_key, actor=principal.actor)

    return await _move(request, principal, body, begin)


@router.post(
    "/payments/{payment_id}/void", status_code=201, summary="Reverse an authorization (all that remains, or part)",
    openapi_extra=body_schema(AmountIn),
    responses=documented(PaymentOut, 201, problems=MONEY_PROBLEMS),
)
async def void(payment_id: str, request: Request, principal: Mover) -> Response:
    pid = _id(payment_id, "payment")
    body = await request.body()
    data = parse_body(AmountIn, body)
    gateways = gateways_of(request)

    def begin(session: Session, record_key: str) -> Intent:
        amount = to_minor(data.amount, _visible_currency(session, pid, principal))
        return service.begin_void(
            session, gateways, pid, amount, idempotency_key=record_key, actor=principal.actor, reason=data.reason
        )

    return await _move(request, principal, body, begin)


@router.post(
    "/payments/{payment_id}/reauthorize", status_code=201,
    summary="Replace an authorization (expired, or for another amount) with a new one",
    openapi_extra=body_schema(ReauthorizeIn),
    responses=documented(PaymentOut, 201, problems=MONEY_PROBLEMS),
)
async def reauthorize(payment_id: str, request: Request, principal: Mover) -> Response:
    pid = _id(payment_id, "payment")
    body = await request.body()
    data = parse_body(ReauthorizeIn, body)
    gateways = gateways_of(request)

    def begin(session: Session, record_key: str) -> Intent:
        amount = to_minor(data.amount, _visible_currency(session, pid, principal))
        assert amount is not None
        return service.begin_reauthorization(
            session, gateways, pid, amount, idempotency_key=record_key, actor=principal.actor, reason=data.reason
        )

    return await _move(request, principal, body, begin)
