"""Reservations and account-scoped keys. A reservation is held for an account: an order item's for
its order's account, a scoped key's cart hold for the key's. A key scoped to ACME lists ACME's
reservations only; HANSA's (and those held for no account) it cannot release, transfer, fulfil
or reserve under: 404, as a reference that does not exist, and stock, reservations and events
stay as they were."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from ordino.inventory.models import InventoryReservation
from ordino.kernel.auth import Role
from ordino.kernel.db import Database
from tests import factories
from tests.conftest import api_key
from tests.inventory.conftest import events, positions

URL = "/api/v1/reservations"
LINE = {"sku": "BOLT-M8", "location": "WH-BER", "quantity": 1}
READERS = [Role.AGENT, Role.FULFILLMENT, Role.FINANCE, Role.INTEGRATION]


@dataclass(frozen=True)
class World:
    db: Database
    acme: uuid.UUID  # account ids
    hansa: uuid.UUID
    acme_item: str  # the reference of ACME's order item, reserved at intake
    hansa_item: str  # the reference of HANSA's order item, reserved at intake
    hansa_unreserved: str  # an item of a HANSA order on a channel that reserves when routing


def _held(db: Database) -> list[tuple[str, str | None, str, int, int, int]]:
    """Every reservation row: reference, account, status, open, fulfilled, released."""
    r = InventoryReservation
    with db.read() as s:
        rows = s.execute(
            select(r.reference, r.account_id, r.status, r.open_quantity, r.fulfilled_quantity, r.released_quantity)
            .order_by(r.id)
        ).all()
    return [(x[0], None if x[1] is None else str(x[1]), *x[2:]) for x in rows]


def _snapshot(db: Database) -> tuple[Any, ...]:
    return positions(db), _held(db), events(db)


def _place(client: TestClient, admin: dict[str, str], account: str, channel: str) -> str:
    """An order of `account` with one line (BOLT-M8 × 500); returns its item's id."""
    body = factories.order_payload(account=account, channel=channel, external_reference=f"{account}-{channel}",
                                   payments=[])
    r = client.post("/api/v1/orders", json=body, headers=admin)
    assert r.status_code == 201, r.text
    [group] = r.json()["delivery_groups"]
    return str(group["items"][0]["id"])


@pytest.fixture
def scoped_world(world: Database, client: TestClient, admin: dict[str, str]) -> World:
    """ACME and HANSA have an order each on channel `web`, reserved at WH-BER at intake; HANSA has
    one more on `edi`, not reserved yet; an unscoped key holds cart `cart-ops` for no account."""
    factories.legal_entity(world)
    factories.channel(world, "web")
    factories.channel(world, "edi", kind="edi")
    acme, hansa = factories.account(world, "ACME"), factories.account(world, "HANSA")
    factories.position(world, "BOLT-M8", "WH-BER", on_hand=2000)
    factories.position(world, "BOLT-M8", "WH-HAM", on_hand=100)
    r = client.put("/api/v1/channels/web/sourcing", json={"mode": "location", "target": "WH-BER"}, headers=admin)
    assert r.status_code == 200, r.text
    acme_item = _place(client, admin, "ACME", "web")
    hansa_item = _place(client, admin, "HANSA", "web")
    hansa_unreserved = _place(client, admin, "HANSA", "edi")
    r = client.post(URL, json={"reference": "cart-ops", "lines": [LINE]}, headers=admin)
    assert r.status_code == 201, r.text
    return World(world, acme, hansa, acme_item, hansa_item, hansa_unreserved)


def test_reservations_are_held_for_the_orders_account(scoped_world: World) -> None:
    # given the orders reserved at intake and the unscoped cart hold
    w = scoped_world
    # then each order item's reservation is its order's account's, the cart's no account's
    assert _held(w.db) == [
        (w.acme_item, str(w.acme), "active", 500, 0, 0),
        (w.hansa_item, str(w.hansa), "active", 500, 0, 0),
        ("cart-ops", None, "active", 1, 0, 0),
    ]


