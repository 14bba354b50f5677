"""/api/v1/products: create, read by SKU or id, list, change with If-Match, deactivate."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from ordino.catalog.models import Product
from ordino.kernel.auth import Role
from ordino.kernel.outbox import OutboxEvent
from tests import factories
from tests.catalog.conftest import NOW_TEXT
from tests.conftest import api_key

URL = "/api/v1/products"


def _count(db, model) -> int:  # type: ignore[no-untyped-def]
    with db.read() as s:
        return int(s.execute(select(func.count()).select_from(model)).scalar_one())


def _product(db, sku: str) -> Any:  # type: ignore[no-untyped-def]
    with db.read() as s:
        return s.execute(select(*Product.__table__.c).where(Product.sku == sku)).one()


def _payload(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "sku": "BOLT-M8",
        "name": "Hex bolt M8x40, zinc plated",
        "description": "DIN 933, strength class 8.8",
        "unit_of_measure": "C62",
        "minimum_quantity": 100,
        "order_multiple": 50,
        "tax_class": "standard",
        "weight_kg": "0.0215",
    }
    body.update(overrides)
    return body


def test_created_product_is_served_by_sku_and_by_id(db, client, admin, frozen) -> None:  # type: ignore[no-untyped-def]
    # when a product is created
    r = client.post(URL, json=_payload(), headers=admin)
    # then it is served as sent, the weight an exact decimal string
    assert r.status_code == 201, r.text
    doc = r.json()
    assert doc == {
        "id": doc["id"],
        "sku": "BOLT-M8",
        "name": "Hex bolt M8x40, zinc plated",
        "description": "DIN 933, strength class 8.8",
        "unit_of_measure": "C62",
        "minimum_quantity": 100,
        "order_multiple": 50,
        "tax_class": "standard",
        "weight_kg": "0.0215",
        "backorder_policy": "deny",
        "active": True,
        "version": 1,
        "created_at": NOW_TEXT,
        "updated_at": NOW_TEXT,
    }
    assert (r.headers["ETag"], r.headers["Location"]) == ('"1"', f"{URL}/{doc['id']}")
    assert client.get(f"{URL}/BOLT-M8", headers=admin).json() == doc
    assert client.get(f"{URL}/{doc['id']}", headers=admin).json() == doc
    assert _product(db, "BOLT-M8").weight_kg == Decimal("0.0215")
    with db.read() as s:
        assert s.execute(select(OutboxEvent.type)).scalars().all() == ["product.created"]


def test_defaults_fill_what_is_left_out(db, client, admin) -> None:  # type: ignore[no-untyped-def]
    r = client.post(URL, json={"sku": "NUT-M8", "name": "Nut M8"}, headers=admin)
    assert r.status_code == 201, r.text
    doc = r.json()
    assert (doc["unit_of_measure"], doc["minimum_quantity"], doc["order_multiple"], doc["tax_class"]) == (
        "EA",
        1,
        1,
        "standard",
    )
    assert (doc["description"], doc["weight_kg"], doc["active"]) == (None, None, True)


def test_duplicate_sku_is_a_409_naming_the_field(db, client, admin) -> None:  # type: ignore[no-untyped-def]
    factories.product(db, "BOLT-M8", name="Original")
    r = client.post(URL, json=_payload(name="Copy"), headers=admin)
    assert r.status_code == 409
    assert r.json()["errors"] == [{"field": "sku", "message": "is already taken"}]
    assert r.json()["type"] == "https://ordino.dev/problems/duplicate"
    assert _count(db, Product) == 1
    assert _product(db, "BOLT-M8").name == "Original"


def test_invalid_fields_are_each_named_and_nothing_is_written(db, client, admin) -> None:  # type: ignore[no-untyped-def]
    body = _payload(
        sku="BOLT M8/40",
        unit_of_measure="each",
        minimum_quantity=0,
        order_multiple="50",
        weight_kg=0.02,
        active="yes",
    )
    r = client.post(URL, json=body, headers=admin)
    assert r.status_code == 422
    assert r.json()["errors"] == [
        {"field": "sku", "message": "String should match pattern '^[A-Za-z0-9][A-Za-z0-9._\\-]*$'"},
        {"field": "unit_of_measure", "message": "String should match pattern '^[A-Z0-9]{2,3}$'"},
        {"field": "minimum_quantity", "message": "Input should be greater than or equal to 1"},
        {"field": "order_multiple", "message": "Input should be a valid integer"},
        {"field": "weight_kg", "message": 'send amounts as decimal strings such as "12.50", not JSON numbers'},
        {"field": "active", "message": "Input should be a valid boolean"},
    ]
    negative = client.post(URL, json=_payload(weight_kg="-1"), headers=admin)
    assert negative.json()["errors"] == [
        {"field": "weight_kg", "message": "must be between 0 and 1000000000 (exclusive)"}
    ]
    precise = client.post(URL, json=_payload(weight_kg="0.0000001"), headers=admin)
    assert precise.json()["errors"] == [{"field": "weight_kg", "message": "at most 6 decimal places"}]
    malformed = client.post(URL, content=b"{not json", headers={**admin, "Content-Type": "application/json"})
    assert malformed.status_code == 422
    assert _count(db, Product) == 0


def test_list_filters_and_pages(db, client, admin) -> None:  # type: ignore[no-untyped-def]
    factories.product(db, "BOLT-M8", name="Hex bolt M8")
    factories.product(db, "BOLT-M10", name="Hex bolt M10", active=False)
    factories.product(db, "BOOK-1", name="Catalogue 2026", tax_class="reduced")
    factories.product(db, "NUT-M8", name="Nut M8")

    def skus(query: str) -> list[str]:
        r = client.get(f"{URL}?{query}", headers=admin)
        assert r.status_code == 200, r.text
        return [p["sku"] for p in r.json()["items"]]

    assert skus("") == ["NUT-M8", "BOOK-1", "BOLT-M10", "BOLT-M8"]
    assert skus("active=false") == ["BOLT-M10"]
    assert skus("active=true&q=bolt") == ["BOLT-M8"]
    assert skus("q=m8") == ["NUT-M8", "BOLT-M8"]
    assert skus("tax_class=reduced") == ["BOOK-1"]
    first = client.get(f"{URL}?limit=3", headers=admin).json()
    second = client.get(f"{URL}?limit=3&cursor={first['next_cursor']}", headers=admin).json()
    assert [p["sku"] for p in first["items"]] == ["NUT-M8", "BOOK-1", "BOLT-M10"]
    assert (second["items"][0]["sku"], second["next_cursor"]) == ("BOLT-M8", None)
    assert client.get(f"{URL}?active=maybe", headers=admin).json()["errors"][0]["field"] == "active"


def test_patch_needs_if_match_and_refuses_a_stale_version(db, client, admin) -> None:  # type: ignore[no-untyped-def]
    factories.product(db, "BOLT-M8", name="Before")
    assert client.patch(f"{URL}/BOLT-M8", json={"name": "After"}, headers=admin).status_code == 428
    stale = client.patch(f"{URL}/BOLT-M8", json={"name": "After"}, headers={**admin, "If-Match": '"0"'})
    assert stale.status_code == 409
    assert stale.json()["type"] == "https://ordino.dev/problems/version-conflict"
    product = _product(db, "BOLT-M8")
    assert (product.name, product.version) == ("Before", 1)


def test_patch_changes_fields_deactivates_and_keeps_the_sku(db, client, admin, frozen) -> None:  # type: ignore[no-untyped-def]
    factories.product(db, "BOLT-M8", name="Before", weight_kg=Decimal("0.5"))
    # when the product is renamed, its weight cleared and it is deactivated
    change = {"name": "After", "weight_kg": None, "order_multiple": 10, "active": False}
    r = client.patch(f"{URL}/BOLT-M8", json=change, headers={**admin, "If-Match": '"1"'})
    assert r.status_code == 200, r.text
    doc = r.json()
    assert (doc["name"], doc["weight_kg"], doc["order_multiple"], doc["active"], doc["version"]) == (
        "After",
        None,
        10,
        False,
        2,
    )
    assert (r.headers["ETag"], doc["updated_at"]) == ('"2"', NOW_TEXT)
    # and the SKU cannot change
    r = client.patch(f"{URL}/BOLT-M8", json={"sku": "BOLT-M9"}, headers={**admin, "If-Match": '"2"'})
    assert r.status_code == 422
    assert r.json()["errors"] == [{"field": "sku", "message": "cannot be changed"}]
    r = client.patch(f"{URL}/BOLT-M8", json={"minimum_quantity": None}, headers={**admin, "If-Match": '"2"'})
    assert r.json()["errors"] == [
        {"field": "minimum_quantity", "message": "may not be null; leave the field out to keep its value"}
    ]
    product = _product(db, "BOLT-M8")
    assert (product.sku, product.minimum_quantity, product.version) == ("BOLT-M8", 1, 2)


def test_there_is_no_delete(db, client, admin) -> None:  # type: ignore[no-untyped-def]
    factories.product(db, "BOLT-M8")
    assert client.delete(f"{URL}/BOLT-M8", headers=admin).status_code == 405
    assert _count(db, Product) == 1


def test_buyers_see_active_products_only_and_write_none(db, client) -> None:  # type: ignore[no-untyped-def]
    acme = factories.account(db, "ACME")
    factories.product(db, "BOLT-M8")
    factories.product(db, "OLD-1", active=False)
    buyer = api_key(db, Role.BUYER, acme)
    assert client.get(f"{URL}/BOLT-M8", headers=buyer).status_code == 200
    assert client.get(f"{URL}/OLD-1", headers=buyer).status_code == 404
    assert [p["sku"] for p in client.get(URL, headers=buyer).json()["items"]] == ["BOLT-M8"]
    assert [p["sku"] for p in client.get(f"{URL}?active=false", headers=buyer).json()["items"]] == []
    assert client.post(URL, json=_payload(sku="NEW"), headers=buyer).status_code == 403
    r = client.patch(f"{URL}/BOLT-M8", json={"name": "x"}, headers={**buyer, "If-Match": '"1"'})
    assert r.status_code == 403
    assert _count(db, Product) == 2


def test_agents_write_products_and_other_staff_only_read(db, client) -> None:  # type: ignore[no-untyped-def]
    agent = api_key(db, Role.AGENT)
    assert client.post(URL, json=_payload(), headers=agent).status_code == 201
    fulfillment = api_key(db, Role.FULFILLMENT)
    assert client.get(f"{URL}/BOLT-M8", headers=fulfillment).status_code == 200
    assert client.post(URL, json=_payload(sku="X"), headers=fulfillment).status_code == 403
    assert client.get(f"{URL}/{uuid.uuid4()}", headers=agent).status_code == 404
    assert _count(db, Product) == 1


def test_units_of_measure_are_un_ece_recommendation_20_or_21_codes(db, client, admin) -> None:  # type: ignore[no-untyped-def]
    # given a box written the Recommendation 21 way without its X, and a code of no list
    for unit, message in (
        ("BX", "'BX' is a UN/ECE Recommendation 21 package code: write it 'XBX'"),
        ("PCS", "'PCS' is not a UN/ECE Recommendation 20 or 21 unit code (e.g. H87 piece, C62 one, "
               "KGM, XBX box)"),
    ):
        # when a product is created with it
        r = client.post(URL, json=_payload(unit_of_measure=unit), headers=admin)
        # then it is refused, naming the field, and nothing is written
        assert r.status_code == 422
        assert r.json()["errors"] == [{"field": "unit_of_measure", "message": message}]
        assert _count(db, Product) == 0
    # and the X-prefixed code is accepted
    r = client.post(URL, json=_payload(unit_of_measure="XBX"), headers=admin)
    assert r.status_code == 201, r.text
    assert r.json()["unit_of_measure"] == "XBX"
