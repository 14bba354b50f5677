"""Ensure refunds: give a credit memo's money back to the captures it came from, or an order's
excess funds (captured money no invoice needs).

A credit memo's lines are invoiced (returns, appeasements of invoiced goods) or not (cancelled
units). Per run, with the order and the credit memo locked (invoicing.ledger for the amounts):

- the uninvoiced part is refunded from unapplied money, as far as that exceeds what the order's
  captured money must still pay (invoicing.ledger.still_to_pay); the rest was never charged and
  is settled as `not_charged`, without a refund;
- the invoiced part is refunded from money applied to the order's invoices, as far as it was
  paid; on an order with invoice terms, what was never paid is applied to the order's open
  invoices (invoicing.credit_applications); what is left stays open until it is paid;
- what the order's live authorizations hold beyond what the order still needs is voided
  (invoicing.voids), with the refunds.

Refunds go to the order's captures, newest first, never above what each can refund, through
payments.service with the idempotency key `credit_memo/<id>/capture/<capture id>/<source>/<n>`
(`order/<id>/excess/...` for excess funds). Like ensure funds, a run begins every refund and its
pending application, and every void, in one transaction, calls the gateways with none open, then
settles; pending applications and voids are taken up first on the next run, with their keys. The
payment orchestrator runs the steps (payments.orchestrator); the worker's handler begins in its
own transaction (`begin_refunds`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, func, insert, select, update
from sqlalchemy.orm import Session

from ordino.invoicing import domain, ledger, voids
from ordino.invoicing.credit_applications import apply_credit, on_invoice_terms
from ordino.invoicing.credit_memos import CM, CM_LINE
from ordino.invoicing.errors import PaidForInvoices
from ordino.invoicing.invoices import _Record, lock_order
from ordino.invoicing.models import RefundApplication
from ordino.kernel import clock
from ordino.kernel.auth import Principal
from ordino.kernel.db import Database
from ordino.kernel.errors import Problem
from ordino.kernel.ids import new_id
from ordino.kernel.money import format_minor
from ordino.kernel.statemachine import apply
from ordino.orders.process_exceptions.retries import Retrier, Retriers, RetryOutcome, RetryRequest
from ordino.orders.process_exceptions.service import raise_process_exception, resolve_open
from ordino.payments import orchestrator, reads
from ordino.payments import service as payments
from ordino.payments.gateway import Gateways

REFUND_APP = cast(Table, RefundApplication.__table__)
ACTOR = "flow:invoicing"
STEP = "invoicing.ensure_refunds"  # the step a refund's process exception names; a retry re-runs it
LIVE = ("pending", "applied")


@dataclass(frozen=True, slots=True)
class _Pending:
    application_id: uuid.UUID
    credit_memo_id: uuid.UUID | None
    amount: int
    intent: payments.Intent


@dataclass(frozen=True, slots=True)
class _Plan:
    order: Any
    credit_memo: Any | None
    refunds: list[_Pending]
    voids: list[payments.Intent]


@dataclass(frozen=True, slots=True)
class RefundsResult:
    refunded: int  # refunded by this run (settled now)
    pending: int  # still waiting for a gateway


def _refunded_by(session: Session, credit_memo_id: uuid.UUID) -> dict[str, int]:
    return {
        str(row[0]): int(row[1]) for row in session.execute(
            select(REFUND_APP.c.source, func.sum(REFUND_APP.c.amount))
            .where(REFUND_APP.c.credit_memo_id == credit_memo_id, REFUND_APP.c.status.in_(LIVE))
            .group_by(REFUND_APP.c.source)
        )
    }


def _begin(session: Session, gateways: Gateways, order: Any, credit_memo: Any | None,
           plan: list[tuple[object, str, int]], actor: str | None) -> list[_Pending]:
    owner = f"credit_memo/{credit_memo.id}" if credit_memo is not None else f"order/{order.id}/excess"
    started = []
    for capture_id, source, amount in plan:
        done = session.execute(
            select(func.count()).where(
                REFUND_APP.c.capture_id == capture_id, REFUND_APP.c.source == source,
                REFUND_APP.c.credit_memo_id == credit_memo.id if credit_memo is not None
                else (REFUND_APP.c.credit_memo_id.is_(None) & (REFUND_APP.c.order_summary_id == order.id)),
            )
        ).scalar_one()
        key = f"{owner}/capture/{capture_id}/{source}/{done + 1}"
        try:
            with session.begin_nested():
                intent = payments.begin_refund(
                    session, gateways, cast(uuid.UUID, capture_id), amount, idempotency_key=key, actor=actor,
                    reason=f"credit memo {credit_memo.number}" if credit_memo is not None else "excess funds",
                )
        except Problem as problem:
            _exception(session, order, credit_memo, f"the refund of {format_minor(amount, order.currency)}"
                       f" {order.currency} was refused: {problem.detail}", f"{key}/refused", actor)
            continue
        application_id = new_id()
        session.execute(insert(REFUND_APP), [{
            "id": application_id, "credit_memo_id": credit_memo.id if credit_memo is not None else None,
            "order_summary_id": order.id, "capture_id": capture_id, "refund_id": intent.payment_id,
            "source": source, "currency": order.currency, "amount": amount, "status": "pending",
            "created_by": actor, "created_at": clock.now(), "applied_at": None,
        }])
        started.append(_Pending(application_id, credit_memo.id if credit_memo is not None else None, amount, intent))
    return started


def _exception(session: Session, order: Any, credit_memo: Any | None, message: str, dedup: str,
               actor: str | None, error: str | None = None) -> uuid.UUID:
    what = f"Credit memo {credit_memo.number}" if credit_memo is not None else f"Order {order.number}"
    return raise_process_exception(
        session, category="payment", severity="high", priority=2, message=f"{what}: {message}",
        attached_to_type="credit_memo" if credit_memo is not None else "order_summary",
        attached_to_id=credit_memo.id if credit_memo is not None else order.id, order_summary_id=order.id,
        dedup_key=dedup, actor=actor, step=STEP, error=error or message,
    )


def _pending_of(session: Session, where: Any) -> list[_Pending]:
    return [
        _Pending(a.id, a.credit_memo_id, a.amount, payments.load_intent(session, a.refund_id))
        for a in session.execute(
            select(REFUND_APP.c.id, REFUND_APP.c.credit_memo_id, REFUND_APP.c.amount, REFUND_APP.c.refund_id)
            .where(where, REFUND_APP.c.status == "pending").order_by(REFUND_APP.c.id)
        )
    ]


def _move_credit_memo(session: Session, credit_memo_id: uuid.UUID, actor: str | None, *, refunded: int = 0,
                      not_charged: int = 0, applied: int = 0) -> None:
    settled = refunded + not_charged + applied
    row = session.execute(
        update(CM).where(CM.c.id == credit_memo_id, CM.c.balance_amount >= settled)
        .values(refunded_amount=CM.c.refunded_amount + refunded, not_charged_amount=CM.c.not_charged_amount
                + not_charged, applied_amount=CM.c.applied_amount + applied,
                balance_amount=CM.c.balance_amount - settled, version=CM.c.version + 1, updated_at=clock.now())
        .returning(CM.c.status, CM.c.balance_amount, CM.c.refunded_amount, CM.c.number, CM.c.order_summary_id,
                   CM.c.currency)
    ).one()
    action = domain.credit_memo_action(row.status, row.balance_amount, row.refunded_amount)
    if action:
        after = apply(session, domain.CREDIT_MEMO_LIFECYCLE, _Record(credit_memo_id, row.status), action, actor=actor,
                      data={"number": row.number, "order_id": str(row.order_summary_id), "currency": row.currency,
                            "balance": format_minor(row.balance_amount, row.currency)})
        session.execute(update(CM).where(CM.c.id == credit_memo_id).values(status=after))


def _reporter(session: Session, order: Any, credit_memo: Any | None, actor: str | None) -> voids.Report:
    return lambda message, dedup: _exception(session, order, credit_memo, message, dedup, actor)


def _release(session: Session, gateways: Gateways, order: Any, credit_memo: Any | None,
             actor: str | None) -> list[payments.Intent]:
    """Voids of what the order's authorizations hold beyond its need (after this run's refunds)."""
    owner = f"credit_memo/{credit_memo.id}" if credit_memo is not None else f"order/{order.id}/excess"
    return voids.begin_voids(session, gateways, order, owner, actor, _reporter(session, order, credit_memo, actor))


def _plan_credit_memo(session: Session, gateways: Gateways, credit_memo_id: uuid.UUID,
                      actor: str | None) -> _Plan | None:
    head = session.execute(select(CM.c.order_summary_id).where(CM.c.id == credit_memo_id)).first()
    if head is None:
        return None
    order = lock_order(session, head.order_summary_id)
    credit_memo = session.execute(select(*CM.c).where(CM.c.id == credit_memo_id).with_for_update()).one()
    pending = _pending_of(session, REFUND_APP.c.credit_memo_id == credit_memo.id)
    if credit_memo.status not in domain.OPEN_CREDIT_MEMO_STATUSES:
        return _Plan(order, credit_memo, pending, _release(session, gateways, order, credit_memo, actor))
    parts = {
        bool(row[0]): int(row[1]) for row in session.execute(
            select(CM_LINE.c.invoiced, func.sum(CM_LINE.c.net_amount + CM_LINE.c.tax_amount))
            .where(CM_LINE.c.credit_memo_id == credit_memo.id).group_by(CM_LINE.c.invoiced)
        )
    }
    refunded = _refunded_by(session, credit_memo.id)
    uninvoiced_left = max(0, parts.get(False, 0) - refunded.get("unapplied", 0) - credit_memo.not_charged_amount)
    invoiced_left = max(0, parts.get(True, 0) - refunded.get("applied", 0) - credit_memo.applied_amount)
    captures = ledger.captures(session, order.id)
    spare = max(0, sum(max(0, c.unapplied) for c in captures) - ledger.still_to_pay(session, order.id))
    from_unapplied = min(uninvoiced_left, spare)
    from_applied = min(invoiced_left, sum(max(0, c.applied_refundable) for c in captures))
    plan = domain.plan_refunds(captures, from_unapplied=from_unapplied, from_applied=from_applied)
    short = from_unapplied + from_applied - sum(amount for _, _, amount in plan)
    if short > 0:
        _exception(session, order, credit_memo, f"{format_minor(short, order.currency)} {order.currency} could not be"
                   " refunded: the captures cannot refund it", f"credit_memo/{credit_memo.id}/short", actor)
    pending += _begin(session, gateways, order, credit_memo, plan, actor)
    if uninvoiced_left > from_unapplied:  # money for these units was never taken
        _move_credit_memo(session, credit_memo.id, actor, not_charged=uninvoiced_left - from_unapplied)
    if invoiced_left > from_applied and on_invoice_terms(order):  # never paid: lower what is still owed
        credited = apply_credit(session, order, credit_memo.id, invoiced_left - from_applied, actor)
        if credited:
            _move_credit_memo(session, credit_memo.id, actor, applied=credited)
    return _Plan(order, credit_memo, pending, _release(session, gateways, order, credit_memo, actor))


def _plan_excess(session: Session, gateways: Gateways, order_id: uuid.UUID, actor: str | None) -> _Plan | None:
    order = lock_order(session, order_id)
    if order is None:
        return None
    pending = _pending_of(session, (REFUND_APP.c.order_summary_id == order.id) & REFUND_APP.c.credit_memo_id.is_(None))
    if not pending:
        captures = ledger.captures(session, order.id)
        excess = max(0, sum(max(0, c.unapplied) for c in captures) - ledger.still_to_pay(session, order.id))
        plan = domain.plan_refunds(captures, from_unapplied=excess, from_applied=0)
        pending = _begin(session, gateways, order, None, plan, actor)
    return _Plan(order, None, pending, _release(session, gateways, order, None, actor))


def _begun(plan: _Plan | None, actor: str | None, report: bool = True) -> orchestrator.Begun[RefundsResult]:
    pending = plan.refunds if plan is not None else []
    released = plan.voids if plan is not None else []

    def settle(session: Session, _answers: orchestrator.Answers) -> RefundsResult:
        refunded = sum(_settle(session, p, actor, report) for p in pending)
        if plan is not None and released:
            voids.settle_voids(session, released, plan.order.currency,
                               _reporter(session, plan.order, plan.credit_memo, actor))
        return RefundsResult(refunded, sum(p.amount for p in pending) - refunded)

    return orchestrator.Begun([p.intent for p in pending] + released, settle)


def _settle(session: Session, p: _Pending, actor: str | None, report: bool = True) -> int:
    """Apply a refund that succeeded; a failed one becomes a process exception (`report`; a
    retry's failure is recorded on the exception retried instead)."""
    result = reads.outcome(session, p.intent.payment_id)
    status = result.status
    if status == "pending":
        return 0
    outcome = "applied" if status == "succeeded" else "failed"
    settled = session.execute(
        update(REFUND_APP).where(REFUND_APP.c.id == p.application_id, REFUND_APP.c.status == "pending")
        .values(status=outcome, applied_at=clock.now() if outcome == "applied" else None).returning(REFUND_APP.c.id)
    ).first()
    if settled is None:
        return 0
    if outcome == "failed" and not report:
        return 0
    if outcome == "failed":
        order = session.execute(select(*ledger.ORDER.c).join(
            REFUND_APP, REFUND_APP.c.order_summary_id == ledger.ORDER.c.id).where(REFUND_APP.c.id == p.application_id)
        ).one()
        credit_memo = (session.execute(select(*CM.c).where(CM.c.id == p.credit_memo_id)).one()
                       if p.credit_memo_id is not None else None)
        _exception(session, order, credit_memo, f"the refund of {format_minor(p.amount, order.currency)}"
                   f" {order.currency} failed at the gateway", f"refund/{p.intent.payment_id}/failed", actor,
                   error=f"{result.failure_code}: {result.failure_message or result.failure_code}")
        return 0
    if p.credit_memo_id is not None:
        _move_credit_memo(session, p.credit_memo_id, actor, refunded=p.amount)
    return p.amount


def begin_refunds(session: Session, gateways: Gateways, credit_memo_id: uuid.UUID,
                  actor: str | None = ACTOR, report: bool = True) -> orchestrator.Begun[RefundsResult]:
    """Step 1 of ensure refunds for a credit memo: its pending refunds and their applications."""
    return _begun(_plan_credit_memo(session, gateways, credit_memo_id, actor), actor, report)


def ensure_refunds(db: Database, gateways: Gateways, credit_memo_id: uuid.UUID,
                   actor: str | None = ACTOR, report: bool = True) -> RefundsResult:
    """Refund what the credit memo owes and the order can give back, in the orchestrator's
    transactions; raises GatewayUnavailable when a gateway did not answer."""
    return orchestrator.run(db, gateways, lambda s: begin_refunds(s, gateways, credit_memo_id, actor, report),
                            actor=actor)


def ensure_order_refunds(db: Database, gateways: Gateways, order_id: uuid.UUID,
                         actor: str | None = ACTOR) -> RefundsResult:
    """Every open credit memo of the order first, then the order's excess funds."""
    with db.read() as session:
        open_memos = session.execute(
            select(CM.c.id).where(CM.c.order_summary_id == order_id,
                                  CM.c.status.in_(domain.OPEN_CREDIT_MEMO_STATUSES))
            .order_by(CM.c.id)
        ).scalars().all()
    refunded = pending = 0
    for credit_memo_id in open_memos:
        r = ensure_refunds(db, gateways, credit_memo_id, actor)
        refunded, pending = refunded + r.refunded, pending + r.pending
    r = orchestrator.run(db, gateways, lambda s: _begun(_plan_excess(s, gateways, order_id, actor), actor),
                         actor=actor)
    return RefundsResult(refunded + r.refunded, pending + r.pending)


# ------------------------------------------------------------------------------------------------
# A refund asked of a capture itself (POST /payments/{id}/refund)


def begin_capture_refund(session: Session, gateways: Gateways, capture_id: uuid.UUID, amount: int | None, *,
                         idempotency_key: str, principal: Principal, reason: str | None) -> payments.Intent:
    """Step 1 of a refund of a capture's money that no invoice uses (excess funds), recorded as a
    refund of the order's excess funds. Money applied to invoices goes back only with a credit
    memo (PaidForInvoices, nothing written), so invoices − credit memos stay captured − refunded."""
    payment = reads.get_payment(session, capture_id, principal)  # 404 for a payment the key cannot see
    if reads.key_used(session, idempotency_key):  # a retry: begun (and checked) before
        return payments.begin_refund(session, gateways, capture_id, amount, idempotency_key=idempotency_key,
                                     actor=principal.actor, reason=reason, by=principal)
    order = lock_order(session, payment["order_summary_id"])
    funds = next((c for c in ledger.captures(session, payment["order_summary_id"]) if c.capture_id == capture_id), None)
    wanted = amount if amount is not None or funds is None else funds.available_to_refund
    if funds is not None and wanted is not None and max(0, funds.unapplied) < wanted <= funds.available_to_refund:
        raise _paid_for_invoices(wanted, max(0, funds.unapplied), payment["currency"], order)
    intent = payments.begin_refund(session, gateways, capture_id, amount, idempotency_key=idempotency_key,
                                   actor=principal.actor, reason=reason, by=principal)
    if order is None:  # a payment of no order invoicing knows: nothing of it is invoiced
        return intent
    session.execute(insert(REFUND_APP), [{
        "id": new_id(), "credit_memo_id": None, "order_summary_id": payment["order_summary_id"],
        "capture_id": capture_id, "refund_id": intent.payment_id, "source": "unapplied", "currency": intent.currency,
        "amount": intent.amount, "status": "pending", "created_by": principal.actor, "created_at": clock.now(),
        "applied_at": None,
    }])
    return intent


def _paid_for_invoices(wanted: int, unapplied: int, currency: str, order: Any) -> PaidForInvoices:
    ref = order.number if order is not None else "{order}"
    return PaidForInvoices(
        f"{format_minor(wanted, currency)} {currency} is more than the {format_minor(unapplied, currency)} {currency}"
        " of this capture that no invoice uses: money paid for invoices goes back with a credit memo. Use a"
        f" return (POST /api/v1/orders/{ref}/returns), an appeasement (POST /api/v1/orders/{ref}/appeasements),"
        " or POST /api/v1/credit-memos then POST /api/v1/refunds",
        extra={"refundable_without_credit_memo": format_minor(unapplied, currency)},
    )


def settle_capture_refund(session: Session, intent: payments.Intent, actor: str | None) -> None:
    """Step 3 of a refund asked of a capture: its refund application follows the refund."""
    row = session.execute(
        select(REFUND_APP.c.id, REFUND_APP.c.amount).where(REFUND_APP.c.refund_id == intent.payment_id)
    ).first()
    if row is not None:
        _settle(session, _Pending(row.id, None, row.amount, intent), actor)


# ------------------------------------------------------------------------------------------------
# Retrying a failed refund (a process exception's retry)


def retry_refunds(db: Database, gateways: Gateways, req: RetryRequest) -> RetryOutcome:
    """Ensure refunds of the credit memo again: a failed refund's application no longer counts,
    so each capture is asked again under the next key (`…/<n>`), once per retry."""
    if req.claim.attached_to_type != "credit_memo":
        return RetryOutcome(False, "only a credit memo's refunds are retried; refund the order's excess by hand")
    result = ensure_refunds(db, gateways, req.claim.attached_to_id, req.actor, report=False)
    with db.read() as session:
        memo = session.execute(select(CM.c.number, CM.c.currency).where(CM.c.id == req.claim.attached_to_id)).one()
    if result.pending == 0:
        note = (f"retry {req.claim.number}: credit memo {memo.number} refunded"
                f" {format_minor(result.refunded, memo.currency)} {memo.currency}")
        db.transaction(lambda s: resolve_open(s, "credit_memo", req.claim.attached_to_id, STEP, note, req.actor))
        return RetryOutcome(True, note)
    return RetryOutcome(False, f"{format_minor(result.pending, memo.currency)} {memo.currency} of credit memo"
                               f" {memo.number} failed to refund again at the gateway")


RETRIERS: Retriers = {STEP: Retrier(retry_refunds)}