@pytest.mark.parametrize("role", READERS)
def test_a_scoped_key_lists_its_accounts_reservations_only(
    scoped_world: World, client: TestClient, admin: dict[str, str], role: Role
) -> None:
    # given a key of `role` scoped to ACME
    w = scoped_world
    scoped = api_key(w.db, role, account_id=w.acme)
    # when it lists reservations, all of them and HANSA's reference
    everything = client.get(URL, headers=scoped).json()
    hansas = client.get(URL, params={"reference": w.hansa_item}, headers=scoped).json()
    carts = client.get(URL, params={"reference": "cart-ops"}, headers=scoped).json()
    # then it sees ACME's order item only
    assert [(x["reference"], x["quantity"]) for x in everything["items"]] == [(w.acme_item, 500)]
    assert (hansas["items"], carts["items"]) == ([], [])
    # and an unscoped key sees all three
    assert [x["reference"] for x in client.get(URL, headers=admin).json()["items"]] == [
        "cart-ops", w.hansa_item, w.acme_item
    ]


@pytest.mark.parametrize("role", [Role.AGENT, Role.FULFILLMENT, Role.INTEGRATION])
def test_a_scoped_key_cannot_release_another_accounts_reservation(
    scoped_world: World, client: TestClient, role: Role
) -> None:
    # given a key of `role` scoped to ACME, and the state of stock and reservations
    w = scoped_world
    scoped = api_key(w.db, role, account_id=w.acme)
    before = _snapshot(w.db)
    # when it releases a unit of HANSA's order item, all of it, and the unscoped cart
    one = client.post(f"{URL}/{w.hansa_item}/release", json={"sku": "BOLT-M8", "location": "WH-BER", "quantity": 1},
                      headers=scoped)
    whole = client.post(f"{URL}/{w.hansa_item}/release", headers=scoped)
    cart = client.post(f"{URL}/cart-ops/release", headers=scoped)
    # then each is not found, as an unknown reference, and nothing changed
    assert [(x.status_code, x.json()["detail"]) for x in (one, whole, cart)] == [
        (404, f"no reservations for reference '{w.hansa_item}'"),
        (404, f"no reservations for reference '{w.hansa_item}'"),
        (404, "no reservations for reference 'cart-ops'"),
    ]
    assert _snapshot(w.db) == before
    # and its own account's order item it releases
    own = client.post(f"{URL}/{w.acme_item}/release", json={"sku": "BOLT-M8", "quantity": 1}, headers=scoped)
    assert (own.status_code, [(x["reference"], x["open_quantity"]) for x in own.json()["reservations"]]) == (
        200, [(w.acme_item, 499)]
    )


@pytest.mark.parametrize("role", [Role.AGENT, Role.FULFILLMENT, Role.INTEGRATION])
def test_a_scoped_key_cannot_transfer_another_accounts_reservation(
    scoped_world: World, client: TestClient, admin: dict[str, str], role: Role
) -> None:
    # given a key of `role` scoped to ACME, and the id of HANSA's reservation row
    w = scoped_world
    scoped = api_key(w.db, role, account_id=w.acme)
    [hansa_row] = client.get(URL, params={"reference": w.hansa_item}, headers=admin).json()["items"]
    before = _snapshot(w.db)
    # when it moves HANSA's units to WH-HAM, by reference and SKU, and by the row's id
    by_sku = client.post(f"{URL}/{w.hansa_item}/transfer", json={"sku": "BOLT-M8", "to_location": "WH-HAM",
                                                                 "quantity": 1}, headers=scoped)
    by_id = client.post(f"{URL}/{w.acme_item}/transfer", json={"reservation_id": hansa_row["id"],
                                                               "to_location": "WH-HAM", "quantity": 1}, headers=scoped)
    # then neither is found and nothing changed
    assert [(x.status_code, x.json()["detail"]) for x in (by_sku, by_id)] == [
        (404, f"no reservations for reference '{w.hansa_item}'"), (404, "reservation not found"),
    ]
    assert _snapshot(w.db) == before


