"""Return orders (RMA): create, approve, receive in parts (restock, credit less the fees), refusals."""

# ruff: noqa: F811 (fixtures imported from tests.invoicing.support)

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from ordino.catalog.models import Location
from ordino.inventory.stock import current_figures
from ordino.kernel.db import Database
from ordino.orders.models import OrderItemSummary
from ordino.servicing.returns.models import ReturnOrder
from tests.invoicing.support import (  # noqa: F401
    api,
    count,
    credit_memos,
    drain,
    fo_id,
    frozen,
    gateways,
    order_payload,
    place,
    ship,
    sim,
    sim_server,
    world,
)

RMA = "/api/v1/return-orders"


def shipped(db: Database, gateways: Any, client: Any, admin: dict[str, str]) -> dict[str, Any]:
    order = place(db, order_payload())
    drain(db, gateways)
    ship(client, admin, fo_id(db, order["id"]))
    drain(db, gateways)
    return order


def buckets(db: Database, order_id: str) -> dict[str, tuple[int, int]]:
    """sku → (return initiated, returned)."""
    with db.read() as s:
        rows = s.execute(select(OrderItemSummary.sku, OrderItemSummary.quantity_return_initiated,
                                OrderItemSummary.quantity_returned)
                         .where(OrderItemSummary.type == "product")).all()
    return {r[0]: (r[1], r[2]) for r in rows}


def on_hand(db: Database, sku: str) -> int:
    with db.read() as s:
        loc = s.execute(select(Location.id).where(Location.code == "WH-BER")).scalar_one()
        return current_figures(s, [(sku, loc)])[(sku, loc)].on_hand


def test_create_approve_and_receive_in_two_receipts(world: Database, gateways: Any, api: Any,
                                                    admin: dict[str, str]) -> None:
    # given a shipped order: 500 bolts at 0.0350 (17.50, VAT 3.33)
    order = shipped(world, gateways, api, admin)
    stock = on_hand(world, "BOLT-M8")
    # when 100 bolts are to come back
    r = api.post(RMA, json={"order": order["number"], "return_location": "WH-BER",
                            "lines": [{"line_number": 1, "quantity": 100, "reason": "wrong size"}]}, headers=admin)
    assert r.status_code == 201, r.text
    rma = r.json()
    # then the return order is requested, numbered from its own series, and holds the units
    assert (rma["number"], rma["status"]) == ("RMA-2026-000001", "requested")
    assert rma["label"] == {"carrier": "Ordino returns", "tracking_reference": "RL2026000001"}
    assert buckets(world, order["id"])["BOLT-M8"] == (100, 0)
    # when it is approved and 60 arrive, restocked, with a 10 % restocking fee
    assert api.post(f"{RMA}/{rma['number']}/approve", headers=admin).json()["status"] == "approved"
    r = api.post(f"{RMA}/{rma['number']}/receipts", json={
        "location": "WH-BER", "lines": [{"line_number": 1, "received": 60, "disposition": "restock"}],
        "fees": {"restocking_percent": "10"}}, headers=admin)
    assert r.status_code == 201, r.text
    doc = r.json()
    # then 60 are returned, 40 still expected, on hand rose by exactly 60
    assert doc["status"] == "partially_received"
    assert doc["lines"][0]["quantity_outstanding"] == 40
    assert buckets(world, order["id"])["BOLT-M8"] == (100, 60)
    assert on_hand(world, "BOLT-M8") == stock + 60
    # and one credit memo: 60 bolts 2.10 + VAT 0.40 = 2.50, less the 10 % fee 0.25: 2.25
    receipt = doc["receipts"][0]
    assert receipt["restocking_fee"] == "0.25"
    assert [c[2] for c in credit_memos(world)] == [225]
    # when the rest arrives: 39 good (scrapped), 1 rejected
    r = api.post(f"{RMA}/{rma['number']}/receipts", json={
        "location": "WH-BER", "lines": [{"line_number": 1, "received": 39, "rejected": 1,
                                         "reason_for_rejection": "used", "disposition": "scrap"}]}, headers=admin)
    assert r.status_code == 201, r.text
    # then the return order is received, the rejected unit is available to return again
    assert r.json()["status"] == "received"
    assert buckets(world, order["id"])["BOLT-M8"] == (99, 99)
    assert on_hand(world, "BOLT-M8") == stock + 60
    # and the second credit: bolts 61–99 of 500: 1.37 + VAT 0.26 = 1.63
    assert [c[2] for c in credit_memos(world)] == [225, 163]


def test_over_return_is_refused_and_writes_nothing(world: Database, gateways: Any, api: Any,
                                                   admin: dict[str, str]) -> None:
    # given a shipped order and a return order of 450 of its 500 bolts
    order = shipped(world, gateways, api, admin)
    body = {"order": order["id"], "lines": [{"line_number": 1, "quantity": 450, "reason": "surplus"}]}
    assert api.post(RMA, json=body, headers=admin).status_code == 201
    # when 51 more are asked for
    body["lines"][0]["quantity"] = 51
    r = api.post(RMA, json=body, headers=admin)
    # then 409 names the line and its 50 available, and nothing was written
    assert r.status_code == 409, r.text
    assert "line 1: 51 to return, 50 available" in r.json()["detail"]
    assert count(world, ReturnOrder) == 1
    assert buckets(world, order["id"])["BOLT-M8"] == (450, 0)
    # and the next return order takes the next number: no gap
    body["lines"][0]["quantity"] = 50
    assert api.post(RMA, json=body, headers=admin).json()["number"] == "RMA-2026-000002"
