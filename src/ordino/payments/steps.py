"""The steps of a money movement: begin (hold the amount), call the gateway, finish (settle).

See payments.service for how they fit together and why no transaction stays open during a
gateway call.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, insert, select, update
from sqlalchemy.orm import Session

from ordino.audit import service as audit
from ordino.kernel import clock
from ordino.kernel.auth import Principal
from ordino.kernel.errors import Conflict, FieldError, InvalidTransition, NotFound, ValidationFailed
from ordino.kernel.ids import new_id
from ordino.kernel.money import MAX_MINOR, format_minor
from ordino.kernel.statemachine import StatusHistory, apply, initial_history
from ordino.payments import domain
from ordino.payments.errors import (
    AmountNotAvailable,
    AuthorizationExpired,
    GatewayNotConfigured,
    NotAuthorizable,
    NotRefundable,
    OperationPending,
)
from ordino.payments.gateway import CallRecord, GatewayResult, Gateways
from ordino.payments.methods import MethodSpec, dialect_insert, ensure_method, ensure_summary
from ordino.payments.models import GatewayCall, OrderPaymentSummary, Payment, PaymentMethod

P = Payment
S = OrderPaymentSummary
PAYMENT = cast(Table, Payment.__table__)
METHOD = cast(Table, PaymentMethod.__table__)
AUTH_AVAILABLE = domain.AUTHORIZATION_TO_CAPTURE.over(P)
CAPTURE_AVAILABLE = domain.CAPTURE_TO_REFUND.over(P)
SUMMARY_TO_CAPTURE = domain.SUMMARY_TO_CAPTURE.over(S)
SUMMARY_TO_REFUND = domain.SUMMARY_TO_REFUND.over(S)


@dataclass(frozen=True, slots=True)
class Intent:
    """A payment record between its two transactions: what the gateway must be asked."""

    payment_id: uuid.UUID
    kind: str
    operation: str  # authorize | reauthorize | capture | refund | void
    status: str
    gateway: str
    amount: int
    currency: str
    target: str  # the token (authorize) or the gateway's reference of the parent record
    reference: str  # sent with authorizations: the order summary id

    @property
    def settled(self) -> bool:
        return self.status != "pending"

    @property
    def gateway_key(self) -> str:
        return str(self.payment_id)


@dataclass(frozen=True, slots=True)
class Settlement:
    payment_id: uuid.UUID
    status: str
    settled_now: bool  # this call settled it (False: it was settled before)
    code: str | None = None
    message: str | None = None


@dataclass
class _Record:  # what kernel.statemachine.apply needs of a record
    id: uuid.UUID
    status: str


def _move(
    session: Session, model: Any, row_id: uuid.UUID, changes: dict[str, int], *where: ColumnElement[bool]
) -> bool:
    """One conditional UPDATE adding `changes` to amount columns; False when WHERE fails."""
    values: dict[str, Any] = {name: getattr(model, name) + delta for name, delta in changes.items() if delta}
    values["updated_at"] = clock.now()
    stmt = update(model).where(model.id == row_id, *where).values(**values).returning(model.id)
    return session.execute(stmt.execution_options(synchronize_session=False)).first() is not None


def _money(minor: int, currency: str) -> str:
    return format_minor(minor, currency)


# ------------------------------------------------------------------------------------------------
# Step 1: begin


def _check_amount(amount: int | None, field: str = "amount") -> None:
    if amount is not None and not 0 < amount <= MAX_MINOR:
        raise ValidationFailed([FieldError(field, "must be greater than zero")])


def _check_gateway(gateways: Gateways, name: str | None) -> str:
    if not name or name not in gateways:
        raise GatewayNotConfigured(f"no payment gateway named '{name}' is configured")
    return name


def _payment(session: Session, payment_id: uuid.UUID, kind: str | None = None) -> Any:
    """The record as a plain row, read fresh (never an ORM object that could be stale)."""
    row = session.execute(select(PAYMENT).where(PAYMENT.c.id == payment_id)).first()
    if row is None or (kind is not None and row.kind != kind):
        raise NotFound(f"{kind or 'payment'} not found")
    return row


def _a(noun: str) -> str:
    return f"{'an' if noun[0] in 'aeiou' else 'a'} {noun}"


def _too_much(amount: int, available: int, currency: str, what: str, field: str) -> Conflict:
    return AmountNotAvailable(
        f"{_money(amount, currency)} is more than the {_money(available, currency)} {what}",
        extra={field: _money(available, currency)},
    )


def _refuse_state(row: Any, verb: str) -> Conflict:
    available = (domain.AUTHORIZATION_TO_CAPTURE if row.kind == "authorization" else domain.CAPTURE_TO_REFUND).over(row)
    return InvalidTransition(
        f"cannot {verb} {_a(row.kind)} that is {row.status}",
        extra={"current_status": row.status, "available_actions": domain.operations(row.kind, row.status, available)},
    )


def _existing(session: Session, key: str, kind: str, parent_id: uuid.UUID | None, amount: int | None) -> Intent | None:
    row = session.execute(select(P.id, P.kind, P.parent_id, P.amount).where(P.idempotency_key == key)).first()
    if row is None:
        return None
    if row.kind != kind or row.parent_id != parent_id or (amount is not None and row.amount != amount):
        raise ValidationFailed([FieldError("Idempotency-Key", "was already used with a different request")])
    return load_intent(session, row.id)


def _new_record(session: Session, values: dict[str, Any], actor: str | None) -> bool:
    """Insert a pending payment record; False when its idempotency key exists already."""
    now = clock.now()
    row = {
        "status": "pending", "source": "gateway", "captured_amount": 0, "pending_capture_amount": 0,
        "reversed_amount": 0, "pending_reverse_amount": 0, "refunded_amount": 0, "pending_refund_amount": 0,
        "created_by": actor, "created_at": now, "updated_at": now, **values,
    }
    inserted = session.execute(
        dialect_insert(session, P)
        .values(**row)
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
        .returning(P.id)
    ).first()
    if inserted is None:
        return False
    lifecycle = domain.LIFECYCLES[row["kind"]]
    session.execute(insert(StatusHistory), [initial_history(lifecycle, row["id"], actor=actor, at=now)])
    return True


def begin_authorization(
    session: Session,
    gateways: Gateways,
    *,
    order_summary_id: uuid.UUID,
    account_id: uuid.UUID,
    currency: str,
    amount_minor: int,
    method: MethodSpec | uuid.UUID,
    idempotency_key: str,
    actor: str | None = None,
) -> Intent:
    found = _existing(session, idempotency_key, "authorization", None, amount_minor)
    if found is not None:
        return found
    _check_amount(amount_minor)
    method_id = ensure_method(session, account_id, method)[0] if isinstance(method, MethodSpec) else method
    m = session.execute(select(METHOD).where(METHOD.c.id == method_id)).first()
    if m is None or m.account_id != account_id:
        raise ValidationFailed([FieldError("payment_method", "is not a payment method of the account")])
    if m.method == "invoice" or m.token is None:
        raise NotAuthorizable("invoice terms are not authorized at a gateway")
    gateway = _check_gateway(gateways, m.gateway)
    summary_id = ensure_summary(session, order_summary_id, account_id, method_id, currency)
    payment_id = new_id()
    values = {
        "id": payment_id, "kind": "authorization", "summary_id": summary_id, "parent_id": None,
        "order_summary_id": order_summary_id, "account_id": account_id, "currency": currency,
        "amount": amount_minor, "gateway": gateway, "idempotency_key": idempotency_key,
    }
    if not _new_record(session, values, actor):
        return _existing(session, idempotency_key, "authorization", None, amount_minor)  # type: ignore[return-value]
    return Intent(payment_id, "authorization", "authorize", "pending", gateway, amount_minor, currency, m.token,
                  str(order_summary_id))


def _refund_doc(values: dict[str, Any]) -> dict[str, Any]:
    return {
        "amount": _money(values["amount"], values["currency"]), "currency": values["currency"],
        "capture": values["parent_id"], "order_summary": values["order_summary_id"], "reason": values["reason"],
    }


def _begin_child(
    session: Session,
    gateways: Gateways,
    *,
    kind: str,
    parent: Any,
    amount: int,
    key: str,
    actor: str | None,
    reason: str | None,
    hold_parent: dict[str, int],
    parent_where: tuple[ColumnElement[bool], ...],
    hold_summary: dict[str, int],
    summary_where: tuple[ColumnElement[bool], ...],
    refusal: Conflict,
    by: Principal | None = None,
) -> Intent:
    gateway = _check_gateway(gateways, parent.gateway)
    payment_id = new_id()
    values = {
        "id": payment_id, "kind": kind, "summary_id": parent.summary_id, "parent_id": parent.id,
        "order_summary_id": parent.order_summary_id, "account_id": parent.account_id, "currency": parent.currency,
        "amount": amount, "gateway": gateway, "idempotency_key": key, "reason": reason,
    }
    if not _new_record(session, values, actor):
        return _existing(session, key, kind, parent.id, amount)  # type: ignore[return-value]
    if not _move(session, P, parent.id, hold_parent, *parent_where):
        raise refusal
    if not _move(session, S, parent.summary_id, hold_summary, *summary_where):
        raise refusal
    if kind == "refund":  # money going back out is a privileged change, whoever asks for it
        audit.record(session, actor=by or actor, action=audit.Action.REFUND_CREATED,
                     subject=audit.Subject("payment", payment_id, parent.account_id), after=_refund_doc(values))
    operation = "reauthorize" if kind == "authorization" else kind
    return Intent(payment_id, kind, operation, "pending", gateway, amount, parent.currency,
                  parent.gateway_reference or "", str(parent.order_summary_id))


def begin_capture(
    session: Session, gateways: Gateways, authorization_id: uuid.UUID, amount_minor: int | None, *,
    idempotency_key: str, actor: str | None = None,
) -> Intent:
    found = _existing(session, idempotency_key, "capture", authorization_id, amount_minor)
    if found is not None:
        return found
    _check_amount(amount_minor)
    auth = _payment(session, authorization_id, "authorization")
    if auth.status != "authorized":
        raise _refuse_state(auth, "capture")
    if auth.expires_at is not None and auth.expires_at <= clock.now():
        raise AuthorizationExpired(f"the authorization expired at {auth.expires_at.isoformat()}")
    available = domain.AUTHORIZATION_TO_CAPTURE.over(auth)
    amount = available if amount_minor is None else amount_minor
    refusal = _too_much(amount, available, auth.currency, "available to capture", "available_to_capture")
    if amount <= 0 or amount > available:
        raise refusal
    return _begin_child(
        session, gateways, kind="capture", parent=auth, amount=amount, key=idempotency_key, actor=actor, reason=None,
        hold_parent={"pending_capture_amount": amount},
        parent_where=(P.status == "authorized", amount <= AUTH_AVAILABLE),
        hold_summary={"pending_capture_amount": amount}, summary_where=(amount <= SUMMARY_TO_CAPTURE,),
        refusal=refusal,
    )


def begin_refund(
    session: Session, gateways: Gateways, capture_id: uuid.UUID, amount_minor: int | None, *,
    idempotency_key: str, actor: str | None = None, reason: str | None = None, by: Principal | None = None,
) -> Intent:
    """`by`: the principal asking, for the audit log (without it, `actor` names who acted)."""
    found = _existing(session, idempotency_key, "refund", capture_id, amount_minor)
    if found is not None:
        return found
    _check_amount(amount_minor)
    cap = _payment(session, capture_id)
    if cap.kind != "capture":
        raise NotRefundable(f"refunds are made against captures, not against {_a(cap.kind)}")
    if cap.status != "succeeded":
        raise _refuse_state(cap, "refund")
    available = domain.CAPTURE_TO_REFUND.over(cap)
    amount = available if amount_minor is None else amount_minor
    refusal = _too_much(amount, available, cap.currency, "available to refund", "available_to_refund")
    if amount <= 0 or amount > available:
        raise refusal
    return _begin_child(
        session, gateways, kind="refund", parent=cap, amount=amount, key=idempotency_key, actor=actor, reason=reason,
        hold_parent={"pending_refund_amount": amount},
        parent_where=(P.status == "succeeded", amount <= CAPTURE_AVAILABLE),
        hold_summary={"pending_refund_amount": amount}, summary_where=(amount <= SUMMARY_TO_REFUND,),
        refusal=refusal, by=by,
    )


def begin_void(
    session: Session, gateways: Gateways, authorization_id: uuid.UUID, amount_minor: int | None, *,
    idempotency_key: str, actor: str | None = None, reason: str | None = None,
) -> Intent:
    found = _existing(session, idempotency_key, "void", authorization_id, amount_minor)
    if found is not None:
        return found
    _check_amount(amount_minor)
    auth = _payment(session, authorization_id, "authorization")
    if auth.status != "authorized":
        raise _refuse_state(auth, "void")
    available = domain.AUTHORIZATION_TO_CAPTURE.over(auth)
    amount = available if amount_minor is None else amount_minor
    refusal = _too_much(amount, available, auth.currency, "left to reverse", "available_to_capture")
    if amount <= 0 or amount > available:
        raise refusal
    return _begin_child(
        session, gateways, kind="void", parent=auth, amount=amount, key=idempotency_key, actor=actor, reason=reason,
        hold_parent={"pending_reverse_amount": amount},
        parent_where=(P.status == "authorized", amount <= AUTH_AVAILABLE),
        hold_summary={"pending_reverse_auth_amount": amount}, summary_where=(amount <= SUMMARY_TO_CAPTURE,),
        refusal=refusal,
    )


def begin_reauthorization(
    session: Session, gateways: Gateways, authorization_id: uuid.UUID, amount_minor: int, *,
    idempotency_key: str, actor: str | None = None, reason: str | None = None,
) -> Intent:
    """A new authorization replacing `authorization_id` (expired, or for another amount).

    The old one's remainder is held as pending reversal until the gateway answers; while an
    operation on it is in flight it cannot be re-authorized.
    """
    found = _existing(session, idempotency_key, "authorization", authorization_id, amount_minor)
    if found is not None:
        return found
    _check_amount(amount_minor)
    old = _payment(session, authorization_id, "authorization")
    if old.status not in ("authorized", "expired"):
        raise _refuse_state(old, "re-authorize")
    if old.pending_capture_amount or old.pending_reverse_amount:
        raise OperationPending("an operation on this authorization is still pending")
    remainder = 0 if old.status == "expired" else old.amount - old.captured_amount - old.reversed_amount
    refusal = Conflict("the authorization changed while it was being re-authorized; try again")
    return _begin_child(
        session, gateways, kind="authorization", parent=old, amount=amount_minor, key=idempotency_key, actor=actor,
        reason=reason, hold_parent={"pending_reverse_amount": remainder},
        parent_where=(
            P.status.in_(("authorized", "expired")), P.pending_capture_amount == 0, P.pending_reverse_amount == 0,
            AUTH_AVAILABLE == remainder,  # noqa: SIM300
        ),
        hold_summary={"pending_reverse_auth_amount": remainder}, summary_where=(remainder <= SUMMARY_TO_CAPTURE,),
        refusal=refusal,
    )


def load_intent(session: Session, payment_id: uuid.UUID) -> Intent:
    """The intent of a record (pending or not), rebuilt from the database."""
    p = _payment(session, payment_id)
    if p.parent_id is None:
        operation = "authorize"
        target = session.execute(
            select(PaymentMethod.token).join(S, S.payment_method_id == PaymentMethod.id).where(S.id == p.summary_id)
        ).scalar_one()
    else:
        operation = "reauthorize" if p.kind == "authorization" else p.kind
        target = session.execute(select(P.gateway_reference).where(P.id == p.parent_id)).scalar_one()
    return Intent(p.id, p.kind, operation, p.status, p.gateway or "", p.amount, p.currency, target or "",
                  str(p.order_summary_id))


# ------------------------------------------------------------------------------------------------
# Step 2: the gateway


def call_gateway(gateways: Gateways, intent: Intent) -> GatewayResult:
    gw = gateways[_check_gateway(gateways, intent.gateway)]
    common: dict[str, Any] = {
        "amount_minor": intent.amount, "currency": intent.currency, "idempotency_key": intent.gateway_key
    }
    if intent.operation == "authorize":
        return gw.authorize(token=intent.target, reference=intent.reference, **common)
    if intent.operation == "reauthorize":
        return gw.reauthorize(authorization=intent.target, **common)
    if intent.operation == "capture":
        return gw.capture(authorization=intent.target, **common)
    if intent.operation == "refund":
        return gw.refund(capture=intent.target, **common)
    return gw.void(authorization=intent.target, **common)


def record_calls(session: Session, payment_id: uuid.UUID | None, gateway: str, calls: tuple[CallRecord, ...]) -> None:
    if not calls:
        return
    now = clock.now()
    session.execute(
        insert(GatewayCall),
        [
            {
                "id": new_id(), "payment_id": payment_id, "gateway": gateway, "operation": c.operation,
                "idempotency_key": c.idempotency_key, "attempt": c.attempt, "request": domain.redact(c.request),
                "response": domain.redact(c.response), "http_status": c.http_status, "outcome": c.outcome,
                "error": c.error, "latency_ms": c.latency_ms, "created_at": now,
            }
            for c in calls
        ],
    )


# ------------------------------------------------------------------------------------------------
# Step 3: finish


def _transition(
    session: Session, kind: str, payment_id: uuid.UUID, before: str, action: str, actor: str | None,
    data: dict[str, Any], reason: str | None = None,
) -> None:
    apply(session, domain.LIFECYCLES[kind], _Record(payment_id, before), action, actor=actor, reason=reason, data=data)


def _event_data(p: Any, **extra: Any) -> dict[str, Any]:
    return {
        "kind": p.kind, "order_summary_id": str(p.order_summary_id), "summary_id": str(p.summary_id),
        "account_id": str(p.account_id), "amount": _money(p.amount, p.currency), "currency": p.currency, **extra,
    }


def _close_if_done(session: Session, auth_id: uuid.UUID, actor: str | None) -> None:
    closed = session.execute(
        update(P)
        .where(P.id == auth_id, P.status == "authorized", P.amount - P.captured_amount - P.reversed_amount == 0)
        .values(status="closed", updated_at=clock.now())
        .returning(P.id)
        .execution_options(synchronize_session=False)
    ).first()
    if closed is not None:
        data = _event_data(_payment(session, auth_id))
        _transition(session, "authorization", auth_id, "authorized", "close", actor, data)


def _expire(session: Session, auth_id: uuid.UUID, actor: str | None) -> bool:
    """An authorized authorization lapses: what was not captured or held is released."""
    a = _payment(session, auth_id, "authorization")
    if a.status != "authorized":
        return False
    released = domain.AUTHORIZATION_TO_CAPTURE.over(a)
    expired = session.execute(
        update(P)
        .where(P.id == auth_id, P.status == "authorized", AUTH_AVAILABLE == released)  # noqa: SIM300
        .values(status="expired", reversed_amount=P.reversed_amount + released, updated_at=clock.now())
        .returning(P.id)
        .execution_options(synchronize_session=False)
    ).first()
    if expired is None:
        return False
    _move(session, S, a.summary_id, {"authorized_amount": -released})
    _transition(session, "authorization", auth_id, "authorized", "expire", actor,
                _event_data(a, released=_money(released, a.currency)))
    return True


def finish(session: Session, intent: Intent, result: GatewayResult, actor: str | None = None) -> Settlement:
    """Settle a pending record with the gateway's answer (a no-op when it is settled already)."""
    record_calls(session, intent.payment_id, intent.gateway, result.calls)
    lifecycle = domain.LIFECYCLES[intent.kind]
    if intent.kind == "authorization":
        action = "approve" if result.approved else "decline"
    else:
        action = "succeed" if result.approved else "fail"
    target = lifecycle.target("pending", action)
    now = clock.now()
    values: dict[str, Any] = {
        "status": target, "gateway_reference": result.reference, "settled_at": now, "updated_at": now,
        "failure_code": None if result.approved else (result.code or "declined")[:60],
        "failure_message": None if result.approved else (result.message or "")[:300] or None,
    }
    if intent.kind == "authorization" and result.approved:
        values["expires_at"] = result.expires_at
    settled = session.execute(
        update(P).where(P.id == intent.payment_id, P.status == "pending").values(**values)
        .returning(P.id).execution_options(synchronize_session=False)
    ).first()
    p = _payment(session, intent.payment_id)
    if settled is None:
        return Settlement(p.id, p.status, False, p.failure_code, p.failure_message)
    x = p.amount
    ok = result.approved
    if intent.operation == "authorize":
        if ok:
            _move(session, S, p.summary_id, {"authorized_amount": x})
    elif intent.operation == "reauthorize":
        assert p.parent_id is not None
        held = session.execute(select(P.pending_reverse_amount).where(P.id == p.parent_id)).scalar_one()
        if ok:
            _move(session, P, p.parent_id, {"pending_reverse_amount": -held, "reversed_amount": held})
            _move(session, S, p.summary_id, {"pending_reverse_auth_amount": -held, "authorized_amount": x - held})
            _close_if_done(session, p.parent_id, actor)
        else:
            _move(session, P, p.parent_id, {"pending_reverse_amount": -held})
            _move(session, S, p.summary_id, {"pending_reverse_auth_amount": -held})
    elif intent.operation == "capture":
        assert p.parent_id is not None
        _move(session, P, p.parent_id, {"pending_capture_amount": -x, "captured_amount": x if ok else 0})
        _move(session, S, p.summary_id, {"pending_capture_amount": -x, "captured_amount": x if ok else 0})
    elif intent.operation == "refund":
        assert p.parent_id is not None
        _move(session, P, p.parent_id, {"pending_refund_amount": -x, "refunded_amount": x if ok else 0})
        _move(session, S, p.summary_id, {"pending_refund_amount": -x, "refunded_amount": x if ok else 0})
    else:  # void
        assert p.parent_id is not None
        _move(session, P, p.parent_id, {"pending_reverse_amount": -x, "reversed_amount": x if ok else 0})
        _move(session, S, p.summary_id, {"pending_reverse_auth_amount": -x, "authorized_amount": -x if ok else 0})
    data = _event_data(p, parent_id=str(p.parent_id) if p.parent_id else None, code=p.failure_code)
    _transition(session, intent.kind, p.id, "pending", action, actor, data)
    if intent.operation in ("capture", "void") and p.parent_id is not None:
        if ok:
            _close_if_done(session, p.parent_id, actor)
        elif result.code == "authorization_expired":
            _expire(session, p.parent_id, actor)
    return Settlement(p.id, p.status, True, p.failure_code, p.failure_message)


