"""`load_demo`: the demo world, loaded through the order service, exact and repeatable."""

from __future__ import annotations

import json
import re
import uuid
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from ordino.accounts.models import Account, Address, Contact
from ordino.catalog.models import Location, Product, SalesChannel
from ordino.demo import DemoSummary, load_demo
from ordino.demo.products import catalog
from ordino.inventory import groups, sourcing
from ordino.inventory.models import InventoryReservation
from ordino.kernel import clock
from ordino.kernel.db import Database
from ordino.kernel.outbox import OutboxEvent
from ordino.models import metadata
from ordino.orders.domain import line_amount
from ordino.orders.models import OrderItemAdjustmentLine, OrderItemSummary, OrderItemTaxLine, OrderSummary
from tests.conftest import empty_tables

README = Path(__file__).resolve().parents[2] / "README.md"

NOW = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)


@pytest.fixture(autouse=True)
def fixed_clock() -> Iterator[None]:
    clock.set_clock(lambda: NOW)
    yield
    clock.set_clock(None)


def _counts(db: Database) -> dict[str, int]:
    with db.read() as s:
        return {
            t.name: int(s.execute(select(func.count()).select_from(t)).scalar_one()) for t in metadata.sorted_tables
        }


def _orders(db: Database) -> list[tuple[str, str, str, str, int, datetime]]:
    with db.read() as s:
        rows = s.execute(
            select(OrderSummary.number, OrderSummary.external_reference, Account.number, OrderSummary.currency,
                   OrderSummary.grand_total_amount, OrderSummary.ordered_at)
            .join(Account, Account.id == OrderSummary.account_id)
            .order_by(OrderSummary.number)
        ).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def test_load_creates_the_demo_world(db: Database) -> None:
    # given an empty database, when the demo is loaded with 30 orders
    seen: list[tuple[str, int, int]] = []
    summary = load_demo(db, orders=30, progress=lambda stage, done, total: seen.append((stage, done, total)))
    # then the summary and the progress reports say exactly what was written
    assert summary == DemoSummary(
        already_loaded=False, channels=5, locations=10, accounts=14, contacts=28, addresses=34, products=306,
        positions=2232, orders=30, seconds=summary.seconds,
    )
    assert seen == [("channels", 5, 5), ("locations", 10, 10), ("accounts", 14, 14), ("products", 306, 306),
                    ("stock", 2232, 2232), ("orders", 0, 30), ("orders", 25, 30), ("orders", 30, 30)]
    with db.read() as s:
        channels = s.execute(select(SalesChannel.code, SalesChannel.kind).order_by(SalesChannel.code)).all()
        kinds = s.execute(select(Location.kind, func.count()).group_by(Location.kind).order_by(Location.kind)).all()
        accounts = {a.number: a for a in s.execute(select(Account.__table__)).all()}
        contacts = s.execute(select(func.count()).select_from(Contact)).scalar_one()
        billing = s.execute(select(func.count()).where(Address.kind == "billing")).scalar_one()
    assert [tuple(c) for c in channels] == [
        ("edi", "edi"), ("marketplace", "marketplace"), ("phone", "phone"), ("pos", "pos"), ("web", "web")
    ]
    assert [tuple(k) for k in kinds] == [("store", 2), ("warehouse", 8)]
    assert len(accounts) == 14
    assert sorted({(a.country, a.currency) for a in accounts.values()}) == [
        ("AT", "EUR"), ("CH", "CHF"), ("DE", "EUR"), ("FR", "EUR"), ("GB", "GBP"), ("IT", "EUR"), ("JP", "JPY"),
        ("NL", "EUR"), ("PL", "PLN"), ("SE", "SEK"), ("US", "USD"),
    ]
    assert [a.number for a in accounts.values() if a.parent_id == accounts["HANSA"].id] == ["HANSA-SUED"]
    assert (contacts, billing) == (28, 14)


def test_every_product_satisfies_its_own_rules(db: Database) -> None:
    load_demo(db, orders=0)
    with db.read() as s:
        products = s.execute(select(Product.__table__)).all()
    assert len(products) == len(catalog()) == 306
    broken = [
        p.sku for p in products
        if not (p.minimum_quantity >= 1 and p.order_multiple >= 1 and p.minimum_quantity % p.order_multiple == 0
                and p.weight_kg is not None and p.weight_kg > 0 and p.tax_class in ("standard", "reduced")
                and p.unit_of_measure in ("EA", "PR", "XBX", "XRL", "XPX") and p.active)
    ]
    assert broken == []
    assert sorted({p.tax_class for p in products}) == ["reduced", "standard"]


