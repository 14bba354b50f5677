"""POST /routing/plan (writes nothing), POST /orders/{id}/routing, GET /orders/{id}/routing-decisions
and the channel routing policies."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from ordino.fulfillment.models import FulfillmentOrder, RoutingDecision
from ordino.inventory.models import InventoryReservation
from ordino.kernel.auth import Role
from ordino.kernel.db import Database
from ordino.kernel.idempotency import IdempotencyRecord
from ordino.kernel.outbox import OutboxEvent
from ordino.kernel.statemachine import StatusHistory
from tests.conftest import api_key
from tests.fulfillment.conftest import count, fulfillment_orders, place, positions, run_flow, stock

PLAN = "/api/v1/routing/plan"


def written(db: Database) -> tuple[Any, ...]:
    tables = (OutboxEvent, StatusHistory, RoutingDecision, FulfillmentOrder, InventoryReservation, IdempotencyRecord)
    with db.read() as s:
        counts = tuple(s.execute(select(func.count()).select_from(t)).scalar_one() for t in tables)
    return counts, positions(db)


def test_the_plan_of_an_order_is_what_routing_would_do_and_writes_nothing(world: Database, client: Any,
                                                                          admin: dict[str, str]) -> None:
    # given an order to Berlin, not yet routed (its flow has not run), bolts in Munich and Hamburg
    stock(world, "WH-MUC", BOLT_M8=10)
    stock(world, "WH-HAM", BOLT_M8=10)
    doc = place(world, ("BOLT-M8", 5))
    before = written(world)
    # when its plan is asked for, by number, with an Idempotency-Key even
    r = client.post(PLAN, json={"order": "SO-000001"}, headers={**admin, "Idempotency-Key": "p1"})
    # then the answer is Hamburg's plan and nothing was written
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["order"] == {"id": doc["id"], "number": "SO-000001", "status": "created"}
    [group] = answer["delivery_groups"]
    assert (group["position"], group["units"], group["ship_to_point"]) == (
        1, 5, {"latitude": 52.52437, "longitude": 13.41053})
    assert group["plan"] == {
        "splits": 1, "locations": ["WH-HAM"],
        "allocations": [{"location": "WH-HAM", "sku": "BOLT-M8", "quantity": 5}], "unroutable": [],
        "total_distance_km": group["plan"]["total_distance_km"], "average_distance_km":
        group["plan"]["average_distance_km"], "total_cost": "0", "optimal": True,
        "reason": "1 location (WH-HAM) holds the line; 255 km",
    }
    assert round(group["plan"]["total_distance_km"]) == 255
    assert written(world) == before


def test_the_plan_of_ad_hoc_lines_writes_nothing(world: Database, client: Any, admin: dict[str, str]) -> None:
    stock(world, "WH-MUC", BOLT_M8=10, NUT_M8=10)
    stock(world, "WH-BER", BOLT_M8=10)
    before = written(world)
    # when lines are planned to Munich by city, and to a point near Berlin by coordinates
    munich = client.post(PLAN, json={"lines": [{"sku": "BOLT-M8", "quantity": 3}],
                                      "ship_to": {"country": "DE", "city": "Munich"}}, headers=admin).json()
    berlin = client.post(PLAN, json={"lines": [{"sku": "BOLT-M8", "quantity": 3}, {"sku": "NUT-M8", "quantity": 1}],
                                     "ship_to": {"latitude": "52.5", "longitude": "13.4"}, "channel": "web"},
                         headers=admin).json()
    # then each goes to what it should, and nothing was written
    assert (munich["ship_to_point"], munich["plan"]["locations"]) == (
        {"latitude": 48.13743, "longitude": 11.57549}, ["WH-MUC"])
    assert berlin["plan"]["locations"] == ["WH-MUC"]  # only Munich has nuts: one location beats two
    unknown = client.post(PLAN, json={"lines": [{"sku": "BOLT-M8", "quantity": 3}],
                                      "ship_to": {"country": "DE", "city": "Nowhere"}}, headers=admin).json()
    assert (unknown["ship_to_point"], unknown["plan"]["locations"]) == (None, ["WH-BER"])  # then by code
    assert written(world) == before


def test_plan_refusals(world: Database, client: Any, admin: dict[str, str]) -> None:
    def problem(body: Any, status: int = 422) -> dict[str, Any]:
        r = client.post(PLAN, json=body, headers=admin)
        assert r.status_code == status, r.text
        return dict(r.json())

    assert problem({})["detail"] == "body: give either 'order' or 'lines'"
    assert problem({"order": "SO-1", "lines": [{"sku": "BOLT-M8", "quantity": 1}]})["errors"][0]["field"] == "body"
    assert problem({"lines": [{"sku": "NOPE", "quantity": 1}]})["errors"] == [
        {"field": "lines[0].sku", "message": "no product 'NOPE'"}]
    assert problem({"lines": [{"sku": "BOLT-M8", "quantity": 1}], "exclude_locations": ["WH-XXX"]})["errors"] == [
        {"field": "exclude_locations[0]", "message": "no location 'WH-XXX'"}]
    assert problem({"lines": [{"sku": "BOLT-M8", "quantity": 1}], "channel": "nope"})["errors"] == [
        {"field": "channel", "message": "no sales channel 'nope'"}]
    assert problem({"order": "SO-999999"}, 404)["type"] == "https://ordino.dev/problems/not-found"
    assert client.post(PLAN, json={"order": "SO-1"}, headers=api_key(world, Role.BUYER)).status_code == 403


def test_routing_now_and_reading_the_decisions(world: Database, client: Any, admin: dict[str, str]) -> None:
    # given an order routed by the flow while only 2 of 5 bolts were in stock
    stock(world, "WH-BER", BOLT_M8=2)
    doc = place(world, ("BOLT-M8", 5))
    run_flow(world)
    # when stock arrives in Munich and the order is routed on request
    stock(world, "WH-MUC", BOLT_M8=10)
    r = client.post(f"/api/v1/orders/{doc['id']}/routing", headers=admin)
    assert r.status_code == 200, r.text
    [routing] = r.json()["routings"]
    assert (routing["attempt"], routing["routed_units"], routing["unroutable_units"],
            [fo["number"] for fo in routing["fulfillment_orders"]]) == (0, 3, 0, ["FO-000002"])
    assert [fo[:3] for fo in fulfillment_orders(world)] == [("FO-000001", "WH-BER", "allocated"),
                                                           ("FO-000002", "WH-MUC", "allocated")]
    # and routing again finds nothing left to route
    assert client.post("/api/v1/orders/SO-000001/routing", headers=admin).json()["routings"] == []
    # then both decisions are listed, oldest first
    decisions = client.get("/api/v1/orders/SO-000001/routing-decisions", headers=admin).json()
    assert [(d["attempt"], d["trigger"], d["routed_units"], d["unroutable_units"], d["plan"]["locations"])
            for d in decisions["items"]] == [(0, "order_created", 2, 3, ["WH-BER"]), (0, "manual", 3, 0, ["WH-MUC"])]
    assert client.get("/api/v1/orders/SO-000009/routing-decisions", headers=admin).status_code == 404


def test_routing_an_order_that_is_not_approved_is_409(world: Database, client: Any, admin: dict[str, str]) -> None:
    stock(world, "WH-BER", BOLT_M8=10)
    place(world, ("BOLT-M8", 5))
    before = written(world)
    r = client.post("/api/v1/orders/SO-000001/routing", headers=admin)
    assert (r.status_code, r.json()["type"].split("/")[-1]) == (409, "order-not-routable")
    assert written(world) == before


def test_channel_routing_policies(world: Database, client: Any, admin: dict[str, str]) -> None:
    url = "/api/v1/routing/policies/web"
    # a channel without a policy routes by the defaults
    default = client.get(url, headers=admin)
    assert default.status_code == 200 and "ETag" not in default.headers
    assert {k: default.json()[k] for k in ("stored", "max_splits", "allow_partial", "distance", "distance_weight",
                                           "max_routing_attempts")} == {
        "stored": False, "max_splits": 5, "allow_partial": True, "distance": "shipment", "distance_weight": "1",
        "max_routing_attempts": 3}
    # set one
    body = {"max_splits": 2, "excluded_kinds": ["store"], "priorities": {"WH-BER": 1},
            "location_costs": {"WH-HAM": {"per_unit": "0.10", "per_shipment": "4.50"}}, "cost_weight": "1.5"}
    r = client.put(url, json=body, headers=admin)
    assert (r.status_code, r.headers["ETag"]) == (200, '"1"')
    doc = r.json()
    assert (doc["stored"], doc["max_splits"], doc["excluded_kinds"], doc["priorities"], doc["location_costs"],
            doc["cost_weight"]) == (True, 2, ["store"], {"WH-BER": 1},
                                    {"WH-HAM": {"per_unit": "0.10", "per_shipment": "4.50"}}, "1.5")
    # replacing it needs If-Match
    assert client.put(url, json=body, headers=admin).status_code == 428
    assert client.put(url, json=body, headers={**admin, "If-Match": '"7"'}).status_code == 409
    assert client.put(url, json={}, headers={**admin, "If-Match": '"1"'}).json()["max_splits"] == 5
    # refusals
    bad = client.put(url, json={"excluded_locations": ["WH-XXX"], "max_splits": 0},
                     headers={**admin, "If-Match": '"2"'})
    assert bad.status_code == 422
    assert client.put("/api/v1/routing/policies/nope", json={}, headers=admin).status_code == 404
    assert client.put(url, json={}, headers=api_key(world, Role.AGENT)).status_code == 403
    assert count(world, RoutingDecision) == 0
