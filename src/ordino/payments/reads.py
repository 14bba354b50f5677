"""The API documents of payment methods, order payment summaries and payment records."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from ordino.kernel import clock
from ordino.kernel.auth import Principal
from ordino.kernel.errors import NotFound
from ordino.kernel.http import page, paginate
from ordino.kernel.money import format_minor
from ordino.payments import domain
from ordino.payments.models import OrderPaymentSummary, Payment, PaymentMethod

PAYMENT = cast(Table, Payment.__table__)
SUMMARY = cast(Table, OrderPaymentSummary.__table__)
METHOD = cast(Table, PaymentMethod.__table__)
Row = Any


def _scope(principal: Principal | None) -> uuid.UUID | None:
    return principal.account_id if principal is not None else None


def method_document(m: Row) -> dict[str, Any]:
    terms = domain.parse_terms(m.terms) if m.terms else None
    return {
        "id": m.id,
        "account_id": m.account_id,
        "method": m.method,
        "gateway": m.gateway,
        "token": m.token,
        "terms": m.terms,
        "terms_days": terms.days if terms else None,
        "terms_end_of_month": terms.end_of_month if terms else None,
        "created_at": m.created_at,
    }


def summary_document(s: Row, m: Row) -> dict[str, Any]:
    amounts = domain.SummaryAmounts(
        authorized=s.authorized_amount,
        captured=s.captured_amount,
        refunded=s.refunded_amount,
        pending_capture=s.pending_capture_amount,
        pending_refund=s.pending_refund_amount,
        pending_reverse_auth=s.pending_reverse_auth_amount,
    )

    def money(minor: int) -> str:
        return format_minor(minor, s.currency)

    return {
        "id": s.id,
        "order_summary_id": s.order_summary_id,
        "account_id": s.account_id,
        "payment_method": method_document(m),
        "method": m.method,
        "currency": s.currency,
        "authorized": money(amounts.authorized),
        "captured": money(amounts.captured),
        "refunded": money(amounts.refunded),
        "pending_capture": money(amounts.pending_capture),
        "pending_refund": money(amounts.pending_refund),
        "pending_reverse_auth": money(amounts.pending_reverse_auth),
        "available_to_capture": money(amounts.available_to_capture),
        "available_to_refund": money(amounts.available_to_refund),
        "created_at": s.created_at,
        "updated_at": s.updated_at,
    }


def payment_document(p: Row) -> dict[str, Any]:
    def money(minor: int) -> str:
        return format_minor(minor, p.currency)

    doc: dict[str, Any] = {
        "id": p.id,
        "kind": p.kind,
        "status": p.status,
        "source": p.source,
        "order_summary_id": p.order_summary_id,
        "account_id": p.account_id,
        "summary_id": p.summary_id,
        "parent_id": p.parent_id,
        "currency": p.currency,
        "amount": money(p.amount),
    }
    available = 0
    if p.kind == "authorization":
        a = domain.AuthorizationAmounts(
            p.amount, p.captured_amount, p.pending_capture_amount, p.reversed_amount, p.pending_reverse_amount
        )
        available = a.available_to_capture
        doc.update(
            captured=money(a.captured),
            pending_capture=money(a.pending_capture),
            reversed=money(a.reversed),
            pending_reverse=money(a.pending_reverse),
            available_to_capture=money(available),
            expires_at=p.expires_at,
        )
    elif p.kind == "capture":
        c = domain.CaptureAmounts(p.amount, p.refunded_amount, p.pending_refund_amount)
        available = c.available_to_refund
        doc.update(
            refunded=money(c.refunded), pending_refund=money(c.pending_refund), available_to_refund=money(available)
        )
    doc.update(
        gateway=p.gateway,
        gateway_reference=p.gateway_reference,
        failure={"code": p.failure_code, "message": p.failure_message} if p.failure_code else None,
        reason=p.reason,
        created_by=p.created_by,
        created_at=p.created_at,
        settled_at=p.settled_at,
        available_actions=domain.operations(p.kind, p.status, available),
    )
    return doc


def get_payment(session: Session, payment_id: uuid.UUID, principal: Principal | None = None) -> dict[str, Any]:
    p = session.execute(select(PAYMENT).where(PAYMENT.c.id == payment_id)).first()
    if p is None or (principal is not None and not principal.sees_account(p.account_id)):
        raise NotFound("payment not found")
    return payment_document(p)


def list_payments(
    session: Session,
    principal: Principal | None,
    *,
    order: uuid.UUID | None = None,
    summary: uuid.UUID | None = None,
    kind: str | None = None,
    status: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> dict[str, Any]:
    stmt = select(PAYMENT)
    scope = _scope(principal)
    for column, value in (
        (PAYMENT.c.account_id, scope),
        (PAYMENT.c.order_summary_id, order),
        (PAYMENT.c.summary_id, summary),
        (PAYMENT.c.kind, kind),
        (PAYMENT.c.status, status),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    rows = session.execute(paginate(stmt, PAYMENT.c.id, limit, cursor)).all()  # type: ignore[arg-type]
    return page([payment_document(r) for r in rows], [r.id for r in rows], limit)


def _summary_rows(session: Session, stmt: Any) -> list[dict[str, Any]]:
    rows = session.execute(stmt).all()
    methods = {
        m.id: m
        for m in session.execute(
            select(METHOD).where(METHOD.c.id.in_({r.payment_method_id for r in rows}))
        ).all()
    } if rows else {}
    return [summary_document(r, methods[r.payment_method_id]) for r in rows]


def get_summary(session: Session, summary_id: uuid.UUID, principal: Principal | None = None) -> dict[str, Any]:
    docs = _summary_rows(session, select(SUMMARY).where(SUMMARY.c.id == summary_id))
    if not docs or (principal is not None and not principal.sees_account(docs[0]["account_id"])):
        raise NotFound("payment summary not found")
    return docs[0]


def list_summaries(
    session: Session,
    principal: Principal | None,
    *,
    order: uuid.UUID | None = None,
    account: uuid.UUID | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> dict[str, Any]:
    stmt = select(SUMMARY)
    for column, value in (
        (SUMMARY.c.account_id, _scope(principal)),
        (SUMMARY.c.order_summary_id, order),
        (SUMMARY.c.account_id, account),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    docs = _summary_rows(session, paginate(stmt, SUMMARY.c.id, limit, cursor))  # type: ignore[arg-type]
    return page(docs, [d["id"] for d in docs], limit)


def get_method(session: Session, method_id: uuid.UUID, principal: Principal | None = None) -> dict[str, Any]:
    m = session.execute(select(METHOD).where(METHOD.c.id == method_id)).first()
    if m is None or (principal is not None and not principal.sees_account(m.account_id)):
        raise NotFound("payment method not found")
    return method_document(m)


def list_methods(
    session: Session, principal: Principal | None, *, account: uuid.UUID | None = None, limit: int = 50,
    cursor: str | None = None,
) -> dict[str, Any]:
    stmt = select(METHOD)
    for value in (_scope(principal), account):
        if value is not None:
            stmt = stmt.where(METHOD.c.account_id == value)
    rows = session.execute(paginate(stmt, METHOD.c.id, limit, cursor)).all()  # type: ignore[arg-type]
    return page([method_document(r) for r in rows], [r.id for r in rows], limit)


# ------------------------------------------------------------------------------------------------
# What other capabilities read of an order's payments (they never read these tables themselves)


@dataclass(frozen=True, slots=True)
class Available:
    id: uuid.UUID  # a payment summary, an authorization or a capture
    amount: int  # what can still be captured (summaries, authorizations) or refunded (captures)


@dataclass(frozen=True, slots=True)
class Outcome:
    status: str
    failure_code: str | None
    failure_message: str | None


def capturable_summaries(session: Session, order_summary_id: uuid.UUID, currency: str) -> list[Available]:
    """The order's gateway (card, wallet) summaries in `currency` with money left to capture."""
    to_capture = domain.SUMMARY_TO_CAPTURE.over(SUMMARY.c)
    rows = session.execute(
        select(SUMMARY.c.id, to_capture)
        .join(METHOD, METHOD.c.id == SUMMARY.c.payment_method_id)
        .where(SUMMARY.c.order_summary_id == order_summary_id, SUMMARY.c.currency == currency,
               METHOD.c.method.in_(domain.TOKEN_METHODS), to_capture > 0)
        .order_by(SUMMARY.c.id)
    ).all()
    return [Available(r[0], int(r[1])) for r in rows]


