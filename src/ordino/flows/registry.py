"""Which handlers react to which events. Capabilities add their handlers here as they grow."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ordino.fulfillment.handlers import ROUTE_ARRIVED_STOCK, ROUTE_NEW_ORDERS
from ordino.inventory import service as inventory
from ordino.invoicing import handlers as invoicing_handlers
from ordino.invoicing import service as invoicing
from ordino.kernel.db import Database
from ordino.kernel.worker import Dispatcher, Periodic, Registration
from ordino.orders.approvals.service import after_approval, unless_held
from ordino.orders.process_exceptions import handlers as process_exceptions
from ordino.orders.quotes import service as quotes
from ordino.payments import handlers as payments_handlers
from ordino.payments import service as payments
from ordino.payments.gateway import Gateways


def handlers(gateways: Gateways) -> Mapping[str, Sequence[Registration]]:
    """Which handlers react to which events, with the payment gateways they call."""
    authorize = payments_handlers.authorize_order_payments(gateways)
    return {
        # New orders are approved and routed; those the approval rules or a credit limit held wait for
        # order.approved. Payments come after routing: a gateway that is down delays only the payment.
        "order.created": (invoicing_handlers.credit_checked(ROUTE_NEW_ORDERS), unless_held(authorize)),
        # Items added to an order (an addition, an exchange's new items): the difference is authorized.
        "order.items_added": (payments_handlers.authorize_added_items(gateways),),
        "order.exchanged": (payments_handlers.authorize_added_items(gateways),),
        # An approver released a held order: it goes on as a new order would.
        "order.approved": (after_approval(ROUTE_NEW_ORDERS), after_approval(authorize)),
        # Backordered holds that became stock are routed.
        "inventory.backorders_allocated": (ROUTE_ARRIVED_STOCK,),
        # Every shipment is invoiced; every invoice is paid from the order's funds (ensure funds);
        # every credit memo is refunded to the order's captures (ensure refunds).
        "fulfillment_order.partially_shipped": (invoicing_handlers.INVOICE_SHIPMENTS,),
        "fulfillment_order.fulfilled": (invoicing_handlers.INVOICE_SHIPMENTS,),
        "invoice.created": (invoicing_handlers.ensure_funds(gateways),),
        "credit_memo.created": (invoicing_handlers.ensure_refunds(gateways),),
        # A payment the gateway would not authorize needs a person: a payment process exception.
        payments_handlers.AUTHORIZATION_FAILED: (process_exceptions.RAISE_AUTHORIZATION_FAILURES,),
    }


def periodic(gateways: Gateways) -> Sequence[Periodic]:
    """The worker's periodic jobs, with the payment gateways they call."""
    return (
        # Cart holds are released within seconds of expiring.
        Periodic("inventory.expire_holds", 5.0, lambda session: inventory.expire_holds(session)),
        # Backordered reservations move onto stock as it arrives, oldest first.
        Periodic("inventory.allocate_backorders", 5.0, lambda session: inventory.allocate_backorders(session)),
        # Authorizations past their expiry stop counting as available to capture.
        Periodic("payments.expire_authorizations", 60.0, lambda session: payments.expire_authorizations(session)),
        # Money movements left pending by a crash or a timeout are settled from the gateway's record.
        Periodic("payments.resolve_pending", 60.0, payments.resolve_pending_job(gateways)),
        # Invoices and credit memos whose capture or refund was left pending are settled.
        Periodic("invoicing.settle_pending", 60.0, invoicing.settle_pending_job(gateways)),
        # Quotes past their validity are marked expired.
        Periodic("quotes.expire", 60.0, lambda session: quotes.expire_quotes(session)),
    )


def build_dispatcher(
    db: Database, gateways: Gateways, registered: Mapping[str, Sequence[Registration]] | None = None
) -> Dispatcher:
    """The worker of `ordino worker` and of `ordino serve` on SQLite; both build `gateways` with
    payments.gateway.gateways_from_env, as create_app does for the API. An event whose handler keeps
    failing becomes a process exception."""
    return Dispatcher(
        db, handlers(gateways) if registered is None else registered, periodic=periodic(gateways),
        on_dead_letter=process_exceptions.on_dead_letter, on_recovered=process_exceptions.on_recovered,
    )