def test_orders_are_exact_and_follow_the_catalog(db: Database) -> None:
    # given the demo with 30 orders
    load_demo(db, orders=30)
    with db.read() as s:
        orders = s.execute(select(OrderSummary.__table__)).all()
        items = s.execute(select(OrderItemSummary.__table__)).all()
        adjustments = s.execute(select(OrderItemAdjustmentLine.__table__)).all()
        taxes = s.execute(select(OrderItemTaxLine.__table__)).all()
        products = {p.sku: p for p in s.execute(select(Product.__table__))}
        currency_of = dict(s.execute(select(Account.id, Account.currency)).all())
    adjustment_sum: dict[Any, int] = defaultdict(int)
    for a in adjustments:
        adjustment_sum[a.order_item_summary_id] += a.amount
    tax_sum: dict[Any, int] = defaultdict(int)
    for t in taxes:
        tax_sum[t.order_item_summary_id] += t.amount
    items_of: dict[Any, list[Any]] = defaultdict(list)
    for i in items:
        items_of[i.order_summary_id].append(i)
    # then all 30 exist, and every total is derived from its rows to the minor unit
    assert len(orders) == 30
    assert [o.number for o in sorted(orders, key=lambda o: o.ordered_at)] == [f"SO-{n:06d}" for n in range(1, 31)]
    for order in orders:
        rows = items_of[order.id]
        assert order.currency == currency_of[order.account_id]
        assert NOW - timedelta(days=90) <= order.ordered_at <= NOW
        assert 1 <= sum(1 for i in rows if i.type == "product") <= 24
        for i in rows:
            assert i.line_amount == line_amount(i.unit_price, i.quantity_ordered, order.currency)
            assert i.adjustment_amount == adjustment_sum[i.id]
            assert i.tax_amount == tax_sum[i.id]
            if i.type == "product":
                p = products[i.sku]
                assert i.quantity_ordered >= p.minimum_quantity and i.quantity_ordered % p.order_multiple == 0
        assert order.total_product_amount == sum(i.line_amount for i in rows if i.type == "product")
        assert order.total_delivery_amount == sum(i.line_amount for i in rows if i.type == "delivery_charge")
        assert order.total_tax_amount == sum(tax_sum[i.id] for i in rows)
        assert order.grand_total_amount == sum(i.line_amount + i.adjustment_amount + i.tax_amount for i in rows)
    with db.read() as s:
        events = s.execute(select(OutboxEvent.type, func.count()).group_by(OutboxEvent.type)).all()
    assert sorted(tuple(e) for e in events) == [
        ("channel.sourcing_changed", 1), ("inventory.reserved", 16), ("location_group.created", 1),
        ("order.created", 30),
    ]


def test_loading_twice_changes_nothing(db: Database) -> None:
    first = load_demo(db, orders=30)
    before = _counts(db)
    # when it is loaded again (even asking for more orders)
    again = load_demo(db, orders=50)
    # then it says so and writes nothing
    assert first.already_loaded is False
    assert again == DemoSummary(already_loaded=True)
    assert "already loaded" in again.message
    assert _counts(db) == before


def test_one_seed_gives_the_same_orders(db: Database) -> None:
    # given the demo loaded once
    load_demo(db, orders=30)
    first = _orders(db)
    # when the database is emptied and the demo loaded again with the same seed
    empty_tables(db)
    load_demo(db, orders=30)
    # then every order has the same number, reference, account, currency, total and date
    assert _orders(db) == first
    # and another seed gives other orders
    empty_tables(db)
    load_demo(db, orders=30, seed=8)
    assert [o[1:5] for o in _orders(db)] != [o[1:5] for o in first]


def _readme_order() -> dict[str, Any]:
    """The body of the README's example order (its `ORDER='…'`), so the README is tested as written."""
    found = re.search(r"^ORDER='(\{.*?\})'$", README.read_text(encoding="utf-8"), re.S | re.M)
    assert found is not None
    return dict(json.loads(found.group(1)))


def _key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


