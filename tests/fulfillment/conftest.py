"""Fixtures and readers of the fulfilment tests: a small world of four German warehouses at real
city coordinates, orders placed through the intake use case, and readers of every table the
tests assert on."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import orjson
import pytest
from sqlalchemy import func, select

from ordino.catalog.models import Location
from ordino.fulfillment.handlers import ROUTE_ARRIVED_STOCK, ROUTE_NEW_ORDERS
from ordino.fulfillment.models import FulfillmentOrder, FulfillmentOrderItem, RoutingDecision
from ordino.fulfillment.routing import allocation
from ordino.inventory.models import InventoryPosition, InventoryReservation
from ordino.kernel.auth import Principal, Role
from ordino.kernel.db import Database
from ordino.kernel.http import dumps
from ordino.kernel.outbox import OutboxEvent
from ordino.kernel.worker import Dispatcher, Event
from ordino.orders import intake as orders
from ordino.orders.models import OrderItemSummary, OrderSummary
from ordino.orders.schemas import OrderIn
from tests import factories

STAFF = Principal(uuid.UUID(int=1), "tests", Role.ADMIN)
# (code, latitude, longitude): Berlin, Hamburg, Munich, Frankfurt (catalog.places)
WAREHOUSES = (
    ("WH-BER", "52.52437", "13.41053"),
    ("WH-HAM", "53.55073", "9.99302"),
    ("WH-MUC", "48.13743", "11.57549"),
    ("WH-FRA", "50.11552", "8.68417"),
)


@pytest.fixture
def world(db: Database) -> Database:
    """Account ACME, channel web and its seller, products BOLT-M8 and NUT-M8 (deny) and WASHER-M8
    (backorder), and the four warehouses, without stock."""
    factories.legal_entity(db)  # intake taxes the orders, which needs a seller
    factories.account(db, "ACME")
    factories.channel(db, "web")
    factories.product(db, "BOLT-M8")
    factories.product(db, "NUT-M8")
    factories.product(db, "WASHER-M8", backorder_policy="backorder")
    for code, lat, lon in WAREHOUSES:
        factories.location(db, code, latitude=Decimal(lat), longitude=Decimal(lon), timezone="Europe/Berlin")
    return db


def stock(db: Database, location: str, **on_hand: int) -> None:
    """Positions at one location: stock(db, "WH-BER", BOLT_M8=10)."""
    for sku, quantity in on_hand.items():
        factories.position(db, sku.replace("_", "-"), location, on_hand=quantity)


def place(db: Database, *lines: tuple[str, int], city: str = "Berlin", postal_code: str = "10115",
          reference: str = "WEB-1", groups: list[list[tuple[str, int]]] | None = None) -> dict[str, Any]:
    """An order placed through the intake use case (one delivery group unless `groups`)."""
    payload = factories.order_payload(external_reference=reference)
    template = payload["delivery_groups"][0]
    template["ship_to"]["city"] = city
    template["ship_to"]["postal_code"] = postal_code
    payload["delivery_groups"] = [
        {**template, "lines": [{"sku": s, "quantity": q, "unit_price": "1.00"} for s, q in group]}
        for group in (groups or [list(lines)])
    ]
    order = OrderIn.model_validate(payload)
    placed = db.transaction(lambda s: orders.place_order(s, order, STAFF))
    return dict(orjson.loads(dumps(placed.document)))  # as the API answers it


def item_ids(doc: dict[str, Any]) -> dict[str, uuid.UUID]:
    """sku → order item id (product items of all groups)."""
    return {i["sku"]: uuid.UUID(str(i["id"])) for g in doc["delivery_groups"] for i in g["items"] if i["sku"]}


FLOWS = {"order.created": [ROUTE_NEW_ORDERS], "inventory.backorders_allocated": [ROUTE_ARRIVED_STOCK]}


def run_flow(db: Database) -> int:
    """Deliver the pending events the fulfilment handlers react to, to those handlers only (other
    capabilities' handlers are tested where they live); returns how many were delivered."""
    with db.read() as s:
        pending = [
            Event(r.id, r.type, r.subject, r.time, r.data)
            for r in s.execute(
                select(OutboxEvent.id, OutboxEvent.type, OutboxEvent.subject, OutboxEvent.time, OutboxEvent.data)
                .where(OutboxEvent.type.in_(FLOWS), OutboxEvent.dispatched_at.is_(None))
                .order_by(OutboxEvent.position)
            )
        ]
    dispatcher = Dispatcher(db, FLOWS)
    for event in pending:
        assert dispatcher.process(event), "the handler failed"
    return len(pending)


def route(db: Database, order_id: Any, **kw: Any) -> list[allocation.GroupOutcome]:
    return db.transaction(lambda s: allocation.route_order(s, uuid.UUID(str(order_id)), **kw))


# ------------------------------------------------------------------------------------------------
# readers


def positions(db: Database) -> dict[tuple[str, str], tuple[int, int]]:
    """(sku, location) → (on hand, reserved)."""
    p = InventoryPosition
    with db.read() as s:
        rows = s.execute(select(p.sku, Location.code, p.on_hand, p.reserved).join(Location)).all()
    return {(r[0], r[1]): (r[2], r[3]) for r in rows}


def reservations(db: Database) -> list[tuple[str, str, str, int, int]]:
    """(sku, location, status, quantity, open) of every reservation, oldest first."""
    r = InventoryReservation
    with db.read() as s:
        rows = s.execute(
            select(r.sku, Location.code, r.status, r.quantity, r.open_quantity)
            .join(Location, Location.id == r.location_id).order_by(r.id)
        ).all()
    return [tuple(x) for x in rows]  # type: ignore[misc]


def buckets(db: Database, order_id: Any) -> dict[str, tuple[int, int, str]]:
    """sku → (allocated, fulfilled, status) of the order's product items."""
    i = OrderItemSummary
    with db.read() as s:
        rows = s.execute(
            select(i.sku, i.quantity_allocated, i.quantity_fulfilled, i.status)
            .where(i.order_summary_id == uuid.UUID(str(order_id)), i.type == "product")
        ).all()
    return {str(r[0]): (r[1], r[2], r[3]) for r in rows}


def order_status(db: Database, order_id: Any) -> tuple[str, int]:
    """(status, active process exceptions)."""
    with db.read() as s:
        row = s.execute(
            select(OrderSummary.status, OrderSummary.active_process_exception_count)
            .where(OrderSummary.id == uuid.UUID(str(order_id)))
        ).one()
    return row[0], row[1]


def fulfillment_orders(db: Database) -> list[tuple[str, str, str, list[tuple[str, int, int, int]]]]:
    """(number, location, status, [(sku, quantity, fulfilled, canceled)]) of every FO, by number."""
    fo, foi = FulfillmentOrder, FulfillmentOrderItem
    with db.read() as s:
        heads = s.execute(
            select(fo.id, fo.number, Location.code, fo.status).join(Location, Location.id == fo.location_id)
            .order_by(fo.number)
        ).all()
        out = []
        for h in heads:
            items = s.execute(
                select(foi.sku, foi.quantity, foi.quantity_fulfilled, foi.quantity_canceled)
                .where(foi.fulfillment_order_id == h.id).order_by(foi.sku)
            ).all()
            out.append((h.number, h.code, h.status, [tuple(i) for i in items]))
    return out  # type: ignore[return-value]


def fo_id(db: Database, number: str) -> str:
    with db.read() as s:
        return str(s.execute(select(FulfillmentOrder.id).where(FulfillmentOrder.number == number)).scalar_one())


def event_types(db: Database, after: int = 0) -> list[str]:
    with db.read() as s:
        return list(s.execute(
            select(OutboxEvent.type).where(OutboxEvent.position > after).order_by(OutboxEvent.position)
        ).scalars())


def events(db: Database, type_: str) -> list[dict[str, Any]]:
    with db.read() as s:
        return list(s.execute(
            select(OutboxEvent.data).where(OutboxEvent.type == type_).order_by(OutboxEvent.position)
        ).scalars())


def last_position(db: Database) -> int:
    with db.read() as s:
        return int(s.execute(select(func.coalesce(func.max(OutboxEvent.position), 0))).scalar_one())


def decisions(db: Database) -> list[tuple[int, str, list[str], int, int, str]]:
    """(attempt, trigger, excluded, routed, unroutable, reason) of every decision, oldest first."""
    d = RoutingDecision
    with db.read() as s:
        rows = s.execute(
            select(d.attempt, d.trigger, d.excluded_locations, d.routed_units, d.unroutable_units, d.reason)
            .order_by(d.id)
        ).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def count(db: Database, model: Any) -> int:
    with db.read() as s:
        return int(s.execute(select(func.count()).select_from(model)).scalar_one())
