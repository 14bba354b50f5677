"""PUT /api/v1/inventory: absolute and delta records, futures, idempotency by record_id,
per-record errors and partial batches."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from ordino.inventory import service
from ordino.inventory.models import InventoryPosition, InventoryRecord
from ordino.kernel.auth import Role
from tests import factories
from tests.conftest import api_key
from tests.inventory.conftest import count, events, futures, positions

URL = "/api/v1/inventory"


def rid(n: int) -> str:
    return str(uuid.UUID(int=n))


def record(n: int, sku: str = "BOLT-M8", location: str = "WH-BER", **values: Any) -> dict[str, Any]:
    return {"record_id": rid(n), "sku": sku, "location": location, **values}


def put(client, admin, mode: str, *records: dict[str, Any]):  # type: ignore[no-untyped-def]
    return client.put(URL, json={"mode": mode, "records": list(records)}, headers=admin)


def test_absolute_record_creates_the_position(world, client, admin) -> None:  # type: ignore[no-untyped-def]
    # when stock is set as in DESIGN §6
    r = put(client, admin, "absolute", record(
        1, on_hand=1200, safety_stock=50, futures=[{"quantity": 500, "expected_on": "2026-12-10"}]
    ))
    # then the position holds it and the record is reported applied with the new figures
    assert r.status_code == 200, r.text
    assert r.json() == {
        "mode": "absolute", "applied": 1, "duplicates": 0, "errors": 0,
        "records": [{
            "record_id": rid(1), "sku": "BOLT-M8", "location": "WH-BER", "status": "applied",
            "position": {"on_hand": 1200, "reserved": 0, "safety_stock": 50, "backordered": 0, "futures_total": 500,
                         "available_to_fulfill": 1150, "available_to_order": 1650},
        }],
    }
    assert positions(world) == {("BOLT-M8", "WH-BER"): (1200, 0, 50, 500, 0)}
    assert futures(world) == {("BOLT-M8", "WH-BER"): [("2026-12-10", 500)]}
    assert events(world) == [
        ("inventory.updated", {"source": "api", "mode": "absolute", "applied": 1, "duplicates": 0, "errors": 0})
    ]


def test_absolute_keeps_what_it_does_not_name_and_replaces_futures(world, client, admin) -> None:  # type: ignore[no-untyped-def]
    factories.position(world, on_hand=10, safety_stock=3, reserved=4,
                       futures=[(date(2026, 12, 1), 5), (date(2026, 12, 8), 6)])
    # when only on_hand is counted
    put(client, admin, "absolute", record(1, on_hand=20))
    # then safety stock, reservations and futures stay
    assert positions(world) == {("BOLT-M8", "WH-BER"): (20, 4, 3, 11, 0)}
    assert futures(world) == {("BOLT-M8", "WH-BER"): [("2026-12-01", 5), ("2026-12-08", 6)]}
    # when futures are given, they replace the position's futures (two lines of a date are summed)
    put(client, admin, "absolute", record(2, futures=[
        {"quantity": 2, "expected_on": "2026-12-15"}, {"quantity": 1, "expected_on": "2026-12-15"}
    ]))
    assert futures(world) == {("BOLT-M8", "WH-BER"): [("2026-12-15", 3)]}
    assert positions(world) == {("BOLT-M8", "WH-BER"): (20, 4, 3, 3, 0)}
    # and an empty list clears them
    put(client, admin, "absolute", record(3, futures=[]))
    assert (futures(world), positions(world)) == ({}, {("BOLT-M8", "WH-BER"): (20, 4, 3, 0, 0)})


def test_delta_records_add_and_add_futures_per_date(world, client, admin) -> None:  # type: ignore[no-untyped-def]
    factories.position(world, on_hand=10, safety_stock=2, futures=[(date(2026, 12, 1), 5)])
    r = put(client, admin, "delta", record(1, on_hand=-4, safety_stock=1, futures=[
        {"quantity": 3, "expected_on": "2026-12-01"}, {"quantity": 7, "expected_on": "2026-12-20"}
    ]), record(2, sku="NUT-M8", on_hand=9))
    assert (r.json()["applied"], r.json()["errors"]) == (2, 0)
    assert positions(world) == {("BOLT-M8", "WH-BER"): (6, 0, 3, 15, 0), ("NUT-M8", "WH-BER"): (9, 0, 0, 0, 0)}
    assert futures(world) == {("BOLT-M8", "WH-BER"): [("2026-12-01", 8), ("2026-12-20", 7)]}


def test_a_delta_below_zero_is_refused_for_that_record_only(world, client, admin) -> None:  # type: ignore[no-untyped-def]
    factories.position(world, on_hand=3)
    # when one record would take on hand below zero and the other is fine
    r = put(client, admin, "delta",
            record(1, on_hand=-5, futures=[{"quantity": 1, "expected_on": "2026-12-01"}]),
            record(2, sku="NUT-M8", location="WH-HAM", on_hand=-1),
            record(3, sku="NUT-M8", on_hand=4))
    # then that record is an error naming the field, nothing of it applied, and the rest applied
    body = r.json()
    assert (body["applied"], body["duplicates"], body["errors"]) == (1, 0, 2)
    assert [x["status"] for x in body["records"]] == ["error", "error", "applied"]
    assert [x.get("errors") for x in body["records"]] == [
        [{"field": "records[0].on_hand", "message": "would be negative: 3 now, change -5"}],
        [{"field": "records[1].on_hand", "message": "would be negative: 0 now, change -1"}],
        None,
    ]
    assert positions(world) == {("BOLT-M8", "WH-BER"): (3, 0, 0, 0, 0), ("NUT-M8", "WH-BER"): (4, 0, 0, 0, 0)}
    assert futures(world) == {}
    # and a refused record's id is free again: the corrected record applies
    again = put(client, admin, "delta", record(1, on_hand=-2))
    assert again.json()["records"][0]["status"] == "applied"
    assert positions(world)[("BOLT-M8", "WH-BER")] == (1, 0, 0, 0, 0)


def test_a_record_id_applied_before_is_skipped_as_duplicate(world, client, admin) -> None:  # type: ignore[no-untyped-def]
    put(client, admin, "delta", record(1, on_hand=5))
    # when the same record is sent again (a retry), alongside a new one
    r = put(client, admin, "delta", record(1, on_hand=5), record(2, on_hand=1))
    # then it is reported as duplicate and not applied twice
    assert [(x["record_id"], x["status"]) for x in r.json()["records"]] == [(rid(1), "duplicate"), (rid(2), "applied")]
    assert (r.json()["applied"], r.json()["duplicates"]) == (1, 1)
    assert positions(world) == {("BOLT-M8", "WH-BER"): (6, 0, 0, 0, 0)}
    assert count(world, InventoryRecord) == 2


def test_one_record_id_twice_in_a_batch(world, client, admin) -> None:  # type: ignore[no-untyped-def]
    r = put(client, admin, "delta", record(1, on_hand=5), record(1, on_hand=5))
    assert [x["status"] for x in r.json()["records"]] == ["applied", "error"]
    assert r.json()["records"][1]["errors"] == [
        {"field": "records[1].record_id", "message": "is used by an earlier record of this batch"}
    ]
    assert positions(world) == {("BOLT-M8", "WH-BER"): (5, 0, 0, 0, 0)}


def test_unknown_sku_and_location_are_per_record_errors(world, client, admin) -> None:  # type: ignore[no-untyped-def]
    r = put(client, admin, "absolute",
            record(1, sku="NOPE", on_hand=1), record(2, location="WH-XX", on_hand=1), record(3, on_hand=7))
    assert [x.get("errors") for x in r.json()["records"]] == [
        [{"field": "records[0].sku", "message": "no product 'NOPE'"}],
        [{"field": "records[1].location", "message": "no location 'WH-XX'"}],
        None,
    ]
    assert positions(world) == {("BOLT-M8", "WH-BER"): (7, 0, 0, 0, 0)}
    assert count(world, InventoryRecord) == 1


def test_records_of_one_position_apply_in_their_order(world, client, admin) -> None:  # type: ignore[no-untyped-def]
    r = put(client, admin, "delta", record(1, on_hand=5), record(2, on_hand=-7), record(3, on_hand=-2),
            record(4, on_hand=10))
    assert [x["status"] for x in r.json()["records"]] == ["applied", "error", "applied", "applied"]
    assert [x.get("position", {}).get("on_hand") for x in r.json()["records"]] == [5, None, 3, 13]
    assert positions(world) == {("BOLT-M8", "WH-BER"): (13, 0, 0, 0, 0)}


def test_a_count_below_the_reservations_is_recorded_and_reported(world, client, admin) -> None:  # type: ignore[no-untyped-def]
    factories.position(world, on_hand=10, safety_stock=1)
    world.transaction(lambda s: service.reserve(s, "order-1", [("BOLT-M8", "WH-BER", 6)]))
    # when a stock count finds 4
    r = put(client, admin, "absolute", record(1, on_hand=4))
    # then the count is never refused, and available to fulfil is negative
    assert r.json()["records"][0]["position"]["available_to_fulfill"] == -3
    assert positions(world) == {("BOLT-M8", "WH-BER"): (4, 6, 1, 0, 0)}


def test_invalid_payload_is_422_and_applies_nothing(world, client, admin) -> None:  # type: ignore[no-untyped-def]
    r = put(client, admin, "absolute", record(1, on_hand=5), record(2, on_hand=-1), record(3))
    assert r.status_code == 422
    assert r.json()["errors"] == [
        {"field": "records[1].on_hand", "message": "must be 0 or more in absolute mode"},
        {"field": "records[2].on_hand", "message": "give on_hand, safety_stock or futures"},
    ]
    shape = client.put(URL, json={"mode": "sideways", "records": [{"sku": "BOLT-M8", "location": "WH-BER",
                                                                    "on_hand": "5"}]}, headers=admin)
    assert shape.status_code == 422
    assert {e["field"] for e in shape.json()["errors"]} == {"mode", "records[0].record_id", "records[0].on_hand"}
    assert (positions(world), count(world, InventoryPosition), events(world)) == ({}, 0, [])


def test_roles(world, client) -> None:  # type: ignore[no-untyped-def]
    body = {"mode": "absolute", "records": [record(1, on_hand=1)]}
    assert client.put(URL, json=body, headers=api_key(world, Role.AGENT)).status_code == 403
    assert client.put(URL, json=body, headers=api_key(world, Role.BUYER)).status_code == 403
    assert positions(world) == {}
    assert client.put(URL, json=body, headers=api_key(world, Role.INTEGRATION)).status_code == 200
    assert positions(world) == {("BOLT-M8", "WH-BER"): (1, 0, 0, 0, 0)}
