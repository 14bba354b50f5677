"""/api/v1/accounts/{ref}/contacts and /addresses: records reached through their account."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select, update

from ordino.accounts.models import Address, Contact
from ordino.kernel.auth import Role
from ordino.orders.models import OrderSummary
from tests import factories
from tests.accounts.conftest import NOW_TEXT
from tests.conftest import api_key


def _count(db, model) -> int:  # type: ignore[no-untyped-def]
    with db.read() as s:
        return int(s.execute(select(func.count()).select_from(model)).scalar_one())


def _address(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "reference": "BER-1",
        "kind": "shipping",
        "name": "ACME Receiving",
        "line1": "Invalidenstraße 1",
        "city": "Berlin",
        "postal_code": "10115",
        "country": "DE",
    }
    body.update(overrides)
    return body


def _defaults(db) -> dict[str, tuple[str, bool, int]]:  # type: ignore[no-untyped-def]
    """reference -> (kind, is_default, version) of every stored address."""
    with db.read() as s:
        rows = s.execute(select(Address.reference, Address.kind, Address.is_default, Address.version)).all()
    return {r.reference: (r.kind, r.is_default, r.version) for r in rows}


# ----------------------------------------------------------------------------------------------
# Contacts


def test_contact_lifecycle_create_read_list_change_delete(db, client, admin, frozen) -> None:  # type: ignore[no-untyped-def]
    factories.account(db, "ACME")
    url = "/api/v1/accounts/ACME/contacts"
    # when a contact is added
    body = {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@acme.example", "title": "Buyer"}
    r = client.post(url, json=body, headers=admin)
    # then it is served as sent
    assert r.status_code == 201, r.text
    doc = r.json()
    assert doc == {
        "id": doc["id"],
        "account": "ACME",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "email": "ada@acme.example",
        "phone": None,
        "title": "Buyer",
        "roles": [],
        "version": 1,
        "created_at": NOW_TEXT,
        "updated_at": NOW_TEXT,
    }
    assert r.headers["Location"] == f"{url}/{doc['id']}"
    assert client.get(f"{url}/{doc['id']}", headers=admin).json() == doc
    assert client.get(url, headers=admin).json() == {"items": [doc], "next_cursor": None}
    # when it is changed with its version
    r = client.patch(
        f"{url}/{doc['id']}", json={"phone": "+49 30 1234567", "title": None}, headers={**admin, "If-Match": '"1"'}
    )
    assert r.status_code == 200, r.text
    assert (r.json()["phone"], r.json()["title"], r.json()["version"]) == ("+49 30 1234567", None, 2)
    assert r.headers["ETag"] == '"2"'
    # when it is deleted
    r = client.delete(f"{url}/{doc['id']}", headers=admin)
    # then it is gone
    assert r.status_code == 204
    assert r.content == b""
    assert client.get(f"{url}/{doc['id']}", headers=admin).status_code == 404
    assert _count(db, Contact) == 0


def test_contact_list_searches_and_pages(db, client, admin) -> None:  # type: ignore[no-untyped-def]
    factories.account(db, "ACME")
    url = "/api/v1/accounts/ACME/contacts"
    for first, last in (("Ada", "Lovelace"), ("Grace", "Hopper"), ("Alan", "Turing")):
        assert client.post(url, json={"first_name": first, "last_name": last}, headers=admin).status_code == 201
    assert [c["last_name"] for c in client.get(f"{url}?q=HOP", headers=admin).json()["items"]] == ["Hopper"]
    first = client.get(f"{url}?limit=2", headers=admin).json()
    second = client.get(f"{url}?limit=2&cursor={first['next_cursor']}", headers=admin).json()
    assert [c["last_name"] for c in first["items"]] == ["Turing", "Hopper"]
    assert [c["last_name"] for c in second["items"]] == ["Lovelace"]
    assert second["next_cursor"] is None


def test_contact_validation_names_fields_and_writes_nothing(db, client, admin) -> None:  # type: ignore[no-untyped-def]
    factories.account(db, "ACME")
    r = client.post(
        "/api/v1/accounts/ACME/contacts",
        json={"first_name": "", "email": "not-an-email", "phone": "call me"},
        headers=admin,
    )
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == ["first_name", "last_name", "email", "phone"]
    assert _count(db, Contact) == 0


def test_contact_is_reached_only_through_its_own_account(db, client, admin) -> None:  # type: ignore[no-untyped-def]
    # given a contact of ACME and a second account
    factories.account(db, "ACME")
    factories.account(db, "OTHER")
    created = client.post("/api/v1/accounts/ACME/contacts", json={"first_name": "A", "last_name": "B"}, headers=admin)
    contact_id = created.json()["id"]
    # then through OTHER it does not exist, for reading, changing and deleting
    foreign = f"/api/v1/accounts/OTHER/contacts/{contact_id}"
    assert client.get(foreign, headers=admin).status_code == 404
    assert client.patch(foreign, json={"title": "x"}, headers={**admin, "If-Match": '"1"'}).status_code == 404
    assert client.delete(foreign, headers=admin).status_code == 404
    assert client.get("/api/v1/accounts/ACME/contacts/not-an-id", headers=admin).status_code == 404
    # and an unknown account is 404 too
    assert (
        client.post(
            "/api/v1/accounts/NOBODY/contacts", json={"first_name": "A", "last_name": "B"}, headers=admin
        ).status_code
        == 404
    )
    assert _count(db, Contact) == 1


def test_contact_patch_needs_if_match_and_delete_refuses_a_stale_one(db, client, admin) -> None:  # type: ignore[no-untyped-def]
    factories.account(db, "ACME")
    url = "/api/v1/accounts/ACME/contacts"
    contact_id = client.post(url, json={"first_name": "A", "last_name": "B"}, headers=admin).json()["id"]
    assert client.patch(f"{url}/{contact_id}", json={"title": "x"}, headers=admin).status_code == 428
    assert client.delete(f"{url}/{contact_id}", headers={**admin, "If-Match": '"5"'}).status_code == 409
    with db.read() as s:
        assert s.execute(select(Contact.title, Contact.version)).one() == (None, 1)


def test_a_contact_named_on_an_order_cannot_be_deleted(db, client, admin) -> None:  # type: ignore[no-untyped-def]
    # given an order whose buyer contact is Ada
    factories.intake_world(db)
    contact_id = client.post(
        "/api/v1/accounts/ACME/contacts", json={"first_name": "Ada", "last_name": "L"}, headers=admin
    ).json()["id"]
    placed = client.post("/api/v1/orders", json=factories.order_payload(), headers=admin)
    assert placed.status_code == 201, placed.text
    db.transaction(lambda s: s.execute(update(OrderSummary).values(buyer_contact_id=uuid.UUID(contact_id))))
    # when the contact is deleted
    r = client.delete(f"/api/v1/accounts/ACME/contacts/{contact_id}", headers=admin)
    # then it is a conflict (not a server error) and the contact stays
    assert r.status_code == 409
    assert r.json()["type"] == "https://ordino.dev/problems/in-use"
    assert _count(db, Contact) == 1


def test_buyer_reads_its_own_contacts_only_and_writes_none(db, client, admin) -> None:  # type: ignore[no-untyped-def]
    acme = factories.account(db, "ACME")
    factories.account(db, "OTHER")
    for account in ("ACME", "OTHER"):
        client.post(
            f"/api/v1/accounts/{account}/contacts", json={"first_name": account, "last_name": "X"}, headers=admin
        )
    buyer = api_key(db, Role.BUYER, acme)
    assert [c["first_name"] for c in client.get("/api/v1/accounts/ACME/contacts", headers=buyer).json()["items"]] == [
        "ACME"
    ]
    assert client.get("/api/v1/accounts/OTHER/contacts", headers=buyer).status_code == 404
    r = client.post("/api/v1/accounts/ACME/contacts", json={"first_name": "B", "last_name": "Y"}, headers=buyer)
    assert r.status_code == 403
    assert _count(db, Contact) == 2


# ----------------------------------------------------------------------------------------------
# Addresses


def test_address_is_created_read_and_listed_by_kind(db, client, admin, frozen) -> None:  # type: ignore[no-untyped-def]
    factories.account(db, "ACME")
    url = "/api/v1/accounts/ACME/addresses"
    r = client.post(url, json=_address(is_default=True), headers=admin)
    assert r.status_code == 201, r.text
    doc = r.json()
    assert doc == {
        "id": doc["id"],
        "account": "ACME",
        "reference": "BER-1",
        "kind": "shipping",
        "name": "ACME Receiving",
        "line1": "Invalidenstraße 1",
        "line2": None,
        "city": "Berlin",
        "postal_code": "10115",
        "region": None,
        "country": "DE",
        "phone": None,
        "is_default": True,
        "version": 1,
        "created_at": NOW_TEXT,
        "updated_at": NOW_TEXT,
    }
    assert client.get(f"{url}/{doc['id']}", headers=admin).headers["ETag"] == '"1"'
    client.post(url, json=_address(reference="HQ", kind="billing"), headers=admin)
    assert [a["reference"] for a in client.get(f"{url}?kind=billing", headers=admin).json()["items"]] == ["HQ"]
    assert [a["reference"] for a in client.get(url, headers=admin).json()["items"]] == ["HQ", "BER-1"]
    assert client.get(f"{url}?kind=home", headers=admin).status_code == 422


def test_a_new_default_clears_the_previous_default_of_its_kind_only(db, client, admin) -> None:  # type: ignore[no-untyped-def]
    factories.account(db, "ACME")
    factories.account(db, "OTHER")
    url = "/api/v1/accounts/ACME/addresses"
    # given a default shipping and a default billing address, and another account's default
    client.post(url, json=_address(reference="SHIP-1", is_default=True), headers=admin)
    client.post(url, json=_address(reference="BILL-1", kind="billing", is_default=True), headers=admin)
    client.post("/api/v1/accounts/OTHER/addresses", json=_address(reference="O-1", is_default=True), headers=admin)
    # when a second shipping address is created as default
    second = client.post(url, json=_address(reference="SHIP-2", is_default=True), headers=admin)
    assert second.status_code == 201
    # then only the previous shipping default of ACME is cleared, with a new version
    assert _defaults(db) == {
        "SHIP-1": ("shipping", False, 2),
        "BILL-1": ("billing", True, 1),
        "O-1": ("shipping", True, 1),
        "SHIP-2": ("shipping", True, 1),
    }
    # when the first becomes default again through a change
    ship_1 = next(a for a in client.get(url, headers=admin).json()["items"] if a["reference"] == "SHIP-1")
    r = client.patch(f"{url}/{ship_1['id']}", json={"is_default": True}, headers={**admin, "If-Match": '"2"'})
    assert r.status_code == 200, r.text
    # then the second is cleared
    assert _defaults(db) == {
        "SHIP-1": ("shipping", True, 3),
        "BILL-1": ("billing", True, 1),
        "O-1": ("shipping", True, 1),
        "SHIP-2": ("shipping", False, 2),
    }
    # when the default shipping address becomes a billing address
    r = client.patch(f"{url}/{ship_1['id']}", json={"kind": "billing"}, headers={**admin, "If-Match": '"3"'})
    # then it takes over as the billing default
    assert r.status_code == 200, r.text
    assert _defaults(db)["BILL-1"] == ("billing", False, 2)
    assert _defaults(db)["SHIP-1"] == ("billing", True, 4)


def test_address_reference_is_unique_per_account(db, client, admin) -> None:  # type: ignore[no-untyped-def]
    factories.account(db, "ACME")
    factories.account(db, "OTHER")
    client.post("/api/v1/accounts/ACME/addresses", json=_address(reference="BER-1"), headers=admin)
    # when ACME uses the reference again
    r = client.post("/api/v1/accounts/ACME/addresses", json=_address(reference="BER-1", is_default=True), headers=admin)
    # then it is a 409 naming the field, and nothing was written (the default was not touched either)
    assert r.status_code == 409
    assert r.json()["errors"] == [{"field": "reference", "message": "is already taken"}]
    assert _count(db, Address) == 1
    # and another account may use it
    assert (
        client.post("/api/v1/accounts/OTHER/addresses", json=_address(reference="BER-1"), headers=admin).status_code
        == 201
    )
    # and renaming onto a taken reference is refused too
    second = client.post("/api/v1/accounts/ACME/addresses", json=_address(reference="BER-2"), headers=admin).json()
    r = client.patch(
        f"/api/v1/accounts/ACME/addresses/{second['id']}",
        json={"reference": "BER-1"},
        headers={**admin, "If-Match": '"1"'},
    )
    assert r.status_code == 409
    assert _defaults(db)["BER-2"] == ("shipping", False, 1)


def test_address_validation_names_fields_and_writes_nothing(db, client, admin) -> None:  # type: ignore[no-untyped-def]
    factories.account(db, "ACME")
    body = _address(kind="home", is_default="yes", country="Germany")
    del body["city"]
    r = client.post("/api/v1/accounts/ACME/addresses", json=body, headers=admin)
    assert r.status_code == 422
    assert r.json()["errors"] == [
        {"field": "kind", "message": "Input should be 'billing' or 'shipping'"},
        {"field": "city", "message": "Field required"},
        {"field": "country", "message": "String should have at most 2 characters"},
        {"field": "is_default", "message": "Input should be a valid boolean"},
    ]
    assert _count(db, Address) == 0


def test_address_delete_and_buyer_scope(db, client, admin) -> None:  # type: ignore[no-untyped-def]
    acme = factories.account(db, "ACME")
    factories.account(db, "OTHER")
    own = client.post("/api/v1/accounts/ACME/addresses", json=_address(), headers=admin).json()
    client.post("/api/v1/accounts/OTHER/addresses", json=_address(), headers=admin)
    buyer = api_key(db, Role.BUYER, acme)
    # then the buyer reads its own addresses, not OTHER's, and deletes nothing
    assert client.get(f"/api/v1/accounts/ACME/addresses/{own['id']}", headers=buyer).status_code == 200
    assert client.get("/api/v1/accounts/OTHER/addresses", headers=buyer).status_code == 404
    assert client.delete(f"/api/v1/accounts/ACME/addresses/{own['id']}", headers=buyer).status_code == 403
    assert _count(db, Address) == 2
    # and an agent deletes it with its current version
    agent = api_key(db, Role.AGENT)
    r = client.delete(f"/api/v1/accounts/ACME/addresses/{own['id']}", headers={**agent, "If-Match": '"1"'})
    assert r.status_code == 204
    assert _count(db, Address) == 1
