"""/api/v1/reservations: cart holds with expiry, idempotent creation, release, transfer, fulfil."""

from __future__ import annotations

from typing import Any

from ordino.inventory.models import InventoryReservation
from ordino.kernel.auth import Role
from tests import factories
from tests.conftest import api_key
from tests.inventory.conftest import NOW_TEXT, count, events, positions, reservations

URL = "/api/v1/reservations"


def hold(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "reference": "cart-7f3a",
        "lines": [{"sku": "BOLT-M8", "location": "WH-BER", "quantity": 3}],
        "expires_in_seconds": 900,
    }
    body.update(overrides)
    return body


def test_a_cart_hold_expires_after_the_given_seconds(world, client, admin, frozen) -> None:  # type: ignore[no-untyped-def]
    factories.position(world, on_hand=10)
    r = client.post(URL, json=hold(), headers=admin)
    assert r.status_code == 201, r.text
    [doc] = r.json()["reservations"]
    assert r.json() == {"reference": "cart-7f3a", "reservations": [{
        "id": doc["id"], "reference": "cart-7f3a", "sku": "BOLT-M8", "location": "WH-BER", "status": "active",
        "quantity": 3, "open_quantity": 3, "backordered_quantity": 0, "fulfilled_quantity": 0, "released_quantity": 0,
        "transferred_quantity": 0, "backordered": False, "expires_at": "2026-11-26T10:15:00+00:00",
        "transferred_from_id": None, "created_at": NOW_TEXT, "updated_at": NOW_TEXT,
    }]}
    assert positions(world) == {("BOLT-M8", "WH-BER"): (10, 3, 0, 0, 0)}


def test_same_idempotency_key_reserves_once(world, client, admin) -> None:  # type: ignore[no-untyped-def]
    factories.position(world, on_hand=10)
    h = {**admin, "Idempotency-Key": "9b1c"}
    first = client.post(URL, json=hold(), headers=h)
    again = client.post(URL, json=hold(), headers=h)
    assert (first.status_code, again.status_code, again.headers["Idempotent-Replayed"]) == (201, 201, "true")
    assert again.json() == first.json()
    assert positions(world) == {("BOLT-M8", "WH-BER"): (10, 3, 0, 0, 0)}
    assert count(world, InventoryReservation) == 1


def test_out_of_stock_is_a_409_problem(world, client, admin, frozen) -> None:  # type: ignore[no-untyped-def]
    factories.position(world, on_hand=2)
    r = client.post(URL, json=hold(expires_at="2026-12-01T00:00:00Z", expires_in_seconds=None), headers=admin)
    assert r.status_code == 409
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json() == {
        "type": "https://ordino.dev/problems/out-of-stock", "title": "Out of stock", "status": 409,
        "detail": "not enough stock (BOLT-M8 at WH-BER: 2 of 3)",
        "errors": [{"field": "lines[0].quantity", "message": "3 requested, 2 available at WH-BER"}],
        "instance": URL,
        "unavailable": [{"sku": "BOLT-M8", "location": "WH-BER", "requested": 3, "available": 2,
                         "available_to_fulfill": 2, "available_to_order": 2}],
    }
    assert (positions(world), count(world, InventoryReservation), events(world)) == (
        {("BOLT-M8", "WH-BER"): (2, 0, 0, 0, 0)}, 0, []
    )


def test_payload_refusals(world, client, admin, frozen) -> None:  # type: ignore[no-untyped-def]
    both = client.post(URL, json=hold(expires_at="2026-12-01T00:00:00Z"), headers=admin)
    assert both.json()["errors"] == [
        {"field": "expires_at", "message": "give expires_in_seconds or expires_at, not both"}
    ]
    unknown = client.post(URL, json=hold(lines=[{"sku": "NOPE", "location": "WH-BER", "quantity": 1}]), headers=admin)
    assert unknown.json()["errors"] == [{"field": "lines[0].sku", "message": "no product 'NOPE'"}]
    bad_ref = client.post(URL, json=hold(reference="a/b"), headers=admin)
    assert bad_ref.json()["errors"][0]["field"] == "reference"
    assert count(world, InventoryReservation) == 0


def test_list_release_transfer_and_fulfil(world, client, admin) -> None:  # type: ignore[no-untyped-def]
    factories.position(world, on_hand=10)
    factories.position(world, "BOLT-M8", "WH-HAM", on_hand=5)
    client.post(URL, json=hold(reference="item-1", expires_in_seconds=None,
                               lines=[{"sku": "BOLT-M8", "location": "WH-BER", "quantity": 6}]), headers=admin)
    listed = client.get(URL, params={"reference": "item-1"}, headers=admin).json()
    assert [(x["reference"], x["quantity"]) for x in listed["items"]] == [("item-1", 6)]

    moved = client.post(f"{URL}/item-1/transfer", json={"sku": "BOLT-M8", "to_location": "WH-HAM", "quantity": 2},
                        headers=admin)
    assert moved.status_code == 200, moved.text
    assert [(x["location"], x["open_quantity"]) for x in moved.json()["reservations"]] == [("WH-BER", 4), ("WH-HAM", 2)]

    shipped = client.post(f"{URL}/item-1/fulfil", json={"lines": [{"sku": "BOLT-M8", "location": "WH-HAM",
                                                                   "quantity": 2}]}, headers=admin)
    assert shipped.status_code == 200, shipped.text

    released = client.post(f"{URL}/item-1/release", json={"sku": "BOLT-M8", "quantity": 1}, headers=admin)
    assert [(x["location"], x["quantity"]) for x in released.json()["released"]] == [("WH-BER", 1)]
    rest = client.post(f"{URL}/item-1/release", headers=admin)
    assert [(x["location"], x["quantity"]) for x in rest.json()["released"]] == [("WH-BER", 3)]

    assert positions(world) == {("BOLT-M8", "WH-BER"): (10, 0, 0, 0, 0), ("BOLT-M8", "WH-HAM"): (3, 0, 0, 0, 0)}
    assert [(r["location"], r["status"]) for r in reservations(world)] == [("WH-BER", "released"),
                                                                             ("WH-HAM", "fulfilled")]
    assert [t for t, _ in events(world)] == ["inventory.reserved", "inventory.transferred", "inventory.fulfilled",
                                             "inventory.released", "inventory.released"]
    assert client.post(f"{URL}/item-9/release", headers=admin).status_code == 404


def test_roles(world, client) -> None:  # type: ignore[no-untyped-def]
    factories.position(world, on_hand=10)
    buyer, finance = api_key(world, Role.BUYER), api_key(world, Role.FINANCE)
    fulfillment, integration = api_key(world, Role.FULFILLMENT), api_key(world, Role.INTEGRATION)
    assert client.post(URL, json=hold(), headers=buyer).status_code == 403
    assert client.post(URL, json=hold(), headers=finance).status_code == 403
    assert client.get(URL, headers=buyer).status_code == 403
    assert count(world, InventoryReservation) == 0
    assert client.post(URL, json=hold(), headers=integration).status_code == 201
    line = {"sku": "BOLT-M8", "location": "WH-BER", "quantity": 1}
    assert client.post(f"{URL}/cart-7f3a/fulfil", json={"lines": [line]}, headers=buyer).status_code == 403
    assert client.post(f"{URL}/cart-7f3a/fulfil", json={"lines": [line]}, headers=fulfillment).status_code == 200
