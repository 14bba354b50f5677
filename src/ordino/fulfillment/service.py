"""Fulfilment use cases, in one place for callers: routing, fulfilment orders, policies.

The code lives in `routing_service` (planning, reads), `allocation` (routing for real),
`fulfillment_orders` (the fulfilment order actions), `documents` (reads) and `policies`.
"""

from __future__ import annotations

from ordino.fulfillment.documents import (
    FulfillmentOrderFilter,
    fulfillment_order_doc,
    list_fulfillment_orders,
    routing_decisions,
)
from ordino.fulfillment.fulfillment_orders import advance, cancel, deliver, reject, ship
from ordino.fulfillment.routing.allocation import GroupOutcome, route_now, route_order
from ordino.fulfillment.routing.policies import get_policy, put_policy
from ordino.fulfillment.routing.service import preview

__all__ = [
    "FulfillmentOrderFilter", "GroupOutcome", "advance", "cancel", "deliver", "fulfillment_order_doc", "get_policy",
    "list_fulfillment_orders", "preview", "put_policy", "reject", "route_now", "route_order", "routing_decisions",
    "ship",
]
