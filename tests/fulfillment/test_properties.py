"""Random sequences of route / assign / ship / reject / cancel: after every step each quantity
invariant of DESIGN §3 holds, the fulfilment orders account for every allocated and fulfilled
unit, and on hand and reserved reconcile with the shipments and the open fulfilment orders."""

from __future__ import annotations

import uuid
from collections import defaultdict
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from ordino.catalog.models import Location
from ordino.fulfillment import service
from ordino.fulfillment.domain import OPEN
from ordino.fulfillment.models import FulfillmentOrder, FulfillmentOrderItem, Shipment, ShipmentItem
from ordino.fulfillment.schemas import ShipIn, ShipItemIn
from ordino.inventory import sourcing
from ordino.inventory.models import InventoryPosition, InventoryReservation
from ordino.kernel.db import Database
from ordino.kernel.errors import Conflict, ValidationFailed
from ordino.orders.domain import Buckets
from ordino.orders.models import OrderItemSummary
from tests import factories
from tests.conftest import empty_tables
from tests.fulfillment.conftest import STAFF, WAREHOUSES, place, run_flow, stock

ON_HAND = {("BOLT-M8", "WH-BER"): 6, ("BOLT-M8", "WH-HAM"): 4, ("BOLT-M8", "WH-MUC"): 9,
           ("NUT-M8", "WH-HAM"): 5, ("NUT-M8", "WH-FRA"): 7}

step = st.tuples(
    st.sampled_from(["ship", "ship_some", "reject", "cancel", "route", "assign"]),
    st.integers(0, 5),  # which fulfilment order (modulo how many exist)
    st.integers(1, 6),  # how many units, for ship_some
)


def _world(db: Database, reserve_at_intake: bool) -> dict[str, Any]:
    empty_tables(db)
    factories.legal_entity(db)  # intake taxes the orders, which needs a seller
    factories.account(db, "ACME")
    factories.channel(db, "web")
    factories.product(db, "BOLT-M8")
    factories.product(db, "NUT-M8")
    for code, lat, lon in WAREHOUSES:
        factories.location(db, code, latitude=Decimal(lat), longitude=Decimal(lon))
    for (sku, code), units in ON_HAND.items():
        stock(db, code, **{sku.replace("-", "_"): units})
    if reserve_at_intake:
        factories.location_group(db, "DE", [code for code, _, _ in WAREHOUSES])
        db.transaction(lambda s: sourcing.set_sourcing(s, "web", "location_group", "DE"))
    doc = place(db, ("BOLT-M8", 12), ("NUT-M8", 6), ("BOLT-M8", 3))
    run_flow(db)
    return doc


def _apply(db: Database, order_id: str, op: str, pick: int, units: int) -> None:
    with db.read() as s:
        fos = s.execute(select(FulfillmentOrder.id, FulfillmentOrder.status).order_by(FulfillmentOrder.number)).all()
        items = s.execute(select(FulfillmentOrderItem.id, FulfillmentOrderItem.fulfillment_order_id)).all()
    try:
        if op == "route":
            db.transaction(lambda s: service.route_now(s, order_id, STAFF, []))
            return
        if not fos:
            return
        fo = str(fos[pick % len(fos)].id)
        if op == "ship":
            db.transaction(lambda s: service.ship(s, fo, ShipIn(carrier="UPS"), STAFF))
        elif op == "ship_some":
            mine = [i.id for i in items if str(i.fulfillment_order_id) == fo]
            body = ShipIn(carrier="UPS", items=[ShipItemIn(fulfillment_order_item_id=mine[0], quantity=units)])
            db.transaction(lambda s: service.ship(s, fo, body, STAFF))
        elif op == "reject":
            db.transaction(lambda s: service.reject(s, fo, "cannot", STAFF))
        elif op == "cancel":
            db.transaction(lambda s: service.cancel(s, fo, STAFF))
        else:
            db.transaction(lambda s: service.advance(s, fo, "assign", STAFF))
    except (Conflict, ValidationFailed):
        pass  # a refusal; the invariants below must hold all the same


def _check(db: Database) -> None:
    with db.read() as s:
        codes = dict(s.execute(select(Location.id, Location.code)).all())
        items = s.execute(select(OrderItemSummary).where(OrderItemSummary.type == "product")).scalars().all()
        fos = {f.id: f for f in s.execute(select(FulfillmentOrder)).scalars()}
        fo_items = s.execute(select(FulfillmentOrderItem)).scalars().all()
        shipped = s.execute(select(ShipmentItem.order_item_summary_id, ShipmentItem.sku, ShipmentItem.quantity,
                                   Shipment.fulfillment_order_id).join(Shipment)).all()
        positions = {(p.sku, codes[p.location_id]): p for p in s.execute(select(InventoryPosition)).scalars()}
        held = s.execute(select(InventoryReservation).where(InventoryReservation.status == "active")).scalars().all()
        allocated: dict[uuid.UUID, int] = defaultdict(int)
        fulfilled: dict[uuid.UUID, int] = defaultdict(int)
        open_at: dict[tuple[str, str], int] = defaultdict(int)
        for i in fo_items:
            assert 0 <= i.quantity_fulfilled + i.quantity_canceled <= i.quantity
            allocated[i.order_item_summary_id] += i.quantity - i.quantity_canceled
            fulfilled[i.order_item_summary_id] += i.quantity_fulfilled
            fo = fos[i.fulfillment_order_id]
            left = i.quantity - i.quantity_fulfilled - i.quantity_canceled
            if fo.status in OPEN:
                open_at[(i.sku, codes[fo.location_id])] += left
            else:
                assert left == 0, f"{fo.number} is {fo.status} with {left} units left"
        shipped_at: dict[tuple[str, str], int] = defaultdict(int)
        shipped_item: dict[uuid.UUID, int] = defaultdict(int)
        for item_id, sku, quantity, fo_id in shipped:
            shipped_at[(sku, codes[fos[fo_id].location_id])] += quantity
            shipped_item[item_id] += quantity
        for item in items:
            b = Buckets(item.quantity_ordered, item.quantity_canceled, item.quantity_allocated, item.quantity_fulfilled,
                        item.quantity_return_initiated, item.quantity_returned)
            assert b.violations() == []
            assert item.status == b.status()
            assert item.quantity_allocated == allocated[item.id]
            assert item.quantity_fulfilled == fulfilled[item.id] == shipped_item[item.id]
        held_at: dict[tuple[str, str], int] = defaultdict(int)
        for r in held:
            held_at[(r.sku, codes[r.location_id])] += r.open_quantity
        for key, p in positions.items():
            assert p.on_hand == ON_HAND[key] - shipped_at[key]
            assert p.reserved == held_at[key]
            assert p.reserved >= open_at[key]  # every open FO unit is reserved where it ships from
            assert p.on_hand - p.reserved >= 0


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(step, max_size=10), reserve_at_intake=st.booleans())
def test_random_sequences_keep_every_invariant(db: Database, steps: list[tuple[str, int, int]],
                                               reserve_at_intake: bool) -> None:
    doc = _world(db, reserve_at_intake)
    _check(db)
    for op, pick, units in steps:
        _apply(db, doc["id"], op, pick, units)
        _check(db)
