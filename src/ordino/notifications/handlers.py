"""The notification handlers, as actions of the `notifications` flow, which runs after the flows'
own handlers of each event (a held order is held by then)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy.orm import Session

from ordino.kernel.ids import parse_id
from ordino.kernel.worker import AfterCommit, Event, Registration
from ordino.notifications import compose, service
from ordino.notifications.domain import Kind
from ordino.notifications.mail import MailConfig
from ordino.notifications.service import Outgoing
from ordino.orders.approvals.service import after_approval, unless_held

Compose = Callable[[Session, Event, MailConfig], Sequence[Outgoing]]


def registration(kind: Kind, config: MailConfig, build: Compose) -> Registration:
    def handle(session: Session, event: Event) -> AfterCommit | None:
        return service.handle(session, event, kind, config, build)

    return Registration(f"notifications.{kind.value}", handle)


def _erase_contact(session: Session, event: Event) -> None:
    contact_id = parse_id(str(event.data.get("id")))
    if contact_id is not None:
        service.erase_contact(session, contact_id)


ERASE_CONTACT = Registration("notifications.erase_contact", _erase_contact)


def held_only(reg: Registration) -> Registration:
    """On `order.created`, only for an order held for approval at intake."""
    def handle(session: Session, event: Event) -> AfterCommit | None:
        return reg.handle(session, event) if event.data.get("status") == "pending_approval" else None

    return Registration(reg.name, handle)


def _kind(kind: Kind, build: Compose) -> Callable[[MailConfig], Registration]:
    return lambda config: registration(kind, config, build)


# The actions the flow files name (flows/definitions/notifications.yaml), each built with the
# mail settings. A new order is confirmed unless held, a held one when an approver releases it;
# approvers are asked when an order is held at intake or after it (the credit check).
ACTIONS: dict[str, Callable[[MailConfig], Registration]] = {
    "notifications.order_confirmation": lambda c: unless_held(
        registration(Kind.ORDER_CONFIRMATION, c, compose.order_confirmation)),
    "notifications.order_confirmation_approved": lambda c: after_approval(
        registration(Kind.ORDER_CONFIRMATION, c, compose.order_confirmation)),
    "notifications.approval_requested_at_intake": lambda c: held_only(
        registration(Kind.APPROVAL_REQUESTED, c, compose.approval_requested)),
    "notifications.approval_requested": _kind(Kind.APPROVAL_REQUESTED, compose.approval_requested),
    "notifications.shipment": _kind(Kind.SHIPMENT, compose.shipment),
    "notifications.invoice": _kind(Kind.INVOICE, compose.invoice),
    "notifications.return_credited": _kind(Kind.RETURN_CREDITED, compose.return_credited),
    "notifications.quote_sent": _kind(Kind.QUOTE_SENT, compose.quote_sent),
    "notifications.process_exception": _kind(Kind.PROCESS_EXCEPTION, compose.process_exception),
    # An erased contact's messages keep no address, body or attachment (privacy erases the rest).
    "notifications.erase_contact": lambda _c: ERASE_CONTACT,
}
