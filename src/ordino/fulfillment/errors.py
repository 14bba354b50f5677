"""Refusals of fulfillment orders and shipments (RFC 9457 problem types)."""

from __future__ import annotations

from ordino.kernel.errors import Conflict


class NothingToShip(Conflict):
    """A shipment of a fulfillment order that has nothing left to ship."""

    slug = "nothing-to-ship"


class ExceedsRemaining(Conflict):
    """A shipment ships more units than the fulfillment order has left; the lines are named."""

    slug = "exceeds-remaining"


class NothingToDeliver(Conflict):
    """Delivering a fulfillment order that has no shipment waiting for delivery."""

    slug = "nothing-to-deliver"


class OrderOnPaymentHold(Conflict):
    """Shipping units of an order whose payment was declined: a retry of its payment exception
    that authorizes releases the hold."""

    slug = "payment-hold"
    title = "The order is on payment hold"
