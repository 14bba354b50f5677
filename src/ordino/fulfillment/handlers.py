"""Fulfilment's reactions to events (registered in `flows/registry.py`).

- `order.created` → the order is approved and routed; `order.approved` (an approver released an
  order held for approval) → it is routed. Idempotent beyond the worker's receipts: an order that
  is no longer `created` is only routed if it is approved and was never routed, and an order in
  any other status (held for approval, cancelled) is left alone.
- `inventory.backorders_allocated` → backordered holds became stock: the delivery groups of the
  order items holding them (reservation reference = order item id) are routed again. Routing only
  takes units still unallocated, so a redelivery routes nothing twice.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from ordino.fulfillment.items import set_order_status
from ordino.fulfillment.models import RoutingDecision
from ordino.fulfillment.routing.allocation import route_order
from ordino.fulfillment.routing.service import ROUTABLE, order_ref
from ordino.kernel.errors import NotFound
from ordino.kernel.ids import parse_id
from ordino.kernel.worker import Event, Registration
from ordino.orders.models import OrderItemSummary

ACTOR = "flow:fulfillment"


def approve_and_route(session: Session, event: Event) -> None:
    try:
        order = order_ref(session, uuid.UUID(str(event.data["id"])), lock=True)
    except NotFound:
        return
    if order.status == "created":
        set_order_status(session, order.id, "approve", actor=ACTOR)
    elif order.status != "approved":
        return
    routed = session.execute(
        select(RoutingDecision.id).where(RoutingDecision.order_summary_id == order.id).limit(1)
    ).first()
    if routed is None:
        route_order(session, order.id, trigger="order_created", actor=ACTOR)


def route_arrived_stock(session: Session, event: Event) -> None:
    refs = {parse_id(str(r.get("reference"))) for r in event.data.get("reservations", [])}
    item_ids = sorted(i for i in refs if i is not None)
    if not item_ids:
        return
    rows = session.execute(
        select(OrderItemSummary.order_summary_id, OrderItemSummary.delivery_group_id)
        .where(OrderItemSummary.id.in_(item_ids)).distinct()
    ).all()
    groups: dict[uuid.UUID, set[uuid.UUID]] = {}
    for order_id, group_id in rows:
        groups.setdefault(order_id, set()).add(group_id)
    for order_id in sorted(groups):  # one order at a time, in id order: locks in a stable order
        if order_ref(session, order_id).status in ROUTABLE:
            route_order(session, order_id, delivery_group_ids=sorted(groups[order_id]), trigger="stock_arrived",
                        actor=ACTOR)


ROUTE_NEW_ORDERS = Registration("fulfillment.approve_and_route", approve_and_route)
ROUTE_ARRIVED_STOCK = Registration("fulfillment.route_arrived_stock", route_arrived_stock)
