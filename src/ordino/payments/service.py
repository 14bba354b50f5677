"""Payment use cases: methods, summaries, and authorize / capture / refund / void / re-authorize.

A gateway call is never made inside an open database transaction. Each money movement runs in
three steps (after Stripe's "atomic phases"):

1. `begin_*` (one transaction): find the record of this idempotency key, or insert it `pending`
   and hold its amount with conditional UPDATEs (`pending_capture`, `pending_refund`,
   `pending_reverse_auth` on the authorization or capture and on the summary). Refusals (above
   what is available, wrong state) raise and write nothing.
2. `call_gateway` (no transaction): the adapter sends the record's id as the gateway's
   idempotency key and retries timeouts with that same key.
3. `finish` (a second transaction): a conditional UPDATE settles the record only if it is still
   `pending`, moves the held amount to captured / refunded / reversed (or releases it), writes
   the history, the events and the gateway call log.

A crash or timeout between 1 and 3 leaves a `pending` record with its amount held. Running the
same operation again with the same idempotency key finds it and calls the gateway again with the
same key, which answers with the original result instead of moving money twice; `resume` and the
periodic `resolve_pending` do the same for records nobody retries.

`execute` runs the three steps on one session, committing after step 1 (and after logging the
calls of a failed step 2); callers that need the steps apart (the API, under an Idempotency-Key)
call them one by one. The steps live in payments.steps, methods and summaries in
payments.methods; this module is the façade the API, the handlers and other capabilities use.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ordino.kernel import clock
from ordino.kernel.errors import FieldError, Problem, ValidationFailed
from ordino.kernel.ids import new_id
from ordino.payments.errors import GatewayNotAnswering
from ordino.payments.gateway import GatewayResult, Gateways, GatewayUnavailable
from ordino.payments.methods import MethodSpec, check_token, ensure_method, ensure_summary
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
    "GatewayNotAnswering", "GatewayUnavailable", "Intent", "MethodSpec", "Settlement", "authorize",
    "begin_authorization", "begin_capture", "begin_reauthorization", "begin_refund", "begin_void", "call_gateway",
    "capture", "check_token", "ensure_method", "ensure_summary", "execute", "execute_begun", "expire_authorizations",
    "finish", "import_authorization", "load_intent", "reauthorize", "record_calls", "refund", "resolve_pending",
    "resume", "void",
]


# ------------------------------------------------------------------------------------------------
# The three steps on one session


def execute(session: Session, gateways: Gateways, intent: Intent, actor: str | None = None) -> Settlement:
    """Run an intent to its end: commit step 1, call the gateway, settle in a new transaction.

    The session's transaction is committed after step 1, so call this with a session of its own
    (`Database.transaction`, or a worker handler's session) and nothing else uncommitted in it.
    """
    if intent.settled:
        p = _payment(session, intent.payment_id)
        return Settlement(p.id, p.status, False, p.failure_code, p.failure_message)
    session.commit()  # step 1 is durable before any money moves
    try:
        result = call_gateway(gateways, intent)
    except GatewayUnavailable as exc:
        record_calls(session, intent.payment_id, intent.gateway, exc.calls)
        session.commit()
        raise
    return finish(session, intent, result, actor)


def execute_begun(
    session: Session, gateways: Gateways, intents: Sequence[Intent], actor: str | None = None
) -> GatewayUnavailable | None:
    """Steps 2 and 3 of intents begun (and committed) together by another capability: each unsettled
    intent's gateway is called with no transaction open and the answers are settled; the calls of
    those that did not answer are logged. The first gateway that did not answer is returned, for the
    caller to raise once its own bookkeeping is done."""
    answered: list[tuple[Intent, GatewayResult]] = []
    unavailable: GatewayUnavailable | None = None
    for intent in intents:
        if intent.settled:
            continue
        try:
            answered.append((intent, call_gateway(gateways, intent)))
        except GatewayUnavailable as exc:
            record_calls(session, intent.payment_id, intent.gateway, exc.calls)
            unavailable = unavailable or exc
    for intent, result in answered:
        finish(session, intent, result, actor)
    return unavailable


def authorize(
    session: Session, gateways: Gateways, *, order_summary_id: uuid.UUID, account_id: uuid.UUID, currency: str,
    amount_minor: int, method: MethodSpec | uuid.UUID, idempotency_key: str, actor: str | None = None,
) -> Settlement:
    intent = begin_authorization(
        session, gateways, order_summary_id=order_summary_id, account_id=account_id, currency=currency,
        amount_minor=amount_minor, method=method, idempotency_key=idempotency_key, actor=actor,
    )
    return execute(session, gateways, intent, actor)


def capture(
    session: Session, gateways: Gateways, authorization_id: uuid.UUID, amount_minor: int | None, *,
    idempotency_key: str, actor: str | None = None,
) -> Settlement:
    intent = begin_capture(session, gateways, authorization_id, amount_minor, idempotency_key=idempotency_key,
                           actor=actor)
    return execute(session, gateways, intent, actor)


def refund(
    session: Session, gateways: Gateways, capture_id: uuid.UUID, amount_minor: int | None, *,
    idempotency_key: str, actor: str | None = None, reason: str | None = None,
) -> Settlement:
    intent = begin_refund(session, gateways, capture_id, amount_minor, idempotency_key=idempotency_key, actor=actor,
                          reason=reason)
    return execute(session, gateways, intent, actor)


def void(
    session: Session, gateways: Gateways, authorization_id: uuid.UUID, amount_minor: int | None = None, *,
    idempotency_key: str, actor: str | None = None, reason: str | None = None,
) -> Settlement:
    intent = begin_void(session, gateways, authorization_id, amount_minor, idempotency_key=idempotency_key,
                        actor=actor, reason=reason)
    return execute(session, gateways, intent, actor)


def reauthorize(
    session: Session, gateways: Gateways, authorization_id: uuid.UUID, amount_minor: int, *,
    idempotency_key: str, actor: str | None = None, reason: str | None = None,
) -> Settlement:
    intent = begin_reauthorization(session, gateways, authorization_id, amount_minor,
                                   idempotency_key=idempotency_key, actor=actor, reason=reason)
    return execute(session, gateways, intent, actor)


def resume(session: Session, gateways: Gateways, payment_id: uuid.UUID, actor: str | None = None) -> Settlement:
    """Settle a pending record left by a crash or a timeout (the gateway replays its answer)."""
    return execute(session, gateways, load_intent(session, payment_id), actor)


def resolve_pending(
    session: Session, gateways: Gateways, older_than: timedelta = timedelta(minutes=5), limit: int = 100
) -> int:
    """A periodic job: settle records pending for longer than `older_than`; returns how many."""
    cutoff = clock.now() - older_than
    ids = session.execute(
        select(P.id).where(P.status == "pending", P.created_at < cutoff).order_by(P.created_at).limit(limit)
    ).scalars().all()
    settled = 0
    for payment_id in ids:
        try:
            settled += resume(session, gateways, payment_id, actor="system:resolve_pending").settled_now
        except (GatewayUnavailable, Problem):
            continue  # still no answer (or no adapter): the next round tries again
    return settled


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
