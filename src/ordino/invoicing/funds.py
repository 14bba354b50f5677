"""Ensure funds: pay an invoice from the order's money, capturing authorized funds if needed.

1. Plan, in one transaction with the order and the invoice locked: captured money that no
   invoice uses (excess funds) is applied first; then authorized funds are captured, choosing
   payment summaries as Salesforce does (invoicing.domain.choose_funds) and, within a summary,
   its authorizations oldest first. Each capture is begun (payments.service.begin_capture: a
   pending record with its amount held) together with a pending application to the invoice.
2. Call the gateways, with no transaction open.
3. Settle: each capture is finished and its application applied to the invoice.

The capture's idempotency key is `invoice/<invoice id>/authorization/<authorization id>`, and
pending applications are taken up first on every run: a retry after a crash or a gateway
timeout settles the same capture with the same key, and the gateway, which keys on it, captures
once. A gateway that does not answer raises `GatewayUnavailable` (the event is retried later);
refusals and declines become process exceptions attached to the invoice, never a lost invoice.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, insert, select, update
from sqlalchemy.orm import Session

from ordino.invoicing import domain, ledger
from ordino.invoicing.invoices import APP, INV, apply_to_invoice, lock_order
from ordino.kernel import clock
from ordino.kernel.errors import Problem
from ordino.kernel.ids import new_id
from ordino.kernel.money import format_minor
from ordino.orders.process_exceptions.service import raise_process_exception
from ordino.payments import service as payments
from ordino.payments.domain import TOKEN_METHODS
from ordino.payments.gateway import Gateways
from ordino.payments.models import OrderPaymentSummary, Payment, PaymentMethod

PAYMENT = cast(Table, Payment.__table__)
SUMMARY = cast(Table, OrderPaymentSummary.__table__)
METHOD = cast(Table, PaymentMethod.__table__)
ACTOR = "flow:invoicing"


@dataclass(frozen=True, slots=True)
class _Pending:
    application_id: uuid.UUID
    invoice_id: uuid.UUID
    amount: int
    intent: payments.Intent


@dataclass(frozen=True, slots=True)
class FundsResult:
    invoice_id: uuid.UUID
    status: str
    balance: int
    process_exception_ids: tuple[uuid.UUID, ...] = ()


def capture_key(invoice_id: uuid.UUID, authorization_id: uuid.UUID) -> str:
    return f"invoice/{invoice_id}/authorization/{authorization_id}"


def _add_application(session: Session, invoice: Any, payment_id: uuid.UUID, amount: int, status: str,
                     actor: str | None) -> uuid.UUID:
    """An application of a capture to the invoice; one row per (invoice, capture)."""
    now = clock.now()
    found = session.execute(
        select(APP.c.id, APP.c.status).where(APP.c.invoice_id == invoice.id, APP.c.payment_id == payment_id)
    ).first()
    if found is not None:  # captured money that an earlier application left unapplied
        session.execute(update(APP).where(APP.c.id == found.id).values(
            amount=(APP.c.amount + amount) if found.status == "applied" else amount, status=status,
            applied_at=now if status == "applied" else None,
        ))
        return cast(uuid.UUID, found.id)
    application_id = new_id()
    session.execute(insert(APP), [{
        "id": application_id, "invoice_id": invoice.id, "payment_id": payment_id, "remittance_id": None,
        "order_summary_id": invoice.order_summary_id, "account_id": invoice.account_id, "currency": invoice.currency,
        "amount": amount, "status": status, "created_by": actor, "created_at": now,
        "applied_at": now if status == "applied" else None,
    }])
    return application_id


def _exception(session: Session, invoice: Any, message: str, dedup: str, actor: str | None,
               attached: tuple[str, uuid.UUID] | None = None) -> uuid.UUID:
    kind, record = attached or ("invoice", invoice.id)
    return raise_process_exception(
        session, category="payment", severity="high", priority=2, message=f"Invoice {invoice.number}: {message}",
        attached_to_type=kind, attached_to_id=record, order_summary_id=invoice.order_summary_id,
        dedup_key=dedup, actor=actor,
    )


def _authorizations(session: Session, summary_id: uuid.UUID) -> list[Any]:
    available = (PAYMENT.c.amount - PAYMENT.c.captured_amount - PAYMENT.c.pending_capture_amount
                 - PAYMENT.c.reversed_amount - PAYMENT.c.pending_reverse_amount)
    now = clock.now()
    return list(session.execute(
        select(PAYMENT.c.id, available.label("available"))
        .where(PAYMENT.c.summary_id == summary_id, PAYMENT.c.kind == "authorization",
               PAYMENT.c.status == "authorized", available > 0,
               (PAYMENT.c.expires_at.is_(None)) | (PAYMENT.c.expires_at > now))
        .order_by(PAYMENT.c.id)
    ).all())


def _plan(session: Session, gateways: Gateways, invoice_id: uuid.UUID, actor: str | None) -> list[_Pending]:
    head = session.execute(select(INV.c.order_summary_id).where(INV.c.id == invoice_id)).first()
    if head is None:
        return []
    lock_order(session, head.order_summary_id)
    invoice = session.execute(select(*INV.c).where(INV.c.id == invoice_id).with_for_update()).one()
    pending = [
        _Pending(a.id, invoice.id, a.amount, payments.load_intent(session, a.payment_id))
        for a in session.execute(
            select(APP.c.id, APP.c.amount, APP.c.payment_id)
            .where(APP.c.invoice_id == invoice.id, APP.c.status == "pending").order_by(APP.c.id)
        )
    ]
    if invoice.status not in domain.OPEN_INVOICE_STATUSES:
        return pending
    need = invoice.balance_amount - sum(p.amount for p in pending)
    # Captured money no invoice uses pays first: no gateway call, no new charge.
    for funds in ledger.captures(session, invoice.order_summary_id):
        take = min(need, funds.unapplied)
        if take > 0 and apply_to_invoice(session, invoice.id, take, actor):
            _add_application(session, invoice, cast(uuid.UUID, funds.capture_id), take, "applied", actor)
            need -= take
    if need <= 0:
        return pending
    to_capture = SUMMARY.c.authorized_amount - SUMMARY.c.captured_amount - SUMMARY.c.pending_capture_amount - (
        SUMMARY.c.pending_reverse_auth_amount
    )
    summaries = session.execute(
        select(SUMMARY.c.id, to_capture.label("available"))
        .join(METHOD, METHOD.c.id == SUMMARY.c.payment_method_id)
        .where(SUMMARY.c.order_summary_id == invoice.order_summary_id, SUMMARY.c.currency == invoice.currency,
               METHOD.c.method.in_(TOKEN_METHODS), to_capture > 0)
        .order_by(SUMMARY.c.id)
    ).all()
    for take in domain.choose_funds([(s.id, int(s.available)) for s in summaries], need):
        left = take.amount
        for auth in _authorizations(session, take.key):
            if left <= 0:
                break
            key = capture_key(invoice.id, auth.id)
            if session.execute(select(PAYMENT.c.id).where(PAYMENT.c.idempotency_key == key)).first() is not None:
                continue  # this authorization was tried for this invoice already
            amount = min(left, int(auth.available))
            try:
                with session.begin_nested():  # a refusal undoes only this capture's writes
                    intent = payments.begin_capture(session, gateways, auth.id, amount, idempotency_key=key,
                                                    actor=actor)
            except Problem as problem:
                _exception(session, invoice, f"the capture of {format_minor(amount, invoice.currency)}"
                           f" {invoice.currency} was refused: {problem.detail}", f"{key}/refused", actor)
                continue
            application_id = _add_application(session, invoice, intent.payment_id, amount, "pending", actor)
            pending.append(_Pending(application_id, invoice.id, amount, intent))
            left -= amount
    return pending


def _settle(session: Session, p: _Pending, actor: str | None) -> None:
    """Apply a capture that succeeded; a failed one becomes a process exception."""
    status = session.execute(select(PAYMENT.c.status).where(PAYMENT.c.id == p.intent.payment_id)).scalar_one()
    if status == "pending":
        return
    invoice = session.execute(select(*INV.c).where(INV.c.id == p.invoice_id)).one()
    if status == "succeeded":
        applied = apply_to_invoice(session, invoice.id, p.amount, actor)
        # Without a balance left (paid meanwhile), the captured money stays unapplied: excess funds.
        outcome = "applied" if applied else "failed"
    else:
        outcome = "failed"
        failure = session.execute(select(PAYMENT.c.failure_code, PAYMENT.c.failure_message)
                                  .where(PAYMENT.c.id == p.intent.payment_id)).one()
        _exception(session, invoice, f"the capture of {format_minor(p.amount, invoice.currency)} {invoice.currency}"
                   f" failed: {failure.failure_message or failure.failure_code}",
                   f"invoice/{invoice.id}/capture/{p.intent.payment_id}", actor,
                   attached=("payment", p.intent.payment_id))
    session.execute(update(APP).where(APP.c.id == p.application_id, APP.c.status == "pending").values(
        status=outcome, applied_at=clock.now() if outcome == "applied" else None,
    ))


def ensure_funds(session: Session, gateways: Gateways, invoice_id: uuid.UUID, actor: str | None = ACTOR) -> FundsResult:
    """Pay the invoice from the order's funds. Commits the session between its steps, so call it
    with a session of its own; raises GatewayUnavailable when a gateway did not answer (what was
    settled is kept, and a retry settles the rest with the same keys)."""
    pending = _plan(session, gateways, invoice_id, actor)
    session.commit()  # the pending captures and their applications are durable before any call
    unavailable = payments.execute_begun(session, gateways, [p.intent for p in pending], actor)
    for p in pending:
        _settle(session, p, actor)
    if unavailable is not None:
        session.commit()
        raise unavailable
    return _outcome(session, invoice_id, actor)


def _outcome(session: Session, invoice_id: uuid.UUID, actor: str | None) -> FundsResult:
    invoice = session.execute(select(*INV.c).where(INV.c.id == invoice_id)).first()
    if invoice is None:
        return FundsResult(invoice_id, "unknown", 0)
    exceptions: list[uuid.UUID] = []
    if invoice.status in domain.OPEN_INVOICE_STATUSES and invoice.balance_amount > 0:
        instructions = session.execute(
            select(ledger.ORDER.c.payment_instructions).where(ledger.ORDER.c.id == invoice.order_summary_id)
        ).scalar_one() or []
        on_terms = any(i.get("method") == "invoice" for i in instructions)
        if not on_terms:  # no remittance will come: the authorized funds did not cover the invoice
            exceptions.append(_exception(
                session, invoice, f"{format_minor(invoice.balance_amount, invoice.currency)} {invoice.currency}"
                " is not covered by the order's authorized funds", f"invoice/{invoice.id}/not_covered", actor,
            ))
    return FundsResult(invoice.id, invoice.status, invoice.balance_amount, tuple(exceptions))
