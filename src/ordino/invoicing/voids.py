"""Release what an order's authorizations hold beyond what the order still needs: part of ensure
refunds (invoicing.refunds), per credit memo run and per run of an order's excess funds.

Units cancelled before they were captured leave the credit memo's uninvoiced part settled as not
charged, while the card authorization still holds their money. So every run also voids:

    surplus = Σ available to capture of the order's live authorizations
              − max(0, ledger.still_to_pay(order) − Σ unapplied captured money)

newest authorization first, each void never above what its authorization has left to capture.
The voids are begun in the run's first transaction, after its refunds (so the unapplied money
is what those refunds leave), as pending records with their amounts held
(payments.steps.begin_void); the payment orchestrator sends them with the refunds.

Keys are `<owner>/void/<authorization id>/<n>`, the owner being `credit_memo/<id>` or
`order/<id>/excess` and n counting the voids the owner made of that authorization. A later run
takes the owner's pending voids up again with their keys, and what they hold is no longer
available to capture, so a void is made once. A capture still in flight counts as needed (the
invoice it pays is still open), so nothing it may yet need is voided.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from ordino.invoicing import ledger
from ordino.kernel.errors import Problem
from ordino.kernel.money import format_minor
from ordino.payments import reads
from ordino.payments import service as payments
from ordino.payments.gateway import Gateways

# A refusal or a decline: (message, dedup key) → a process exception (invoicing.refunds).
Report = Callable[[str, str], object]


def surplus(session: Session, order: Any) -> tuple[list[reads.Available], int]:
    """The order's live authorizations (newest first) and what they hold beyond its need."""
    authorizations = reads.live_authorizations(session, order.id, order.currency)
    unapplied = sum(max(0, c.unapplied) for c in ledger.captures(session, order.id))
    need = max(0, ledger.still_to_pay(session, order.id) - unapplied)
    return authorizations, sum(a.amount for a in authorizations) - need


def begin_voids(session: Session, gateways: Gateways, order: Any, owner: str, actor: str | None,
                report: Report) -> list[payments.Intent]:
    """The owner's pending voids, and new ones for the order's surplus (order locked by the caller)."""
    prefix = f"{owner}/void/"
    made = reads.keyed(session, order.id, prefix)
    begun = [payments.load_intent(session, r.id) for r in made if r.status == "pending"]
    authorizations, left = surplus(session, order)
    for auth in authorizations:
        if left <= 0:
            break
        amount = min(left, auth.amount)
        key = f"{prefix}{auth.id}/{1 + sum(1 for r in made if r.parent_id == auth.id)}"
        try:
            with session.begin_nested():  # a refusal undoes only this void's writes
                intent = payments.begin_void(session, gateways, auth.id, amount, idempotency_key=key, actor=actor,
                                             reason="no longer needed by the order")
        except Problem as problem:
            report(f"the release of {format_minor(amount, order.currency)} {order.currency} held by an"
                   f" authorization was refused: {problem.detail}", f"{key}/refused")
            continue
        begun.append(intent)
        left -= amount
    return begun


def settle_voids(session: Session, intents: list[payments.Intent], currency: str, report: Report) -> None:
    """A void the gateway declined becomes a process exception (its amount is held no more)."""
    for intent in intents:
        outcome = reads.outcome(session, intent.payment_id)
        if outcome.status == "failed":
            report(f"the release of {format_minor(intent.amount, currency)} {currency} held by an authorization"
                   f" failed at the gateway: {outcome.failure_message or outcome.failure_code}",
                   f"void/{intent.payment_id}/failed")
