"""Invoice, credit memo, remittance and refund endpoints.

Thin: validate the payload, run the use case, answer JSON. Creations run under the request's
Idempotency-Key (kernel.endpoint.run_command). Ensure funds and ensure refunds call gateways, so
they run in the payment orchestrator's transactions (payments.orchestrator.run_then_answer), in a
worker thread like every use case; the answer is stored under the key afterwards, and a replay
with the key answers without running them again. Both are idempotent anyway: their captures and
refunds are keyed by invoice, credit memo and payment.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from ordino.invoicing import reads, service
from ordino.invoicing.schemas import (
    CancelIn,
    CreditMemoIn,
    CreditMemoOut,
    FeeInvoiceIn,
    InvoiceOut,
    OrderRefundsOut,
    RefundsIn,
    RemittanceIn,
    RemittanceOut,
)
from ordino.kernel.auth import Principal, Role, require
from ordino.kernel.db import Database
from ordino.kernel.endpoint import body_schema, parse_body, read_json, run_command, run_in_steps
from ordino.kernel.errors import FieldError, NotFound, ValidationFailed
from ordino.kernel.http import dumps
from ordino.kernel.idempotency import Command, Outcome
from ordino.kernel.ids import parse_id
from ordino.kernel.openapi import documented
from ordino.kernel.schema import Page
from ordino.payments import orchestrator
from ordino.payments import reads as payment_reads
from ordino.payments.gateway import gateways_of
from ordino.payments.schemas import PaymentOut, RefundIn
from ordino.payments.schemas import to_minor as payment_minor
from ordino.payments.service import Intent

router = APIRouter(prefix="/api/v1", tags=["invoicing"])

Reader = Annotated[Principal, Depends(require(Role.ADMIN, Role.AGENT, Role.FINANCE, Role.INTEGRATION, Role.BUYER))]
Biller = Annotated[Principal, Depends(require(Role.ADMIN, Role.AGENT, Role.FINANCE))]
Mover = Annotated[Principal, Depends(require(Role.ADMIN, Role.FINANCE))]
Receiver = Annotated[Principal, Depends(require(Role.ADMIN, Role.FINANCE, Role.INTEGRATION))]
Limit = Annotated[int, Query(ge=1, le=200)]
InvoiceStatus = Literal["open", "partially_paid", "paid", "cancelled"]
CreditMemoStatus = Literal["open", "partially_refunded", "closed"]
Doc = dict[str, Any]




async def _create(request: Request, principal: Principal, body: bytes, use_case: Callable[[Session], tuple[Doc, bool]],
                  location: str) -> Response:
    def work(session: Session) -> tuple[int, bytes]:
        doc, created = use_case(session)
        return (201 if created else 200), dumps(doc)

    def headers(_status: int, payload: bytes) -> dict[str, str]:
        return {"Location": f"{location}/{orjson.loads(payload)['id']}"}

    return await run_command(request, principal, work, body, headers)


def _optional_body(body: bytes) -> bytes:
    return body if body.strip() else b"{}"


# ------------------------------------------------------------------------------------------------
# Invoices


@router.get(
    "/invoices", summary="List invoices, newest first (filter by order, account, status, kind)",
    responses=documented(Page[InvoiceOut]),
)
async def list_invoices(
    request: Request, principal: Reader, order: str | None = None, account: str | None = None,
    status: InvoiceStatus | None = None, kind: Literal["shipment", "fee"] | None = None, limit: Limit = 50,
    cursor: str | None = None,
) -> Response:
    return await read_json(request, lambda s: reads.list_invoices(
        s, principal, order=order, account=account, status=status, kind=kind, limit=limit, cursor=cursor))


@router.get(
    "/invoices/{ref}", summary="Get an invoice (by id or number) with its lines and applications",
    responses=documented(InvoiceOut, problems=(404,)),
)
async def get_invoice(ref: str, request: Request, principal: Reader) -> Response:
    return await read_json(request, lambda s: reads.get_invoice(s, ref, principal))


@router.post(
    "/invoices", status_code=201, summary="Invoice a fee on an order",
    description="One line of `amount` (net of tax) with its tax lines; due by the order's payment terms. "
    "Authorized funds are captured for it like for any invoice.",
    openapi_extra=body_schema(FeeInvoiceIn),
    responses=documented(InvoiceOut, 201, problems={404: "The order is not known", 409: "Refused by its state"}),
)
async def create_fee_invoice(request: Request, principal: Biller) -> Response:
    body = await request.body()
    data = parse_body(FeeInvoiceIn, body)
    return await _create(request, principal, body, lambda s: (service.create_fee_invoice(s, data, principal), True),
                         "/api/v1/invoices")


@router.post("/invoices/{ref}/cancel", summary="Cancel a fee invoice nothing was paid on",
             openapi_extra=body_schema(CancelIn),
    responses=documented(InvoiceOut, problems={404: "The invoice is not known", 409: "Only an unpaid fee invoice"}),
)
async def cancel_invoice(ref: str, request: Request, principal: Mover) -> Response:
    body = _optional_body(await request.body())
    data = parse_body(CancelIn, body)
    return await run_command(
        request, principal, lambda s: (200, dumps(service.cancel_invoice(s, ref, principal, data.reason))), body
    )


@router.post("/invoices/{ref}/ensure-funds", summary="Pay an invoice from the order's captured and authorized funds",
             description="What the worker does when an invoice is created; run it again after a process exception.",
    responses=documented(InvoiceOut, problems=(404, 409, 502)),
)
async def ensure_funds(ref: str, request: Request, principal: Mover) -> Response:
    body = await request.body()
    gateways = gateways_of(request)

    def steps(db: Database, command: Command) -> Outcome:
        with db.read() as session:
            invoice_id = service.visible_invoice(session, ref, principal)
        return orchestrator.run_then_answer(
            db, command, lambda: service.ensure_funds(db, gateways, invoice_id, principal.actor),
            lambda s: (200, dumps(reads.get_invoice(s, str(invoice_id), None))),
        )

    return await run_in_steps(request, principal, body, steps)


# ------------------------------------------------------------------------------------------------
# Credit memos and refunds


@router.get(
    "/credit-memos", summary="List credit memos, newest first (filter by order, account, status)",
    responses=documented(Page[CreditMemoOut]),
)
async def list_credit_memos(
    request: Request, principal: Reader, order: str | None = None, account: str | None = None,
    status: CreditMemoStatus | None = None, limit: Limit = 50, cursor: str | None = None,
) -> Response:
    return await read_json(request, lambda s: reads.list_credit_memos(
        s, principal, order=order, account=account, status=status, limit=limit, cursor=cursor))


@router.get(
    "/credit-memos/{ref}", summary="Get a credit memo (by id or number) with its lines and refunds",
    responses=documented(CreditMemoOut, problems=(404,)),
)
async def get_credit_memo(ref: str, request: Request, principal: Reader) -> Response:
    return await read_json(request, lambda s: reads.get_credit_memo(s, ref, principal))


@router.post(
    "/credit-memos", status_code=201, summary="Credit one or more change orders of an order",
    description="One credit memo for the change orders; a change order is credited once. Its refund to the "
    "order's captures follows (ensure refunds).",
    openapi_extra=body_schema(CreditMemoIn),
    responses=documented(CreditMemoOut, 201, problems={404: "The order is not known", 409: "Already credited"}),
)
async def create_credit_memo(request: Request, principal: Biller) -> Response:
    body = await request.body()
    data = parse_body(CreditMemoIn, body)
    return await _create(request, principal, body, lambda s: (service.create_credit_memo(s, data, principal), True),
                         "/api/v1/credit-memos")


@router.post(
    "/refunds", summary="Ensure refunds: of a credit memo, or of an order's credit memos and excess funds",
    description="With `credit_memo`, refunds what it owes and the order can give back. With `order`, every open "
    "credit memo of the order first, then captured money no invoice of the order needs.",
    openapi_extra=body_schema(RefundsIn),
    responses=documented(
        CreditMemoOut | OrderRefundsOut, description="The credit memo, or the order's refunds", problems=(404, 409, 502)
    ),
)
async def ensure_refunds(request: Request, principal: Mover) -> Response:
    body = await request.body()
    data = parse_body(RefundsIn, body)
    if (data.order is None) == (data.credit_memo is None):
        raise ValidationFailed([FieldError("credit_memo", "give either credit_memo or order")])
    gateways = gateways_of(request)

    def target(session: Session) -> tuple[uuid.UUID | None, uuid.UUID]:
        if data.credit_memo is not None:
            return service.credit_memo_of(session, data.credit_memo, principal)
        assert data.order is not None
        return None, service.order_of(session, data.order, principal)

    def steps(db: Database, command: Command) -> Outcome:
        with db.read() as session:
            credit_memo_id, order_id = target(session)

        def run() -> object:
            if credit_memo_id is not None:
                return service.ensure_refunds(db, gateways, credit_memo_id, principal.actor)
            return service.ensure_order_refunds(db, gateways, order_id, principal.actor)

        def answer(session: Session) -> tuple[int, bytes]:
            if credit_memo_id is not None:
                return 200, dumps(reads.get_credit_memo(session, str(credit_memo_id), None))
            return 200, dumps(reads.order_refunds(session, order_id))

        return orchestrator.run_then_answer(db, command, run, answer)

    return await run_in_steps(request, principal, body, steps)


@router.post(
    "/payments/{payment_id}/refund", status_code=201, summary="Refund a capture (partial allowed)", tags=["payments"],
    description="Gives back captured money that no invoice uses (excess funds), at most what the capture has "
    "of it; it is recorded as a refund of the order's excess funds. Money applied to invoices goes back only with "
    "a credit memo, so that invoices less credit memos stay what was captured less what was refunded: a refund "
    "that would take it is refused (409 `paid-for-invoices`, nothing written) and names the actions to use "
    "instead: a return, an appeasement, or `POST /credit-memos` then `POST /refunds`.",
    openapi_extra=body_schema(RefundIn),
    responses=documented(PaymentOut, 201, problems=(404, 409, 502)),
)
async def refund_capture(payment_id: str, request: Request, principal: Mover) -> Response:
    pid = parse_id(payment_id)
    if pid is None:
        raise NotFound("payment not found")
    body = await request.body()
    data = parse_body(RefundIn, body)
    gateways = gateways_of(request)

    def begin(session: Session, record_key: str) -> Intent:
        amount = payment_minor(data.amount, payment_reads.get_payment(session, pid, principal)["currency"])
        return service.begin_capture_refund(session, gateways, pid, amount, idempotency_key=record_key,
                                            principal=principal, reason=data.reason)

    return await run_in_steps(request, principal, body, lambda db, command: orchestrator.run_command(
        db, gateways, command, begin, actor=principal.actor,
        then=lambda s, intent: service.settle_capture_refund(s, intent, principal.actor)))


# ------------------------------------------------------------------------------------------------
# Remittances


@router.post(
    "/payments", status_code=201, summary="Record a payment received on invoice terms (a remittance)",
    description="Applied to one or more invoices of the account, each up to its balance (part of it allowed); "
    "the applications add up to the amount. The same reference again with the same content answers 200 "
    "with the remittance recorded before.",
    openapi_extra=body_schema(RemittanceIn),
    responses=documented(RemittanceOut, 201, also={200: "The same remittance was recorded"}, problems=(404, 409)),
)
async def record_remittance(request: Request, principal: Receiver) -> Response:
    body = await request.body()
    data = parse_body(RemittanceIn, body)
    return await _create(request, principal, body, lambda s: service.recorded_remittance(s, data, principal),
                         "/api/v1/remittances")


@router.get(
    "/remittances", summary="List remittances, newest first",
    responses=documented(Page[RemittanceOut]),
)
async def list_remittances(request: Request, principal: Reader, account: str | None = None, limit: Limit = 50,
                           cursor: str | None = None) -> Response:
    return await read_json(request, lambda s: reads.list_remittances(s, principal, account=account, limit=limit,
                                                                 cursor=cursor))


@router.get(
    "/remittances/{remittance_id}", summary="Get a remittance with the invoices it paid",
    responses=documented(RemittanceOut, problems=(404,)),
)
async def get_remittance(remittance_id: str, request: Request, principal: Reader) -> Response:
    rid = parse_id(remittance_id)
    if rid is None:
        raise NotFound("remittance not found")
    return await read_json(request, lambda s: reads.get_remittance(s, rid, principal))

