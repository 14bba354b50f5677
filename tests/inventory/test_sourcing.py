"""Reserving stock at order intake, per the sales channel's sourcing setting."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select, update

from ordino.catalog.models import Location
from ordino.inventory import sourcing
from ordino.inventory.models import InventoryPosition, InventoryReservation
from ordino.kernel.auth import Principal, Role
from ordino.kernel.db import Database
from ordino.kernel.errors import Conflict
from ordino.orders.intake import place_order
from ordino.orders.models import OrderItemSummary, OrderSummary
from ordino.orders.schemas import OrderIn
from tests import factories

ADMIN = Principal(uuid.UUID(int=1), "test", Role.ADMIN)


def _world(db: Database) -> None:
    factories.legal_entity(db)  # intake taxes the orders, which needs a seller
    factories.account(db, "ACME")
    factories.channel(db, "web")
    for sku in ("BOLT-M8", "NUT-M8"):
        factories.product(db, sku)
    factories.product(db, "WASHER-M8", backorder_policy="backorder")
    for code in ("WH-BER", "WH-HAM", "WH-MUC"):
        factories.location(db, code)
    factories.location_group(db, "DE", ["WH-BER", "WH-HAM", "WH-MUC"])


def _order(ref: str, *lines: tuple[str, int]) -> dict[str, Any]:
    body = factories.order_payload(external_reference=ref)
    body["delivery_groups"][0]["lines"] = [{"sku": s, "quantity": q, "unit_price": "1.00"} for s, q in lines]
    return body


def _held(db: Database) -> dict[tuple[str, str], tuple[int, int]]:
    """(sku, location) -> (reserved, backordered) of every position that holds anything."""
    with db.read() as s:
        rows = s.execute(
            select(InventoryPosition.sku, Location.code, InventoryPosition.reserved, InventoryPosition.backordered)
            .join(Location, Location.id == InventoryPosition.location_id)
        ).all()
    return {(r.sku, r.code): (r.reserved, r.backordered) for r in rows if r.reserved or r.backordered}


def _count(db: Database, model: Any) -> int:
    with db.read() as s:
        return int(s.execute(select(func.count()).select_from(model)).scalar_one())


def test_channel_without_sourcing_reserves_nothing(db, client, admin) -> None:  # type: ignore[no-untyped-def]
    _world(db)
    factories.position(db, "BOLT-M8", "WH-BER", on_hand=10)
    r = client.post("/api/v1/orders", json=_order("A-1", ("BOLT-M8", 500)), headers=admin)
    # then the order is accepted (routing reserves later) and nothing is held
    assert r.status_code == 201, r.text
    assert _held(db) == {}


def test_location_sourcing_reserves_each_item_under_its_own_reference(db, client, admin) -> None:  # type: ignore[no-untyped-def]
    # given the web channel reserves at WH-HAM
    _world(db)
    factories.position(db, "BOLT-M8", "WH-HAM", on_hand=1000)
    factories.position(db, "NUT-M8", "WH-HAM", on_hand=300)
    put = client.put("/api/v1/channels/web/sourcing", json={"mode": "location", "target": "WH-HAM"}, headers=admin)
    assert put.json() == {"channel": "web", "mode": "location", "target": "WH-HAM"}
    # when an order with two lines of BOLT-M8 and one of NUT-M8 is placed
    r = client.post("/api/v1/orders", json=_order("A-2", ("BOLT-M8", 200), ("NUT-M8", 300), ("BOLT-M8", 100)),
                    headers=admin)
    # then every item holds its units at WH-HAM under its own id
    assert r.status_code == 201, r.text
    assert _held(db) == {("BOLT-M8", "WH-HAM"): (300, 0), ("NUT-M8", "WH-HAM"): (300, 0)}
    items = [i["id"] for i in r.json()["delivery_groups"][0]["items"]]
    with db.read() as s:
        rows = s.execute(select(InventoryReservation.reference, InventoryReservation.sku,
                                InventoryReservation.quantity).order_by(InventoryReservation.quantity)).all()
    assert sorted((r.reference, r.sku, r.quantity) for r in rows) == sorted(
        [(items[0], "BOLT-M8", 200), (items[1], "NUT-M8", 300), (items[2], "BOLT-M8", 100)]
    )


def test_group_sourcing_prefers_one_location_and_splits_only_when_needed(db, client, admin) -> None:  # type: ignore[no-untyped-def]
    _world(db)
    factories.position(db, "BOLT-M8", "WH-BER", on_hand=300)
    factories.position(db, "BOLT-M8", "WH-HAM", on_hand=700)
    factories.position(db, "NUT-M8", "WH-BER", on_hand=50)
    factories.position(db, "NUT-M8", "WH-MUC", on_hand=60)
    client.put("/api/v1/channels/web/sourcing", json={"mode": "location_group", "target": "DE"}, headers=admin)
    # when BOLT-M8 fits at WH-HAM alone and NUT-M8 fits nowhere alone
    r = client.post("/api/v1/orders", json=_order("A-3", ("BOLT-M8", 600), ("NUT-M8", 100)), headers=admin)
    # then BOLT-M8 is held whole at WH-HAM, NUT-M8 split most-available first
    assert r.status_code == 201, r.text
    assert _held(db) == {
        ("BOLT-M8", "WH-HAM"): (600, 0), ("NUT-M8", "WH-MUC"): (60, 0), ("NUT-M8", "WH-BER"): (40, 0),
    }


def test_out_of_stock_refuses_the_order_naming_the_line_and_holds_nothing(db, client, admin) -> None:  # type: ignore[no-untyped-def]
    _world(db)
    factories.position(db, "BOLT-M8", "WH-BER", on_hand=300)
    factories.position(db, "NUT-M8", "WH-BER", on_hand=40, safety_stock=10)
    client.put("/api/v1/channels/web/sourcing", json={"mode": "location_group", "target": "DE"}, headers=admin)
    # when the second line asks for more than the group can give
    r = client.post("/api/v1/orders", json=_order("A-4", ("BOLT-M8", 100), ("NUT-M8", 31)), headers=admin)
    # then 409 out-of-stock names the line and what is available; nothing was written
    assert r.status_code == 409
    body = r.json()
    assert (body["type"], body["title"]) == ("https://ordino.dev/problems/out-of-stock", "Out of stock")
    assert body["errors"] == [
        {"field": "delivery_groups[0].lines[1].quantity", "message": "31 of NUT-M8 requested, 30 available at DE"}
    ]
    assert body["unavailable"] == [{"sku": "NUT-M8", "requested": 31, "available": 30, "at": "DE"}]
    assert _held(db) == {}
    assert (_count(db, OrderSummary), _count(db, OrderItemSummary), _count(db, InventoryReservation)) == (0, 0, 0)


def test_backorder_product_is_promised_against_futures(db, client, admin) -> None:  # type: ignore[no-untyped-def]
    _world(db)
    factories.position(db, "WASHER-M8", "WH-MUC", on_hand=5, futures=[(date(2026, 12, 10), 500)])
    client.put("/api/v1/channels/web/sourcing", json={"mode": "location_group", "target": "DE"}, headers=admin)
    r = client.post("/api/v1/orders", json=_order("A-5", ("WASHER-M8", 100)), headers=admin)
    assert r.status_code == 201, r.text
    assert _held(db) == {("WASHER-M8", "WH-MUC"): (0, 100)}
    with db.read() as s:
        assert s.execute(select(InventoryReservation.backordered_quantity)).scalar_one() == 100


def test_sourcing_setting_is_validated(db, client, admin) -> None:  # type: ignore[no-untyped-def]
    _world(db)
    r = client.put("/api/v1/channels/web/sourcing", json={"mode": "location_group", "target": "NOPE"}, headers=admin)
    assert r.status_code == 422
    assert r.json()["errors"] == [{"field": "target", "message": "no location group 'NOPE' with active locations"}]
    assert client.get("/api/v1/channels/web/sourcing", headers=admin).json() == {
        "channel": "web", "mode": "none", "target": None
    }
    assert client.put("/api/v1/channels/nope/sourcing", json={"mode": "none"}, headers=admin).status_code == 404


def _place(db: Database, body: dict[str, Any]) -> str:
    order = OrderIn.model_validate(body)
    try:
        db.transaction(lambda s: place_order(s, order, ADMIN))
        return "placed"
    except Conflict as exc:
        assert exc.slug == "out-of-stock"
        return "refused"


def test_fifty_buyers_for_five_units_never_oversell(db) -> None:
    if db.dialect != "postgresql":
        pytest.skip("concurrency is proven on PostgreSQL")
    # given 5 units of BOLT-M8 in the group, 200 rounds of 50 concurrent one-unit orders
    _world(db)
    factories.position(db, "BOLT-M8", "WH-BER", on_hand=3)
    factories.position(db, "BOLT-M8", "WH-HAM", on_hand=2)
    db.transaction(lambda s: sourcing.set_sourcing(s, "web", "location_group", "DE"))
    with ThreadPoolExecutor(max_workers=50) as pool:
        for rnd in range(200):
            outcomes = list(pool.map(lambda i, rnd=rnd: _place(db, _order(f"R{rnd}-{i}", ("BOLT-M8", 1))), range(50)))
            # then exactly 5 are accepted and 45 refused, and availability ends at 0, never below
            assert (outcomes.count("placed"), outcomes.count("refused")) == (5, 45), rnd
            with db.read() as s:
                held = s.execute(select(func.sum(InventoryPosition.reserved)).where(
                    InventoryPosition.sku == "BOLT-M8")).scalar_one()
                over = s.execute(select(func.count()).where(
                    InventoryPosition.on_hand - InventoryPosition.reserved - InventoryPosition.safety_stock < 0
                )).scalar_one()
            assert (held, over) == (5, 0), rnd
            db.transaction(lambda s: s.execute(update(InventoryPosition).values(reserved=0)))
    assert _count(db, OrderSummary) == 1000


def test_multi_line_orders_sharing_skus_never_oversell(db) -> None:
    if db.dialect != "postgresql":
        pytest.skip("concurrency is proven on PostgreSQL")
    # given 20 units of each of three SKUs spread over the group, 40 concurrent orders of 2 SKUs × 1..3 units
    _world(db)
    skus = ("BOLT-M8", "NUT-M8", "WASHER-M8")
    for sku in skus:
        factories.position(db, sku, "WH-BER", on_hand=12)
        factories.position(db, sku, "WH-MUC", on_hand=8)
    db.transaction(lambda s: sourcing.set_sourcing(s, "web", "location_group", "DE"))
    bodies = [
        _order(f"M-{i}", (skus[i % 3], 1 + i % 3), (skus[(i + 1) % 3], 1 + (i // 3) % 3))
        for i in range(40)
    ]
    with ThreadPoolExecutor(max_workers=40) as pool:
        outcomes = list(pool.map(lambda b: _place(db, b), bodies))
    # then no position is over-reserved, and what is held is exactly what the accepted orders asked for
    with db.read() as s:
        positions = s.execute(select(InventoryPosition.on_hand, InventoryPosition.reserved)).all()
        held = s.execute(select(func.sum(InventoryReservation.open_quantity))).scalar_one()
        ordered = s.execute(select(func.sum(OrderItemSummary.quantity_ordered)).where(
            OrderItemSummary.type == "product")).scalar_one()
    assert all(p.reserved <= p.on_hand for p in positions)
    assert held == ordered == sum(p.reserved for p in positions)
    assert outcomes.count("placed") == _count(db, OrderSummary)
    assert outcomes.count("placed") >= 1
