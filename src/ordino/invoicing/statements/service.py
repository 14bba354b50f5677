"""Account statements: open items, payments received, balance and aging, per currency.

The statement shows the account as it stands now, aged as of a date (default today): each open
invoice's balance falls in a bucket by the days since its due date (not yet due, 1–30, 31–60,
61–90, over 90). Open credit memos are credits that lower the balance. Remittances are listed
with the amount applied to invoices and what is left unapplied. With `include_children` the
accounts below are included (a parent's credit limit covers them).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ordino.accounts.models import Account
from ordino.accounts.tree import subtree
from ordino.invoicing.credit import exposure, limits_over
from ordino.invoicing.domain import OPEN_CREDIT_MEMO_STATUSES, OPEN_INVOICE_STATUSES
from ordino.invoicing.models import CreditMemo, Invoice, PaymentApplication, Remittance
from ordino.kernel.auth import Principal
from ordino.kernel.errors import NotFound
from ordino.kernel.money import format_minor
from ordino.orders.models import OrderSummary

BUCKETS = ("current", "days_1_30", "days_31_60", "days_61_90", "over_90")


def bucket(days_past_due: int) -> str:
    """The aging bucket of an item so many days past its due date (≤ 0: not yet due)."""
    if days_past_due <= 0:
        return "current"
    if days_past_due <= 30:
        return "days_1_30"
    if days_past_due <= 60:
        return "days_31_60"
    if days_past_due <= 90:
        return "days_61_90"
    return "over_90"


@dataclass
class _Currency:
    items: list[dict[str, Any]]
    credits: list[dict[str, Any]]
    payments: list[dict[str, Any]]
    aging: dict[str, int]
    invoiced: int = 0
    credited: int = 0


def _account(session: Session, number: str, principal: Principal) -> Any:
    row = session.execute(
        select(Account.id, Account.number, Account.name, Account.payment_terms).where(Account.number == number)
    ).first()
    if row is None or not principal.sees_account(row.id):
        raise NotFound(f"no account '{number}'")
    return row


def statement(
    session: Session, number: str, principal: Principal, as_of: date, *, include_children: bool = False
) -> dict[str, Any]:
    account = _account(session, number, principal)
    accounts: Any = select(subtree(account.id).c.id) if include_children else [account.id]
    named = session.execute(select(Account.id, Account.number).where(Account.id.in_(accounts))).all()
    numbers = {account_id: account_number for account_id, account_number in named}
    per: dict[str, _Currency] = defaultdict(lambda: _Currency([], [], [], dict.fromkeys(BUCKETS, 0)))
    _add_invoices(session, accounts, numbers, as_of, per)
    _add_credit_memos(session, accounts, numbers, per)
    _add_remittances(session, accounts, numbers, as_of, per)
    return {
        "account": account.number,
        "name": account.name,
        "payment_terms": account.payment_terms,
        "as_of": as_of,
        "include_children": include_children,
        "credit": _credit(session, account.id),
        "currencies": [
            {
                "currency": cur,
                "balance": format_minor(c.invoiced - c.credited, cur),
                "open_invoices": format_minor(c.invoiced, cur),
                "open_credits": format_minor(c.credited, cur),
                "aging": {k: format_minor(v, cur) for k, v in c.aging.items()},
                "open_items": c.items,
                "credits": c.credits,
                "payments": c.payments,
            }
            for cur, c in sorted(per.items())
        ],
    }


def _add_invoices(
    session: Session, accounts: Any, numbers: dict[uuid.UUID, str], as_of: date, per: dict[str, _Currency]
) -> None:
    """Open invoices, oldest due first, aged by the days past their due date."""
    invoices = session.execute(
        select(Invoice.id, Invoice.number, Invoice.account_id, Invoice.currency, Invoice.invoice_date,
               Invoice.due_date, Invoice.total_amount, Invoice.balance_amount, Invoice.status,
               OrderSummary.number.label("order_number"))
        .join(OrderSummary, OrderSummary.id == Invoice.order_summary_id)
        .where(Invoice.account_id.in_(accounts), Invoice.status.in_(OPEN_INVOICE_STATUSES),
               Invoice.balance_amount > 0)
        .order_by(Invoice.due_date, Invoice.number)
    ).all()
    for inv in invoices:
        c = per[inv.currency]
        days = (as_of - inv.due_date).days
        c.aging[bucket(days)] += inv.balance_amount
        c.invoiced += inv.balance_amount
        c.items.append({
            "type": "invoice", "number": inv.number, "account": numbers[inv.account_id], "order": inv.order_number,
            "invoice_date": inv.invoice_date, "due_date": inv.due_date, "status": inv.status,
            "total": format_minor(inv.total_amount, inv.currency),
            "balance": format_minor(inv.balance_amount, inv.currency),
            "days_past_due": max(0, days), "bucket": bucket(days),
        })


def _add_credit_memos(
    session: Session, accounts: Any, numbers: dict[uuid.UUID, str], per: dict[str, _Currency]
) -> None:
    """Open credit memos: credits that lower the balance."""
    memos = session.execute(
        select(CreditMemo.number, CreditMemo.account_id, CreditMemo.currency, CreditMemo.credit_memo_date,
               CreditMemo.total_amount, CreditMemo.balance_amount)
        .where(CreditMemo.account_id.in_(accounts), CreditMemo.status.in_(OPEN_CREDIT_MEMO_STATUSES),
               CreditMemo.balance_amount > 0)
        .order_by(CreditMemo.credit_memo_date, CreditMemo.number)
    ).all()
    for memo in memos:
        c = per[memo.currency]
        c.credited += memo.balance_amount
        c.credits.append({
            "type": "credit_memo", "number": memo.number, "account": numbers[memo.account_id],
            "date": memo.credit_memo_date, "total": format_minor(memo.total_amount, memo.currency),
            "balance": format_minor(memo.balance_amount, memo.currency),
        })


def _add_remittances(
    session: Session, accounts: Any, numbers: dict[uuid.UUID, str], as_of: date, per: dict[str, _Currency]
) -> None:
    """The last 100 remittances received by `as_of`, with what was applied of each."""
    applied = (
        select(PaymentApplication.remittance_id, func.sum(PaymentApplication.amount).label("applied"))
        .where(PaymentApplication.remittance_id.is_not(None), PaymentApplication.status == "applied")
        .group_by(PaymentApplication.remittance_id)
        .subquery()
    )
    remittances = session.execute(
        select(Remittance.reference, Remittance.account_id, Remittance.currency, Remittance.amount,
               Remittance.received_on, func.coalesce(applied.c.applied, 0).label("applied"))
        .outerjoin(applied, applied.c.remittance_id == Remittance.id)
        .where(Remittance.account_id.in_(accounts), Remittance.received_on <= as_of)
        .order_by(Remittance.received_on.desc(), Remittance.reference)
        .limit(100)
    ).all()
    for r in remittances:
        per[r.currency].payments.append({
            "reference": r.reference, "account": numbers[r.account_id], "received_on": r.received_on,
            "amount": format_minor(r.amount, r.currency), "applied": format_minor(r.applied, r.currency),
            "unapplied": format_minor(r.amount - r.applied, r.currency),
        })


def _credit(session: Session, account_id: uuid.UUID) -> list[dict[str, Any]]:
    """Each credit limit covering the account, with what is used of it and what is left."""
    out = []
    for limit in limits_over(session, account_id):
        used = exposure(session, limit.account_id, limit.currency)
        out.append({
            "account": limit.account_number, "currency": limit.currency,
            "limit": format_minor(limit.amount, limit.currency), "exposure": format_minor(used, limit.currency),
            "available": format_minor(max(0, limit.amount - used), limit.currency),
        })
    return out
