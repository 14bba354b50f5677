"""Credit limits: an order bought on account that would take the buyer past its limit is held.

Exposure of an account = the open balances of its invoices + what its accepted orders on account
will still invoice (grand total − invoiced so far, for orders neither cancelled, closed nor waiting
for approval). A limit set on an account covers it and every account below it: a parent's limit is
checked against the exposure of its whole subtree, a child's own limit against the child's. Every
limit on the way up from the buyer's account must hold.

Only orders bought on account (an invoice payment instruction, or no payment instruction at all)
are checked: a card authorization is the card issuer's credit, not ours. The check runs in the
flow before routing, under a lock of the account that holds each limit, so that two orders of one
family cannot both slip under the same limit. An order over a limit is not refused: it is held for
approval (reason `credit_limit`) and goes on when finance approves it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from ordino.accounts.models import Account
from ordino.accounts.tree import subtree
from ordino.invoicing.domain import OPEN_INVOICE_STATUSES
from ordino.invoicing.models import Invoice
from ordino.kernel.money import format_minor
from ordino.orders.approvals.domain import Reason
from ordino.orders.approvals.service import hold_for_approval
from ordino.orders.models import OrderSummary

# Orders whose amounts count towards exposure: accepted and not finished.
NOT_EXPOSED = ("cancelled", "closed", "pending_approval")
MAX_DEPTH = 32


@dataclass(frozen=True, slots=True)
class Limit:
    account_id: uuid.UUID
    account_number: str
    amount: int
    currency: str


def limits_over(session: Session, account_id: uuid.UUID, *, lock: bool = False) -> list[Limit]:
    """The credit limits that cover an account: its own and its ancestors', nearest first."""
    found: list[Limit] = []
    current: uuid.UUID | None = account_id
    for _ in range(MAX_DEPTH):
        if current is None:
            break
        stmt = select(
            Account.id, Account.number, Account.parent_id, Account.credit_limit_amount, Account.credit_limit_currency
        ).where(Account.id == current)
        row = session.execute(stmt.with_for_update() if lock else stmt).one()
        if row.credit_limit_amount is not None and row.credit_limit_currency is not None:
            found.append(Limit(row.id, row.number, row.credit_limit_amount, row.credit_limit_currency))
        current = row.parent_id
    return found


def exposure(session: Session, account_id: uuid.UUID, currency: str, *, excluding: uuid.UUID | None = None) -> int:
    """Open receivables of the account's subtree in `currency`, plus its accepted orders' amounts
    not yet invoiced. Amounts in other currencies are not converted: a credit limit is agreed in
    the currency the account buys in, and the statement shows other currencies apart."""
    tree = subtree(account_id)
    accounts = select(tree.c.id)
    open_invoices = session.execute(
        select(func.coalesce(func.sum(Invoice.balance_amount), 0)).where(
            Invoice.account_id.in_(accounts), Invoice.currency == currency,
            Invoice.status.in_(OPEN_INVOICE_STATUSES),
        )
    ).scalar_one()
    invoiced = (
        select(Invoice.order_summary_id, func.sum(Invoice.total_amount).label("total"))
        .where(Invoice.status != "cancelled", Invoice.kind != "fee")
        .group_by(Invoice.order_summary_id)
        .subquery()
    )
    orders = select(
        OrderSummary.grand_total_amount, OrderSummary.payment_instructions, func.coalesce(invoiced.c.total, 0)
    ).outerjoin(invoiced, invoiced.c.order_summary_id == OrderSummary.id).where(
        OrderSummary.account_id.in_(accounts), OrderSummary.currency == currency,
        OrderSummary.status.not_in(NOT_EXPOSED),
    )
    if excluding is not None:
        # First come, first served: of the orders not yet checked, only those placed before count.
        orders = orders.where(
            OrderSummary.id != excluding, or_(OrderSummary.status != "created", OrderSummary.id < excluding)
        )
    # Orders paid by card are the card issuer's credit: only orders on account count.
    uninvoiced = sum(
        max(0, total - done) for total, instructions, done in session.execute(orders).all()
        if on_account(instructions)
    )
    return int(open_invoices) + int(uninvoiced)


def on_account(instructions: list[dict[str, Any]] | None) -> bool:
    """Whether an order is bought on the seller's credit: invoice terms, or no payment given."""
    return not instructions or any(p.get("method") == "invoice" for p in instructions)


def check_credit(session: Session, order_id: uuid.UUID, actor: str | None) -> list[Reason]:
    """Hold a new order bought on account that would exceed a credit limit; the reasons found."""
    order = session.execute(
        select(OrderSummary.id, OrderSummary.account_id, OrderSummary.status, OrderSummary.currency,
               OrderSummary.grand_total_amount, OrderSummary.payment_instructions)
        .where(OrderSummary.id == order_id)
    ).first()
    if order is None or order.status != "created" or not on_account(order.payment_instructions):
        return []
    reasons: list[Reason] = []
    for limit in limits_over(session, order.account_id, lock=True):
        if limit.currency != order.currency:
            continue
        before = exposure(session, limit.account_id, limit.currency, excluding=order.id)
        if before + order.grand_total_amount > limit.amount:
            def money(minor: int, currency: str = limit.currency) -> str:
                return format_minor(minor, currency)

            reasons.append(Reason(
                "credit_limit",
                f"the order ({money(order.grand_total_amount)}) with open receivables and orders of "
                f"{money(before)} exceeds the credit limit of {limit.account_number} "
                f"({money(limit.amount)} {limit.currency})",
                {"account": limit.account_number, "limit": money(limit.amount), "exposure": money(before),
                 "order_total": money(order.grand_total_amount), "currency": limit.currency},
            ))
    if reasons:
        hold_for_approval(session, order.id, reasons, actor)
    return reasons
