"""Invoicing use cases: the façade the API, the handlers and other capabilities use.

The work lives in invoicing.invoices (invoices and how money applies to them), funds (ensure
funds), credit_memos, refunds (ensure refunds) and remittances; this module turns API payloads
into their calls and answers with the documents of invoicing.reads. Payload refusals are 422
naming the field, refusals by state 409, records of other accounts 404; none writes anything.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ordino.invoicing import reads
from ordino.invoicing.credit_memos import create_credit_memo as _create_credit_memo
from ordino.invoicing.funds import FundsResult, begin_funds, capture_key, ensure_funds
from ordino.invoicing.invoices import (
    APP,
    FeeTax,
    ShippedUnits,
    apply_to_invoice,
    find_order,
    invoice_fee,
    invoice_shipment,
)
from ordino.invoicing.invoices import cancel_invoice as _cancel_invoice
from ordino.invoicing.refunds import (
    REFUND_APP,
    RefundsResult,
    begin_capture_refund,
    begin_refunds,
    ensure_order_refunds,
    ensure_refunds,
    settle_capture_refund,
)
from ordino.invoicing.remittances import Application, RemittanceIn, record_remittance
from ordino.invoicing.schemas import CreditMemoIn, FeeInvoiceIn, to_minor
from ordino.invoicing.schemas import RemittanceIn as RemittancePayload
from ordino.kernel import clock
from ordino.kernel.auth import Principal
from ordino.kernel.db import Database
from ordino.kernel.errors import FieldError, NotFound, Problem, ValidationFailed
from ordino.kernel.worker import AfterCommit
from ordino.payments.gateway import Gateways, GatewayUnavailable

__all__ = [
    "FundsResult", "RefundsResult", "ShippedUnits", "apply_to_invoice", "begin_capture_refund", "begin_funds",
    "begin_refunds",
    "cancel_invoice", "capture_key", "create_credit_memo", "create_fee_invoice", "ensure_funds",
    "ensure_order_refunds", "ensure_refunds", "invoice_shipment", "recorded_remittance", "settle",
    "settle_capture_refund", "settle_pending", "settle_pending_job", "stale", "visible_invoice",
]

Doc = dict[str, Any]


def visible_invoice(session: Session, ref: str, principal: Principal) -> uuid.UUID:
    """The id of an invoice the principal may see; else 404."""
    return uuid.UUID(str(reads.get_invoice(session, ref, principal)["id"]))


def create_fee_invoice(session: Session, data: FeeInvoiceIn, principal: Principal) -> Doc:
    order = find_order(session, data.order, principal.account_id)
    errors: list[FieldError] = []
    if data.currency != order.currency:
        errors.append(FieldError("currency", f"the order is in {order.currency}"))
    amount = taxes = None
    if not errors:
        try:
            amount = to_minor(data.amount, order.currency, "amount")
        except ValidationFailed as exc:
            errors += exc.errors
        taxes = []
        for i, t in enumerate(data.tax_lines):
            try:
                minor = to_minor(t.amount, order.currency, f"tax_lines[{i}].amount", positive=False)
            except ValidationFailed as exc:
                errors += exc.errors
                continue
            taxes.append(FeeTax(t.name, t.rate, minor, t.category, t.jurisdiction, t.exemption_reason_code))
    if errors:
        raise ValidationFailed(errors)
    assert amount is not None and taxes is not None
    invoice_id = invoice_fee(session, order=order, description=data.description, amount=amount, taxes=taxes,
                             actor=principal.actor)
    return reads.get_invoice(session, str(invoice_id), None)


def cancel_invoice(session: Session, ref: str, principal: Principal, reason: str | None) -> Doc:
    invoice_id = visible_invoice(session, ref, principal)
    _cancel_invoice(session, invoice_id, principal.actor, reason)
    return reads.get_invoice(session, str(invoice_id), None)


def create_credit_memo(session: Session, data: CreditMemoIn, principal: Principal) -> Doc:
    order = find_order(session, data.order, principal.account_id)
    credit_memo_id = _create_credit_memo(session, order, data.change_orders, principal.actor)
    return reads.get_credit_memo(session, str(credit_memo_id), None)


def recorded_remittance(session: Session, data: RemittancePayload, principal: Principal) -> tuple[Doc, bool]:
    """Record a remittance (or find the same one recorded before); returns (document, created)."""
    errors: list[FieldError] = []
    def minor(value: Any, field: str) -> int:
        try:
            return to_minor(value, data.currency, field)
        except ValidationFailed as exc:
            errors.extend(exc.errors)
            return 0

    amount = minor(data.amount, "amount")
    amounts = [minor(a.amount, f"applications[{i}].amount") for i, a in enumerate(data.applications)]
    if errors:
        raise ValidationFailed(errors)
    remittance_id, created = record_remittance(session, RemittanceIn(
        data.account, data.currency, amount, data.reference, data.received_on,
        tuple(Application(a.invoice, m) for a, m in zip(data.applications, amounts, strict=True)),
    ), principal)
    return reads.get_remittance(session, remittance_id, None), created


def credit_memo_of(session: Session, ref: str, principal: Principal) -> tuple[uuid.UUID, uuid.UUID]:
    """(credit memo id, order id) of a credit memo the principal may see; else 422 naming it."""
    try:
        doc = reads.get_credit_memo(session, ref, principal)
    except NotFound:
        raise ValidationFailed([FieldError("credit_memo", f"no credit memo '{ref}'")]) from None
    return uuid.UUID(str(doc["id"])), uuid.UUID(str(doc["order"]["id"]))


def order_of(session: Session, ref: str, principal: Principal) -> uuid.UUID:
    order = find_order(session, ref, principal.account_id)
    return uuid.UUID(str(order.id))


Stale = tuple[list[uuid.UUID], list[tuple[uuid.UUID | None, uuid.UUID]]]


def stale(session: Session, older_than: timedelta = timedelta(minutes=5), limit: int = 50) -> Stale:
    """Invoices, and (credit memo, order) pairs, whose capture or refund has been pending for
    longer than `older_than`."""
    cutoff = clock.now() - older_than
    invoice_ids = session.execute(
        select(APP.c.invoice_id).where(APP.c.status == "pending", APP.c.created_at < cutoff).distinct().limit(limit)
    ).scalars().all()
    refunds = session.execute(
        select(REFUND_APP.c.credit_memo_id, REFUND_APP.c.order_summary_id)
        .where(REFUND_APP.c.status == "pending", REFUND_APP.c.created_at < cutoff).distinct().limit(limit)
    ).all()
    return list(invoice_ids), [(r[0], r[1]) for r in refunds]


def settle(db: Database, gateways: Gateways, found: Stale) -> int:
    """Run ensure funds (refunds) again for what `stale` found; returns how many were settled."""
    invoice_ids, refunds = found
    settled = 0
    for invoice_id in invoice_ids:
        try:
            ensure_funds(db, gateways, invoice_id, "system:settle_pending")
            settled += 1
        except (GatewayUnavailable, Problem):
            continue  # still no answer: the next round tries again
    for credit_memo_id, order_id in refunds:
        try:
            if credit_memo_id is not None:
                ensure_refunds(db, gateways, credit_memo_id, "system:settle_pending")
            else:
                ensure_order_refunds(db, gateways, order_id, "system:settle_pending")
            settled += 1
        except (GatewayUnavailable, Problem):
            continue
    return settled


def settle_pending(db: Database, gateways: Gateways, older_than: timedelta = timedelta(minutes=5),
                   limit: int = 50) -> int:
    """Settle invoices and credit memos whose capture or refund was left pending (in case their
    event gave up); returns how many were settled."""
    with db.read() as session:
        found = stale(session, older_than, limit)
    return settle(db, gateways, found)


def settle_pending_job(gateways: Gateways) -> Callable[[Session], AfterCommit | None]:
    """`settle_pending` as a periodic job of the worker: the look-up in the job's transaction, the
    gateway calls after it."""

    def job(session: Session) -> AfterCommit | None:
        found = stale(session)
        if not found[0] and not found[1]:
            return None

        def after(db: Database, _last: Callable[[Session], None]) -> None:
            settle(db, gateways, found)

        return AfterCommit(after)

    return job