def test_the_web_channel_reserves_its_orders_at_intake(db: Database) -> None:
    # given the demo with 30 orders
    load_demo(db, orders=30)
    with db.read() as s:
        web = sourcing.get_sourcing(s, "web")
        others = [sourcing.get_sourcing(s, c)["mode"] for c in ("edi", "marketplace", "phone", "pos")]
        group = groups.get_group(s, "WAREHOUSES")
        items = s.execute(
            select(OrderItemSummary.id, OrderItemSummary.order_summary_id.label("order_id"),
                   OrderItemSummary.quantity_ordered, SalesChannel.code)
            .join(OrderSummary, OrderSummary.id == OrderItemSummary.order_summary_id)
            .join(SalesChannel, SalesChannel.id == OrderSummary.channel_id)
            .where(OrderItemSummary.type == "product")
        ).all()
        reserved = dict(s.execute(
            select(InventoryReservation.reference, func.sum(InventoryReservation.quantity))
            .group_by(InventoryReservation.reference)
        ).all())
    # then the web channel reserves at the group of all eight warehouses, the others when routed
    assert web == {"channel": "web", "mode": "location_group", "target": "WAREHOUSES"}
    assert others == ["none"] * 4
    assert group["locations"] == ["WH-BHX", "WH-DUI", "WH-LYS", "WH-MEM", "WH-MIL", "WH-OSA", "WH-VNL", "WH-WAW"]
    # and every item of a web order holds its quantity, and no other item holds anything
    web_items = [i for i in items if i.code == "web"]
    assert (len({i.order_id for i in web_items}), len(web_items)) == (16, 76)
    assert {str(i.id): i.quantity_ordered for i in web_items} == reserved
    assert [i for i in items if i.code != "web" and str(i.id) in reserved] == []


def test_the_readme_order_is_placed_replayed_and_found_again(
    db: Database, client: TestClient, admin: dict[str, str]
) -> None:
    # given the demo (without its orders) and the README's order with one Idempotency-Key
    load_demo(db, orders=0)
    order, key = _readme_order(), admin | _key()
    # when it is placed
    placed = client.post("/api/v1/orders", json=order, headers=key)
    # then it answers 201 with the totals the README states
    assert placed.status_code == 201, placed.text
    doc = placed.json()
    assert (doc["number"], doc["account"], doc["channel"], doc["currency"]) == ("SO-000001", "ACME", "web", "EUR")
    # (no tax lines sent: the engine adds 19 % German VAT on 17.50 + 12.50, the demo's German seller
    # selling to a German business)
    assert doc["totals"] == {"product": "17.50", "adjustment": "0.00", "delivery": "12.50", "tax": "5.70",
                             "grand_total": "35.70"}
    assert doc["tax"] == "calculate"
    # when it is sent again with the same key: the stored answer is replayed
    again = client.post("/api/v1/orders", json=order, headers=key)
    assert (again.status_code, again.headers["Idempotent-Replayed"], again.json()) == (201, "true", doc)
    # when it is sent with a new key: the same channel and reference answer 200 with the same order
    found = client.post("/api/v1/orders", json=order, headers=admin | _key())
    assert (found.status_code, found.json()["id"]) == (200, doc["id"])


def test_the_web_channel_accepts_no_more_than_the_stock(db: Database, client: TestClient,
                                                         admin: dict[str, str]) -> None:
    # given the demo (without its orders) and what the warehouses can fulfil of BOLT-M8
    load_demo(db, orders=0)

    def available() -> int:
        r = client.post("/api/v1/availability", json={"skus": ["BOLT-M8"], "location_groups": ["WAREHOUSES"]},
                        headers=admin)
        return int(r.json()["location_groups"][0]["available_to_fulfill"])

    stock = available()
    assert stock == 244_400

    def place(reference: str, quantity: int) -> Any:
        order = _readme_order()
        order["external_reference"] = reference
        order["delivery_groups"][0]["lines"][0]["quantity"] = quantity
        return client.post("/api/v1/orders", json=order, headers=admin | _key())

    # when a web order takes all of it (split over the warehouses that have it)
    assert place("WEB-1", stock).status_code == 201
    # then the next order, of 100 bolts, is refused as out of stock and holds nothing
    refused = place("WEB-2", 100)
    assert (refused.status_code, refused.json()["type"]) == (409, "https://ordino.dev/problems/out-of-stock")
    assert available() == 0
    with db.read() as s:
        assert s.execute(select(func.count()).select_from(OrderSummary)).scalar_one() == 1
        held = s.execute(select(func.count(func.distinct(InventoryReservation.reference)),
                                func.sum(InventoryReservation.quantity))).one()
    assert tuple(held) == (1, stock)
