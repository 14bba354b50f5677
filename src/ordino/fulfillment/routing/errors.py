"""Refusals of order routing (RFC 9457 problem types)."""

from __future__ import annotations

from ordino.kernel.errors import Conflict


class OrderNotRoutable(Conflict):
    """Routing an order that is not approved (`current_status`)."""

    slug = "order-not-routable"