def capturable_authorizations(session: Session, summary_id: uuid.UUID) -> list[Available]:
    """The summary's authorized, unexpired authorizations with money left to capture, oldest first."""
    available = domain.AUTHORIZATION_TO_CAPTURE.over(PAYMENT.c)
    rows = session.execute(
        select(PAYMENT.c.id, available)
        .where(PAYMENT.c.summary_id == summary_id, PAYMENT.c.kind == "authorization",
               PAYMENT.c.status == "authorized", available > 0,
               (PAYMENT.c.expires_at.is_(None)) | (PAYMENT.c.expires_at > clock.now()))
        .order_by(PAYMENT.c.id)
    ).all()
    return [Available(r[0], int(r[1])) for r in rows]


def live_authorizations(session: Session, order_summary_id: uuid.UUID, currency: str) -> list[Available]:
    """The order's authorized, unexpired authorizations in `currency` with money left to capture
    (what they still hold), newest first."""
    available = domain.AUTHORIZATION_TO_CAPTURE.over(PAYMENT.c)
    rows = session.execute(
        select(PAYMENT.c.id, available)
        .where(PAYMENT.c.order_summary_id == order_summary_id, PAYMENT.c.kind == "authorization",
               PAYMENT.c.currency == currency, PAYMENT.c.status == "authorized", available > 0,
               (PAYMENT.c.expires_at.is_(None)) | (PAYMENT.c.expires_at > clock.now()))
        .order_by(PAYMENT.c.id.desc())
    ).all()
    return [Available(r[0], int(r[1])) for r in rows]