@pytest.mark.parametrize("role", [Role.FULFILLMENT, Role.INTEGRATION])
def test_a_scoped_key_cannot_fulfil_another_accounts_reservation(
    scoped_world: World, client: TestClient, role: Role
) -> None:
    # given a key of `role` scoped to ACME
    w = scoped_world
    scoped = api_key(w.db, role, account_id=w.acme)
    before = _snapshot(w.db)
    # when it ships a unit of HANSA's order item
    r = client.post(f"{URL}/{w.hansa_item}/fulfil", json={"lines": [LINE]}, headers=scoped)
    # then it is not found, and no unit left stock: on hand 2000, reserved 1001 at WH-BER
    assert (r.status_code, r.json()["detail"]) == (404, f"no reservations for reference '{w.hansa_item}'")
    assert _snapshot(w.db) == before
    assert positions(w.db)[("BOLT-M8", "WH-BER")] == (2000, 1001, 0, 0, 0)


@pytest.mark.parametrize("role", [Role.AGENT, Role.INTEGRATION])
def test_a_scoped_key_cannot_reserve_under_another_accounts_reference(
    scoped_world: World, client: TestClient, role: Role
) -> None:
    # given a key of `role` scoped to ACME
    w = scoped_world
    scoped = api_key(w.db, role, account_id=w.acme)
    before = _snapshot(w.db)
    # when it reserves under HANSA's reserved order item, HANSA's order item not reserved yet, and
    # the cart held for no account
    answers = [client.post(URL, json={"reference": ref, "lines": [LINE]}, headers=scoped)
               for ref in (w.hansa_item, w.hansa_unreserved, "cart-ops")]
    # then each is not found and nothing is reserved
    assert [(x.status_code, x.json()["detail"]) for x in answers] == [(404, "reference not found")] * 3
    assert _snapshot(w.db) == before


def test_a_scoped_keys_cart_hold_is_its_accounts(scoped_world: World, client: TestClient) -> None:
    # given an agent key scoped to ACME and one scoped to HANSA
    w = scoped_world
    acme_key = api_key(w.db, Role.AGENT, account_id=w.acme)
    hansa_key = api_key(w.db, Role.AGENT, account_id=w.hansa)
    # when ACME's key holds a cart, and reserves more for ACME's order item
    cart = client.post(URL, json={"reference": "cart-acme", "lines": [LINE]}, headers=acme_key)
    more = client.post(URL, json={"reference": w.acme_item, "lines": [LINE]}, headers=acme_key)
    # then both are held for ACME: ACME's key sees them, HANSA's does not and cannot release them
    assert (cart.status_code, more.status_code) == (201, 201)
    assert _held(w.db)[3:] == [("cart-acme", str(w.acme), "active", 1, 0, 0),
                               (w.acme_item, str(w.acme), "active", 1, 0, 0)]
    assert [x["reference"] for x in client.get(URL, headers=acme_key).json()["items"]] == [
        w.acme_item, "cart-acme", w.acme_item
    ]
    assert [x["reference"] for x in client.get(URL, headers=hansa_key).json()["items"]] == [w.hansa_item]
    assert client.post(f"{URL}/cart-acme/release", headers=hansa_key).status_code == 404
    assert _held(w.db)[3][2] == "active"


def test_an_unscoped_keys_reservation_of_an_order_item_is_the_orders_account(
    scoped_world: World, client: TestClient, admin: dict[str, str]
) -> None:
    # given HANSA's order item that is not reserved yet
    w = scoped_world
    # when an unscoped key reserves for it
    r = client.post(URL, json={"reference": w.hansa_unreserved, "lines": [LINE]}, headers=admin)
    # then the reservation is HANSA's: HANSA's key sees it, ACME's does not
    assert r.status_code == 201, r.text
    assert _held(w.db)[-1] == (w.hansa_unreserved, str(w.hansa), "active", 1, 0, 0)
    hansa_key = api_key(w.db, Role.AGENT, account_id=w.hansa)
    acme_key = api_key(w.db, Role.AGENT, account_id=w.acme)
    assert [x["reference"] for x in client.get(URL, headers=hansa_key).json()["items"]] == [
        w.hansa_unreserved, w.hansa_item
    ]
    assert client.get(URL, params={"reference": w.hansa_unreserved}, headers=acme_key).json()["items"] == []
