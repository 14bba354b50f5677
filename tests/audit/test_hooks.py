"""Each privileged change through the API writes exactly one audit entry, with who acted and
only the changed fields before and after; a change that changes nothing writes none."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from ordino.accounts.models import Account, Contact
from ordino.kernel.auth import ApiKey, Role
from ordino.kernel.db import Database
from tests import factories
from tests.audit.conftest import NOW_TEXT, actions, log
from tests.conftest import api_key
from tests.payments.support import Sim, authorize, capture, new_order
from tests.pricing.conftest import book

ACCOUNTS = "/api/v1/accounts"


def _key_of(db: Database, name: str) -> tuple[uuid.UUID, str]:
    with db.read() as s:
        row = s.execute(select(ApiKey.id, ApiKey.name).where(ApiKey.name == name)).one()
    return row.id, row.name


def _account_id(db: Database, number: str) -> uuid.UUID:
    with db.read() as s:
        return s.execute(select(Account.id).where(Account.number == number)).scalar_one()


def _admin(db: Database) -> tuple[dict[str, str], tuple[str, str]]:
    return api_key(db, Role.ADMIN), ("admin", "test admin")


def test_credit_limit_set_at_creation_and_changed(db: Database, client: TestClient, frozen: Any) -> None:
    headers, who = _admin(db)
    # when an account is created with a credit limit
    r = client.post(ACCOUNTS, json={"number": "ACME", "name": "ACME", "currency": "EUR", "locale": "de-DE",
                                    "country": "DE", "credit_limit": {"amount": "5000", "currency": "EUR"}},
                    headers=headers)
    assert r.status_code == 201, r.text
    acme = _account_id(db, "ACME")
    # then one entry says who set it, on which account, from nothing to 5000.00 EUR
    assert log(db) == [{
        "sequence": 1, "action": "credit_limit.changed", "actor": who, "subject": ("account", str(acme), acme),
        "before": {"credit_limit": None}, "after": {"credit_limit": {"amount": "5000.00", "currency": "EUR"}},
    }]
    # when the limit is raised, and then only the name changes
    r = client.patch(f"{ACCOUNTS}/ACME", json={"credit_limit": {"amount": "7500.50", "currency": "EUR"}},
                     headers={**headers, "If-Match": '"1"'})
    assert r.status_code == 200, r.text
    r = client.patch(f"{ACCOUNTS}/ACME", json={"name": "ACME GmbH"}, headers={**headers, "If-Match": '"2"'})
    assert r.status_code == 200, r.text
    # then the raise is one more entry with exactly the changed field; the rename is none
    assert log(db)[1:] == [{
        "sequence": 2, "action": "credit_limit.changed", "actor": who, "subject": ("account", str(acme), acme),
        "before": {"credit_limit": {"amount": "5000.00", "currency": "EUR"}},
        "after": {"credit_limit": {"amount": "7500.50", "currency": "EUR"}},
    }]


def test_an_account_without_a_credit_limit_writes_no_entry(db: Database, client: TestClient) -> None:
    headers, _ = _admin(db)
    r = client.post(ACCOUNTS, json={"number": "ACME", "name": "ACME", "currency": "EUR", "locale": "de-DE",
                                    "country": "DE"}, headers=headers)
    assert r.status_code == 201
    assert log(db) == []


def test_contact_roles_granted_and_changed(db: Database, client: TestClient) -> None:
    headers, who = _admin(db)
    acme = factories.account(db, "ACME")
    # when a contact is added with the buyer role
    r = client.post(f"{ACCOUNTS}/ACME/contacts", json={"first_name": "Ada", "last_name": "Lovelace",
                                                      "email": "ada@example.com", "roles": ["buyer"]}, headers=headers)
    assert r.status_code == 201, r.text
    contact = r.json()["id"]
    # and is made an approver too, then only the phone number changes
    r = client.patch(f"{ACCOUNTS}/ACME/contacts/{contact}", json={"roles": ["buyer", "approver"]},
                     headers={**headers, "If-Match": '"1"'})
    assert r.status_code == 200, r.text
    r = client.patch(f"{ACCOUNTS}/ACME/contacts/{contact}", json={"phone": "+49 30 1234"},
                     headers={**headers, "If-Match": '"2"'})
    assert r.status_code == 200, r.text
    # then the grant and the change are one entry each; the phone number is none
    subject = ("contact", contact, acme)
    assert log(db) == [
        {"sequence": 1, "action": "contact_roles.changed", "actor": who, "subject": subject,
         "before": {"roles": []}, "after": {"roles": ["buyer"]}},
        {"sequence": 2, "action": "contact_roles.changed", "actor": who, "subject": subject,
         "before": {"roles": ["buyer"]}, "after": {"roles": ["approver", "buyer"]}},
    ]
    with db.read() as s:  # the entries hold ids and roles, not the contact's personal data
        assert s.execute(select(Contact.email)).scalar_one() == "ada@example.com"
    assert "ada@example.com" not in str(log(db))


def test_api_key_created_and_revoked(db: Database, client: TestClient, frozen: Any) -> None:
    headers, who = _admin(db)
    acme = factories.account(db, "ACME")
    # when an admin creates a buyer key for ACME and revokes it
    r = client.post("/api/v1/api-keys", json={"name": "ACME portal", "role": "buyer", "account": "ACME"},
                    headers=headers)
    assert r.status_code == 201, r.text
    key_id, secret = r.json()["id"], r.json()["key"]
    assert client.delete(f"/api/v1/api-keys/{key_id}", headers=headers).status_code == 204
    # then both are in the log, without the secret or its hint
    subject = ("api_key", key_id, acme)
    assert log(db) == [
        {"sequence": 1, "action": "api_key.created", "actor": who, "subject": subject, "before": None,
         "after": {"name": "ACME portal", "role": "buyer", "account": "ACME", "contact": None}},
        {"sequence": 2, "action": "api_key.revoked", "actor": who, "subject": subject,
         "before": {"revoked_at": None}, "after": {"revoked_at": NOW_TEXT}},
    ]
    assert secret[:12] not in str(log(db))
    # when it is revoked again, nothing changes and nothing is recorded
    assert client.delete(f"/api/v1/api-keys/{key_id}", headers=headers).status_code == 204
    assert len(log(db)) == 2


def test_a_refused_revocation_writes_no_entry(db: Database, client: TestClient) -> None:
    # given the only admin key; when it tries to revoke itself, 409
    headers, _ = _admin(db)
    key_id, _ = _key_of(db, "test admin")
    r = client.delete(f"/api/v1/api-keys/{key_id}", headers=headers)
    assert r.status_code == 409
    # then nothing is recorded
    assert log(db) == []


def test_tax_profile_changed(db: Database, client: TestClient) -> None:
    finance = api_key(db, Role.FINANCE)
    glakes = factories.account(db, "GLAKES", country="US", currency="USD")
    cert = {"number": "TX-1", "regions": ["US-TX"], "reason": "resale", "issued_on": "2025-01-01",
            "expires_on": "2026-06-30"}
    # when finance puts a profile with a certificate, then turns the account into a consumer
    r = client.put(f"{ACCOUNTS}/GLAKES/tax-profile", json={"certificates": [cert]}, headers=finance)
    assert r.status_code == 200, r.text
    r = client.put(f"{ACCOUNTS}/GLAKES/tax-profile", json={"business": False, "certificates": [cert]},
                   headers={**finance, "If-Match": '"1"'})
    assert r.status_code == 200, r.text
    # then each change is one entry with only what changed
    subject = ("tax_profile", str(glakes), glakes)
    who = ("finance", "test finance")
    assert log(db) == [
        {"sequence": 1, "action": "tax_profile.changed", "actor": who, "subject": subject,
         "before": {"certificates": []}, "after": {"certificates": [cert]}},
        {"sequence": 2, "action": "tax_profile.changed", "actor": who, "subject": subject,
         "before": {"business": True}, "after": {"business": False}},
    ]


def test_price_book_entries_changed(db: Database, client: TestClient) -> None:
    headers, who = _admin(db)
    for sku in ("BOLT-M8", "NUT-M8"):
        factories.product(db, sku)
    book_id = book(db, "LIST-EUR", standard=True)
    url = "/api/v1/price-books/LIST-EUR/entries"
    # when entries are put, then BOLT's price changes and NUT is removed
    r = client.put(url, json={"entries": [
        {"sku": "BOLT-M8", "unit_price": "0.04", "tiers": [{"from_quantity": 1000, "unit_price": "0.035"}]},
        {"sku": "NUT-M8", "unit_price": "12.5"},
    ]}, headers=headers)
    assert r.status_code == 200, r.text
    r = client.put(url, json={"entries": [{"sku": "BOLT-M8", "unit_price": "0.039",
                                           "tiers": [{"from_quantity": 1000, "unit_price": "0.035"}]}],
                              "remove": ["NUT-M8"]}, headers=headers)
    assert r.status_code == 200, r.text
    # and the same prices are put again
    assert client.put(url, json={"entries": [{"sku": "BOLT-M8", "unit_price": "0.039", "tiers": [
        {"from_quantity": 1000, "unit_price": "0.035"}]}]}, headers=headers).status_code == 200
    # then two entries, with the SKUs' prices before and after; the repeat changed nothing
    bolt_old = {"unit_price": "0.04", "tiers": [{"from_quantity": 1000, "unit_price": "0.035"}],
                "valid_from": None, "valid_to": None}
    subject = ("price_book", str(book_id), None)
    assert log(db) == [
        {"sequence": 1, "action": "price.changed", "actor": who, "subject": subject,
         "before": {"BOLT-M8": [], "NUT-M8": []},
         "after": {"BOLT-M8": [bolt_old],
                   "NUT-M8": [{"unit_price": "12.50", "tiers": [], "valid_from": None, "valid_to": None}]}},
        {"sequence": 2, "action": "price.changed", "actor": who, "subject": subject,
         "before": {"BOLT-M8": [bolt_old],
                    "NUT-M8": [{"unit_price": "12.50", "tiers": [], "valid_from": None, "valid_to": None}]},
         "after": {"BOLT-M8": [{**bolt_old, "unit_price": "0.039"}], "NUT-M8": []}},
    ]


def test_refund_through_the_api(db: Database, app: Any, client: TestClient, gateways: Any, sim: Sim) -> None:
    app.state.payment_gateways = gateways
    finance = api_key(db, Role.FINANCE)
    key_id, _ = _key_of(db, "test finance")
    order = new_order()
    auth = authorize(db, gateways, order, 5000)
    cap = capture(db, gateways, auth.payment_id, 3000)
    # when finance refunds 12.50 of the capture
    r = client.post(f"/api/v1/payments/{cap.payment_id}/refund", json={"amount": "12.50", "reason": "damaged"},
                    headers={**finance, "Idempotency-Key": "refund-1"})
    assert r.status_code == 201, r.text
    # and the request is replayed
    replay = client.post(f"/api/v1/payments/{cap.payment_id}/refund", json={"amount": "12.50", "reason": "damaged"},
                         headers={**finance, "Idempotency-Key": "refund-1"})
    assert replay.headers["Idempotent-Replayed"] == "true"
    # then one entry: finance's key refunded 12.50 EUR of that capture
    assert log(db) == [{
        "sequence": 1, "action": "refund.created", "actor": ("finance", "test finance"),
        "subject": ("payment", r.json()["id"], order.account_id), "before": None,
        "after": {"amount": "12.50", "currency": "EUR", "capture": str(cap.payment_id),
                  "order_summary": str(order.id), "reason": "damaged"},
    }]
    page = client.get("/api/v1/audit-events", headers=finance).json()
    assert page["items"][0]["actor"] == {"role": "finance", "key_id": str(key_id), "name": "test finance"}


def test_a_refused_refund_writes_no_entry(db: Database, app: Any, client: TestClient, gateways: Any, sim: Sim) -> None:
    app.state.payment_gateways = gateways
    finance = api_key(db, Role.FINANCE)
    auth = authorize(db, gateways, new_order(), 5000)
    cap = capture(db, gateways, auth.payment_id, 3000)
    # when more than the capture is refunded: 409, and nothing is recorded
    r = client.post(f"/api/v1/payments/{cap.payment_id}/refund", json={"amount": "30.01"}, headers=finance)
    assert r.status_code == 409
    assert actions(db) == []


def test_a_key_made_by_the_command_names_the_user_who_ran_it(db: Database, monkeypatch: Any) -> None:
    from typer.testing import CliRunner

    from ordino.cli import app
    from ordino.kernel.auth import key_digests

    monkeypatch.setattr("getpass.getuser", lambda: "alice")
    monkeypatch.setenv("ORDINO_SECRET_KEY", key_digests().secret)  # the command keys digests as the tests do
    # when `ordino apikey create` makes an integration key
    result = CliRunner().invoke(app, ["apikey", "create", "--database-url", db.url, "--name", "erp",
                                      "--role", "integration"])
    assert result.exit_code == 0, result.output
    key_id, _ = _key_of(db, "erp")
    # then the entry's actor is the command and the user who ran it
    assert log(db) == [{
        "sequence": 1, "action": "api_key.created", "actor": ("cli", "alice"),
        "subject": ("api_key", str(key_id), None),
        "before": None, "after": {"name": "erp", "role": "integration", "account": None, "contact": None},
    }]
