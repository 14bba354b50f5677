"""The actions and jobs a flow file may name: each a service call of a capability, built with the
payment gateways it needs. A flow step names the action; the catalog says what it emits.

An action's `receipt` is the worker's receipt key of its handler: two actions that are the same
handler behind a different guard (routing a new order, routing an approved one) share it, so an
event never runs that handler twice whichever flow names it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from ordino.flows.domain import ActionSpec
from ordino.fulfillment.handlers import ROUTE_ARRIVED_STOCK, ROUTE_NEW_ORDERS
from ordino.inventory import service as inventory
from ordino.invoicing import handlers as invoicing_handlers
from ordino.invoicing import reminders
from ordino.invoicing import service as invoicing
from ordino.kernel.worker import Registration
from ordino.notifications import handlers as notifications
from ordino.notifications.mail import MailConfig
from ordino.orders.approvals.service import after_approval, unless_held
from ordino.orders.process_exceptions import handlers as process_exceptions
from ordino.orders.quotes import service as quotes
from ordino.payments import handlers as payments_handlers
from ordino.payments import renewal
from ordino.payments import service as payments
from ordino.payments.gateway import Gateways
from ordino.webhooks import handlers as webhooks

ROUTED = ("order.approved", "order.routed", "order.backordered", "order.routing_failed", "fulfillment_order.created")
AUTHORIZED = (payments_handlers.AUTHORIZATION_FAILED,)


@dataclass(frozen=True, slots=True)
class Wiring:
    """What actions are built with: the payment gateways, the mail settings."""

    gateways: Gateways
    mail: MailConfig = field(default_factory=MailConfig)


@dataclass(frozen=True, slots=True)
class Action:
    spec: ActionSpec
    build: Callable[[Wiring], Registration]


@dataclass(frozen=True, slots=True)
class Job:
    description: str
    build: Callable[[Gateways], Callable[[Session], object]]


def _fixed(registration: Registration) -> Callable[[Wiring], Registration]:
    return lambda _wiring: registration


def _mail(name: str, description: str, receipt: str = "") -> Action:
    build = notifications.ACTIONS[name]
    return Action(ActionSpec((), description, receipt), lambda w: build(w.mail))


ACTIONS: Mapping[str, Action] = {
    "orders.credit_check_and_route": Action(
        ActionSpec(("order.pending_approval", *ROUTED),
                   "Hold an order on account past its credit limit; else approve it and route it to locations",
                   ROUTE_NEW_ORDERS.name),
        _fixed(invoicing_handlers.credit_checked(ROUTE_NEW_ORDERS)),
    ),
    "orders.route_approved": Action(
        ActionSpec(ROUTED[1:], "Route an order an approver released", ROUTE_NEW_ORDERS.name),
        _fixed(after_approval(ROUTE_NEW_ORDERS)),
    ),
    "payments.authorize_order": Action(
        ActionSpec(AUTHORIZED, "Authorize the order's card payments at their gateway (not while held)",
                   payments_handlers.NAME),
        lambda w: unless_held(payments_handlers.authorize_order_payments(w.gateways)),
    ),
    "payments.authorize_approved": Action(
        ActionSpec(AUTHORIZED, "Authorize the payments of an order an approver released", payments_handlers.NAME),
        lambda w: after_approval(payments_handlers.authorize_order_payments(w.gateways)),
    ),
    "payments.authorize_added_items": Action(
        ActionSpec(AUTHORIZED, "Authorize the amount items added to an order cost, next to the first authorization"),
        lambda w: payments_handlers.authorize_added_items(w.gateways),
    ),
    "fulfillment.route_arrived_stock": Action(
        ActionSpec(ROUTED[1:], "Route the delivery groups whose backordered units became stock",
                   ROUTE_ARRIVED_STOCK.name),
        _fixed(ROUTE_ARRIVED_STOCK),
    ),
    "invoicing.invoice_shipment": Action(
        ActionSpec(("invoice.created",), "Invoice what a fulfilment order shipped"),
        _fixed(invoicing_handlers.INVOICE_SHIPMENTS),
    ),
    "invoicing.ensure_funds": Action(
        ActionSpec((), "Pay an invoice from the order's authorizations (capture), or leave it open on terms"),
        lambda w: invoicing_handlers.ensure_funds(w.gateways),
    ),
    "invoicing.ensure_refunds": Action(
        ActionSpec(("refund.created",), "Refund a credit memo to the order's captures, or apply it to open invoices"),
        lambda w: invoicing_handlers.ensure_refunds(w.gateways),
    ),
    "process_exceptions.authorization_failed": Action(
        ActionSpec(("process_exception.created",), "Raise a payment process exception on the order"),
        _fixed(process_exceptions.RAISE_AUTHORIZATION_FAILURES),
    ),
    "notifications.order_confirmation": _mail(
        "notifications.order_confirmation", "E-mail the buyer the order confirmation (not while held)"),
    "notifications.order_confirmation_approved": _mail(
        "notifications.order_confirmation_approved", "E-mail the order confirmation of an order an approver released",
        "notifications.order_confirmation"),
    "notifications.approval_requested_at_intake": _mail(
        "notifications.approval_requested_at_intake", "E-mail the approvers an order held for approval at intake",
        "notifications.approval_requested"),
    "notifications.approval_requested": _mail(
        "notifications.approval_requested", "E-mail the approvers an order held for approval"),
    "notifications.shipment": _mail("notifications.shipment", "E-mail the buyer a shipment with its tracking links"),
    "notifications.invoice": _mail(
        "notifications.invoice", "E-mail the invoice, its document attached in the account's format"),
    "notifications.return_credited": _mail(
        "notifications.return_credited", "E-mail the buyer a return received and credited"),
    "notifications.quote_sent": _mail("notifications.quote_sent", "E-mail the contact who asked for it a quote sent"),
    "notifications.process_exception": _mail(
        "notifications.process_exception", "E-mail the operations address a new process exception"),
    "notifications.erase_contact": _mail(
        "notifications.erase_contact", "Forget an erased contact's messages (address, body, attachment)"),
    "webhooks.fan_out": Action(
        ActionSpec((), "Queue a signed delivery for every webhook subscription the event matches"),
        _fixed(webhooks.REGISTRATION),
    ),
}

JOBS: Mapping[str, Job] = {
    "inventory.expire_holds": Job("Release cart holds past their expiry",
                                  lambda _g: lambda session: inventory.expire_holds(session)),
    "inventory.allocate_backorders": Job("Move backordered reservations onto arrived stock, oldest first",
                                         lambda _g: lambda session: inventory.allocate_backorders(session)),
    "payments.expire_authorizations": Job("Stop counting authorizations past their expiry as capturable",
                                          lambda _g: lambda session: payments.expire_authorizations(session)),
    "payments.resolve_pending": Job("Settle money movements a crash or a timeout left pending, from the gateway",
                                    payments.resolve_pending_job),
    "payments.reauthorize_expiring": Job("Re-authorize what is left of authorizations that lapse within a day",
                                         renewal.reauthorize_expiring_job),
    "invoicing.settle_pending": Job("Settle invoices and credit memos whose capture or refund was left pending",
                                    invoicing.settle_pending_job),
    "invoicing.remind_overdue": Job("Announce invoices left open past their due date (invoice.overdue), once per stage",
                                    lambda _g: lambda session: reminders.remind_overdue(session)),
    "quotes.expire": Job("Mark quotes past their validity expired",
                         lambda _g: lambda session: quotes.expire_quotes(session)),
}


def specs() -> dict[str, ActionSpec]:
    return {name: action.spec for name, action in ACTIONS.items()}


def job_descriptions() -> dict[str, str]:
    return {name: job.description for name, job in JOBS.items()}
