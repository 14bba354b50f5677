"""/api/v1/fulfillment-orders: the lifecycle, partial shipments, delivery, cancel, reject and
re-route, process exceptions past the maximum, refusals that write nothing."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import func, select

from ordino.kernel.auth import Role
from ordino.kernel.db import Database
from ordino.kernel.outbox import OutboxEvent
from ordino.kernel.statemachine import StatusHistory
from ordino.orders.process_exceptions.models import ProcessException
from tests.conftest import api_key
from tests.fulfillment.conftest import (
    buckets,
    decisions,
    event_types,
    fo_id,
    fulfillment_orders,
    item_ids,
    last_position,
    order_status,
    place,
    positions,
    reservations,
    run_flow,
    stock,
)

FOS = "/api/v1/fulfillment-orders"


def post(client: Any, headers: dict[str, str], path: str, body: Any = None, status: int = 200) -> dict[str, Any]:
    r = client.post(path, json=body, headers=headers)
    assert r.status_code == status, r.text
    return dict(r.json())


def snapshot(db: Database) -> tuple[Any, ...]:
    """Everything a refused action must leave as it was."""
    with db.read() as s:
        events = s.execute(select(func.count()).select_from(OutboxEvent)).scalar_one()
        history = s.execute(select(func.count()).select_from(StatusHistory)).scalar_one()
    return events, history, fulfillment_orders(db), positions(db), reservations(db)


@pytest.fixture
def routed(world: Database) -> dict[str, Any]:
    """BOLT-M8 and NUT-M8 in Berlin; order SO-000001 of 5 bolts and 4 nuts routed to FO-000001."""
    stock(world, "WH-BER", BOLT_M8=10, NUT_M8=10)
    doc = place(world, ("BOLT-M8", 5), ("NUT-M8", 4))
    run_flow(world)
    assert fulfillment_orders(world) == [("FO-000001", "WH-BER", "allocated", [("BOLT-M8", 5, 0, 0),
                                                                               ("NUT-M8", 4, 0, 0)])]
    return doc


def test_partial_shipment_then_the_rest(world: Database, client: Any, admin: dict[str, str],
                                        routed: dict[str, Any]) -> None:
    fo = fo_id(world, "FO-000001")
    mark = last_position(world)
    # given the fulfilment order assigned, picked and packed
    for action, status in (("assign", "assigned"), ("pick", "picked"), ("pack", "packed")):
        assert post(client, admin, f"{FOS}/{fo}/{action}")["status"] == status
    doc = client.get(f"{FOS}/{fo}", headers=admin).json()
    nut = next(i["id"] for i in doc["items"] if i["sku"] == "NUT-M8")
    # when 2 bolts (by SKU) and all 4 nuts (by item id) ship
    first = post(client, admin, f"{FOS}/{fo}/ship", {
        "carrier": "DHL", "service": "express", "tracking_numbers": ["JD0001"],
        "items": [{"sku": "BOLT-M8", "quantity": 2}, {"fulfillment_order_item_id": nut, "quantity": 4}],
    })
    # then the fulfilment order is partially shipped, the order partially fulfilled
    assert first["status"] == "partially_shipped"
    assert first["available_actions"] == ["ship", "reject", "cancel", "deliver"]
    assert [(i["sku"], i["quantity"], i["quantity_fulfilled"], i["quantity_remaining"]) for i in first["items"]] == [
        ("BOLT-M8", 5, 2, 3), ("NUT-M8", 4, 4, 0)]
    assert [(s["number"], s["status"], s["carrier"], s["tracking_numbers"], [(x["sku"], x["quantity"])
             for x in s["items"]]) for s in first["shipments"]] == [
        ("FO-000001-1", "shipped", "DHL", ["JD0001"], [("BOLT-M8", 2), ("NUT-M8", 4)])]
    assert buckets(world, routed["id"]) == {"BOLT-M8": (5, 2, "partially_fulfilled"), "NUT-M8": (4, 4, "fulfilled")}
    assert order_status(world, routed["id"]) == ("partially_fulfilled", 0)
    assert positions(world) == {("BOLT-M8", "WH-BER"): (8, 3), ("NUT-M8", "WH-BER"): (6, 0)}
    # when the rest ships (no items: everything left)
    second = post(client, admin, f"{FOS}/{fo}/ship", {"carrier": "DHL", "tracking_numbers": ["JD0002"]})
    # then everything is fulfilled
    assert second["status"] == "fulfilled"
    assert second["available_actions"] == ["deliver"]
    assert [(s["number"], [(x["sku"], x["quantity"]) for x in s["items"]]) for s in second["shipments"]] == [
        ("FO-000001-1", [("BOLT-M8", 2), ("NUT-M8", 4)]), ("FO-000001-2", [("BOLT-M8", 3)])]
    assert buckets(world, routed["id"]) == {"BOLT-M8": (5, 5, "fulfilled"), "NUT-M8": (4, 4, "fulfilled")}
    assert order_status(world, routed["id"]) == ("fulfilled", 0)
    assert positions(world) == {("BOLT-M8", "WH-BER"): (5, 0), ("NUT-M8", "WH-BER"): (6, 0)}
    assert reservations(world) == [("BOLT-M8", "WH-BER", "fulfilled", 5, 0), ("NUT-M8", "WH-BER", "fulfilled", 4, 0)]
    assert fulfillment_orders(world) == [("FO-000001", "WH-BER", "fulfilled", [("BOLT-M8", 5, 5, 0),
                                                                               ("NUT-M8", 4, 4, 0)])]
    # and the events say exactly that, in order
    assert event_types(world, mark) == [
        "fulfillment_order.assigned", "fulfillment_order.picked", "fulfillment_order.packed",
        "inventory.fulfilled", "inventory.fulfilled", "fulfillment_order.partially_shipped",
        "order.partially_fulfilled",
        "inventory.fulfilled", "fulfillment_order.fulfilled", "order.fulfilled",
    ]
    # when both shipments are delivered, the first by id, then the only one left
    one = post(client, admin, f"{FOS}/{fo}/deliver", {"shipment_id": second["shipments"][0]["id"]})
    assert [s["status"] for s in one["shipments"]] == ["delivered", "shipped"]
    two = post(client, admin, f"{FOS}/{fo}/deliver")
    assert [s["status"] for s in two["shipments"]] == ["delivered", "delivered"]
    assert two["available_actions"] == []
    assert event_types(world)[-2:] == ["shipment.delivered", "shipment.delivered"]
    # and a third delivery is refused
    problem = post(client, admin, f"{FOS}/{fo}/deliver", status=409)
    assert problem["type"].endswith("/nothing-to-deliver")


def test_invalid_transitions_are_409_and_write_nothing(world: Database, client: Any, admin: dict[str, str],
                                                       routed: dict[str, Any]) -> None:
    fo = fo_id(world, "FO-000001")
    before = snapshot(world)
    # when it is picked before it was assigned
    problem = post(client, admin, f"{FOS}/{fo}/pick", status=409)
    # then 409 names the status and what is possible, and nothing changed
    assert problem["type"].endswith("/invalid-transition")
    assert problem["detail"] == "cannot pick a fulfillment order that is allocated"
    assert (problem["current_status"], problem["available_actions"]) == (
        "allocated", ["assign", "ship", "reject", "cancel"])
    assert snapshot(world) == before
    # given it is shipped in full; then it can be neither shipped, cancelled nor rejected again
    post(client, admin, f"{FOS}/{fo}/ship", {"carrier": "UPS"})
    after_ship = snapshot(world)
    for action, body in (("ship", {"carrier": "UPS"}), ("cancel", None), ("reject", {"reason": "x"}),
                         ("assign", None), ("pack", None)):
        problem = post(client, admin, f"{FOS}/{fo}/{action}", body, status=409)
        assert (problem["detail"], problem["available_actions"]) == (
            f"cannot {action} a fulfillment order that is fulfilled", ["deliver"])
    assert snapshot(world) == after_ship


def test_shipping_more_than_is_left_or_something_else_writes_nothing(world: Database, client: Any,
                                                                     admin: dict[str, str],
                                                                     routed: dict[str, Any]) -> None:
    fo = fo_id(world, "FO-000001")
    before = snapshot(world)
    # more than allocated: 409
    problem = post(client, admin, f"{FOS}/{fo}/ship",
                   {"carrier": "UPS", "items": [{"sku": "BOLT-M8", "quantity": 6}]}, status=409)
    assert problem["type"].endswith("/exceeds-remaining")
    assert problem["errors"] == [{"field": "items", "message": "BOLT-M8: 6 to ship, 5 remaining"}]
    # a SKU or item the FO does not have, or both references on one line: 422
    problem = post(client, admin, f"{FOS}/{fo}/ship", {"carrier": "UPS", "items": [
        {"sku": "WASHER-M8", "quantity": 1}, {"fulfillment_order_item_id": str(uuid.uuid4()), "quantity": 1}]},
        status=422)
    assert [e["field"] for e in problem["errors"]] == ["items[0].sku", "items[1].fulfillment_order_item_id"]
    problem = post(client, admin, f"{FOS}/{fo}/ship", {"carrier": "UPS", "items": [
        {"sku": "BOLT-M8", "fulfillment_order_item_id": str(uuid.uuid4()), "quantity": 1}]}, status=422)
    assert problem["errors"][0]["field"] == "items[0]"
    # no carrier: 422
    assert post(client, admin, f"{FOS}/{fo}/ship", {}, status=422)["errors"][0]["field"] == "carrier"
    assert snapshot(world) == before


def test_cancel_gives_the_unshipped_units_back(world: Database, client: Any, admin: dict[str, str],
                                               routed: dict[str, Any]) -> None:
    fo = fo_id(world, "FO-000001")
    # given 2 bolts shipped
    post(client, admin, f"{FOS}/{fo}/ship", {"carrier": "UPS", "items": [{"sku": "BOLT-M8", "quantity": 2}]})
    mark = last_position(world)
    # when the fulfilment order is cancelled
    doc = post(client, admin, f"{FOS}/{fo}/cancel", {"reason": "customer asked"})
    # then the 3 bolts and 4 nuts left are released and available to fulfil again
    assert (doc["status"], doc["status_reason"], doc["available_actions"]) == ("cancelled", "customer asked",
                                                                              ["deliver"])
    assert fulfillment_orders(world) == [("FO-000001", "WH-BER", "cancelled", [("BOLT-M8", 5, 2, 3),
                                                                               ("NUT-M8", 4, 0, 4)])]
    assert buckets(world, routed["id"]) == {"BOLT-M8": (2, 2, "partially_fulfilled"), "NUT-M8": (0, 0, "ordered")}
    assert positions(world) == {("BOLT-M8", "WH-BER"): (8, 0), ("NUT-M8", "WH-BER"): (10, 0)}
    assert order_status(world, routed["id"]) == ("partially_fulfilled", 0)
    assert event_types(world, mark) == ["inventory.released", "inventory.released", "fulfillment_order.cancelled"]
    order = client.get(f"/api/v1/orders/{routed['id']}", headers=admin).json()
    quantities = {i["sku"]: i["quantities"] for i in order["delivery_groups"][0]["items"] if i["sku"]}
    assert (quantities["BOLT-M8"]["available_to_fulfill"], quantities["NUT-M8"]["available_to_fulfill"]) == (3, 4)


def test_a_rejection_routes_again_without_that_location(world: Database, client: Any, admin: dict[str, str]) -> None:
    # given bolts in all four warehouses and an order to Berlin routed to Berlin
    for code in ("WH-BER", "WH-HAM", "WH-MUC", "WH-FRA"):
        stock(world, code, BOLT_M8=10)
    doc = place(world, ("BOLT-M8", 5))
    run_flow(world)
    mark = last_position(world)
    # when Berlin rejects it
    answer = post(client, admin, f"{FOS}/{fo_id(world, 'FO-000001')}/reject", {"reason": "damaged stock"})
    # then Berlin's units are released and Hamburg, the next nearest, gets a new fulfilment order
    assert (answer["status"], answer["status_reason"]) == ("rejected", "damaged stock")
    rerouting = answer["rerouting"]
    assert (rerouting["routing_attempts"], rerouting["max_routing_attempts"], rerouting["process_exception_id"]) == (
        1, 3, None)
    assert [fo["number"] for fo in rerouting["routing"]["fulfillment_orders"]] == ["FO-000002"]
    assert fulfillment_orders(world) == [
        ("FO-000001", "WH-BER", "rejected", [("BOLT-M8", 5, 0, 5)]),
        ("FO-000002", "WH-HAM", "allocated", [("BOLT-M8", 5, 0, 0)]),
    ]
    assert buckets(world, doc["id"]) == {"BOLT-M8": (5, 0, "allocated")}
    assert positions(world) == {("BOLT-M8", "WH-BER"): (10, 0), ("BOLT-M8", "WH-HAM"): (10, 5),
                                ("BOLT-M8", "WH-MUC"): (10, 0), ("BOLT-M8", "WH-FRA"): (10, 0)}
    assert decisions(world)[1][:5] == (1, "rejection", ["WH-BER"], 5, 0)
    assert event_types(world, mark) == [
        "inventory.released", "fulfillment_order.rejected", "inventory.reserved", "fulfillment_order.created",
        "fulfillment_order.allocated", "order.routed",
    ]


def test_past_the_maximum_of_routing_attempts_a_process_exception_is_raised(
    world: Database, client: Any, admin: dict[str, str]
) -> None:
    # given bolts in all four warehouses; the order routed to Berlin
    for code in ("WH-BER", "WH-HAM", "WH-MUC", "WH-FRA"):
        stock(world, code, BOLT_M8=10)
    doc = place(world, ("BOLT-M8", 5))
    run_flow(world)
    # when every location rejects in turn: Berlin, Hamburg, Frankfurt, Munich (nearest first)
    answers = [post(client, admin, f"{FOS}/{fo_id(world, f'FO-00000{n}')}/reject", {"reason": f"no {n}"})
               for n in (1, 2, 3, 4)]
    # then the first three were routed again, the fourth (past the maximum of 3) raised an exception
    assert [a["rerouting"]["routing_attempts"] for a in answers] == [1, 2, 3, 4]
    assert [a["rerouting"]["routing"]["fulfillment_orders"][0]["location"] for a in answers[:3]] == [
        "WH-HAM", "WH-FRA", "WH-MUC"]
    assert answers[3]["rerouting"]["routing"] is None
    pe_id = answers[3]["rerouting"]["process_exception_id"]
    assert [fo[1:3] for fo in fulfillment_orders(world)] == [
        ("WH-BER", "rejected"), ("WH-HAM", "rejected"), ("WH-FRA", "rejected"), ("WH-MUC", "rejected")]
    assert [d[:3] for d in decisions(world)] == [
        (0, "order_created", []), (1, "rejection", ["WH-BER"]), (2, "rejection", ["WH-BER", "WH-HAM"]),
        (3, "rejection", ["WH-BER", "WH-FRA", "WH-HAM"])]
    assert buckets(world, doc["id"]) == {"BOLT-M8": (0, 0, "ordered")}
    assert {k: v[1] for k, v in positions(world).items()} == {
        ("BOLT-M8", "WH-BER"): 0, ("BOLT-M8", "WH-HAM"): 0, ("BOLT-M8", "WH-MUC"): 0, ("BOLT-M8", "WH-FRA"): 0}
    assert order_status(world, doc["id"]) == ("approved", 1)
    with world.read() as s:
        pe = s.get_one(ProcessException, uuid.UUID(pe_id))
        assert (pe.category, pe.status, pe.attached_to_type, str(pe.attached_to_id)) == (
            "fulfillment", "new", "fulfillment_order", fo_id(world, "FO-000004"))
        assert pe.message == (
            "Order SO-000001: FO-000004 was rejected (no 4). The delivery group was routed again 3 times already"
            " and 4 locations rejected it; 5 units are not allocated.")
    assert event_types(world)[-3:] == ["inventory.released", "fulfillment_order.rejected",
                                       "process_exception.created"]
    listed = client.get("/api/v1/process-exceptions", params={"order": "SO-000001"}, headers=admin).json()
    assert [i["id"] for i in listed["items"]] == [pe_id]


def test_the_maximum_comes_from_the_channel_policy(world: Database, client: Any, admin: dict[str, str]) -> None:
    # given a channel that never routes again after a rejection
    stock(world, "WH-BER", BOLT_M8=10)
    stock(world, "WH-HAM", BOLT_M8=10)
    assert client.put("/api/v1/routing/policies/web", json={"max_routing_attempts": 0},
                      headers=admin).status_code == 200
    doc = place(world, ("BOLT-M8", 5))
    run_flow(world)
    # when Berlin rejects, then a process exception, no new fulfilment order
    answer = post(client, admin, f"{FOS}/{fo_id(world, 'FO-000001')}/reject", {"reason": "closed"})
    assert (answer["rerouting"]["routing_attempts"], answer["rerouting"]["routing"]) == (1, None)
    assert len(fulfillment_orders(world)) == 1
    assert order_status(world, doc["id"]) == ("approved", 1)


def test_a_rejection_with_nowhere_else_to_go_raises_a_process_exception(world: Database, client: Any,
                                                                        admin: dict[str, str]) -> None:
    stock(world, "WH-BER", BOLT_M8=10)
    doc = place(world, ("BOLT-M8", 5))
    run_flow(world)
    answer = post(client, admin, f"{FOS}/{fo_id(world, 'FO-000001')}/reject", {"reason": "flooded"})
    assert answer["rerouting"]["routing"]["routed_units"] == 0
    assert answer["rerouting"]["process_exception_id"] == answer["rerouting"]["routing"]["process_exception_id"]
    assert order_status(world, doc["id"]) == ("approved", 1)
    assert event_types(world)[-2:] == ["process_exception.created", "order.routing_failed"]


def test_reject_needs_a_reason(world: Database, client: Any, admin: dict[str, str], routed: dict[str, Any]) -> None:
    before = snapshot(world)
    problem = post(client, admin, f"{FOS}/{fo_id(world, 'FO-000001')}/reject", {}, status=422)
    assert problem["errors"] == [{"field": "reason", "message": "Field required"}]
    assert snapshot(world) == before


def test_an_idempotency_key_replays_a_shipment(world: Database, client: Any, admin: dict[str, str],
                                               routed: dict[str, Any]) -> None:
    fo = fo_id(world, "FO-000001")
    headers = {**admin, "Idempotency-Key": "ship-1"}
    body = {"carrier": "UPS", "items": [{"sku": "BOLT-M8", "quantity": 1}]}
    first = client.post(f"{FOS}/{fo}/ship", json=body, headers=headers)
    again = client.post(f"{FOS}/{fo}/ship", json=body, headers=headers)
    assert (first.status_code, again.status_code, again.headers["Idempotent-Replayed"]) == (200, 200, "true")
    assert again.content == first.content
    assert buckets(world, routed["id"])["BOLT-M8"] == (5, 1, "partially_fulfilled")
    other = client.post(f"{FOS}/{fo}/ship", json={**body, "carrier": "DHL"}, headers=headers)
    assert other.status_code == 422


def test_reading_and_listing(world: Database, client: Any, admin: dict[str, str], routed: dict[str, Any]) -> None:
    fo = fo_id(world, "FO-000001")
    by_number = client.get(f"{FOS}/FO-000001", headers=admin).json()
    by_id = client.get(f"{FOS}/{fo}", headers=admin).json()
    assert by_number == by_id
    items = item_ids(routed)
    assert {k: by_id[k] for k in ("number", "status", "location", "delivery_method", "available_actions")} == {
        "number": "FO-000001", "status": "allocated", "location": "WH-BER", "delivery_method": "standard",
        "available_actions": ["assign", "ship", "reject", "cancel"]}
    assert by_id["order"] == {"id": routed["id"], "number": "SO-000001"}
    assert (by_id["ship_to"]["city"], by_id["ship_to"]["postal_code"]) == ("Berlin", "10115")
    assert [(i["order_item_summary_id"], i["line_number"], i["quantity"]) for i in by_id["items"]] == [
        (str(items["BOLT-M8"]), 1, 5), (str(items["NUT-M8"]), 2, 4)]
    assert client.get(f"{FOS}/FO-999999", headers=admin).status_code == 404

    def numbers(**params: str) -> list[str]:
        r = client.get(FOS, params=params, headers=admin)
        assert r.status_code == 200, r.text
        return [i["number"] for i in r.json()["items"]]

    assert numbers() == ["FO-000001"]
    assert numbers(location="WH-BER", status="allocated", order="SO-000001") == ["FO-000001"]
    assert numbers(location="WH-HAM") == []
    assert numbers(status="fulfilled") == []
    assert numbers(order="SO-999999") == []
    assert client.get(FOS, params={"status": "lost"}, headers=admin).status_code == 422


def test_roles(world: Database, client: Any, routed: dict[str, Any]) -> None:
    fo = fo_id(world, "FO-000001")
    fulfiller = api_key(world, Role.FULFILLMENT)
    assert client.post(f"{FOS}/{fo}/assign", headers=fulfiller).status_code == 200
    for role in (Role.BUYER, Role.FINANCE):
        headers = api_key(world, role)
        assert client.get(FOS, headers=headers).status_code == 403
        assert client.post(f"{FOS}/{fo}/pick", headers=headers).status_code == 403
    assert client.get(FOS).status_code == 401
