"""Payment reminders: an invoice left open past its due date is announced as `invoice.overdue`,
once per stage (a day, a week, two weeks, a month past due: domain.REMINDER_DAYS).

A worker job. Each reminder is one conditional update of the invoice's `reminder_level` (only
the transaction that raises it emits), so any number of workers announce each stage once, and
an invoice paid meanwhile is not reminded. The e-mail, if any, follows the event.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ordino.invoicing import domain
from ordino.invoicing.models import Invoice
from ordino.kernel import clock
from ordino.kernel.money import format_minor
from ordino.kernel.outbox import emit

INVOICE_OVERDUE = "invoice.overdue"
FIRST = domain.REMINDER_DAYS[0]


def remind_overdue(session: Session, today: date | None = None, limit: int = 500) -> int:
    """Announce the reminders now due; returns how many."""
    today = today or clock.now().date()
    rows = session.execute(
        select(Invoice.id, Invoice.number, Invoice.order_summary_id, Invoice.account_id, Invoice.currency,
               Invoice.due_date, Invoice.balance_amount, Invoice.reminder_level, Invoice.payment_terms)
        .where(Invoice.status.in_(domain.OPEN_INVOICE_STATUSES), Invoice.balance_amount > 0,
               Invoice.due_date <= date.fromordinal(today.toordinal() - FIRST),
               Invoice.reminder_level < len(domain.REMINDER_DAYS))
        .order_by(Invoice.due_date, Invoice.id)
        .limit(limit)
    ).all()
    sent = 0
    for row in rows:
        days = (today - row.due_date).days
        level = domain.reminder_level(days)
        if level <= row.reminder_level:
            continue
        raised = session.execute(
            update(Invoice).where(Invoice.id == row.id, Invoice.reminder_level == row.reminder_level,
                                  Invoice.status.in_(domain.OPEN_INVOICE_STATUSES))
            .values(reminder_level=level)
        ).rowcount  # type: ignore[attr-defined]
        if not raised:
            continue  # another worker announced it, or it was paid meanwhile
        emit(session, INVOICE_OVERDUE, f"invoice/{row.id}", {
            "id": str(row.id), "number": row.number, "order_summary_id": str(row.order_summary_id),
            "account_id": str(row.account_id), "due_date": row.due_date.isoformat(), "days_overdue": days,
            "reminder_level": level, "balance": format_minor(row.balance_amount, row.currency),
            "currency": row.currency, "payment_terms": row.payment_terms,
        })
        sent += 1
    return sent
