"""PUT /api/v1/inventory with larger batches: duplicates found wherever they sit in the batch,
every record answered with its own position, positions written in lock order."""

from __future__ import annotations

import uuid
from typing import Any

from ordino.inventory.models import InventoryRecord
from tests import factories
from tests.inventory.conftest import count, positions

URL = "/api/v1/inventory"


def rid(n: int) -> str:
    return str(uuid.UUID(int=n))


def test_duplicates_are_named_in_the_batch_order_not_the_id_order(world, client, admin) -> None:  # type: ignore[no-untyped-def]
    # given records 3 and 7 applied before
    first = client.put(URL, json={"mode": "delta", "records": [
        {"record_id": rid(7), "sku": "BOLT-M8", "location": "WH-BER", "on_hand": 1},
        {"record_id": rid(3), "sku": "NUT-M8", "location": "WH-BER", "on_hand": 1},
    ]}, headers=admin)
    assert first.status_code == 200, first.text
    # when a batch sends new ids around them, in an order unlike the ids'
    batch: list[dict[str, Any]] = [
        {"record_id": rid(9), "sku": "BOLT-M8", "location": "WH-HAM", "on_hand": 4},
        {"record_id": rid(7), "sku": "BOLT-M8", "location": "WH-BER", "on_hand": 1},
        {"record_id": rid(1), "sku": "NUT-M8", "location": "WH-HAM", "on_hand": 2},
        {"record_id": rid(3), "sku": "NUT-M8", "location": "WH-BER", "on_hand": 1},
    ]
    r = client.put(URL, json={"mode": "delta", "records": batch}, headers=admin)
    # then exactly the two old ones are duplicates, and each record reports its own position
    assert [(x["record_id"], x["status"], x.get("position", {}).get("on_hand")) for x in r.json()["records"]] == [
        (rid(9), "applied", 4), (rid(7), "duplicate", None), (rid(1), "applied", 2), (rid(3), "duplicate", None),
    ]
    assert positions(world) == {
        ("BOLT-M8", "WH-BER"): (1, 0, 0, 0, 0), ("NUT-M8", "WH-BER"): (1, 0, 0, 0, 0),
        ("BOLT-M8", "WH-HAM"): (4, 0, 0, 0, 0), ("NUT-M8", "WH-HAM"): (2, 0, 0, 0, 0),
    }
    assert count(world, InventoryRecord) == 4


def test_a_batch_of_a_thousand_absolute_records(world, client, admin) -> None:  # type: ignore[no-untyped-def]
    # given 50 products at 20 locations
    skus = [f"P-{n:02d}" for n in range(50)]
    codes = [f"L-{n:02d}" for n in range(20)]
    for sku in skus:
        factories.product(world, sku)
    for code in codes:
        factories.location(world, code)
    factories.position(world, "P-07", "L-03", on_hand=1, reserved=1)
    # when one call sets every position, the records in no particular order
    records = [
        {"record_id": rid(1000 + n), "sku": skus[m // 20], "location": codes[(m * 7) % 20], "on_hand": m,
         "safety_stock": m % 3}
        for n in range(1000)
        for m in [(n * 379) % 1000]
    ]
    r = client.put(URL, json={"mode": "absolute", "records": records}, headers=admin)
    # then each record is applied and answers its own position's figures
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["applied"], body["duplicates"], body["errors"]) == (1000, 0, 0)
    expected = {}
    for sent, got in zip(records, body["records"], strict=True):
        reserved = 1 if (sent["sku"], sent["location"]) == ("P-07", "L-03") else 0
        atf = sent["on_hand"] - reserved - sent["safety_stock"]
        assert got["position"] == {
            "on_hand": sent["on_hand"], "reserved": reserved, "safety_stock": sent["safety_stock"], "backordered": 0,
            "futures_total": 0, "available_to_fulfill": atf, "available_to_order": atf,
        }, sent
        expected[(sent["sku"], sent["location"])] = (sent["on_hand"], reserved, sent["safety_stock"], 0, 0)
    # and the table holds exactly that
    assert positions(world) == expected
    assert len(expected) == 1000
