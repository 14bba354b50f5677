"""The notification handlers, by event type: add `registrations(config)` to the worker's handlers,
after the flows' own handlers of the same event (a held order is held by then)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from sqlalchemy.orm import Session

from ordino.kernel.ids import parse_id
from ordino.kernel.worker import AfterCommit, Event, Registration
from ordino.notifications import compose, service
from ordino.notifications.domain import Kind
from ordino.notifications.mail import MailConfig
from ordino.notifications.service import Outgoing
from ordino.orders.approvals.service import after_approval, unless_held
from ordino.settings import Settings

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


def _held_only(reg: Registration) -> Registration:
    """On `order.created`, only for an order held for approval at intake."""
    def handle(session: Session, event: Event) -> AfterCommit | None:
        return reg.handle(session, event) if event.data.get("status") == "pending_approval" else None

    return Registration(reg.name, handle)


def registrations(config: MailConfig) -> dict[str, tuple[Registration, ...]]:
    """Event type → the notification registrations, sending with `config`
    (MailConfig.from_settings(Settings.from_env()) in production)."""
    confirmation = registration(Kind.ORDER_CONFIRMATION, config, compose.order_confirmation)
    approval = registration(Kind.APPROVAL_REQUESTED, config, compose.approval_requested)
    shipment = registration(Kind.SHIPMENT, config, compose.shipment)
    return {
        # A new order is confirmed unless it is held; a held one when an approver releases it.
        "order.created": (unless_held(confirmation), _held_only(approval)),
        "order.approved": (after_approval(confirmation),),
        # Held after intake (invoicing's credit check): the approvers are asked.
        "order.pending_approval": (approval,),
        "fulfillment_order.partially_shipped": (shipment,),
        "fulfillment_order.fulfilled": (shipment,),
        "invoice.created": (registration(Kind.INVOICE, config, compose.invoice),),
        "return_order.received": (registration(Kind.RETURN_CREDITED, config, compose.return_credited),),
        "quote.sent": (registration(Kind.QUOTE_SENT, config, compose.quote_sent),),
        "process_exception.created": (registration(Kind.PROCESS_EXCEPTION, config, compose.process_exception),),
        # An erased contact's messages keep no address, body or attachment (privacy erases the rest).
        "contact.erased": (ERASE_CONTACT,),
    }


def merged(flows: Mapping[str, Sequence[Registration]], config: MailConfig) -> dict[str, tuple[Registration, ...]]:
    """The flows' handlers with the notifications' after them, event by event."""
    out: dict[str, tuple[Registration, ...]] = {k: tuple(v) for k, v in flows.items()}
    for event_type, regs in registrations(config).items():
        out[event_type] = out.get(event_type, ()) + regs
    return out


def from_settings(settings: Settings) -> dict[str, tuple[Registration, ...]]:
    """The registrations with the SMTP settings of the environment (ORDINO_SMTP_*, ORDINO_MAIL_FROM,
    ORDINO_OPERATIONS_EMAIL)."""
    return registrations(MailConfig.from_settings(settings))