@dataclass(frozen=True, slots=True)
class Keyed:
    id: uuid.UUID
    parent_id: uuid.UUID | None
    status: str
    idempotency_key: str


def keyed(session: Session, order_summary_id: uuid.UUID, prefix: str) -> list[Keyed]:
    """The order's payment records whose idempotency key starts with `prefix`, oldest first."""
    rows = session.execute(
        select(PAYMENT.c.id, PAYMENT.c.parent_id, PAYMENT.c.status, PAYMENT.c.idempotency_key)
        .where(PAYMENT.c.order_summary_id == order_summary_id,
               PAYMENT.c.idempotency_key.startswith(prefix, autoescape=True))
        .order_by(PAYMENT.c.id)
    ).all()
    return [Keyed(r.id, r.parent_id, r.status, r.idempotency_key) for r in rows]


def refundable_captures(session: Session, order_summary_id: uuid.UUID) -> list[Available]:
    """The order's succeeded captures, oldest first, with what each can still refund."""
    rows = session.execute(
        select(PAYMENT.c.id, domain.CAPTURE_TO_REFUND.over(PAYMENT.c))
        .where(PAYMENT.c.order_summary_id == order_summary_id, PAYMENT.c.kind == "capture",
               PAYMENT.c.status == "succeeded")
        .order_by(PAYMENT.c.id)
    ).all()
    return [Available(r[0], int(r[1])) for r in rows]


def key_used(session: Session, idempotency_key: str) -> bool:
    """Whether a payment record was made with this idempotency key."""
    return session.execute(select(PAYMENT.c.id).where(PAYMENT.c.idempotency_key == idempotency_key)).first() is not None


def outcome(session: Session, payment_id: uuid.UUID) -> Outcome:
    """A payment record's status and, when it failed, why."""
    row = session.execute(
        select(PAYMENT.c.status, PAYMENT.c.failure_code, PAYMENT.c.failure_message).where(PAYMENT.c.id == payment_id)
    ).one()
    return Outcome(row.status, row.failure_code, row.failure_message)


@dataclass(frozen=True, slots=True)
class CardOnFile:
    """What an invoice may say of the card a payment was made with: network and last four digits only."""

    brand: str | None
    last4: str | None


def card_of(session: Session, payment_ids: Sequence[uuid.UUID]) -> CardOnFile | None:
    """The card (or wallet) behind the first of these payments made with one, or None."""
    if not payment_ids:
        return None
    row = session.execute(
        select(METHOD.c.card_brand, METHOD.c.card_last4)
        .select_from(PAYMENT.join(SUMMARY, SUMMARY.c.id == PAYMENT.c.summary_id)
                     .join(METHOD, METHOD.c.id == SUMMARY.c.payment_method_id))
        .where(PAYMENT.c.id.in_(list(payment_ids)), METHOD.c.method.in_(domain.TOKEN_METHODS))
        .order_by(PAYMENT.c.id).limit(1)
    ).first()
    return CardOnFile(row.card_brand, row.card_last4) if row is not None else None
