"""The money of one order as invoicing sees it: its captures and what each still holds.

For a succeeded capture k of the order (amounts from the payments engine, applications from
invoicing):

    applied_k            = Σ applied applications of k to invoices
    applied_refunds_k    = Σ pending or applied refunds of k that gave back applied money
    unapplied_k          = amount_k − refunded_k − pending_refund_k − applied_k + applied_refunds_k
    applied_refundable_k = applied_k − applied_refunds_k

`unapplied` money (excess funds) pays later invoices first (ensure funds) and is what a cancel
can give back; `applied` money is what a return or an appeasement of invoiced goods gives back.
Refunds made outside invoicing count as refunds of unapplied money.
"""

from __future__ import annotations

import uuid
from typing import Any, cast

from sqlalchemy import Table, func, select
from sqlalchemy.orm import Session

from ordino.invoicing.domain import OPEN_INVOICE_STATUSES, CaptureFunds
from ordino.invoicing.models import Invoice, PaymentApplication, RefundApplication
from ordino.orders.models import ChangeOrder, OrderSummary
from ordino.payments import reads as payments

INV = cast(Table, Invoice.__table__)
APP = cast(Table, PaymentApplication.__table__)
REFUND_APP = cast(Table, RefundApplication.__table__)
CO = cast(Table, ChangeOrder.__table__)
ORDER = cast(Table, OrderSummary.__table__)


def _pairs(result: Any) -> dict[Any, int]:
    return {row[0]: int(row[1]) for row in result}


def captures(session: Session, order_id: uuid.UUID) -> list[CaptureFunds]:
    """The order's succeeded captures, oldest first, with what each can still give."""
    rows = payments.refundable_captures(session, order_id)
    if not rows:
        return []
    applied = _pairs(session.execute(
        select(APP.c.payment_id, func.sum(APP.c.amount))
        .where(APP.c.order_summary_id == order_id, APP.c.status == "applied", APP.c.payment_id.is_not(None))
        .group_by(APP.c.payment_id)
    ))
    given_back = _pairs(session.execute(
        select(REFUND_APP.c.capture_id, func.sum(REFUND_APP.c.amount))
        .where(REFUND_APP.c.order_summary_id == order_id, REFUND_APP.c.source == "applied",
               REFUND_APP.c.status.in_(("pending", "applied")))
        .group_by(REFUND_APP.c.capture_id)
    ))
    out = []
    for r in rows:
        a, back = int(applied.get(r.id, 0)), int(given_back.get(r.id, 0))
        out.append(CaptureFunds(r.id, r.amount, r.amount - a + back, a - back))
    return out


# Change orders of units not invoiced yet: cancels take them off what is still to invoice, added
# items (additions, an exchange's new items, reships) put them on it.
UNINVOICED_CHANGES = ("cancel", "addition", "exchange", "reship")


def still_to_pay(session: Session, order_id: uuid.UUID) -> int:
    """What the order's captured money must still pay for: the balances of its open invoices and
    what is still to be invoiced for the order (its grand total less what shipment invoices
    billed, less what cancel change orders took off, plus the items change orders added)."""
    grand_total = session.execute(select(ORDER.c.grand_total_amount).where(ORDER.c.id == order_id)).scalar_one()
    invoiced = session.execute(
        select(func.coalesce(func.sum(INV.c.total_amount), 0))
        .where(INV.c.order_summary_id == order_id, INV.c.kind == "shipment", INV.c.status != "cancelled")
    ).scalar_one()
    cancelled = session.execute(
        select(func.coalesce(func.sum(CO.c.grand_total_amount), 0))
        .where(CO.c.order_summary_id == order_id, CO.c.kind.in_(UNINVOICED_CHANGES))
    ).scalar_one()
    open_balances = session.execute(
        select(func.coalesce(func.sum(INV.c.balance_amount), 0))
        .where(INV.c.order_summary_id == order_id, INV.c.status.in_(OPEN_INVOICE_STATUSES))
    ).scalar_one()
    return max(0, int(grand_total) - int(invoiced) + int(cancelled)) + int(open_balances)
