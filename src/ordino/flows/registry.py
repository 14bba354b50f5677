"""Which handlers react to which events. Capabilities add their handlers here as they grow."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ordino.fulfillment.handlers import ROUTE_ARRIVED_STOCK, ROUTE_NEW_ORDERS
from ordino.inventory import service as inventory
from ordino.kernel.db import Database
from ordino.kernel.worker import Dispatcher, Periodic, Registration
from ordino.payments import handlers as payments_handlers
from ordino.payments import service as payments

HANDLERS: Mapping[str, Sequence[Registration]] = {
    # New orders are approved and routed (approvals and credit checks will come before routing).
    # Payments come after routing: a gateway that is down delays only the payment.
    "order.created": (ROUTE_NEW_ORDERS, payments_handlers.AUTHORIZE_ORDER_PAYMENTS),
    # Backordered holds that became stock are routed.
    "inventory.backorders_allocated": (ROUTE_ARRIVED_STOCK,),
}
PERIODIC: Sequence[Periodic] = (
    # Cart holds are released within seconds of expiring.
    Periodic("inventory.expire_holds", 5.0, lambda session: inventory.expire_holds(session)),
    # Backordered reservations move onto stock as it arrives, oldest first.
    Periodic("inventory.allocate_backorders", 5.0, lambda session: inventory.allocate_backorders(session)),
    # Authorizations past their expiry stop counting as available to capture.
    Periodic("payments.expire_authorizations", 60.0, lambda session: payments.expire_authorizations(session)),
    # Money movements left pending by a crash or a timeout are settled from the gateway's record.
    Periodic(
        "payments.resolve_pending", 60.0,
        lambda session: payments.resolve_pending(session, payments_handlers.default_gateways()),
    ),
)


def build_dispatcher(db: Database, handlers: Mapping[str, Sequence[Registration]] | None = None) -> Dispatcher:
    return Dispatcher(db, HANDLERS if handlers is None else handlers, periodic=PERIODIC)
