"""/api/v1/accounts: create, read, list, change with If-Match, hierarchy, buyer scoping."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select

from ordino.accounts.models import Account
from ordino.kernel.auth import Role
from ordino.kernel.outbox import OutboxEvent
from tests import factories
from tests.accounts.conftest import NOW_TEXT
from tests.conftest import api_key

URL = "/api/v1/accounts"


def _count(db, model) -> int:  # type: ignore[no-untyped-def]
    with db.read() as s:
        return int(s.execute(select(func.count()).select_from(model)).scalar_one())


def _account(db, number: str) -> Any:  # type: ignore[no-untyped-def]
    """The stored row (a plain row, usable after the session closes)."""
    with db.read() as s:
        return s.execute(select(*Account.__table__.c).where(Account.number == number)).one()


def _payload(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "number": "ACME",
        "name": "ACME Industriebedarf GmbH",
        "currency": "EUR",
        "locale": "de-DE",
        "country": "DE",
        "tax_id": "DE123456789",
    }
    body.update(overrides)
    return body


def test_created_account_is_served_by_number_and_by_id(db, client, admin, frozen) -> None:  # type: ignore[no-untyped-def]
    # given a parent account
    factories.account(db, "GROUP")
    # when an account is created under it
    r = client.post(URL, json=_payload(parent="GROUP"), headers=admin)
    # then it is created as sent, with the locale in its canonical form and version 1
    assert r.status_code == 201, r.text
    doc = r.json()
    assert doc == {
        "id": doc["id"],
        "number": "ACME",
        "name": "ACME Industriebedarf GmbH",
        "currency": "EUR",
        "locale": "de_DE",
        "country": "DE",
        "tax_id": "DE123456789",
        "parent": "GROUP",
        "status": "active",
        "payment_terms": None,
        "credit_limit": None,
        "endpoint_scheme": None,
        "endpoint_id": None,
        "buyer_reference": None,
        "direct_debit_mandate": None,
        "direct_debit_iban": None,
        "einvoice_format": "pdf",
        "version": 1,
        "created_at": NOW_TEXT,
        "updated_at": NOW_TEXT,
    }
    assert r.headers["ETag"] == '"1"'
    assert r.headers["Location"] == f"{URL}/{doc['id']}"
    # and it reads the same by number and by id, with its ETag
    by_number = client.get(f"{URL}/ACME", headers=admin)
    by_id = client.get(f"{URL}/{doc['id']}", headers=admin)
    assert by_number.json() == doc
    assert by_id.json() == doc
    assert by_id.headers["ETag"] == '"1"'
    # and an event tells the world
    with db.read() as s:
        events = s.execute(select(OutboxEvent.type, OutboxEvent.subject, OutboxEvent.data)).all()
    assert [(e.type, e.subject, e.data["number"]) for e in events] == [
        ("account.created", f"account/{doc['id']}", "ACME")
    ]


def test_defaults_apply_when_optional_fields_are_left_out(db, client, admin) -> None:  # type: ignore[no-untyped-def]
    # when only the required fields are sent
    r = client.post(URL, json={"number": "MINI", "name": "Mini Ltd", "currency": "JPY"}, headers=admin)
    # then the defaults are filled in
    assert r.status_code == 201, r.text
    doc = r.json()
    assert (doc["locale"], doc["country"], doc["tax_id"], doc["parent"], doc["status"]) == (
        "en",
        None,
        None,
        None,
        "active",
    )


def test_same_idempotency_key_replays_without_a_second_account(db, client, admin) -> None:  # type: ignore[no-untyped-def]
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = client.post(URL, json=_payload(), headers={**admin, **key})
    # when the same request is sent again under the same key
    replay = client.post(URL, json=_payload(), headers={**admin, **key})
    # then the stored response is replayed and only one account exists
    assert replay.status_code == 201
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.content == first.content
    assert replay.headers["ETag"] == '"1"'
    assert _count(db, Account) == 1


def test_duplicate_number_is_a_409_naming_the_field_and_writes_nothing(db, client, admin) -> None:  # type: ignore[no-untyped-def]
    # given an account ACME
    factories.account(db, "ACME", name="The original")
    # when another account is created with the same number
    r = client.post(URL, json=_payload(name="The copy"), headers=admin)
    # then it is refused, naming the field, and the original is untouched
    assert r.status_code == 409
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["type"] == "https://ordino.dev/problems/duplicate"
    assert body["errors"] == [{"field": "number", "message": "is already taken"}]
    assert _count(db, Account) == 1
    assert _account(db, "ACME").name == "The original"


def test_invalid_fields_are_each_named_and_nothing_is_written(db, client, admin) -> None:  # type: ignore[no-untyped-def]
    # when a payload breaks several rules at once
    body = _payload(currency="XAU", locale="en_ZZ", country="XX", status="dormant", colour="blue")
    r = client.post(URL, json=body, headers=admin)
    # then every field is reported with its path
    assert r.status_code == 422
    assert r.json()["errors"] == [
        {"field": "currency", "message": "'XAU' is not an active ISO 4217 currency"},
        {"field": "locale", "message": "'en_ZZ' is not a known locale, e.g. 'de' or 'de_DE'"},
        {"field": "country", "message": "must be an ISO 3166-1 alpha-2 country code such as DE"},
        {"field": "status", "message": "Input should be 'active', 'on_hold' or 'closed'"},
        {"field": "colour", "message": "Extra inputs are not permitted"},
    ]
    assert _count(db, Account) == 0


def test_missing_fields_and_an_unknown_parent_are_422(db, client, admin) -> None:  # type: ignore[no-untyped-def]
    missing = client.post(URL, json={"number": "ACME"}, headers=admin)
    assert missing.status_code == 422
    assert missing.json()["errors"] == [
        {"field": "name", "message": "Field required"},
        {"field": "currency", "message": "Field required"},
    ]
    # when the parent named does not exist
    r = client.post(URL, json=_payload(parent="NOBODY"), headers=admin)
    # then the reference is the error
    assert r.status_code == 422
    assert r.json()["errors"] == [{"field": "parent", "message": "no account 'NOBODY'"}]
    assert _count(db, Account) == 0


def test_list_filters_by_status_country_parent_and_text(db, client, admin) -> None:  # type: ignore[no-untyped-def]
    # given a small hierarchy in two countries
    group = factories.account(db, "GROUP", name="Holding AG", country="CH")
    factories.account(db, "ACME-DE", name="Acme Deutschland", parent_id=group)
    factories.account(db, "ACME-FR", name="Acme France", country="FR", parent_id=group, status="on_hold")
    factories.account(db, "OTHER", name="Other 100% GmbH", status="closed")

    def numbers(query: str) -> list[str]:
        r = client.get(f"{URL}?{query}", headers=admin)
        assert r.status_code == 200, r.text
        return [a["number"] for a in r.json()["items"]]

    # then each filter selects exactly its accounts, newest first
    assert numbers("") == ["OTHER", "ACME-FR", "ACME-DE", "GROUP"]
    assert numbers("status=on_hold") == ["ACME-FR"]
    assert numbers("country=de") == ["OTHER", "ACME-DE"]
    assert numbers("parent=GROUP") == ["ACME-FR", "ACME-DE"]
    assert numbers("q=acme") == ["ACME-FR", "ACME-DE"]
    assert numbers("q=holding") == ["GROUP"]
    assert numbers("q=100%25") == ["OTHER"]  # % is a character, not a wildcard
    assert numbers("q=%25") == ["OTHER"]
    # and the parent is served by number
    listed = client.get(f"{URL}?parent=GROUP", headers=admin).json()["items"]
    assert [a["parent"] for a in listed] == ["GROUP", "GROUP"]


def test_list_pages_with_a_cursor(db, client, admin) -> None:  # type: ignore[no-untyped-def]
    # given five accounts
    for n in range(1, 6):
        factories.account(db, f"A{n}")
    # when they are read two at a time
    first = client.get(f"{URL}?limit=2", headers=admin).json()
    second = client.get(f"{URL}?limit=2&cursor={first['next_cursor']}", headers=admin).json()
    third = client.get(f"{URL}?limit=2&cursor={second['next_cursor']}", headers=admin).json()
    # then every account comes exactly once and the last page has no cursor
    assert [a["number"] for a in first["items"]] == ["A5", "A4"]
    assert [a["number"] for a in second["items"]] == ["A3", "A2"]
    assert [a["number"] for a in third["items"]] == ["A1"]
    assert third["next_cursor"] is None
    # and limits outside 1..200 or a forged cursor are 422 naming the parameter
    too_big = client.get(f"{URL}?limit=201", headers=admin)
    assert too_big.status_code == 422
    assert [e["field"] for e in too_big.json()["errors"]] == ["limit"]
    forged = client.get(f"{URL}?cursor=not-a-cursor!", headers=admin)
    assert forged.status_code == 422
    assert forged.json()["errors"] == [{"field": "cursor", "message": "is not a cursor this API returned"}]


def test_patch_needs_if_match_and_refuses_a_stale_version(db, client, admin) -> None:  # type: ignore[no-untyped-def]
    factories.account(db, "ACME", name="Before")
    # when the change is sent without If-Match
    r = client.patch(f"{URL}/ACME", json={"name": "After"}, headers=admin)
    # then 428, and nothing changes
    assert r.status_code == 428
    assert r.json()["errors"] == [{"field": "If-Match", "message": "is required"}]
    # when it is sent with a version that is not the current one
    stale = client.patch(f"{URL}/ACME", json={"name": "After"}, headers={**admin, "If-Match": '"7"'})
    # then 409 with the current version
    assert stale.status_code == 409
    assert stale.json()["current_version"] == 1
    assert stale.json()["errors"] == [{"field": "If-Match", "message": "does not match the current version 1"}]
    account = _account(db, "ACME")
    assert (account.name, account.version) == ("Before", 1)


def test_patch_changes_the_named_fields_and_counts_a_version(db, client, admin, frozen) -> None:  # type: ignore[no-untyped-def]
    factories.account(db, "GROUP")
    factories.account(db, "ACME", name="Before", tax_id="DE1")
    # when name, status and parent change and the tax id is cleared
    change = {"name": "After", "status": "on_hold", "parent": "GROUP", "tax_id": None}
    r = client.patch(f"{URL}/ACME", json=change, headers={**admin, "If-Match": '"1"'})
    # then the new version is served with its ETag; fields not sent keep their values
    assert r.status_code == 200, r.text
    doc = r.json()
    assert r.headers["ETag"] == '"2"'
    assert (doc["name"], doc["status"], doc["parent"], doc["tax_id"], doc["currency"], doc["version"]) == (
        "After",
        "on_hold",
        "GROUP",
        None,
        "EUR",
        2,
    )
    assert doc["updated_at"] == NOW_TEXT
    assert client.get(f"{URL}/ACME", headers=admin).json() == doc
    # when the parent is removed with the weak form of the ETag
    r = client.patch(f"{URL}/ACME", json={"parent": None}, headers={**admin, "If-Match": 'W/"2"'})
    assert r.status_code == 200
    assert (r.json()["parent"], r.json()["version"]) == (None, 3)
    assert _account(db, "ACME").parent_id is None


def test_patch_without_real_change_keeps_the_version(db, client, admin) -> None:  # type: ignore[no-untyped-def]
    factories.account(db, "ACME", name="Same")
    r = client.patch(f"{URL}/ACME", json={"name": "Same"}, headers={**admin, "If-Match": '"1"'})
    assert r.status_code == 200
    assert r.json()["version"] == 1
    with db.read() as s:
        assert s.execute(select(func.count()).select_from(OutboxEvent)).scalar_one() == 0


def test_patch_refuses_number_changes_and_nulls_for_required_fields(db, client, admin) -> None:  # type: ignore[no-untyped-def]
    factories.account(db, "ACME", name="Before")
    r = client.patch(
        f"{URL}/ACME", json={"number": "ACME2", "name": None, "currency": "EURO"}, headers={**admin, "If-Match": '"1"'}
    )
    assert r.status_code == 422
    assert r.json()["errors"] == [
        {"field": "number", "message": "cannot be changed"},
        {"field": "name", "message": "may not be null; leave the field out to keep its value"},
        {"field": "currency", "message": "String should match pattern '^[A-Z]{3}$'"},
    ]
    account = _account(db, "ACME")
    assert (account.number, account.name, account.version) == ("ACME", "Before", 1)


def test_an_account_cannot_become_its_own_ancestor(db, client, admin) -> None:  # type: ignore[no-untyped-def]
    # given GROUP > ACME > ACME-BER
    group = factories.account(db, "GROUP")
    acme = factories.account(db, "ACME", parent_id=group)
    factories.account(db, "ACME-BER", parent_id=acme)
    # when GROUP is put under its grandchild, and ACME under itself
    under_grandchild = client.patch(f"{URL}/GROUP", json={"parent": "ACME-BER"}, headers={**admin, "If-Match": '"1"'})
    under_itself = client.patch(f"{URL}/ACME", json={"parent": "ACME"}, headers={**admin, "If-Match": '"1"'})
    # then both are refused as conflicts naming the parent
    for r in (under_grandchild, under_itself):
        assert r.status_code == 409, r.text
        assert r.json()["type"] == "https://ordino.dev/problems/account-hierarchy-cycle"
        assert r.json()["errors"] == [{"field": "parent", "message": "would make the account its own ancestor"}]
    # and the hierarchy is unchanged
    assert (_account(db, "GROUP").parent_id, _account(db, "GROUP").version) == (None, 1)
    assert (_account(db, "ACME").parent_id, _account(db, "ACME").version) == (group, 1)


def test_moving_within_the_hierarchy_without_a_cycle_is_allowed(db, client, admin) -> None:  # type: ignore[no-untyped-def]
    group = factories.account(db, "GROUP")
    factories.account(db, "ACME", parent_id=group)
    factories.account(db, "ACME-BER", parent_id=group)
    # when a sibling moves under another sibling
    r = client.patch(f"{URL}/ACME-BER", json={"parent": "ACME"}, headers={**admin, "If-Match": '"1"'})
    # then it is accepted
    assert r.status_code == 200, r.text
    assert r.json()["parent"] == "ACME"


def test_unknown_account_is_404(db, client, admin) -> None:  # type: ignore[no-untyped-def]
    assert client.get(f"{URL}/NOBODY", headers=admin).status_code == 404
    assert client.get(f"{URL}/{uuid.uuid4()}", headers=admin).status_code == 404
    r = client.patch(f"{URL}/NOBODY", json={"name": "x"}, headers={**admin, "If-Match": '"1"'})
    assert r.status_code == 404
    assert r.json()["type"] == "https://ordino.dev/problems/not-found"


def test_buyer_sees_only_its_own_account(db, client) -> None:  # type: ignore[no-untyped-def]
    # given two accounts and a buyer key of ACME
    acme = factories.account(db, "ACME")
    other = factories.account(db, "OTHER")
    buyer = api_key(db, Role.BUYER, acme)
    # then it reads ACME, and OTHER does not exist for it (404, not 403), by number or id
    assert client.get(f"{URL}/ACME", headers=buyer).status_code == 200
    assert client.get(f"{URL}/OTHER", headers=buyer).status_code == 404
    assert client.get(f"{URL}/{other}", headers=buyer).status_code == 404
    # and the list holds ACME only
    listed = client.get(URL, headers=buyer).json()
    assert [a["number"] for a in listed["items"]] == ["ACME"]
    # and it may not write
    assert client.post(URL, json=_payload(number="NEW"), headers=buyer).status_code == 403
    r = client.patch(f"{URL}/ACME", json={"name": "Mine"}, headers={**buyer, "If-Match": '"1"'})
    assert r.status_code == 403
    assert _count(db, Account) == 2
    assert _account(db, "ACME").version == 1


def test_staff_roles_read_but_only_admin_and_agent_write(db, client) -> None:  # type: ignore[no-untyped-def]
    factories.account(db, "ACME")
    for role in (Role.FULFILLMENT, Role.FINANCE, Role.INTEGRATION):
        headers = api_key(db, role)
        assert client.get(f"{URL}/ACME", headers=headers).status_code == 200
        assert client.post(URL, json=_payload(number=f"X-{role}"), headers=headers).status_code == 403
    agent = api_key(db, Role.AGENT)
    assert client.post(URL, json=_payload(number="BY-AGENT"), headers=agent).status_code == 201
    # and without a key nothing is served
    assert client.get(URL).status_code == 401
    assert _count(db, Account) == 2


# ---- e-invoicing: electronic address, buyer reference, direct-debit mandate, format ----

EINVOICING = {
    "endpoint_scheme": "0204", "endpoint_id": "04011000-1234512345-06", "buyer_reference": "04011000-1234512345-06",
    "direct_debit_mandate": "MND-ACME-2026-01", "direct_debit_iban": "DE02 1203 0000 0000 2020 51",
    "einvoice_format": "xrechnung",
}


def test_an_account_takes_its_e_invoicing_details(db, client, admin) -> None:  # type: ignore[no-untyped-def]
    # when an account is created with its electronic address, Leitweg-ID, mandate and format
    r = client.post(URL, json=_payload(**EINVOICING), headers=admin)
    # then they are stored, the IBAN in its compact form
    assert r.status_code == 201, r.text
    assert {k: r.json()[k] for k in EINVOICING} == {**EINVOICING, "direct_debit_iban": "DE02120300000000202051"}
    row = _account(db, "ACME")
    assert (row.endpoint_scheme, row.direct_debit_iban, row.einvoice_format) == (
        "0204", "DE02120300000000202051", "xrechnung")
    # and a patch changes the format and clears the mandate with its IBAN
    patch = {"einvoice_format": "peppol", "direct_debit_mandate": None, "direct_debit_iban": None}
    r = client.patch(f"{URL}/ACME", json=patch, headers={**admin, "If-Match": '"1"'})
    assert r.status_code == 200, r.text
    assert (r.json()["einvoice_format"], r.json()["direct_debit_mandate"], r.json()["version"]) == ("peppol", None, 2)


def test_bad_e_invoicing_details_are_refused_naming_the_field(db, client, admin) -> None:  # type: ignore[no-untyped-def]
    bad = [
        ({"endpoint_scheme": "9999", "endpoint_id": "X"}, "endpoint_scheme"),
        ({"endpoint_scheme": "0204"}, "endpoint_id"),
        ({"endpoint_id": "04011000-1234512345-06"}, "endpoint_scheme"),
        ({"direct_debit_mandate": "MND-1", "direct_debit_iban": "DE00120300000000202051"}, "direct_debit_iban"),
        ({"direct_debit_mandate": "MND-1"}, "direct_debit_iban"),
        ({"direct_debit_mandate": "MND|1", "direct_debit_iban": "DE02120300000000202051"}, "direct_debit_mandate"),
        ({"einvoice_format": "edifact"}, "einvoice_format"),
    ]
    for fields, field in bad:
        # when an account is created with one bad e-invoicing detail
        r = client.post(URL, json=_payload(**fields), headers=admin)
        # then the answer is a 422 naming that field, and nothing is written
        assert r.status_code == 422, (fields, r.text)
        assert [e["field"] for e in r.json()["errors"]] == [field], fields
    assert _count(db, Account) == 0
    # and a patch that leaves half an electronic address is refused and changes nothing
    assert client.post(URL, json=_payload(), headers=admin).status_code == 201
    r = client.patch(f"{URL}/ACME", json={"endpoint_scheme": "0088"}, headers={**admin, "If-Match": '"1"'})
    assert (r.status_code, [e["field"] for e in r.json()["errors"]]) == (422, ["endpoint_id"])
    assert (_account(db, "ACME").endpoint_scheme, _account(db, "ACME").version) == (None, 1)
