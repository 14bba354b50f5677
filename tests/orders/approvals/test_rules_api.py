"""/api/v1/approval-rules: managed by staff and the account's admins, checked whole for their kind."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ordino.kernel import clock
from ordino.kernel.db import Database
from ordino.orders.approvals.models import ApprovalRule
from tests.orders.support import NOW, NOW_TEXT, World, build, count, event_types

URL = "/api/v1/approval-rules"
STRANGER = "01a20000-0000-7000-8000-000000000000"


@pytest.fixture
def w(db: Database) -> Iterator[World]:
    clock.set_clock(lambda: NOW)
    yield build(db)
    clock.set_clock(None)


def _post(client: TestClient, w: World, body: dict[str, Any], who: str = "dora") -> Any:
    return client.post(URL, json=body, headers=w.keys[who])


def test_an_account_admin_creates_reads_changes_and_deletes_a_rule(db, client, w) -> None:  # type: ignore[no-untyped-def]
    # when dora, admin of ACME, limits every buyer of ACME-BER to 2,500.00 EUR a month
    body = {"account": "ACME-BER", "kind": "monthly_spend", "name": "Monthly budget", "amount": "2500",
            "currency": "EUR"}
    r = _post(client, w, body)
    # then the rule is stored in minor units and served as a decimal string
    assert r.status_code == 201, r.text
    doc = r.json()
    assert doc == {
        "id": doc["id"], "account": "ACME-BER", "kind": "monthly_spend", "name": "Monthly budget", "active": True,
        "amount": "2500.00", "currency": "EUR", "contact": None, "products": None, "version": 1,
        "created_by": "buyer:dora", "created_at": NOW_TEXT, "updated_at": NOW_TEXT,
    }
    assert (r.headers["Location"], r.headers["ETag"]) == (f"{URL}/{doc['id']}", '"1"')
    assert client.get(f"{URL}/{doc['id']}", headers=w.keys["dora"]).json() == doc
    # when it is narrowed to bob, with its version
    patch = {"contact": str(w.contacts["bob"]), "amount": "1000.50"}
    r = client.patch(f"{URL}/{doc['id']}", json=patch, headers={**w.keys["dora"], "If-Match": '"1"'})
    assert r.status_code == 200, r.text
    assert (r.json()["contact"], r.json()["amount"], r.json()["version"], r.headers["ETag"]) == (
        str(w.contacts["bob"]), "1000.50", 2, '"2"')
    # and a stale version or none is refused
    stale = client.patch(f"{URL}/{doc['id']}", json={"active": False}, headers={**w.keys["dora"], "If-Match": '"1"'})
    assert stale.status_code == 409
    assert client.patch(f"{URL}/{doc['id']}", json={"active": False}, headers=w.keys["dora"]).status_code == 428
    # when it is deleted, it is gone
    assert client.delete(f"{URL}/{doc['id']}", headers=w.keys["dora"]).status_code == 204
    assert client.get(f"{URL}/{doc['id']}", headers=w.keys["dora"]).status_code == 404
    assert event_types(db)[-3:] == ["approval_rule.created", "approval_rule.updated", "approval_rule.deleted"]


def test_changing_the_currency_keeps_the_amount_in_major_units(db, client, w) -> None:  # type: ignore[no-untyped-def]
    doc = _post(client, w, {"account": "ACME", "kind": "order_total", "name": "Big", "amount": "1000",
                            "currency": "EUR"}).json()
    r = client.patch(f"{URL}/{doc['id']}", json={"currency": "JPY"}, headers={**w.keys["dora"], "If-Match": '"1"'})
    assert (r.json()["amount"], r.json()["currency"]) == ("1000", "JPY")
    r = client.patch(f"{URL}/{doc['id']}", json={"amount": "0.5"}, headers={**w.keys["dora"], "If-Match": '"2"'})
    assert r.status_code == 422
    assert r.json()["errors"] == [{"field": "amount", "message": "JPY allows at most 0 decimal places"}]


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({"kind": "order_total"}, [("amount", "is required for order_total rules"),
                                   ("currency", "is required for order_total rules")]),
        ({"kind": "order_total", "amount": "10.001", "currency": "EUR"},
         [("amount", "EUR allows at most 2 decimal places")]),
        ({"kind": "order_total", "amount": "10", "currency": "XXX"},
         [("currency", "'XXX' is not an active ISO 4217 currency")]),
        ({"kind": "order_total", "amount": "-1", "currency": "EUR"}, [("amount", "cannot be negative")]),
        ({"kind": "order_total", "amount": "10", "currency": "EUR", "products": ["BOLT-M8"]},
         [("products", "applies to restricted_products rules only")]),
        ({"kind": "restricted_products", "products": ["BOLT-M8", "NOPE"], "amount": "5"},
         [("amount", "applies to order_total and monthly_spend rules only"), ("products[1]", "no product 'NOPE'")]),
        ({"kind": "restricted_products", "products": []},
         [("products", "name at least one product for restricted_products rules")]),
        ({"kind": "monthly_spend", "amount": "10", "currency": "EUR", "contact": STRANGER},
         [("contact", f"no contact {STRANGER} of the account or its children")]),
        ({"kind": "discount"}, [("kind", "Input should be 'order_total', 'monthly_spend' or 'restricted_products'")]),
    ],
)
def test_invalid_rules_are_refused_naming_the_field_and_nothing_is_written(db, client, w, body, errors) -> None:  # type: ignore[no-untyped-def]
    before = event_types(db)
    r = _post(client, w, {"account": "ACME-BER", "name": "Rule", **body})
    assert r.status_code == 422
    assert [(e["field"], e["message"]) for e in r.json()["errors"]] == errors
    assert count(db, ApprovalRule) == 0
    assert event_types(db) == before


def test_a_limit_may_name_a_buyer_of_a_child_account_but_not_of_another(db, client, w) -> None:  # type: ignore[no-untyped-def]
    body = {"account": "ACME", "kind": "monthly_spend", "name": "Bob", "amount": "10", "currency": "EUR"}
    assert _post(client, w, {**body, "contact": str(w.contacts["bob"])}).status_code == 201
    r = _post(client, w, {**body, "contact": str(w.contacts["otto"])})
    assert (r.status_code, r.json()["errors"][0]["field"]) == (422, "contact")


def test_only_staff_and_the_accounts_admins_manage_rules(db, client, w) -> None:  # type: ignore[no-untyped-def]
    body = {"account": "ACME-BER", "kind": "order_total", "name": "Big", "amount": "10", "currency": "EUR"}
    # a buyer and an approver may not; an admin of another account does not see ACME-BER
    for who, status in (("bob", 403), ("alice", 403), ("fulfillment", 403)):
        assert _post(client, w, body, who).status_code == status
    assert client.get(URL, headers=w.keys["alice"]).status_code == 403
    r = _post(client, w, body, "otto")
    assert (r.status_code, r.json()["errors"]) == (422, [{"field": "account", "message": "no account 'ACME-BER'"}])
    assert count(db, ApprovalRule) == 0
    # staff and dora may
    ber = _post(client, w, body, "agent").json()
    other = _post(client, w, {**body, "account": "OTHER"}, "admin").json()
    acme = _post(client, w, {**body, "account": "ACME"}).json()
    # and each sees the rules of their part of the tree
    assert [i["id"] for i in client.get(URL, headers=w.keys["dora"]).json()["items"]] == [acme["id"], ber["id"]]
    assert [i["id"] for i in client.get(URL, headers=w.keys["agent"]).json()["items"]] == [
        acme["id"], other["id"], ber["id"]]
    assert [i["id"] for i in client.get(URL, params={"account": "OTHER"}, headers=w.keys["agent"]).json()["items"]] \
        == [other["id"]]
    assert client.get(f"{URL}/{other['id']}", headers=w.keys["dora"]).status_code == 404
    assert client.delete(f"{URL}/{other['id']}", headers=w.keys["dora"]).status_code == 404
    assert count(db, ApprovalRule) == 3
