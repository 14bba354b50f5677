"""Backorders: products with policy 'backorder' reserve against futures, which are never
oversold either; stock that arrives is allocated to them oldest first."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import pytest

from ordino.inventory import service
from ordino.kernel.errors import Conflict, FieldError
from tests import factories
from tests.inventory.conftest import events, positions, reservations

XMAS = date(2026, 12, 24)


def reserve(db, reference: str, sku: str, quantity: int, location: str = "WH-BER") -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    return db.transaction(lambda s: service.reserve(s, reference, [(sku, location, quantity)]))  # type: ignore[no-any-return]


def refusal(db, reference: str, sku: str, quantity: int) -> Conflict:  # type: ignore[no-untyped-def]
    with pytest.raises(Conflict) as caught:
        reserve(db, reference, sku, quantity)
    return caught.value


@pytest.fixture
def incoming(world):  # type: ignore[no-untyped-def]
    """WASHER-M8 (backorder) and NUT-M8 (deny): 2 on hand at WH-BER and 10 expected on Christmas eve."""
    factories.position(world, "WASHER-M8", "WH-BER", on_hand=2, futures=[(XMAS, 10)])
    factories.position(world, "NUT-M8", "WH-BER", on_hand=2, futures=[(XMAS, 10)])
    return world


def test_stock_first_then_the_futures(incoming) -> None:  # type: ignore[no-untyped-def]
    # when 2 and then 7 are reserved of a backorder product
    [first] = reserve(incoming, "item-1", "WASHER-M8", 2)
    [second] = reserve(incoming, "item-2", "WASHER-M8", 7)
    # then the first comes from stock, the second is backordered against the futures
    assert (first["backordered"], second["backordered"], second["backordered_quantity"]) == (False, True, 7)
    assert positions(incoming)[("WASHER-M8", "WH-BER")] == (2, 2, 0, 10, 7)
    assert events(incoming)[-1][1]["lines"][0]["backordered_quantity"] == 7


def test_futures_are_never_oversold(incoming) -> None:  # type: ignore[no-untyped-def]
    reserve(incoming, "item-1", "WASHER-M8", 8)  # 2 on hand + 10 expected: 8 backordered whole
    problem = refusal(incoming, "item-2", "WASHER-M8", 5)
    assert problem.errors == [FieldError("lines[0].quantity", "5 requested, 4 available at WH-BER")]
    assert problem.extra["unavailable"][0]["available_to_order"] == 4
    # and stock on hand may not be taken from under the backorders it was promised to
    reserve(incoming, "item-3", "WASHER-M8", 4)
    assert positions(incoming)[("WASHER-M8", "WH-BER")] == (2, 0, 0, 10, 12)
    stock_refusal = refusal(incoming, "item-4", "WASHER-M8", 1)
    assert stock_refusal.errors == [FieldError("lines[0].quantity", "1 requested, 0 available at WH-BER")]
    assert positions(incoming)[("WASHER-M8", "WH-BER")] == (2, 0, 0, 10, 12)


def test_deny_products_never_reserve_futures(incoming) -> None:  # type: ignore[no-untyped-def]
    problem = refusal(incoming, "item-1", "NUT-M8", 3)
    assert problem.detail == "not enough stock (NUT-M8 at WH-BER: 2 of 3)"
    assert positions(incoming)[("NUT-M8", "WH-BER")] == (2, 0, 0, 10, 0)


def test_arriving_stock_is_allocated_to_backorders_oldest_first(incoming, client, admin) -> None:  # type: ignore[no-untyped-def]
    reserve(incoming, "item-1", "WASHER-M8", 6)
    reserve(incoming, "item-2", "WASHER-M8", 4)
    assert positions(incoming)[("WASHER-M8", "WH-BER")] == (2, 0, 0, 10, 10)
    # when 7 of the expected units arrive (on hand 2 -> 9, the future now 3)
    client.put("/api/v1/inventory", json={"mode": "absolute", "records": [
        {"record_id": str(uuid.UUID(int=1)), "sku": "WASHER-M8", "location": "WH-BER", "on_hand": 9,
         "futures": [{"quantity": 3, "expected_on": "2026-12-24"}]}]}, headers=admin)
    allocated = incoming.transaction(lambda s: service.allocate_backorders(s))
    # then the oldest backorder (6) moves onto stock; the next (4) waits: only 3 are left
    assert allocated == 1
    assert positions(incoming)[("WASHER-M8", "WH-BER")] == (9, 6, 0, 3, 4)
    assert [(r["reference"], r["backordered"]) for r in reservations(incoming)] == [("item-1", 0), ("item-2", 4)]
    kind, data = events(incoming)[-1]
    assert (kind, [(x["reference"], x["quantity"]) for x in data["reservations"]]) == (
        "inventory.backorders_allocated", [("item-1", 6)]
    )
    # and shipping the allocated one works, the backordered one does not yet
    incoming.transaction(lambda s: service.fulfil(s, "item-1", "WASHER-M8", "WH-BER", 6))
    with pytest.raises(Conflict) as caught:
        incoming.transaction(lambda s: service.fulfil(s, "item-2", "WASHER-M8", "WH-BER", 4))
    assert caught.value.errors == [FieldError(
        "lines[0].quantity",
        "0 units of WASHER-M8 reserved from stock at WH-BER (4 are backordered, not yet in stock); cannot ship 4",
    )]
    assert positions(incoming)[("WASHER-M8", "WH-BER")] == (3, 0, 0, 3, 4)
    assert incoming.transaction(lambda s: service.allocate_backorders(s)) == 0


def test_releasing_a_backorder_gives_the_futures_back(incoming) -> None:  # type: ignore[no-untyped-def]
    reserve(incoming, "item-1", "WASHER-M8", 9)
    incoming.transaction(lambda s: service.release(s, "item-1", "WASHER-M8", 4))
    assert positions(incoming)[("WASHER-M8", "WH-BER")] == (2, 0, 0, 10, 5)
    assert reservations(incoming)[0]["backordered"] == 5
    incoming.transaction(lambda s: service.release(s, "item-1"))
    assert positions(incoming)[("WASHER-M8", "WH-BER")] == (2, 0, 0, 10, 0)


def test_a_backordered_reservation_transfers_onto_stock_elsewhere(incoming) -> None:  # type: ignore[no-untyped-def]
    factories.position(incoming, "WASHER-M8", "WH-HAM", on_hand=5)
    reserve(incoming, "item-1", "WASHER-M8", 4)
    incoming.transaction(lambda s: service.transfer(s, "item-1", "WH-HAM", 4, sku="WASHER-M8"))
    assert positions(incoming)[("WASHER-M8", "WH-BER")] == (2, 0, 0, 10, 0)
    assert positions(incoming)[("WASHER-M8", "WH-HAM")] == (5, 4, 0, 0, 0)
    assert [(r["location"], r["status"], r["backordered"]) for r in reservations(incoming)] == [
        ("WH-BER", "transferred", 0), ("WH-HAM", "active", 0)
    ]


def test_the_policy_is_a_product_field(world, client, admin) -> None:  # type: ignore[no-untyped-def]
    r = client.post("/api/v1/products", json={"sku": "PIN-1", "name": "Pin", "backorder_policy": "backorder"},
                    headers=admin)
    assert (r.status_code, r.json()["backorder_policy"]) == (201, "backorder")
    patched = client.patch("/api/v1/products/PIN-1", json={"backorder_policy": "deny"},
                           headers={**admin, "If-Match": '"1"'})
    assert patched.json()["backorder_policy"] == "deny"
    bad = client.post("/api/v1/products", json={"sku": "PIN-2", "name": "Pin", "backorder_policy": "maybe"},
                      headers=admin)
    assert bad.json()["errors"][0]["field"] == "backorder_policy"


def test_a_refused_reservation_gives_back_what_it_backordered(incoming) -> None:  # type: ignore[no-untyped-def]
    # given a first line that can only be backordered and a second that cannot be had at all
    factories.position(incoming, "WASHER-M8", "WH-HAM", on_hand=0)
    with pytest.raises(Conflict):
        incoming.transaction(lambda s: service.reserve(s, "item-1", [("WASHER-M8", "WH-BER", 5),
                                                                     ("WASHER-M8", "WH-HAM", 1)]))
    # then the backordered units of the first line are given back too
    assert positions(incoming)[("WASHER-M8", "WH-BER")] == (2, 0, 0, 10, 0)
    assert reservations(incoming) == []
