"""/api/v1/price-books: create, read, list, change with If-Match; entries with tiers; accounts."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from ordino.kernel.auth import Role
from ordino.kernel.db import Database
from ordino.pricing.models import PriceBook, PriceBookAccount, PriceBookEntry, PriceBookTier
from tests.conftest import api_key
from tests.pricing.conftest import NOW_TEXT, account_id, book, count, entry, event_types

URL = "/api/v1/price-books"


def _payload(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"code": "LIST-EUR", "name": "List prices EUR", "currency": "EUR", "kind": "list",
                            "is_standard": True}
    body.update(overrides)
    return body


def test_a_created_book_is_served_by_code_and_by_id(world, client, admin, frozen) -> None:  # type: ignore[no-untyped-def]
    # when a standard list book is created
    r = client.post(URL, json=_payload(valid_from="2026-01-01T00:00:00+01:00"), headers=admin)
    # then it is served as sent, its times in UTC
    assert r.status_code == 201, r.text
    doc = r.json()
    assert doc == {
        "id": doc["id"],
        "code": "LIST-EUR",
        "name": "List prices EUR",
        "currency": "EUR",
        "kind": "list",
        "is_standard": True,
        "valid_from": "2025-12-31T23:00:00+00:00",
        "valid_to": None,
        "active": True,
        "version": 1,
        "created_at": NOW_TEXT,
        "updated_at": NOW_TEXT,
    }
    assert (r.headers["ETag"], r.headers["Location"]) == ('"1"', f"{URL}/{doc['id']}")
    assert client.get(f"{URL}/LIST-EUR", headers=admin).json() == doc
    assert client.get(f"{URL}/{doc['id']}", headers=admin).json() == doc
    assert event_types(world) == ["price_book.created"]


def test_a_contract_book_can_be_created_with_its_accounts(world, client, admin) -> None:  # type: ignore[no-untyped-def]
    r = client.post(URL, json=_payload(code="ACME-2026", kind="contract", is_standard=False,
                                       accounts=["ACME", "GROUP"]), headers=admin)
    assert r.status_code == 201, r.text
    assert client.get(f"{URL}/ACME-2026/accounts", headers=admin).json() == {
        "price_book": "ACME-2026", "accounts": ["ACME", "GROUP"],
    }


def test_making_a_book_standard_unflags_the_previous_one(world, client, admin) -> None:  # type: ignore[no-untyped-def]
    book(world, "LIST-2025", standard=True)
    book(world, "LIST-USD", "USD", standard=True)
    r = client.post(URL, json=_payload(code="LIST-2026"), headers=admin)
    assert r.status_code == 201, r.text
    old = client.get(f"{URL}/LIST-2025", headers=admin).json()
    assert (old["is_standard"], old["version"]) == (False, 2)
    assert client.get(f"{URL}/LIST-USD", headers=admin).json()["is_standard"] is True
    # and back, by a patch
    r = client.patch(f"{URL}/LIST-2025", json={"is_standard": True}, headers={**admin, "If-Match": '"2"'})
    assert (r.status_code, r.json()["is_standard"], r.json()["version"]) == (200, True, 3)
    assert client.get(f"{URL}/LIST-2026", headers=admin).json()["is_standard"] is False


def test_invalid_fields_are_each_named_and_nothing_is_written(world, client, admin) -> None:  # type: ignore[no-untyped-def]
    body = _payload(
        code="LIST EUR", currency="EURO", kind="special", valid_from="2026-01-01T00:00:00", is_standard="yes"
    )
    r = client.post(URL, json=body, headers=admin)
    assert r.status_code == 422
    assert r.json()["errors"] == [
        {"field": "code", "message": "String should match pattern '^[A-Za-z0-9][A-Za-z0-9._\\-]*$'"},
        {"field": "currency", "message": "String should match pattern '^[A-Z]{3}$'"},
        {"field": "kind", "message": "Input should be 'list' or 'contract'"},
        {"field": "is_standard", "message": "Input should be a valid boolean"},
        {"field": "valid_from", "message": "must carry a timezone, e.g. 2026-11-26T10:00:00Z"},
    ]
    r = client.post(URL, json=_payload(currency="XTS"), headers=admin)
    assert r.json()["errors"] == [{"field": "currency", "message": "'XTS' is not an active ISO 4217 currency"}]
    # checks across fields and against the database
    r = client.post(URL, json=_payload(valid_from="2027-01-01T00:00:00Z", valid_to="2026-01-01T00:00:00Z",
                                       accounts=["ACME", "NOPE", "ACME"]), headers=admin)
    assert r.status_code == 422
    assert r.json()["errors"] == [
        {"field": "valid_to", "message": "must be later than valid_from"},
        {"field": "accounts", "message": "only contract books are assigned to accounts"},
        {"field": "accounts[2]", "message": "is given twice"},
        {"field": "accounts[1]", "message": "no account 'NOPE'"},
    ]
    r = client.post(URL, json=_payload(kind="contract"), headers=admin)
    assert r.json()["errors"] == [{"field": "is_standard", "message": "only a list book can be the standard one"}]
    assert (count(world, PriceBook), count(world, PriceBookAccount), event_types(world)) == (0, 0, [])


def test_a_taken_code_is_a_409_and_a_replayed_request_answers_the_same(world, client, admin) -> None:  # type: ignore[no-untyped-def]
    key = {**admin, "Idempotency-Key": "book-1"}
    first = client.post(URL, json=_payload(), headers=key)
    again = client.post(URL, json=_payload(), headers=key)
    assert (again.status_code, again.json(), again.headers["Idempotent-Replayed"]) == (201, first.json(), "true")
    taken = client.post(URL, json=_payload(name="Copy"), headers=admin)
    assert (taken.status_code, taken.json()["errors"]) == (409, [{"field": "code", "message": "is already taken"}])
    assert count(world, PriceBook) == 1


def test_changes_need_the_current_version(world, client, admin) -> None:  # type: ignore[no-untyped-def]
    book(world, "LIST-EUR", standard=True)
    url = f"{URL}/LIST-EUR"
    assert client.patch(url, json={"name": "New"}, headers=admin).status_code == 428
    stale = client.patch(url, json={"name": "New"}, headers={**admin, "If-Match": '"7"'})
    assert (stale.status_code, stale.json()["errors"]) == (
        409, [{"field": "If-Match", "message": "does not match the current version 1"}],
    )
    refused = client.patch(url, json={"code": "X", "currency": "USD", "name": None, "valid_to": "soon"},
                           headers={**admin, "If-Match": '"1"'})
    assert refused.json()["errors"] == [
        {"field": "code", "message": "cannot be changed"},
        {"field": "currency", "message": "cannot be changed"},
        {"field": "name", "message": "may not be null; leave the field out to keep its value"},
        {"field": "valid_to", "message": "Input should be a valid datetime or date, input is too short"},
    ]
    ok = client.patch(url, json={"name": "List 2026", "valid_to": "2027-01-01T00:00:00Z"},
                      headers={**admin, "If-Match": '"1"'})
    assert (ok.status_code, ok.headers["ETag"]) == (200, '"2"')
    assert (ok.json()["name"], ok.json()["valid_to"], ok.json()["version"]) == (
        "List 2026", "2027-01-01T00:00:00+00:00", 2,
    )
    same = client.patch(url, json={"name": "List 2026"}, headers={**admin, "If-Match": '"2"'})
    assert same.json()["version"] == 2
    assert event_types(world) == ["price_book.updated"]


def test_books_are_listed_newest_first_with_filters(world, client, admin) -> None:  # type: ignore[no-untyped-def]
    book(world, "LIST-EUR", standard=True)
    book(world, "LIST-USD", "USD", standard=True)
    book(world, "ACME-EUR", kind="contract", accounts=["ACME"])
    codes = lambda q: [b["code"] for b in client.get(f"{URL}{q}", headers=admin).json()["items"]]  # noqa: E731
    assert codes("") == ["ACME-EUR", "LIST-USD", "LIST-EUR"]
    assert codes("?currency=eur") == ["ACME-EUR", "LIST-EUR"]
    assert codes("?kind=contract") == ["ACME-EUR"]
    assert codes("?account=ACME") == ["ACME-EUR"]
    assert codes("?q=usd") == ["LIST-USD"]
    first = client.get(f"{URL}?limit=2", headers=admin).json()
    rest = client.get(f"{URL}?limit=2&cursor={first['next_cursor']}", headers=admin).json()
    assert ([b["code"] for b in rest["items"]], rest["next_cursor"]) == (["LIST-EUR"], None)


def test_buyers_may_not_see_price_books(world, client) -> None:  # type: ignore[no-untyped-def]
    buyer = api_key(world, Role.BUYER, account_id(world, "ACME"))
    assert client.get(URL, headers=buyer).status_code == 403
    assert client.post(URL, json=_payload(), headers=api_key(world, Role.FINANCE)).status_code == 403
    assert client.get(f"{URL}/NOPE", headers=api_key(world, Role.FINANCE)).status_code == 404


# ----------------------------------------------------------------------------------------------
# Entries


ENTRIES = {
    "entries": [
        {"sku": "BOLT-M8", "unit_price": "0.0400", "tiers": [{"from_quantity": 1000, "unit_price": "0.035"},
                                                              {"from_quantity": 5000, "unit_price": "0.03"}],
         "valid_to": "2027-01-01T00:00:00Z"},
        {"sku": "BOLT-M8", "unit_price": "0.042", "valid_from": "2027-01-01T00:00:00Z"},
        {"sku": "NUT-M8", "unit_price": "12.5"},
    ]
}


def _entries(db: Database) -> list[tuple[str, str, list[tuple[int, str]]]]:
    with db.read() as s:
        rows = s.execute(select(PriceBookEntry.id, PriceBookEntry.sku, PriceBookEntry.unit_price)
                         .order_by(PriceBookEntry.sku, PriceBookEntry.unit_price)).all()
        tiers = s.execute(select(PriceBookTier.entry_id, PriceBookTier.from_quantity, PriceBookTier.unit_price)
                          .order_by(PriceBookTier.from_quantity)).all()
    return [(sku, str(price), [(q, str(p)) for e, q, p in tiers if e == i]) for i, sku, price in rows]


def test_entries_are_upserted_per_sku_with_their_tiers(world, client, admin, frozen) -> None:  # type: ignore[no-untyped-def]
    book(world, "LIST-EUR", standard=True)
    url = f"{URL}/LIST-EUR/entries"
    # when entries are put
    r = client.put(url, json=ENTRIES, headers=admin)
    # then they are served with canonical prices
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert [{k: v for k, v in e.items() if k != "id"} for e in items] == [
        {"sku": "BOLT-M8", "unit_price": "0.04", "tiers": [{"from_quantity": 1000, "unit_price": "0.035"},
                                                           {"from_quantity": 5000, "unit_price": "0.03"}],
         "valid_from": None, "valid_to": "2027-01-01T00:00:00+00:00", "updated_at": NOW_TEXT},
        {"sku": "BOLT-M8", "unit_price": "0.042", "tiers": [], "valid_from": "2027-01-01T00:00:00+00:00",
         "valid_to": None, "updated_at": NOW_TEXT},
        {"sku": "NUT-M8", "unit_price": "12.50", "tiers": [], "valid_from": None, "valid_to": None,
         "updated_at": NOW_TEXT},
    ]
    # when BOLT is put again and WASHER added, NUT (not named) stays
    r = client.put(url, json={"entries": [{"sku": "BOLT-M8", "unit_price": "0.039"},
                                          {"sku": "WASHER-M8", "unit_price": "0.005"}]}, headers=admin)
    assert r.status_code == 200, r.text
    assert _entries(world) == [
        ("BOLT-M8", "0.039000", []), ("NUT-M8", "12.500000", []), ("WASHER-M8", "0.005000", []),
    ]
    # remove drops a SKU's entries
    assert client.put(url, json={"remove": ["NUT-M8", "SCREW-4x40"]}, headers=admin).status_code == 200
    assert [sku for sku, _, _ in _entries(world)] == ["BOLT-M8", "WASHER-M8"]
    assert event_types(world) == ["price_book.entries_changed"] * 3


def test_entries_are_listed_with_filters(world, client, admin) -> None:  # type: ignore[no-untyped-def]
    book(world, "LIST-EUR", standard=True)
    assert client.put(f"{URL}/LIST-EUR/entries", json=ENTRIES, headers=admin).status_code == 200
    url = f"{URL}/LIST-EUR/entries"
    listed = lambda q: [(e["sku"], e["unit_price"]) for e in client.get(url + q, headers=admin).json()["items"]]  # noqa: E731
    assert listed("") == [("NUT-M8", "12.50"), ("BOLT-M8", "0.042"), ("BOLT-M8", "0.04")]
    assert listed("?sku=BOLT-M8&at=2027-02-01T00:00:00Z") == [("BOLT-M8", "0.042")]
    assert listed("?limit=1") == [("NUT-M8", "12.50")]
    assert client.get(url + "?at=2027-02-01T00:00:00", headers=admin).json()["errors"] == [
        {"field": "at", "message": "must carry a timezone, e.g. 2026-11-26T10:00:00Z"}
    ]
    assert client.get(f"{URL}/NOPE/entries", headers=admin).status_code == 404
    assert client.put(f"{URL}/NOPE/entries", json=ENTRIES, headers=admin).status_code == 404
    # an ERP integration may upload prices; a buyer may not
    feed = client.put(url, json={"entries": [{"sku": "WASHER-M8", "unit_price": "0.005"}]},
                      headers=api_key(world, Role.INTEGRATION))
    assert feed.status_code == 200
    buyer = api_key(world, Role.BUYER, account_id(world, "ACME"))
    assert client.put(url, json={"remove": ["WASHER-M8"]}, headers=buyer).status_code == 403


def test_invalid_entries_are_each_named_and_nothing_is_written(world, client, admin) -> None:  # type: ignore[no-untyped-def]
    book(world, "LIST-EUR", standard=True)
    entry(world, "LIST-EUR", "BOLT-M8", "0.04")
    url = f"{URL}/LIST-EUR/entries"
    r = client.put(url, json={"entries": [{"sku": "BOLT-M8", "unit_price": 0.04},
                                          {"sku": "NUT-M8", "unit_price": "-1"},
                                          {"sku": "WASHER-M8", "unit_price": "0.0000001"}]}, headers=admin)
    assert r.status_code == 422
    assert r.json()["errors"] == [
        {"field": "entries[0].unit_price",
         "message": 'send amounts as decimal strings such as "12.50", not JSON numbers'},
        {"field": "entries[1].unit_price", "message": "cannot be negative"},
        {"field": "entries[2].unit_price", "message": "at most 6 decimal places"},
    ]
    r = client.put(url, json={
        "entries": [
            {"sku": "NOPE", "unit_price": "1"},
            {"sku": "BOLT-M8", "unit_price": "1", "tiers": [{"from_quantity": 1, "unit_price": "1"},
                                                            {"from_quantity": 10, "unit_price": "1"},
                                                            {"from_quantity": 10, "unit_price": "0.9"}]},
            {"sku": "BOLT-M8", "unit_price": "1", "valid_from": "2026-06-01T00:00:00Z"},
            {"sku": "NUT-M8", "unit_price": "1", "valid_from": "2026-06-01T00:00:00Z",
             "valid_to": "2026-06-01T00:00:00Z"},
        ],
        "remove": ["BOLT-M8"],
    }, headers=admin)
    assert r.status_code == 422
    assert r.json()["errors"] == [
        {"field": "entries[0].sku", "message": "no product 'NOPE'"},
        {"field": "entries[1].tiers[0].from_quantity", "message": "must be at least 2; unit_price is the price from 1"},
        {"field": "entries[1].tiers[2].from_quantity", "message": "is given twice"},
        {"field": "entries[3].valid_to", "message": "must be later than valid_from"},
        {"field": "entries[2].valid_from",
         "message": "overlaps entries[1] of the same SKU; a SKU's windows in a book may not overlap"},
        {"field": "remove[0]", "message": "'BOLT-M8' is also in entries"},
    ]
    assert _entries(world) == [("BOLT-M8", "0.040000", [])]
    assert event_types(world) == []


# ----------------------------------------------------------------------------------------------
# Accounts of contract books


def test_price_books_are_set_by_admins_and_entries_also_synced_by_integration(world, client) -> None:  # type: ignore[no-untyped-def]
    # given a contract book with an entry, assigned to ACME
    book(world, "ACME-EUR", kind="contract")
    entry(world, "ACME-EUR", "BOLT-M8", "0.0400")
    agent, integration = api_key(world, Role.AGENT), api_key(world, Role.INTEGRATION)
    url = f"{URL}/ACME-EUR"
    # when an agent creates, changes, prices or assigns a book
    refused = [
        client.post(URL, json=_payload(), headers=agent),
        client.patch(url, json={"name": "Cheaper"}, headers={**agent, "If-Match": '"1"'}),
        client.put(f"{url}/entries", json={"entries": [{"sku": "BOLT-M8", "unit_price": "0.0001"}]}, headers=agent),
        client.post(f"{url}/accounts", json={"accounts": ["ACME"]}, headers=agent),
        client.delete(f"{url}/accounts/ACME", headers=agent),
        # and integration anything but the entries
        client.post(URL, json=_payload(), headers=integration),
        client.post(f"{url}/accounts", json={"accounts": ["ACME"]}, headers=integration),
    ]
    # then each is refused for the role and nothing is written
    assert [(r.status_code, r.json().get("type")) for r in refused] == [
        (403, "https://ordino.dev/problems/forbidden")] * 7
    assert (count(world, PriceBook), count(world, PriceBookAccount), _entries(world)) == (
        1, 0, [("BOLT-M8", "0.040000", [])])
    # when integration syncs the entries from the ERP, they are stored
    synced = client.put(f"{url}/entries", json={"entries": [{"sku": "BOLT-M8", "unit_price": "0.0390"}]},
                        headers=integration)
    assert synced.status_code == 200, synced.text
    assert _entries(world) == [("BOLT-M8", "0.039000", [])]
    # and an agent still reads the book
    assert client.get(url, headers=agent).status_code == 200


def test_contract_books_are_assigned_to_accounts_and_unassigned(world, client, admin) -> None:  # type: ignore[no-untyped-def]
    book(world, "ACME-EUR", kind="contract")
    url = f"{URL}/ACME-EUR/accounts"
    r = client.post(url, json={"accounts": ["ACME-BER", "ACME"]}, headers=admin)
    assert (r.status_code, r.json()) == (200, {"price_book": "ACME-EUR", "accounts": ["ACME", "ACME-BER"]})
    again = client.post(url, json={"accounts": ["ACME"]}, headers=admin)
    assert again.json() == {"price_book": "ACME-EUR", "accounts": ["ACME", "ACME-BER"]}
    assert client.delete(f"{url}/ACME-BER", headers=admin).status_code == 204
    assert client.get(url, headers=admin).json() == {"price_book": "ACME-EUR", "accounts": ["ACME"]}
    gone = client.delete(f"{url}/ACME-BER", headers=admin)
    assert (gone.status_code, gone.json()["type"]) == (404, "https://ordino.dev/problems/not-found")
    assert event_types(world) == ["price_book.accounts_assigned", "price_book.account_unassigned"]


def test_assignments_are_refused_for_list_books_and_unknown_accounts(world, client, admin) -> None:  # type: ignore[no-untyped-def]
    book(world, "LIST-EUR", standard=True)
    book(world, "ACME-EUR", kind="contract")
    r = client.post(f"{URL}/LIST-EUR/accounts", json={"accounts": ["ACME"]}, headers=admin)
    assert (r.status_code, r.json()["type"]) == (409, "https://ordino.dev/problems/not-a-contract-book")
    r = client.delete(f"{URL}/LIST-EUR/accounts/ACME", headers=admin)
    assert (r.status_code, r.json()["type"]) == (409, "https://ordino.dev/problems/not-a-contract-book")
    # and the document says that unassigning can answer 409
    unassign = client.app.openapi()["paths"]["/api/v1/price-books/{ref}/accounts/{account}"]["delete"]  # type: ignore[attr-defined]
    assert "409" in unassign["responses"]
    r = client.post(f"{URL}/ACME-EUR/accounts", json={"accounts": ["ACME", "NOPE"]}, headers=admin)
    assert (r.status_code, r.json()["errors"]) == (422, [{"field": "accounts[1]", "message": "no account 'NOPE'"}])
    r = client.post(f"{URL}/ACME-EUR/accounts", json={"accounts": []}, headers=admin)
    assert r.json()["errors"] == [
        {"field": "accounts", "message": "List should have at least 1 item after validation, not 0"}
    ]
    assert count(world, PriceBookAccount) == 0


def test_a_key_scoped_to_an_account_sees_list_books_and_its_own_contracts_only(world, client) -> None:  # type: ignore[no-untyped-def]
    # given a list book, GROUP's contract (ACME's parent), OTHER's contract, and one shared by ACME and OTHER
    book(world, "LIST-EUR")
    book(world, "GROUP-EUR", kind="contract", accounts=["GROUP"])
    book(world, "OTHER-EUR", kind="contract", accounts=["OTHER"])
    book(world, "SHARED-EUR", kind="contract", accounts=["ACME", "OTHER"])
    entry(world, "OTHER-EUR", "BOLT-M8", "0.0300")
    agent = api_key(world, Role.AGENT, account_id(world, "ACME"))
    integration = api_key(world, Role.INTEGRATION, account_id(world, "ACME"))
    # when an agent key scoped to ACME lists the books
    listed = client.get(URL, headers=agent).json()["items"]
    # then it sees the list book and the contracts that price ACME's orders, not OTHER's
    assert sorted(b["code"] for b in listed) == ["GROUP-EUR", "LIST-EUR", "SHARED-EUR"]
    # and OTHER's contract, its entries and its accounts answer 404 as an unknown book
    foreign = [client.get(f"{URL}/OTHER-EUR", headers=agent), client.get(f"{URL}/OTHER-EUR/entries", headers=agent),
               client.get(f"{URL}/OTHER-EUR/accounts", headers=agent)]
    assert [(r.status_code, r.json()["detail"]) for r in foreign] == [(404, "price book not found")] * 3
    # and a book shared with OTHER names ACME only
    assert client.get(f"{URL}/SHARED-EUR/accounts", headers=agent).json()["accounts"] == ["ACME"]
    # when an integration key scoped to ACME writes OTHER's contract prices
    r = client.put(f"{URL}/OTHER-EUR/entries", json={"entries": [{"sku": "BOLT-M8", "unit_price": "0.0001"}]},
                   headers=integration)
    # then it is refused as an unknown book and the price is unchanged
    assert r.status_code == 404
    assert _entries(world) == [("BOLT-M8", "0.030000", [])]
    # and an unscoped agent key still sees every book and every account of a book
    unscoped = api_key(world, Role.AGENT)
    assert len(client.get(URL, headers=unscoped).json()["items"]) == 4
    assert client.get(f"{URL}/SHARED-EUR/accounts", headers=unscoped).json()["accounts"] == ["ACME", "OTHER"]
