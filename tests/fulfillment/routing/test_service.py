"""Routing orders for real (fulfillment.allocation): plans from the database, reservations moved to
the chosen locations, fulfilment orders, allocated quantities, decisions and events."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import pytest

from ordino.flows.registry import handlers
from ordino.fulfillment.handlers import ROUTE_ARRIVED_STOCK, ROUTE_NEW_ORDERS
from ordino.fulfillment.items import set_order_status
from ordino.fulfillment.models import FulfillmentOrder, RoutingDecision
from ordino.inventory import groups as capacity
from ordino.inventory import service as inventory
from ordino.inventory import sourcing
from ordino.inventory.domain import StockRecord
from ordino.inventory.models import InventoryReservation
from ordino.inventory.stock import apply_records
from ordino.kernel.db import Database
from ordino.kernel.errors import Conflict
from ordino.kernel.outbox import OutboxEvent
from ordino.kernel.worker import Event
from ordino.orders.models import OrderSummary
from ordino.orders.process_exceptions.models import ProcessException
from tests import factories
from tests.fulfillment.conftest import (
    buckets,
    count,
    decisions,
    event_types,
    events,
    fulfillment_orders,
    item_ids,
    last_position,
    order_status,
    place,
    positions,
    reservations,
    route,
    run_flow,
    stock,
)


def test_the_flow_approves_and_routes_a_new_order_to_the_nearest_location(world: Database) -> None:
    # given BOLT-M8 in Berlin and Munich, and an order of 5 shipped to Berlin
    stock(world, "WH-BER", BOLT_M8=10)
    stock(world, "WH-MUC", BOLT_M8=10)
    doc = place(world, ("BOLT-M8", 5))
    # when the order.created event is handled
    run_flow(world)
    # then the order is approved and one fulfilment order ships it from Berlin
    assert order_status(world, doc["id"]) == ("approved", 0)
    assert fulfillment_orders(world) == [("FO-000001", "WH-BER", "allocated", [("BOLT-M8", 5, 0, 0)])]
    assert buckets(world, doc["id"]) == {"BOLT-M8": (5, 0, "allocated")}
    assert positions(world) == {("BOLT-M8", "WH-BER"): (10, 5), ("BOLT-M8", "WH-MUC"): (10, 0)}
    assert reservations(world) == [("BOLT-M8", "WH-BER", "active", 5, 5)]
    assert decisions(world) == [(0, "order_created", [], 5, 0, "1 location (WH-BER) holds the line; 0 km")]
    assert event_types(world) == [
        "order.created", "order.approved", "inventory.reserved", "fulfillment_order.created",
        "fulfillment_order.allocated", "order.routed",
    ]
    routed = events(world, "order.routed")[0]
    assert (routed["attempt"], routed["trigger"], routed["routed_units"], routed["unroutable_units"],
            routed["fulfillment_orders"], routed["reason"]) == (
        0, "order_created", 5, 0, ["FO-000001"], "1 location (WH-BER) holds the line; 0 km")
    created = events(world, "fulfillment_order.created")[0]
    assert (created["number"], created["location"], created["status"], created["lines"], created["units"]) == (
        "FO-000001", "WH-BER", "draft", 1, 5)


def test_the_flow_is_registered_and_does_nothing_the_second_time(world: Database) -> None:
    # given the registry; then order.created reaches the fulfilment handler (after the credit check)
    assert ROUTE_NEW_ORDERS.name in [r.name for r in handlers({})["order.created"]]
    stock(world, "WH-BER", BOLT_M8=10)
    place(world, ("BOLT-M8", 5))
    run_flow(world)
    before = (count(world, OutboxEvent), count(world, RoutingDecision), positions(world))
    # when the handler runs again on the same order (a redelivery with a new receipt key)
    with world.read() as s:
        row = s.query(OutboxEvent).filter(OutboxEvent.type == "order.created").one()
        event = Event(uuid.uuid4(), row.type, row.subject, row.time, row.data)
    world.transaction(lambda s: ROUTE_NEW_ORDERS.handle(s, event))
    # then nothing more is written
    assert (count(world, OutboxEvent), count(world, RoutingDecision), positions(world)) == before


def test_an_order_held_for_approval_is_not_routed(world: Database) -> None:
    # given an order held for approval before the flow sees it
    stock(world, "WH-BER", BOLT_M8=10)
    doc = place(world, ("BOLT-M8", 5))
    world.transaction(lambda s: set_order_status(s, uuid.UUID(doc["id"]), "hold_for_approval", actor="test"))
    # when the flow runs, then the order is neither approved nor routed
    run_flow(world)
    assert order_status(world, doc["id"]) == ("pending_approval", 0)
    assert (count(world, FulfillmentOrder), positions(world)) == (0, {("BOLT-M8", "WH-BER"): (10, 0)})


def test_no_single_location_holds_the_order_so_two_fulfillment_orders_split_it(world: Database) -> None:
    # given bolts only in Hamburg and nuts only in Munich
    stock(world, "WH-HAM", BOLT_M8=10)
    stock(world, "WH-MUC", NUT_M8=10)
    doc = place(world, ("BOLT-M8", 4), ("NUT-M8", 6))
    # when it is routed
    run_flow(world)
    # then each location gets a fulfilment order with exactly its items
    assert fulfillment_orders(world) == [
        ("FO-000001", "WH-HAM", "allocated", [("BOLT-M8", 4, 0, 0)]),
        ("FO-000002", "WH-MUC", "allocated", [("NUT-M8", 6, 0, 0)]),
    ]
    assert buckets(world, doc["id"]) == {"BOLT-M8": (4, 0, "allocated"), "NUT-M8": (6, 0, "allocated")}
    assert positions(world) == {("BOLT-M8", "WH-HAM"): (10, 4), ("NUT-M8", "WH-MUC"): (10, 6)}
    assert decisions(world)[0][5] == (
        "no single location holds all 2 lines; 2 locations (WH-HAM, WH-MUC) do; average 380 km")
    assert event_types(world)[-5:] == [
        "fulfillment_order.created", "fulfillment_order.allocated", "fulfillment_order.created",
        "fulfillment_order.allocated", "order.routed",
    ]


def test_reservations_taken_at_intake_move_to_the_chosen_location(world: Database) -> None:
    # given a channel that reserves at WH-HAM at intake, and stock in Hamburg and Berlin
    stock(world, "WH-HAM", BOLT_M8=10)
    stock(world, "WH-BER", BOLT_M8=10)
    world.transaction(lambda s: sourcing.set_sourcing(s, "web", "location", "WH-HAM"))
    doc = place(world, ("BOLT-M8", 6))
    assert positions(world) == {("BOLT-M8", "WH-HAM"): (10, 6), ("BOLT-M8", "WH-BER"): (10, 0)}
    # when it is routed to Berlin, the ship-to
    run_flow(world)
    # then the reservation moved from Hamburg to Berlin (transferred, not reserved twice)
    assert fulfillment_orders(world) == [("FO-000001", "WH-BER", "allocated", [("BOLT-M8", 6, 0, 0)])]
    assert positions(world) == {("BOLT-M8", "WH-HAM"): (10, 0), ("BOLT-M8", "WH-BER"): (10, 6)}
    assert reservations(world) == [("BOLT-M8", "WH-HAM", "transferred", 6, 0), ("BOLT-M8", "WH-BER", "active", 6, 6)]
    assert "inventory.transferred" in event_types(world)
    assert buckets(world, doc["id"]) == {"BOLT-M8": (6, 0, "allocated")}


def test_what_an_item_holds_counts_as_available_where_it_holds_it(world: Database) -> None:
    # given Hamburg's last 5 bolts reserved for the item (available to fulfil 0 there) and 5 in Munich
    stock(world, "WH-HAM", BOLT_M8=5)
    stock(world, "WH-MUC", BOLT_M8=5)
    doc = place(world, ("BOLT-M8", 5))
    item = str(item_ids(doc)["BOLT-M8"])
    world.transaction(lambda s: inventory.reserve(s, item, [("BOLT-M8", "WH-HAM", 5)]))
    mark = last_position(world)
    # when it is routed (Hamburg is nearer to Berlin than Munich)
    run_flow(world)
    # then it ships from Hamburg, and no stock moved
    assert fulfillment_orders(world) == [("FO-000001", "WH-HAM", "allocated", [("BOLT-M8", 5, 0, 0)])]
    assert positions(world) == {("BOLT-M8", "WH-HAM"): (5, 5), ("BOLT-M8", "WH-MUC"): (5, 0)}
    assert reservations(world) == [("BOLT-M8", "WH-HAM", "active", 5, 5)]
    assert event_types(world, mark) == [
        "order.approved", "fulfillment_order.created", "fulfillment_order.allocated", "order.routed",
    ]


def test_a_split_hold_is_gathered_where_routing_ships_from(world: Database) -> None:
    # given the item holds 3 in Munich and 2 in Hamburg, Berlin has 10
    stock(world, "WH-HAM", BOLT_M8=2)
    stock(world, "WH-MUC", BOLT_M8=3)
    stock(world, "WH-BER", BOLT_M8=10)
    doc = place(world, ("BOLT-M8", 5))
    item = str(item_ids(doc)["BOLT-M8"])
    world.transaction(lambda s: inventory.reserve(s, item, [("BOLT-M8", "WH-HAM", 2), ("BOLT-M8", "WH-MUC", 3)]))
    # when it is routed
    run_flow(world)
    # then both holds were transferred to Berlin
    assert fulfillment_orders(world) == [("FO-000001", "WH-BER", "allocated", [("BOLT-M8", 5, 0, 0)])]
    assert positions(world) == {("BOLT-M8", "WH-HAM"): (2, 0), ("BOLT-M8", "WH-MUC"): (3, 0),
                                ("BOLT-M8", "WH-BER"): (10, 5)}


def test_units_no_location_has_stay_unallocated_and_are_reported(world: Database) -> None:
    # given 3 bolts for an order of 5 and 4 nuts
    stock(world, "WH-BER", BOLT_M8=3, NUT_M8=4)
    doc = place(world, ("BOLT-M8", 5), ("NUT-M8", 4))
    # when it is routed
    run_flow(world)
    # then 3 bolts and 4 nuts are allocated, 2 bolts wait, and no process exception is raised
    assert fulfillment_orders(world) == [("FO-000001", "WH-BER", "allocated", [("BOLT-M8", 3, 0, 0),
                                                                               ("NUT-M8", 4, 0, 0)])]
    assert buckets(world, doc["id"]) == {"BOLT-M8": (3, 0, "partially_allocated"), "NUT-M8": (4, 0, "allocated")}
    assert decisions(world) == [(0, "order_created", [], 7, 2,
                                 "1 location (WH-BER) ships 2 of 2 lines (7 of 9 units); 0 km; unroutable: "
                                 "BOLT-M8 ×2 (only 3 available at eligible locations)")]
    assert order_status(world, doc["id"]) == ("approved", 0)
    # and when stock arrives in Munich, routing again allocates the rest there
    stock(world, "WH-MUC", BOLT_M8=10)
    outcomes = route(world, doc["id"])
    assert [(o.attempt, o.routed_units, o.unroutable_units) for o in outcomes] == [(0, 2, 0)]
    assert fulfillment_orders(world)[1] == ("FO-000002", "WH-MUC", "allocated", [("BOLT-M8", 2, 0, 0)])
    assert buckets(world, doc["id"]) == {"BOLT-M8": (5, 0, "allocated"), "NUT-M8": (4, 0, "allocated")}


def test_nothing_routable_raises_a_process_exception_instead_of_failing(world: Database) -> None:
    # given no stock anywhere
    doc = place(world, ("BOLT-M8", 5))
    # when the flow routes it
    run_flow(world)
    # then no fulfilment order exists, the decision says why, and a process exception is open
    assert count(world, FulfillmentOrder) == 0
    assert order_status(world, doc["id"]) == ("approved", 1)
    assert decisions(world) == [(0, "order_created", [], 0, 5,
                                 "nothing routed: BOLT-M8 ×5 (no stock at an eligible location)")]
    with world.read() as s:
        pe = s.query(ProcessException).one()
        assert (pe.category, pe.status, pe.severity, pe.attached_to_type, str(pe.order_summary_id)) == (
            "fulfillment", "new", "high", "order_delivery_group_summary", doc["id"])
        assert pe.message == ("Order SO-000001, delivery group 1: nothing could be routed. "
                              "nothing routed: BOLT-M8 ×5 (no stock at an eligible location)")
    assert event_types(world) == ["order.created", "order.approved", "process_exception.created",
                                  "order.routing_failed"]
    assert buckets(world, doc["id"]) == {"BOLT-M8": (0, 0, "ordered")}


def test_a_backorder_waits_without_an_exception_and_is_routed_when_stock_arrives(world: Database) -> None:
    # given washers (backorder policy) expected in Berlin, none on hand, and a channel reserving there
    factories.position(world, "WASHER-M8", "WH-BER", futures=[(date(2026, 12, 10), 10)])
    world.transaction(lambda s: sourcing.set_sourcing(s, "web", "location", "WH-BER"))
    doc = place(world, ("WASHER-M8", 5))
    # when the flow routes it
    run_flow(world)
    # then nothing ships yet, the order waits on its backorder, and no process exception is raised
    assert (count(world, FulfillmentOrder), order_status(world, doc["id"])) == (0, ("approved", 0))
    assert decisions(world) == [(0, "order_created", [], 0, 5,
                                 "nothing routed: WASHER-M8 ×5 (no stock at an eligible location)")]
    assert event_types(world)[-2:] == ["order.approved", "order.backordered"]
    # when 8 washers arrive and the backorders are allocated to them
    world.transaction(lambda s: apply_records(s, [StockRecord(0, None, "WASHER-M8", "WH-BER", "delta", 8, None,
                                                              None)]))
    assert world.transaction(lambda s: inventory.allocate_backorders(s)) == 1
    run_flow(world)
    # then the order is routed where its hold now is
    assert fulfillment_orders(world) == [("FO-000001", "WH-BER", "allocated", [("WASHER-M8", 5, 0, 0)])]
    assert buckets(world, doc["id"]) == {"WASHER-M8": (5, 0, "allocated")}
    assert positions(world) == {("WASHER-M8", "WH-BER"): (8, 5)}
    assert decisions(world)[1][:5] == (0, "stock_arrived", [], 5, 0)
    assert ROUTE_ARRIVED_STOCK in handlers({})["inventory.backorders_allocated"]


def test_each_delivery_group_gets_its_own_fulfillment_orders(world: Database) -> None:
    # given two delivery groups (to the same address) and one location holding everything
    stock(world, "WH-BER", BOLT_M8=10, NUT_M8=10)
    place(world, groups=[[("BOLT-M8", 2)], [("NUT-M8", 3)]])
    # when routed, then one FO per (location, delivery group)
    run_flow(world)
    assert fulfillment_orders(world) == [
        ("FO-000001", "WH-BER", "allocated", [("BOLT-M8", 2, 0, 0)]),
        ("FO-000002", "WH-BER", "allocated", [("NUT-M8", 3, 0, 0)]),
    ]
    assert len(decisions(world)) == 2


def test_the_channel_policy_and_exclusions_are_honoured(world: Database, client: Any, admin: dict[str, str]) -> None:
    # given Berlin excluded by the channel and Hamburg excluded by the caller
    stock(world, "WH-BER", BOLT_M8=10)
    stock(world, "WH-HAM", BOLT_M8=10)
    stock(world, "WH-MUC", BOLT_M8=10)
    r = client.put("/api/v1/routing/policies/web", json={"excluded_locations": ["WH-BER"]}, headers=admin)
    assert r.status_code == 200, r.text
    doc = place(world, ("BOLT-M8", 5))
    world.transaction(lambda s: set_order_status(s, uuid.UUID(doc["id"]), "approve", actor="test"))
    # when routed excluding Hamburg
    outcomes = route(world, doc["id"], exclude_locations=["WH-HAM"])
    # then Munich ships
    assert [fo["location"] for fo in outcomes[0].fulfillment_orders] == ["WH-MUC"]
    assert decisions(world)[0][:3] == (0, "manual", ["WH-HAM"])


def test_capacity_left_today_is_honoured_and_held(world: Database) -> None:
    # given Berlin has no shipment capacity left today, Hamburg has 1
    stock(world, "WH-BER", BOLT_M8=10)
    stock(world, "WH-HAM", BOLT_M8=10)
    world.transaction(lambda s: capacity.set_daily_capacity(s, "WH-BER", 0))
    world.transaction(lambda s: capacity.set_daily_capacity(s, "WH-HAM", 1))
    place(world, ("BOLT-M8", 5))
    # when routed, then Hamburg ships and its day's capacity is held
    run_flow(world)
    assert fulfillment_orders(world)[0][:2] == ("FO-000001", "WH-HAM")
    with world.read() as s:
        fo = s.query(FulfillmentOrder).one()
        day = fo.capacity_day
        assert day is not None
        state = capacity.capacity(s, "WH-HAM", day)
    assert (state["held"], state["remaining"]) == (1, 0)


def test_routing_an_order_that_is_not_approved_is_refused(world: Database) -> None:
    stock(world, "WH-BER", BOLT_M8=10)
    doc = place(world, ("BOLT-M8", 5))
    with pytest.raises(Conflict) as caught:
        route(world, doc["id"])
    assert caught.value.slug == "order-not-routable"
    assert (count(world, RoutingDecision), count(world, InventoryReservation)) == (0, 0)


def test_a_ten_thousand_line_order_is_routed_and_its_fulfillment_orders_created(
    db: Database, client: Any, admin: dict[str, str]
) -> None:
    # given 10,000 products, 50 locations, each SKU stocked at two of them, and a channel that
    # allows as many splits as there are locations (and its seller: intake taxes the order)
    factories.legal_entity(db)
    factories.account(db, "ACME")
    factories.channel(db, "web")
    skus = [f"P{i:05d}" for i in range(10_000)]
    _bulk_products(db, skus)
    for n in range(50):
        factories.location(db, f"L{n:02d}", latitude=None, longitude=None)
    records = []
    for i, sku in enumerate(skus):
        records.append({"record_id": str(uuid.uuid4()), "sku": sku, "location": f"L{i % 50:02d}", "on_hand": 2})
        records.append({"record_id": str(uuid.uuid4()), "sku": sku, "location": f"L{(i * 7 + 3) % 50:02d}",
                        "on_hand": 1})
    for start in range(0, len(records), 10_000):
        r = client.put("/api/v1/inventory", json={"mode": "absolute", "records": records[start:start + 10_000]},
                       headers=admin)
        assert r.status_code == 200 and r.json()["applied"] == len(records[start:start + 10_000]), r.text[:500]
    r = client.put("/api/v1/routing/policies/web", json={"max_splits": 50}, headers=admin)
    assert r.status_code == 200, r.text
    doc = place(db, *[(sku, 3) for sku in skus])
    # when the flow approves and routes it
    run_flow(db)
    # then every unit is allocated, over fulfilment orders at the 50 locations
    with db.read() as s:
        from sqlalchemy import func, select

        from ordino.fulfillment.models import FulfillmentOrderItem
        from ordino.orders.models import OrderItemSummary as I

        ordered, allocated = s.execute(
            select(func.sum(I.quantity_ordered), func.sum(I.quantity_allocated)).where(
                I.order_summary_id == uuid.UUID(doc["id"]), I.type == "product")
        ).one()
        fo_units = s.execute(select(func.sum(FulfillmentOrderItem.quantity))).scalar_one()
        fo_items = s.execute(select(func.count()).select_from(FulfillmentOrderItem)).scalar_one()
        fos = s.execute(select(func.count()).select_from(FulfillmentOrder)).scalar_one()
        reserved = s.execute(
            select(func.sum(InventoryReservation.open_quantity)).where(InventoryReservation.status == "active")
        ).scalar_one()
    assert (ordered, allocated, fo_units, reserved) == (30_000, 30_000, 30_000, 30_000)
    assert fos == 50
    assert fo_items == 20_000  # each line ships 2 units from its main location and 1 from the other
    assert order_status(db, doc["id"]) == ("approved", 0)
    assert decisions(db)[0][3:5] == (30_000, 0)


def _bulk_products(db: Database, skus: list[str]) -> None:
    from sqlalchemy import insert

    from ordino.catalog.models import Product
    from ordino.kernel import clock
    from ordino.kernel.ids import new_id

    now = clock.now()
    rows = [{"id": new_id(), "sku": s, "name": s, "unit_of_measure": "EA", "minimum_quantity": 1, "order_multiple": 1,
             "tax_class": "standard", "backorder_policy": "deny", "active": True, "version": 1, "created_at": now,
             "updated_at": now} for s in skus]
    db.transaction(lambda s: s.execute(insert(Product), rows))


def test_orders_summary_version_moves_when_routed(world: Database) -> None:
    stock(world, "WH-BER", BOLT_M8=10)
    doc = place(world, ("BOLT-M8", 5))
    run_flow(world)
    with world.read() as s:
        version = s.query(OrderSummary.version).filter(OrderSummary.id == uuid.UUID(doc["id"])).scalar()
    assert version == 3  # approved, then routed
