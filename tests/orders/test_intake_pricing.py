"""Order intake with "pricing": "catalog": price books, tiers, promotions and coupons."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from ordino.kernel.db import Database
from ordino.orders.models import OrderItemAdjustmentLine, OrderSummary
from tests import factories


def _catalog_order(ref: str, quantity: int, **extra: Any) -> dict[str, Any]:
    body = factories.order_payload(external_reference=ref, pricing="catalog", **extra)
    body["delivery_groups"][0]["lines"] = [{"sku": "BOLT-M8", "quantity": quantity}]
    return body


def _price_book(client: Any, admin: dict[str, str]) -> None:
    r = client.post("/api/v1/price-books", headers=admin, json={
        "code": "EUR-LIST", "name": "List EUR", "currency": "EUR", "kind": "list", "is_standard": True,
    })
    assert r.status_code == 201, r.text
    r = client.put("/api/v1/price-books/EUR-LIST/entries", headers=admin, json={"entries": [
        {"sku": "BOLT-M8", "unit_price": "0.0350", "tiers": [{"from_quantity": 1000, "unit_price": "0.0300"}]},
    ]})
    assert r.status_code == 200, r.text


def _count(db: Database, model: Any) -> int:
    with db.read() as s:
        return int(s.execute(select(func.count()).select_from(model)).scalar_one())


def test_catalog_pricing_takes_list_prices_and_tiers(db, client, admin) -> None:  # type: ignore[no-untyped-def]
    # given a standard EUR list with a tier from 1,000 units
    factories.intake_world(db)
    _price_book(client, admin)
    # when 500 and then 1,000 units are ordered without prices
    small = client.post("/api/v1/orders", json=_catalog_order("C-1", 500), headers=admin)
    large = client.post("/api/v1/orders", json=_catalog_order("C-2", 1000), headers=admin)
    # then the list price and the tier price are applied and the totals follow, with German VAT
    # of 19 % on goods and shipping (17.50 + 12.50 → 5.70; 30.00 + 12.50 → 8.075, rounded once: 8.08)
    assert small.status_code == large.status_code == 201, (small.text, large.text)
    items = [r.json()["delivery_groups"][0]["items"][0] for r in (small, large)]
    assert [(i["unit_price"], i["line_amount"]) for i in items] == [("0.035", "17.50"), ("0.03", "30.00")]
    assert [r.json()["totals"]["tax"] for r in (small, large)] == ["5.70", "8.08"]
    assert [r.json()["totals"]["grand_total"] for r in (small, large)] == ["35.70", "50.58"]


def test_coupon_promotion_discounts_once_and_then_is_used_up(db, client, admin) -> None:  # type: ignore[no-untyped-def]
    # given 10 % off orders with coupon SAVE10, usable once
    factories.intake_world(db)
    _price_book(client, admin)
    r = client.post("/api/v1/promotions", headers=admin, json={
        "code": "SAVE10", "name": "10 % off", "level": "order", "kind": "percentage", "percentage": "10",
        "requires_coupon": True, "coupons": [{"code": "SAVE10", "usage_limit": 1}],
    })
    assert r.status_code == 201, r.text
    # when it is used on a 17.50 order
    first = client.post("/api/v1/orders", json=_catalog_order("C-3", 500, coupons=["save10"]), headers=admin)
    # then the line carries a promotion adjustment of -1.75 and the total drops by it
    assert first.status_code == 201, first.text
    item = first.json()["delivery_groups"][0]["items"][0]
    assert [(a["source"], a["reference"], a["amount"]) for a in item["adjustments"]] == [
        ("promotion", "SAVE10", "-1.75")
    ]
    assert first.json()["totals"]["adjustment"] == "-1.75"
    assert first.json()["totals"]["tax"] == "5.37"  # 19 % of 15.75 + 12.50
    assert first.json()["totals"]["grand_total"] == "33.62"
    # and a second order with the same coupon is refused, writing nothing
    second = client.post("/api/v1/orders", json=_catalog_order("C-4", 500, coupons=["SAVE10"]), headers=admin)
    assert second.status_code == 422
    assert second.json()["errors"] == [{"field": "coupons[0]", "message": "coupon 'SAVE10' has been used up"}]
    assert (_count(db, OrderSummary), _count(db, OrderItemAdjustmentLine)) == (1, 1)


def test_a_line_without_a_price_is_named_and_nothing_is_written(db, client, admin) -> None:  # type: ignore[no-untyped-def]
    factories.intake_world(db)
    r = client.post("/api/v1/orders", json=_catalog_order("C-5", 500), headers=admin)
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == ["delivery_groups[0].lines[0].sku"]
    assert _count(db, OrderSummary) == 0
