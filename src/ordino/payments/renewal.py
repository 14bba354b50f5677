"""Authorizations about to expire are re-authorized before they lapse (a worker job).

A card authorization lives a few days; an order that ships later would find nothing to capture.
The job finds authorizations that expire within `window` with money left on them, and
re-authorizes what is left (the gateway's re-authorization: a new authorization, the old one's
remainder reversed). The idempotency key names the authorization replaced, so a job that runs
again, in this worker or another, after a crash or not, never re-authorizes it twice. A gateway
that declines is announced as `payment.authorization_failed` in the transaction that settles the
decline, so the payment process exception can never be missed.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ordino.kernel import clock
from ordino.kernel.db import Database
from ordino.kernel.errors import Problem
from ordino.kernel.money import format_minor
from ordino.kernel.outbox import emit
from ordino.kernel.worker import AfterCommit
from ordino.payments import orchestrator
from ordino.payments.gateway import Gateways, GatewayUnavailable
from ordino.payments.models import Payment
from ordino.payments.orchestrator import Answers, Begun
from ordino.payments.steps import Settlement, begin_reauthorization

AUTHORIZATION_FAILED = "payment.authorization_failed"
ACTOR = "system:reauthorize"
WINDOW = timedelta(hours=24)
P = Payment


def expiring(session: Session, window: timedelta = WINDOW, limit: int = 100) -> list[tuple[uuid.UUID, int]]:
    """(authorization, amount left) of the authorizations that lapse within `window`, soonest first."""
    now = clock.now()
    left = P.amount - P.captured_amount - P.reversed_amount
    rows = session.execute(
        select(P.id, left)
        .where(P.kind == "authorization", P.status == "authorized", P.expires_at.is_not(None),
               P.expires_at > now, P.expires_at <= now + window, left > 0,
               P.pending_capture_amount == 0, P.pending_reverse_amount == 0)
        .order_by(P.expires_at)
        .limit(limit)
    ).tuples().all()
    return [(auth_id, int(amount)) for auth_id, amount in rows]


def _announce_decline(session: Session, old_id: uuid.UUID, settlement: Settlement) -> None:
    old = session.get(P, old_id)
    assert old is not None
    emit(session, AUTHORIZATION_FAILED, f"order/{old.order_summary_id}", {
        "order_summary_id": str(old.order_summary_id), "account_id": str(old.account_id),
        "payment_id": str(settlement.payment_id), "replaces": str(old_id), "method": "card", "gateway": old.gateway,
        "amount": format_minor(old.amount - old.captured_amount - old.reversed_amount, old.currency),
        "currency": old.currency, "code": settlement.code or "declined",
        "message": settlement.message or "the re-authorization was declined", "step": "payments.reauthorize_expiring",
    })


def renew(db: Database, gateways: Gateways, auth_id: uuid.UUID, amount: int) -> Settlement:
    """Re-authorize `amount` of one authorization before it lapses."""

    def begin(session: Session) -> Begun[Settlement]:
        intent = begin_reauthorization(
            session, gateways, auth_id, amount, idempotency_key=f"reauthorize-expiring/{auth_id}", actor=ACTOR,
            reason="the authorization was about to expire",
        )

        def settle(s: Session, answers: Answers) -> Settlement:
            found = answers.settlements[0] if answers.settlements else None
            if found is None:
                p = s.get(P, intent.payment_id)
                assert p is not None
                return Settlement(p.id, p.status, False, p.failure_code, p.failure_message)
            if found.settled_now and found.status == "declined":
                _announce_decline(s, auth_id, found)
            return found

        return Begun([intent], settle)

    return orchestrator.run(db, gateways, begin, actor=ACTOR)


def reauthorize_expiring_job(gateways: Gateways, window: timedelta = WINDOW) -> Callable[[Session], AfterCommit | None]:
    """The worker job: the look-up in the job's transaction, the gateway calls after it."""

    def job(session: Session) -> AfterCommit | None:
        found = expiring(session, window)
        if not found:
            return None

        def after(db: Database, _last: Callable[[Session], None]) -> None:
            for auth_id, amount in found:
                try:
                    renew(db, gateways, auth_id, amount)
                except (GatewayUnavailable, Problem):
                    continue  # no answer, or it changed meanwhile: the next round looks again

        return AfterCommit(after)

    return job
