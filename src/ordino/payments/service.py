"""Payment use cases: methods, summaries, and authorize / capture / refund / void / re-authorize.

A money movement runs in three steps, each its own transaction or none (payments.orchestrator):
`begin_*` writes the pending record and holds its amount, the gateway is called with no
transaction open, and `finish` settles the record. The use cases here take the `Database` and
run the three steps through the orchestrator; a crash or a timeout between them leaves a
`pending` record with its amount held, which the same operation with the same idempotency key
(or `resume`, or the periodic `resolve_pending`) settles without moving money twice.

The steps live in payments.steps, methods and summaries in payments.methods; this module is the
façade the API, the handlers and other capabilities use.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ordino.kernel import clock
from ordino.kernel.db import Database
from ordino.kernel.errors import FieldError, Problem, ValidationFailed
from ordino.kernel.ids import new_id
from ordino.kernel.worker import AfterCommit
from ordino.payments import orchestrator
from ordino.payments.errors import GatewayNotAnswering
from ordino.payments.gateway import Gateways, GatewayUnavailable
from ordino.payments.methods import MethodSpec, check_token, ensure_method, ensure_summary
from ordino.payments.orchestrator import Answers, Begun
from ordino.payments.steps import (
    METHOD,
    Intent,
    P,
    S,
    Settlement,
    _check_amount,
    _event_data,
    _expire,
    _move,
    _new_record,
    _payment,
    _transition,
    begin_authorization,
    begin_capture,
    begin_reauthorization,
    begin_refund,
    begin_void,
    call_gateway,
    finish,
    load_intent,
    record_calls,
)

__all__ = [
    "Answers", "Begun", "GatewayNotAnswering", "GatewayUnavailable", "Intent", "MethodSpec", "Settlement", "authorize",
    "begin_authorization", "begin_capture", "begin_reauthorization", "begin_refund", "begin_void", "call_gateway",
    "capture", "check_token", "ensure_method", "ensure_summary", "expire_authorizations", "finish",
    "import_authorization", "load_intent", "pending_ids", "reauthorize", "record_calls", "refund", "resolve",
    "resolve_pending", "resolve_pending_job", "resume", "void",
]


def _one(intent: Intent) -> Begun[Settlement]:
    """One intent begun: its settlement (settled now, or found settled before)."""

    def settle(session: Session, answers: Answers) -> Settlement:
        if answers.settlements:
            return answers.settlements[0]
        p = _payment(session, intent.payment_id)
        return Settlement(p.id, p.status, False, p.failure_code, p.failure_message)

    return Begun([intent], settle)


def _run(db: Database, gateways: Gateways, begin: Callable[[Session], Intent], actor: str | None) -> Settlement:
    return orchestrator.run(db, gateways, lambda session: _one(begin(session)), actor=actor)


def authorize(
    db: Database, gateways: Gateways, *, order_summary_id: uuid.UUID, account_id: uuid.UUID, currency: str,
    amount_minor: int, method: MethodSpec | uuid.UUID, idempotency_key: str, actor: str | None = None,
) -> Settlement:
    return _run(db, gateways, lambda session: begin_authorization(
        session, gateways, order_summary_id=order_summary_id, account_id=account_id, currency=currency,
        amount_minor=amount_minor, method=method, idempotency_key=idempotency_key, actor=actor,
    ), actor)


def capture(
    db: Database, gateways: Gateways, authorization_id: uuid.UUID, amount_minor: int | None, *,
    idempotency_key: str, actor: str | None = None,
) -> Settlement:
    return _run(db, gateways, lambda session: begin_capture(
        session, gateways, authorization_id, amount_minor, idempotency_key=idempotency_key, actor=actor,
    ), actor)


def refund(
    db: Database, gateways: Gateways, capture_id: uuid.UUID, amount_minor: int | None, *,
    idempotency_key: str, actor: str | None = None, reason: str | None = None,
) -> Settlement:
    return _run(db, gateways, lambda session: begin_refund(
        session, gateways, capture_id, amount_minor, idempotency_key=idempotency_key, actor=actor, reason=reason,
    ), actor)


def void(
    db: Database, gateways: Gateways, authorization_id: uuid.UUID, amount_minor: int | None = None, *,
    idempotency_key: str, actor: str | None = None, reason: str | None = None,
) -> Settlement:
    return _run(db, gateways, lambda session: begin_void(
        session, gateways, authorization_id, amount_minor, idempotency_key=idempotency_key, actor=actor,
        reason=reason,
    ), actor)


def reauthorize(
    db: Database, gateways: Gateways, authorization_id: uuid.UUID, amount_minor: int, *,
    idempotency_key: str, actor: str | None = None, reason: str | None = None,
) -> Settlement:
    return _run(db, gateways, lambda session: begin_reauthorization(
        session, gateways, authorization_id, amount_minor, idempotency_key=idempotency_key, actor=actor,
        reason=reason,
    ), actor)


def resume(db: Database, gateways: Gateways, payment_id: uuid.UUID, actor: str | None = None) -> Settlement:
    """Settle a pending record left by a crash or a timeout (the gateway replays its answer)."""
    return _run(db, gateways, lambda session: load_intent(session, payment_id), actor)


def pending_ids(session: Session, older_than: timedelta = timedelta(minutes=5), limit: int = 100) -> list[uuid.UUID]:
    """Records pending for longer than `older_than`, oldest first."""
    cutoff = clock.now() - older_than
    return list(session.execute(
        select(P.id).where(P.status == "pending", P.created_at < cutoff).order_by(P.created_at).limit(limit)
    ).scalars().all())


def resolve(db: Database, gateways: Gateways, payment_ids: Sequence[uuid.UUID]) -> int:
    """Settle these pending records, each in its own steps; returns how many were settled now."""
    settled = 0
    for payment_id in payment_ids:
        try:
            settled += resume(db, gateways, payment_id, actor="system:resolve_pending").settled_now
        except (GatewayUnavailable, Problem):
            continue  # still no answer (or no adapter): the next round tries again
    return settled


def resolve_pending(
    db: Database, gateways: Gateways, older_than: timedelta = timedelta(minutes=5), limit: int = 100
) -> int:
    """Settle records pending for longer than `older_than`; returns how many."""
    with db.read() as session:
        ids = pending_ids(session, older_than, limit)
    return resolve(db, gateways, ids)


def resolve_pending_job(gateways: Gateways) -> Callable[[Session], AfterCommit | None]:
    """`resolve_pending` as a periodic job of the worker: the look-up in the job's transaction,
    the gateway calls after it."""

    def job(session: Session) -> AfterCommit | None:
        ids = pending_ids(session)
        if not ids:
            return None

        def after(db: Database, _last: Callable[[Session], None]) -> None:
            resolve(db, gateways, ids)

        return AfterCommit(after)

    return job


def expire_authorizations(session: Session, now: datetime | None = None, limit: int = 500) -> int:
    """A periodic job: authorizations past their expiry release what was not captured."""
    now = now or clock.now()
    ids = session.execute(
        select(P.id)
        .where(P.kind == "authorization", P.status == "authorized", P.expires_at.is_not(None), P.expires_at <= now)
        .order_by(P.expires_at)
        .limit(limit)
    ).scalars().all()
    return sum(_expire(session, auth_id, "system:expiry") for auth_id in ids)


def import_authorization(
    session: Session, *, order_summary_id: uuid.UUID, account_id: uuid.UUID, currency: str, amount_minor: int,
    method: MethodSpec | uuid.UUID, gateway_reference: str, expires_at: datetime | None, idempotency_key: str,
    actor: str | None = None,
) -> uuid.UUID:
    """Record an authorization the channel already took (a marketplace, a storefront's own
    checkout): no gateway call now; captures, refunds and voids go to the method's gateway."""
    found = session.execute(select(P.id, P.kind, P.amount).where(P.idempotency_key == idempotency_key)).first()
    if found is not None:
        if found.kind != "authorization" or found.amount != amount_minor:
            raise ValidationFailed([FieldError("Idempotency-Key", "was already used with a different request")])
        return uuid.UUID(str(found.id))
    _check_amount(amount_minor)
    method_id = ensure_method(session, account_id, method)[0] if isinstance(method, MethodSpec) else method
    m = session.execute(select(METHOD).where(METHOD.c.id == method_id)).first()
    if m is None or m.account_id != account_id or m.method == "invoice":
        raise ValidationFailed([FieldError("payment_method", "is not a token payment method of the account")])
    summary_id = ensure_summary(session, order_summary_id, account_id, method_id, currency)
    payment_id = new_id()
    values = {
        "id": payment_id, "kind": "authorization", "source": "imported", "summary_id": summary_id,
        "parent_id": None, "order_summary_id": order_summary_id, "account_id": account_id, "currency": currency,
        "amount": amount_minor, "gateway": m.gateway, "idempotency_key": idempotency_key,
    }
    _new_record(session, values, actor)
    now = clock.now()
    session.execute(
        update(P).where(P.id == payment_id)
        .values(status="authorized", gateway_reference=gateway_reference, expires_at=expires_at, settled_at=now)
        .execution_options(synchronize_session=False)
    )
    _move(session, S, summary_id, {"authorized_amount": amount_minor})
    p = _payment(session, payment_id)
    _transition(session, "authorization", payment_id, "pending", "approve", actor, _event_data(p, source="imported"),
                reason="imported from the channel")
    return payment_id
