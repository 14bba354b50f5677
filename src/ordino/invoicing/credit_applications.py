"""Apply a credit memo to the order's open invoices: credit for invoiced amounts that were never
paid (an order on invoice terms whose invoice is still open) lowers what is owed instead of
staying a loose credit on the account.

Invoices are taken oldest first, each at most its balance less what captures in flight will pay
for it. Each application is a `payment_application` whose source is the credit memo (one row
per invoice and credit memo, its amount growing if the credit memo is applied again), applied at
once; the invoice's applied amount and balance move by `apply_to_invoice`, and the caller moves
the credit memo's applied amount and balance. So per document:

    invoice.total     = Σ applications (captures, remittances, credit memos) + balance
    credit_memo.total = Σ refunds + not_charged + applied + balance

The money identity (captured − refunded) is untouched: a credit application moves no money.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from ordino.invoicing import domain
from ordino.invoicing.invoices import APP, INV, apply_to_invoice
from ordino.kernel import clock
from ordino.kernel.ids import new_id


def on_invoice_terms(order: Any) -> bool:
    """Whether some of the order is paid on invoice terms (remittances, not captures)."""
    return any(i.get("method") == "invoice" for i in order.payment_instructions or [])


def apply_credit(session: Session, order: Any, credit_memo_id: uuid.UUID, amount: int, actor: str | None) -> int:
    """Apply up to `amount` of the credit memo to the order's open invoices (the order is locked
    by the caller); returns what was applied."""
    invoices = session.execute(
        select(INV.c.id, INV.c.balance_amount)
        .where(INV.c.order_summary_id == order.id, INV.c.status.in_(domain.OPEN_INVOICE_STATUSES),
               INV.c.balance_amount > 0)
        .order_by(INV.c.id).with_for_update()
    ).all()
    in_flight = {row[0]: int(row[1]) for row in session.execute(
        select(APP.c.invoice_id, func.sum(APP.c.amount))
        .where(APP.c.order_summary_id == order.id, APP.c.status == "pending").group_by(APP.c.invoice_id)
    )}
    left = amount
    for invoice in invoices:
        take = min(left, invoice.balance_amount - in_flight.get(invoice.id, 0))
        if take > 0 and apply_to_invoice(session, invoice.id, take, actor):
            _record(session, order, invoice.id, credit_memo_id, take, actor)
            left -= take
        if left <= 0:
            break
    return amount - left


def _record(session: Session, order: Any, invoice_id: uuid.UUID, credit_memo_id: uuid.UUID, amount: int,
            actor: str | None) -> None:
    now = clock.now()
    grown = session.execute(
        update(APP).where(APP.c.invoice_id == invoice_id, APP.c.credit_memo_id == credit_memo_id)
        .values(amount=APP.c.amount + amount, applied_at=now).returning(APP.c.id)
    ).first()
    if grown is None:
        session.execute(insert(APP), [{
            "id": new_id(), "invoice_id": invoice_id, "payment_id": None, "remittance_id": None,
            "credit_memo_id": credit_memo_id, "order_summary_id": order.id, "account_id": order.account_id,
            "currency": order.currency, "amount": amount, "status": "applied", "created_by": actor,
            "created_at": now, "applied_at": now,
        }])
