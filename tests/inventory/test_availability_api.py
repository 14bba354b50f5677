"""POST /api/v1/availability: per SKU × location and per SKU × group, exact and current."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import insert

from ordino.catalog.models import Location, Product
from ordino.inventory import service
from ordino.inventory.models import InventoryPosition
from ordino.kernel import clock
from ordino.kernel.auth import Role
from ordino.kernel.ids import new_id
from tests import factories
from tests.conftest import api_key

URL = "/api/v1/availability"


def row(sku: str, where: dict[str, str], on_hand: int = 0, reserved: int = 0, safety_stock: int = 0,
        futures: list[dict[str, Any]] | None = None, backordered: int = 0) -> dict[str, Any]:
    total = sum(f["quantity"] for f in futures or [])
    atf = on_hand - reserved - safety_stock
    return {"sku": sku, **where, "on_hand": on_hand, "reserved": reserved, "safety_stock": safety_stock,
            "backordered": backordered, "futures_total": total, "available_to_fulfill": atf,
            "available_to_order": atf + total - backordered, "futures": futures or []}


def test_rows_per_sku_and_location_and_sums_per_group(world, client, admin) -> None:  # type: ignore[no-untyped-def]
    # given stock at three locations, with futures, and two overlapping groups
    factories.position(world, "BOLT-M8", "WH-BER", on_hand=100, reserved=10, safety_stock=5,
                       futures=[(date(2026, 12, 10), 50), (date(2026, 12, 24), 20)])
    factories.position(world, "BOLT-M8", "WH-HAM", on_hand=7, reserved=9, futures=[(date(2026, 12, 10), 5)])
    factories.position(world, "NUT-M8", "ST-MUC", on_hand=3)
    factories.location_group(world, "DE", ["WH-BER", "WH-HAM", "ST-MUC"])
    factories.location_group(world, "NORTH", ["WH-HAM"])
    # when availability is asked for two SKUs at two locations and both groups
    r = client.post(URL, json={"skus": ["BOLT-M8", "NUT-M8"], "locations": ["WH-BER", "WH-HAM"],
                               "location_groups": ["DE", "NORTH"]}, headers=admin)
    # then every cell is there, zeros where there is no position, in the order asked
    assert r.status_code == 200, r.text
    loc = lambda code: {"location": code}  # noqa: E731
    grp = lambda code: {"location_group": code}  # noqa: E731
    assert r.json()["locations"] == [
        row("BOLT-M8", loc("WH-BER"), 100, 10, 5, [{"quantity": 50, "expected_on": "2026-12-10"},
                                                   {"quantity": 20, "expected_on": "2026-12-24"}]),
        row("BOLT-M8", loc("WH-HAM"), 7, 9, 0, [{"quantity": 5, "expected_on": "2026-12-10"}]),
        row("NUT-M8", loc("WH-BER")),
        row("NUT-M8", loc("WH-HAM")),
    ]
    # and a group's figures are its members' sums (WH-HAM's deficit of 2 lowers DE's figure)
    assert r.json()["location_groups"] == [
        row("BOLT-M8", grp("DE"), 107, 19, 5, [{"quantity": 55, "expected_on": "2026-12-10"},
                                               {"quantity": 20, "expected_on": "2026-12-24"}]),
        row("BOLT-M8", grp("NORTH"), 7, 9, 0, [{"quantity": 5, "expected_on": "2026-12-10"}]),
        row("NUT-M8", grp("DE"), 3),
        row("NUT-M8", grp("NORTH")),
    ]
    assert r.json()["location_groups"][0]["available_to_fulfill"] == 83


def test_unknown_skus_locations_and_groups_are_named(world, client, admin) -> None:  # type: ignore[no-untyped-def]
    r = client.post(URL, json={"skus": ["BOLT-M8", "NOPE"], "locations": ["WH-XX"], "location_groups": ["MARS"]},
                    headers=admin)
    assert r.status_code == 422
    assert r.json()["errors"] == [
        {"field": "skus[1]", "message": "no product 'NOPE'"},
        {"field": "locations[0]", "message": "no location 'WH-XX'"},
        {"field": "location_groups[0]", "message": "no location group 'MARS'"},
    ]


def test_without_locations_every_active_location(world, client, admin) -> None:  # type: ignore[no-untyped-def]
    factories.location(world, "WH-OLD", active=False)
    r = client.post(URL, json={"skus": ["NUT-M8"]}, headers=admin)
    assert [x["location"] for x in r.json()["locations"]] == ["ST-MUC", "WH-BER", "WH-HAM"]
    assert r.json()["location_groups"] == []


def test_every_committed_write_is_visible_at_once(world, client, admin) -> None:  # type: ignore[no-untyped-def]
    ask = {"skus": ["BOLT-M8"], "locations": ["WH-BER"]}
    client.put("/api/v1/inventory", json={"mode": "absolute", "records": [
        {"record_id": str(uuid.UUID(int=1)), "sku": "BOLT-M8", "location": "WH-BER", "on_hand": 12}]}, headers=admin)
    assert client.post(URL, json=ask, headers=admin).json()["locations"][0]["available_to_fulfill"] == 12
    world.transaction(lambda s: service.reserve(s, "cart-1", [("BOLT-M8", "WH-BER", 5)]))
    assert client.post(URL, json=ask, headers=admin).json()["locations"][0]["available_to_fulfill"] == 7
    world.transaction(lambda s: service.release(s, "cart-1"))
    assert client.post(URL, json=ask, headers=admin).json()["locations"][0]["available_to_fulfill"] == 12


def test_too_many_cells_and_bad_payloads_are_refused(world, client, admin, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from ordino.inventory import availability

    monkeypatch.setattr(availability, "MAX_CELLS", 3)
    r = client.post(URL, json={"skus": ["BOLT-M8", "NUT-M8"], "locations": ["WH-BER", "WH-HAM"]}, headers=admin)
    assert r.json()["errors"] == [{"field": "skus", "message": "4 SKU × location cells asked; at most 3 per call"}]
    assert client.post(URL, json={"skus": []}, headers=admin).status_code == 422
    assert client.post(URL, json={"skus": ["BOLT-M8"]}, headers=api_key(world, Role.BUYER)).status_code == 403


def test_a_thousand_skus_at_two_hundred_locations_in_one_call(db, client, admin) -> None:  # type: ignore[no-untyped-def]
    # given 1,000 products, 200 locations, a group of 50 of them, and 20,000 positions
    now = clock.now()
    skus = [f"S-{n:04d}" for n in range(1000)]
    codes = [f"L-{n:03d}" for n in range(200)]
    location_ids = [new_id() for _ in codes]

    def seed(s: Any) -> None:
        s.execute(insert(Product), [{"id": new_id(), "sku": k, "name": k, "created_at": now, "updated_at": now}
                                    for k in skus])
        s.execute(insert(Location), [{"id": i, "code": c, "name": c, "country": "DE", "created_at": now,
                                      "updated_at": now} for i, c in zip(location_ids, codes, strict=True)])
        s.execute(insert(InventoryPosition), [
            {"sku": skus[n], "location_id": location_ids[(n * 7 + j) % 200], "on_hand": n + j, "reserved": j,
             "safety_stock": 0, "futures": 0, "backordered": 0, "version": 1, "updated_at": now}
            for n in range(1000) for j in range(20)
        ])

    db.transaction(seed)
    factories.location_group(db, "G50", codes[:50])
    # when all of it is asked in one call
    r = client.post(URL, json={"skus": skus, "locations": codes, "location_groups": ["G50"]}, headers=admin)
    # then there are 200,000 location rows and 1,000 group rows, exact
    assert r.status_code == 200, r.text
    body = r.json()
    assert (len(body["locations"]), len(body["location_groups"])) == (200_000, 1000)
    by_cell = {(x["sku"], x["location"]): x for x in body["locations"]}
    assert by_cell[("S-0003", codes[(3 * 7 + 5) % 200])]["available_to_fulfill"] == 3 + 5 - 5
    assert by_cell[("S-0003", codes[(3 * 7 + 5) % 200])]["on_hand"] == 8
    assert sum(x["on_hand"] for x in body["locations"]) == sum(n + j for n in range(1000) for j in range(20))
    in_group = set(codes[:50])
    expected = sum(n + j for n in range(1000) for j in range(20) if codes[(n * 7 + j) % 200] in in_group)
    assert sum(x["on_hand"] for x in body["location_groups"]) == expected
