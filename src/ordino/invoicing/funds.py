"""Ensure funds: pay an invoice from the order's money, capturing authorized funds if needed.

1. Plan, in one transaction with the order and the invoice locked: captured money that no
   invoice uses (excess funds) is applied first; then authorized funds are captured, choosing
   payment summaries as Salesforce does (invoicing.domain.choose_funds) and, within a summary,
   its authorizations oldest first. Each capture is begun (payments.service.begin_capture: a
   pending record with its amount held) together with a pending application to the invoice.
2. Call the gateways, with no transaction open.
3. Settle: each capture is finished and its application applied to the invoice.

The payment orchestrator runs the steps (payments.orchestrator): `ensure_funds` owns them, and
the worker's handler begins in its own transaction (`begin_funds`).

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

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from ordino.invoicing import domain, ledger
from ordino.invoicing.invoices import APP, INV, apply_to_invoice, lock_order
from ordino.kernel import clock
from ordino.kernel.db import Database
from ordino.kernel.errors import Problem
from ordino.kernel.ids import new_id
from ordino.kernel.money import format_minor
from ordino.orders.process_exceptions.retries import Retrier, Retriers, RetryOutcome, RetryRequest
from ordino.orders.process_exceptions.service import RetryClaim, raise_process_exception, resolve_open
from ordino.payments import orchestrator, reads
from ordino.payments import service as payments
from ordino.payments.gateway import Gateways

ACTOR = "flow:invoicing"
STEP = "invoicing.ensure_funds"  # the step a capture's process exception names; a retry re-runs it


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
               attached: tuple[str, uuid.UUID] | None = None, error: str | None = None) -> uuid.UUID:
    kind, record = attached or ("invoice", invoice.id)
    return raise_process_exception(
        session, category="payment", severity="high", priority=2, message=f"Invoice {invoice.number}: {message}",
        attached_to_type=kind, attached_to_id=record, order_summary_id=invoice.order_summary_id,
        dedup_key=dedup, actor=actor, step=STEP, error=error or message,
    )


def _plan(session: Session, gateways: Gateways, invoice_id: uuid.UUID, actor: str | None,
          retry: str = "") -> list[_Pending]:
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
    summaries = reads.capturable_summaries(session, invoice.order_summary_id, invoice.currency)
    for take in domain.choose_funds([(s.id, s.amount) for s in summaries], need):
        left = take.amount
        for auth in reads.capturable_authorizations(session, take.key):
            if left <= 0:
                break
            key = capture_key(invoice.id, auth.id) + retry
            if reads.key_used(session, key):
                continue  # this authorization was tried for this invoice already
            amount = min(left, auth.amount)
            try:
                with session.begin_nested():  # a refusal undoes only this capture's writes
                    intent = payments.begin_capture(session, gateways, auth.id, amount, idempotency_key=key,
                                                    actor=actor)
            except Problem as problem:
                if retry:  # a retry's refusal is recorded on the exception retried
                    raise
                _exception(session, invoice, f"the capture of {format_minor(amount, invoice.currency)}"
                           f" {invoice.currency} was refused: {problem.detail}", f"{key}/refused", actor)
                continue
            application_id = _add_application(session, invoice, intent.payment_id, amount, "pending", actor)
            pending.append(_Pending(application_id, invoice.id, amount, intent))
            left -= amount
    return pending


def _settle(session: Session, p: _Pending, actor: str | None, report: bool = True) -> None:
    """Apply a capture that succeeded; a failed one becomes a process exception (`report`; a
    retry's failure is recorded on the exception retried instead)."""
    outcome = reads.outcome(session, p.intent.payment_id)
    if outcome.status == "pending":
        return
    invoice = session.execute(select(*INV.c).where(INV.c.id == p.invoice_id)).one()
    if outcome.status == "succeeded":
        applied = apply_to_invoice(session, invoice.id, p.amount, actor)
        # Without a balance left (paid meanwhile), the captured money stays unapplied: excess funds.
        status = "applied" if applied else "failed"
    else:
        status = "failed"
    if status == "failed" and outcome.status != "succeeded" and report:
        _exception(session, invoice, f"the capture of {format_minor(p.amount, invoice.currency)} {invoice.currency}"
                   f" failed: {outcome.failure_message or outcome.failure_code}",
                   f"invoice/{invoice.id}/capture/{p.intent.payment_id}", actor,
                   attached=("payment", p.intent.payment_id),
                   error=f"{outcome.failure_code}: {outcome.failure_message or outcome.failure_code}")
    session.execute(update(APP).where(APP.c.id == p.application_id, APP.c.status == "pending").values(
        status=status, applied_at=clock.now() if status == "applied" else None,
    ))


def begin_funds(session: Session, gateways: Gateways, invoice_id: uuid.UUID,
                actor: str | None = ACTOR, retry: str = "") -> orchestrator.Begun[FundsResult | None]:
    """Step 1 of ensure funds: the pending captures and their applications; then each capture is
    applied (or becomes a process exception), and the invoice's outcome is judged once every
    gateway answered (None until then). `retry` suffixes the capture keys: a process exception's
    retry tries again the authorizations whose capture failed."""
    pending = _plan(session, gateways, invoice_id, actor, retry)

    def settle(s: Session, answers: orchestrator.Answers) -> FundsResult | None:
        for p in pending:
            _settle(s, p, actor, report=not retry)
        return _outcome(s, invoice_id, actor) if answers.complete else None

    return orchestrator.Begun([p.intent for p in pending], settle)


def ensure_funds(db: Database, gateways: Gateways, invoice_id: uuid.UUID, actor: str | None = ACTOR,
                 retry: str = "") -> FundsResult:
    """Pay the invoice from the order's funds, in the orchestrator's transactions; raises
    GatewayUnavailable when a gateway did not answer (what was settled is kept, and a retry
    settles the rest with the same keys)."""
    result = orchestrator.run(
        db, gateways, lambda session: begin_funds(session, gateways, invoice_id, actor, retry), actor=actor,
    )
    assert result is not None  # every gateway answered, else run raised
    return result


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


# ------------------------------------------------------------------------------------------------
# Retrying a failed capture (a process exception's retry)


def _invoice_of(session: Session, claim: RetryClaim) -> uuid.UUID | None:
    if claim.attached_to_type == "invoice":
        return claim.attached_to_id
    if claim.attached_to_type == "payment":  # the failed capture: the invoice it was to pay
        return cast(uuid.UUID | None, session.execute(
            select(APP.c.invoice_id).where(APP.c.payment_id == claim.attached_to_id).limit(1)
        ).scalar_one_or_none())
    return None


def retry_funds(db: Database, gateways: Gateways, req: RetryRequest) -> RetryOutcome:
    """Ensure funds again, under capture keys of this retry (`…/retry/<exception>/<n>`): each
    authorization is asked to capture once more, once per retry."""
    with db.read() as session:
        invoice_id = _invoice_of(session, req.claim)
    if invoice_id is None:
        return RetryOutcome(False, "the exception names no invoice to pay")
    suffix = f"/retry/{req.claim.exception_id}/{req.claim.number}"
    result = ensure_funds(db, gateways, invoice_id, req.actor, retry=suffix)
    with db.read() as session:
        invoice = session.execute(
            select(INV.c.number, INV.c.currency, INV.c.order_summary_id).where(INV.c.id == invoice_id)
        ).one()
        tried = [reads.outcome(session, k.id) for k in reads.keyed(session, invoice.order_summary_id, "invoice/")
                 if k.idempotency_key.endswith(suffix)]
    if result.balance == 0:
        note = f"retry {req.claim.number}: invoice {invoice.number} paid"
        db.transaction(lambda session: _resolve_invoice_exceptions(session, invoice_id, note, req.actor))
        return RetryOutcome(True, note)
    why = "; ".join(f"{o.failure_code}: {o.failure_message}" for o in tried if o.status not in ("succeeded", "pending"))
    why = why or "no authorized funds left to capture"
    return RetryOutcome(False, f"{format_minor(result.balance, invoice.currency)} {invoice.currency} unpaid: {why}")


def _resolve_invoice_exceptions(session: Session, invoice_id: uuid.UUID, note: str, actor: str | None) -> None:
    """A paid invoice closes every capture exception of it: on the invoice and on its failed captures."""
    resolve_open(session, "invoice", invoice_id, STEP, note, actor)
    for payment_id in session.execute(select(APP.c.payment_id).where(APP.c.invoice_id == invoice_id,
                                                                      APP.c.payment_id.is_not(None))).scalars():
        resolve_open(session, "payment", payment_id, STEP, note, actor)


RETRIERS: Retriers = {STEP: Retrier(retry_funds)}
