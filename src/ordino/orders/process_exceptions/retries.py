"""Retry: re-run the step a process exception records.

- A dead letter (attached to its outbox event): the event is put back in the queue
  (kernel.worker.retry_failed). The handlers that succeeded before have receipts and do nothing;
  the one that failed runs again with its own idempotency keys, and once the event is delivered
  the dispatcher's recovery hook resolves the exception (handlers.on_recovered).
- A declined authorization (step `payments.authorize`): the payment is authorized again, with the
  card the body names (`payment_method`, e.g. the buyer's new card) or the declined one. Its
  idempotency key is `process_exception/<id>/retry/<n>/authorize`: one gateway authorization per
  retry, and a retry sent again (same Idempotency-Key, or a crash and a replay) asks nothing new.
  Success resolves the exception, which releases the order's payment hold.
- Other steps: the retriers the composition root adds (`app.state.process_exception_retriers`:
  invoicing's capture and refund).

The retry is counted first, in its own transaction (409 for an exception that is not active);
the step runs with no transaction open (it may call a gateway); its outcome is written last:
resolved with a note, or the new error with the retry count up.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ordino.kernel.db import Database
from ordino.kernel.errors import FieldError, Problem, ValidationFailed
from ordino.kernel.ids import parse_id
from ordino.kernel.money import MoneyError, parse_amount
from ordino.kernel.outbox import OutboxEvent
from ordino.kernel.worker import retry_failed
from ordino.orders.process_exceptions import service
from ordino.orders.process_exceptions.errors import NotRetryable
from ordino.payments import reads as payment_reads
from ordino.payments import service as payments
from ordino.payments.gateway import Gateways, GatewayUnavailable
from ordino.payments.methods import MethodSpec


@dataclass(frozen=True, slots=True)
class RetryRequest:
    claim: service.RetryClaim
    event_data: dict[str, Any]  # the data of the exception's event ({} without one)
    payment_method: MethodSpec | None
    actor: str | None


@dataclass(frozen=True, slots=True)
class RetryOutcome:
    succeeded: bool
    text: str  # the resolution note, or the new error


@dataclass(frozen=True, slots=True)
class Retrier:
    """How to re-run one step: `check` refuses a request before anything is written (it runs in
    the claiming transaction), `run` owns its transactions."""

    run: Callable[[Database, Gateways, RetryRequest], RetryOutcome]
    check: Callable[[Session, RetryRequest], None] | None = None
    takes_payment_method: bool = False


Retriers = Mapping[str, Retrier]


# ------------------------------------------------------------------------------------------------
# A declined authorization


def _amount(data: dict[str, Any]) -> tuple[int, str] | None:
    currency, amount = data.get("currency"), data.get("amount")
    if not currency or not amount:
        return None
    try:
        return parse_amount(Decimal(str(amount)), str(currency)), str(currency)
    except (MoneyError, ArithmeticError, ValueError):
        return None


def _declined_method(session: Session, data: dict[str, Any]) -> uuid.UUID | None:
    payment_id = parse_id(str(data.get("payment_id") or ""))
    if payment_id is None:
        return None
    summary_id = payment_reads.get_payment(session, payment_id)["summary_id"]
    return uuid.UUID(str(payment_reads.get_summary(session, summary_id)["payment_method"]["id"]))


def _check_authorization(session: Session, req: RetryRequest) -> None:
    if _amount(req.event_data) is None or not req.event_data.get("account_id"):
        raise NotRetryable("the declined instruction names no amount to authorize; resolve it by hand")
    if req.payment_method is not None:
        payments.check_token(req.payment_method.token or "", "payment_method.token")
    elif _declined_method(session, req.event_data) is None:
        raise ValidationFailed([FieldError(
            "payment_method", "is required: the declined instruction has no payment method to authorize again",
        )])


def retry_key(claim: service.RetryClaim, operation: str) -> str:
    return f"process_exception/{claim.exception_id}/retry/{claim.number}/{operation}"


def _retry_authorization(db: Database, gateways: Gateways, req: RetryRequest) -> RetryOutcome:
    data = req.event_data
    amount = _amount(data)
    assert amount is not None  # checked
    method: MethodSpec | uuid.UUID | None = req.payment_method
    if method is None:
        with db.read() as session:
            method = _declined_method(session, data)
    assert method is not None  # checked
    settlement = payments.authorize(
        db, gateways, order_summary_id=uuid.UUID(str(data["order_summary_id"])),
        account_id=uuid.UUID(str(data["account_id"])), currency=amount[1], amount_minor=amount[0], method=method,
        idempotency_key=retry_key(req.claim, "authorize"), actor=req.actor,
    )
    if settlement.status == "authorized":
        return RetryOutcome(True, f"retry {req.claim.number}: payment {settlement.payment_id} authorized")
    return RetryOutcome(False, f"{settlement.code or settlement.status}: {settlement.message or settlement.status}")


RETRIERS: Retriers = {
    service.AUTHORIZATION_STEP: Retrier(_retry_authorization, _check_authorization, takes_payment_method=True),
}


# ------------------------------------------------------------------------------------------------
# The use case


def _claim(session: Session, exception_id: uuid.UUID, retriers: Retriers, payment_method: MethodSpec | None,
           actor: str | None) -> tuple[RetryRequest, Retrier | None]:
    claim = service.claim_retry(session, exception_id)
    retrier = retriers.get(claim.step or "") if claim.attached_to_type != "outbox_event" else None
    if payment_method is not None and (retrier is None or not retrier.takes_payment_method):
        raise ValidationFailed([FieldError("payment_method", "only a declined authorization takes a payment method")])
    data: dict[str, Any] = {}
    if claim.event_id is not None:
        found = session.execute(select(OutboxEvent.data).where(OutboxEvent.id == claim.event_id)).scalar_one_or_none()
        data = found or {}
    req = RetryRequest(claim, data, payment_method, actor)
    if claim.attached_to_type == "outbox_event":
        if not retry_failed(session, claim.attached_to_id):
            raise NotRetryable("the event is not dead-lettered: it is queued again or was delivered")
    elif retrier is None:
        raise NotRetryable("the process exception names no step that can be re-run; resolve it by hand")
    elif retrier.check is not None:
        retrier.check(session, req)
    return req, retrier


def retry(db: Database, gateways: Gateways, retriers: Retriers, exception_id: uuid.UUID, *,
          payment_method: MethodSpec | None = None, actor: str | None = None) -> None:
    """Retry the exception's step; its outcome is written on the exception (see the module)."""
    req, retrier = db.transaction(lambda s: _claim(s, exception_id, retriers, payment_method, actor))
    if retrier is None:
        return  # a dead letter put back: the worker delivers it, and its recovery resolves the exception
    try:
        outcome = retrier.run(db, gateways, req)
    except GatewayUnavailable:
        outcome = RetryOutcome(False, "the payment gateway did not answer; what it was asked stays pending and is"
                                      " settled by the next retry or the periodic job")
    except Problem as problem:
        outcome = RetryOutcome(False, f"{problem.slug}: {problem.detail}")

    def write(session: Session) -> None:
        if outcome.succeeded:
            service.resolve_by_retry(session, exception_id, outcome.text, actor)
        else:
            service.record_error(session, exception_id, outcome.text)

    db.transaction(write)
