"""What becomes a process exception without a person asking: a payment the gateway would not
authorize (`payment.authorization_failed`, which also puts the order on payment hold) and an
event whose handler kept failing (a dead letter). A dead letter put back that is then delivered
resolves its exception (`on_recovered`).

Both are idempotent: the dedup key names the event, so a redelivered event raises nothing new.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ordino.kernel.ids import parse_id
from ordino.kernel.worker import Event, Registration
from ordino.orders.models import OrderSummary
from ordino.orders.process_exceptions.models import ProcessException
from ordino.orders.process_exceptions.service import (
    AUTHORIZATION_STEP,
    raise_process_exception,
    record_error,
    resolve_by_retry,
    sync_payment_hold,
)

ACTOR = "system:flows"

# The category of a dead letter follows the capability of the handler that failed.
_CATEGORY_OF_HANDLER = {
    "payments": "payment",
    "invoicing": "invoicing",
    "fulfillment": "fulfillment",
    "inventory": "inventory",
}


def _existing_order(session: Session, value: Any) -> uuid.UUID | None:
    order_id = parse_id(str(value)) if value else None
    if order_id is None:
        return None
    return session.execute(select(OrderSummary.id).where(OrderSummary.id == order_id)).scalar_one_or_none()


def _authorization_message(data: dict[str, Any], code: str, message: str) -> str:
    """E.g. "Payment 1 (card, simulator) of 30.00 EUR was not authorized: card_declined: …"."""
    index = data.get("payment_index")
    which = f"Payment {index + 1}" if isinstance(index, int) else "A payment"
    how = ", ".join(str(data[k]) for k in ("method", "gateway") if data.get(k))
    amount = f" of {data['amount']} {data.get('currency') or ''}".rstrip() if data.get("amount") else ""
    return f"{which}{f' ({how})' if how else ''}{amount} was not authorized: {code}: {message}"


def on_authorization_failed(session: Session, event: Event) -> None:
    """A declined or unusable payment instruction: a payment exception on the order, keeping the
    gateway's code and message."""
    data = event.data
    order_id = _existing_order(session, data.get("order_summary_id"))
    payment_id = parse_id(str(data["payment_id"])) if data.get("payment_id") else None
    code, message = str(data.get("code") or "declined"), str(data.get("message") or "")
    if payment_id is not None:
        attached: tuple[str, uuid.UUID] = ("payment", payment_id)
    elif order_id is not None:
        attached = ("order_summary", order_id)
    else:
        attached = ("outbox_event", event.id)
    raise_process_exception(
        session, category="payment", severity="high", priority=2,
        message=_authorization_message(data, code, message),
        description=f"gateway error code: {code}\ngateway error message: {message}",
        attached_to_type=attached[0], attached_to_id=attached[1], order_summary_id=order_id,
        dedup_key=f"{event.type}/{event.id}", actor=ACTOR,
        step=AUTHORIZATION_STEP, error=f"{code}: {message}", event_id=event.id,
    )
    sync_payment_hold(session, order_id)


def _order_of(event: Event) -> Any:
    """The order an event is about, when its subject or data says so."""
    if event.subject and event.subject.startswith("order/"):
        return event.subject.removeprefix("order/")
    return event.data.get("order_summary_id") or event.data.get("order_id")


def on_dead_letter(session: Session, event: Event, handler: str, error: str) -> None:
    """The dispatcher's dead-letter hook: a process exception attached to the outbox event, with
    the last error, on the event's order when it names one."""
    category = _CATEGORY_OF_HANDLER.get(handler.partition(".")[0], "other")
    exception_id = raise_process_exception(
        session, category=category, severity="high", priority=2,
        message=f"Event {event.type} failed on every attempt: {error}",
        description=error,
        attached_to_type="outbox_event", attached_to_id=event.id,
        order_summary_id=_existing_order(session, _order_of(event)),
        dedup_key=dead_letter_key(event.id), actor=ACTOR,
        step=handler, error=error, event_id=event.id,
    )
    # Dead again after a retry: the same exception, with the new error.
    last = session.execute(select(ProcessException.error).where(ProcessException.id == exception_id)).scalar_one()
    if last != error[:4000]:
        record_error(session, exception_id, error)


def dead_letter_key(event_id: uuid.UUID) -> str:
    return f"dead-letter/{event_id}"


def on_recovered(session: Session, event: Event) -> None:
    """The dispatcher's recovery hook: an event delivered after failing resolves the exception of
    its dead letter, if it had one that is still active."""
    found = session.execute(
        select(ProcessException.id, ProcessException.retry_count)
        .where(ProcessException.dedup_key == dead_letter_key(event.id))
    ).first()
    if found is not None:
        resolve_by_retry(session, found.id, f"retry {found.retry_count}: the event was delivered", ACTOR)


RAISE_AUTHORIZATION_FAILURES = Registration("process_exceptions.authorization_failed", on_authorization_failed)
