"""Buyer roles on contacts (buyer, approver, account admin), and buyer keys used by a contact."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select

from ordino.accounts.models import Contact
from ordino.kernel.auth import ApiKey
from ordino.orders.models import OrderSummary
from tests import factories
from tests.accounts.conftest import NOW_TEXT

CONTACTS = "/api/v1/accounts/ACME/contacts"
KEYS = "/api/v1/api-keys"


def _count(db, model) -> int:  # type: ignore[no-untyped-def]
    with db.read() as s:
        return int(s.execute(select(func.count()).select_from(model)).scalar_one())


def _contact(client, admin, **fields) -> dict:  # type: ignore[no-untyped-def]
    r = client.post(CONTACTS, json={"first_name": "Ada", "last_name": "Lovelace", **fields}, headers=admin)
    assert r.status_code == 201, r.text
    return dict(r.json())


def test_roles_are_set_through_the_contacts_api_as_a_set(db, client, admin, frozen) -> None:  # type: ignore[no-untyped-def]
    factories.account(db, "ACME")
    # when a contact is added with roles, one of them twice
    doc = _contact(client, admin, roles=["buyer", "approver", "buyer"])
    # then each is stored once, in a stable order
    assert (doc["roles"], doc["version"], doc["updated_at"]) == (["approver", "buyer"], 1, NOW_TEXT)
    # when the roles change with the contact's version
    r = client.patch(f"{CONTACTS}/{doc['id']}", json={"roles": ["account_admin"]},
                     headers={**admin, "If-Match": '"1"'})
    assert (r.status_code, r.json()["roles"], r.json()["version"]) == (200, ["account_admin"], 2)
    # and a contact without roles has none
    assert _contact(client, admin)["roles"] == []


def test_unknown_roles_and_null_are_refused_and_nothing_changes(db, client, admin) -> None:  # type: ignore[no-untyped-def]
    factories.account(db, "ACME")
    r = client.post(CONTACTS, json={"first_name": "A", "last_name": "B", "roles": ["buyer", "boss"]}, headers=admin)
    assert r.status_code == 422
    assert r.json()["errors"] == [
        {"field": "roles[1]", "message": "Input should be 'buyer', 'approver' or 'account_admin'"}]
    assert _count(db, Contact) == 0
    doc = _contact(client, admin, roles=["buyer"])
    r = client.patch(f"{CONTACTS}/{doc['id']}", json={"roles": None}, headers={**admin, "If-Match": '"1"'})
    assert r.status_code == 422
    assert r.json()["errors"] == [
        {"field": "roles", "message": "may not be null; leave the field out to keep its value"}]
    assert client.get(f"{CONTACTS}/{doc['id']}", headers=admin).json()["roles"] == ["buyer"]


def test_a_buyer_key_used_by_a_contact_places_orders_in_their_name(db, client, admin) -> None:  # type: ignore[no-untyped-def]
    factories.intake_world(db)
    ada = _contact(client, admin, roles=["buyer"])
    # when an admin creates a buyer key for Ada
    r = client.post(KEYS, json={"name": "Ada's portal", "role": "buyer", "account": "ACME", "contact": ada["id"]},
                    headers=admin)
    # then the key names her
    assert r.status_code == 201, r.text
    assert (r.json()["contact"], r.json()["account"]) == (ada["id"], "ACME")
    assert client.get(f"{KEYS}/{r.json()['id']}", headers=admin).json()["contact"] == ada["id"]
    # and an order placed with it is hers
    bearer = {"Authorization": f"Bearer {r.json()['key']}"}
    placed = client.post("/api/v1/orders", json=factories.order_payload(), headers=bearer)
    assert placed.status_code == 201, placed.text
    with db.read() as s:
        row = s.execute(select(OrderSummary.buyer_contact_id, OrderSummary.created_by)).one()
    assert (row[0], row[1]) == (uuid.UUID(ada["id"]), "buyer:Ada's portal")
    # and while she is on the key, her contact cannot be deleted
    gone = client.delete(f"{CONTACTS}/{ada['id']}", headers=admin)
    assert gone.status_code == 409


def test_a_key_names_only_a_contact_of_its_own_account_and_only_for_buyers(db, client, admin) -> None:  # type: ignore[no-untyped-def]
    factories.account(db, "ACME")
    factories.account(db, "OTHER")
    ada = _contact(client, admin, roles=["buyer"])
    cases = [
        ({"role": "buyer", "account": "OTHER", "contact": ada["id"]},
         {"field": "contact", "message": f"no contact {ada['id']} of account 'OTHER'"}),
        ({"role": "agent", "account": "ACME", "contact": ada["id"]},
         {"field": "contact", "message": "only a buyer key is used by a contact"}),
        ({"role": "buyer", "account": "ACME", "contact": "not-an-id"},
         {"field": "contact", "message": "Input should be a valid UUID, invalid character: found `n` at 0"}),
    ]
    for body, error in cases:
        r = client.post(KEYS, json={"name": "k", **body}, headers=admin)
        assert r.status_code == 422, r.text
        assert r.json()["errors"] == [error]
    assert _count(db, ApiKey) == 1  # the admin's own
