"""The money consequence of a change, as ensure refunds will carry it out (invoicing.refunds).

Read-only: a preview and the submit compute it from the same state, before anything is written.
- A cancel credits units that were never invoiced: captured money the order no longer needs is
  refunded, the rest was never charged, and the authorized money the order no longer needs is
  released (authorizations reduced or voided).
- A return or an appeasement credits invoiced money: refunded as far as the invoices were paid,
  the rest stays credited (applied to the order's open invoices, or refunded once paid).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from ordino.invoicing import ledger
from ordino.invoicing.domain import plan_refunds
from ordino.kernel.money import format_minor
from ordino.payments import reads as payment_reads


def consequence(session: Session, order: Any, credit: int, *, invoiced: bool) -> dict[str, Any]:
    """What a credit of `credit` (> 0 minor units, or 0) does to the order's money."""
    captures = ledger.captures(session, order.id)
    unapplied = sum(max(0, c.unapplied) for c in captures)
    refund = not_charged = void = open_credit = 0
    if invoiced:
        refund = min(credit, sum(max(0, c.applied_refundable) for c in captures))
        open_credit = credit - refund
        plan = plan_refunds(captures, from_unapplied=0, from_applied=refund)
    else:
        still = max(0, ledger.still_to_pay(session, order.id) - credit)
        refund = min(credit, max(0, unapplied - still))
        not_charged = credit - refund
        plan = plan_refunds(captures, from_unapplied=refund, from_applied=0)
        authorized = sum(a.amount for a in payment_reads.capturable_summaries(session, order.id, order.currency))
        void = max(0, authorized - max(0, still - (unapplied - refund)))
    cur = order.currency
    return {
        "credit": format_minor(credit, cur), "refund": format_minor(refund, cur),
        "refunds": [{"payment_id": str(capture), "amount": format_minor(amount, cur)} for capture, _, amount in plan],
        "void": format_minor(void, cur), "not_charged": format_minor(not_charged, cur),
        "open_credit": format_minor(open_credit, cur),
    }
