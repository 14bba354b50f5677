"""Quotes through the API: requested, priced by an agent, sent, accepted into an order at the
quoted prices; expired quotes are refused."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from ordino.kernel import clock
from ordino.kernel.auth import Principal, Role
from ordino.kernel.db import Database
from ordino.orders.models import OrderSummary
from ordino.orders.quotes import service as quotes
from ordino.orders.quotes.models import Quote
from ordino.orders.quotes.schemas import QuoteAcceptIn
from tests import factories
from tests.orders.support import (
    NOW,
    NOW_TEXT,
    World,
    build,
    count,
    event_types,
    line_promotion,
    price_book,
    reserved,
)

URL = "/api/v1/quotes"
SHIP_TO = {"name": "ACME Berlin", "line1": "Invalidenstraße 1", "city": "Berlin", "postal_code": "10115",
           "country": "DE"}
ACCEPT = {"ship_to": SHIP_TO, "po_number": "PO-77", "payments": [{"method": "invoice", "terms": "net_30"}]}
UNTIL = "2026-12-10T00:00:00Z"
UTC_PAST = "2026-11-26T09:59:59Z"


@pytest.fixture
def w(db: Database) -> Iterator[World]:
    clock.set_clock(lambda: NOW)
    world = build(db)
    price_book(db, {"BOLT-M8": "0.0400", "NUT-M8": "0.0100", "DRILL-X": "89.90"})
    line_promotion(db, "BOLTWEEK", "BOLT-M8", "10")
    yield world
    clock.set_clock(None)


def _request(client: TestClient, w: World, who: str = "bob", **fields: Any) -> dict[str, Any]:
    body = {"account": "ACME-BER", "channel": "web", "notes": "Q1 project",
            "lines": [{"sku": "BOLT-M8", "quantity": 5000}, {"sku": "NUT-M8", "quantity": 5000},
                      {"sku": "DRILL-X", "quantity": 2}], **fields}
    r = client.post(URL, json=body, headers=w.keys[who])
    assert r.status_code == 201, r.text
    return dict(r.json())


PRICING = {"valid_until": UNTIL, "shipping_charge": "25.00", "note": "Valid for the Q1 rollout",
           "lines": [{"line_number": 2, "unit_price": "0.0085"}, {"line_number": 3, "discount_percent": "5"}]}


def _priced_and_sent(client: TestClient, w: World, **pricing: Any) -> dict[str, Any]:
    quote = _request(client, w)
    r = client.post(f"{URL}/{quote['id']}/price", json={**PRICING, **pricing}, headers=w.keys["agent"])
    assert r.status_code == 200, r.text
    r = client.post(f"{URL}/{quote['id']}/send", headers=w.keys["agent"])
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_a_requested_quote_is_priced_sent_and_accepted_into_an_order_at_the_quoted_prices(db, client, w) -> None:  # type: ignore[no-untyped-def]
    # when bob requests prices for three lines
    quote = _request(client, w)
    # then the quote waits for an agent, unpriced
    assert (quote["number"], quote["status"], quote["available_actions"], quote["totals"]) == (
        "QT-000001", "requested", ["price", "reject"], None)
    assert quote["lines"][0] == {"line_number": 1, "sku": "BOLT-M8", "quantity": 5000, "unit_price": None,
                                 "price_source": None, "line_amount": None, "adjustments": [],
                                 "adjustment_amount": "0.00", "total_line_amount": None}
    assert (quote["requested_by_contact"], quote["created_by"]) == (str(w.contacts["bob"]), "buyer:bob")
    # when an agent prices it: catalog for bolts (with their promotion), a price for nuts, 5% off drills
    r = client.post(f"{URL}/{quote['id']}/price", json=PRICING, headers=w.keys["agent"])
    assert r.status_code == 200, r.text
    priced = r.json()
    assert [(x["unit_price"], x["price_source"], x["line_amount"], x["adjustments"], x["total_line_amount"])
            for x in priced["lines"]] == [
        ("0.04", "catalog", "200.00", [{"name": "Boltweek", "source": "promotion", "reference": "BOLTWEEK",
                                        "amount": "-20.00"}], "180.00"),
        ("0.0085", "agent", "42.50", [], "42.50"),
        ("89.90", "catalog", "179.80", [{"name": "Quote discount 5%", "source": "quote", "reference": None,
                                         "amount": "-8.99"}], "170.81"),
    ]
    assert priced["totals"] == {"product": "422.30", "adjustment": "-28.99", "shipping": "25.00", "total": "418.31"}
    assert (priced["status"], priced["valid_until"], priced["priced_by"], priced["agent_note"]) == (
        "priced", "2026-12-10T00:00:00+00:00", "agent:agent", "Valid for the Q1 rollout")
    # when it is sent and bob accepts it
    assert client.post(f"{URL}/{quote['id']}/send", headers=w.keys["agent"]).json()["status"] == "sent"
    r = client.post(f"{URL}/{quote['number']}/accept", json=ACCEPT, headers=w.keys["bob"])
    # then it is an order at exactly the quoted prices and discounts
    assert r.status_code == 201, r.text
    order = r.json()
    assert r.headers["Location"] == f"/api/v1/orders/{order['id']}"
    assert (order["external_reference"], order["pricing"], order["po_number"], order["status"]) == (
        "QT-000001", "order", "PO-77", "created")
    items = order["delivery_groups"][0]["items"]
    assert [(i["sku"], i["quantities"]["ordered"], i["unit_price"], i["line_amount"], i["adjustment_amount"])
            for i in items] == [
        ("BOLT-M8", 5000, "0.04", "200.00", "-20.00"),
        ("NUT-M8", 5000, "0.0085", "42.50", "0.00"),
        ("DRILL-X", 2, "89.90", "179.80", "-8.99"),
        (None, 1, "25.00", "25.00", "0.00"),
    ]
    assert [(a["name"], a["reference"], a["amount"]) for a in items[2]["adjustments"]] == [
        ("Quote discount 5%", "QT-000001", "-8.99")]
    # and taxed by the engine as a catalog order is: German VAT, 19% of 418.31 (DE to DE, B2B)
    assert order["totals"] == {"product": "422.30", "adjustment": "-28.99", "delivery": "25.00", "tax": "79.48",
                               "grand_total": "497.79"}
    assert order["tax"] == "calculate"
    assert reserved(db, "DRILL-X") == 2
    # and the quote keeps the order
    accepted = client.get(f"{URL}/{quote['id']}", headers=w.keys["bob"]).json()
    assert (accepted["status"], accepted["order"], accepted["available_actions"]) == (
        "accepted", {"id": order["id"], "number": order["number"]}, [])
    # and accepting again answers the same order, never a second one
    again = client.post(f"{URL}/{quote['id']}/accept", json=ACCEPT, headers=w.keys["bob"])
    assert (again.status_code, again.json()["id"]) == (200, order["id"])
    assert count(db, OrderSummary) == 1
    assert [t for t in event_types(db) if t.startswith("quote.")] == [
        "quote.created", "quote.requested", "quote.priced", "quote.sent", "quote.accepted"]


def test_an_expired_quote_cannot_be_accepted(db, client, w) -> None:  # type: ignore[no-untyped-def]
    quote = _priced_and_sent(client, w)
    # when bob accepts it at the moment it expires
    clock.set_clock(lambda: datetime(2026, 12, 10, tzinfo=NOW.tzinfo))
    r = client.post(f"{URL}/{quote['id']}/accept", json=ACCEPT, headers=w.keys["bob"])
    # then it is refused naming the expiry, and the quote is marked expired
    assert r.status_code == 409
    body = r.json()
    assert (body["type"], body["detail"], body["errors"], body["valid_until"]) == (
        "https://ordino.dev/problems/quote-expired",
        "quote QT-000001 expired at 2026-12-10T00:00:00+00:00; ask for a new quote",
        [{"field": "valid_until", "message": "passed at 2026-12-10T00:00:00+00:00"}],
        "2026-12-10T00:00:00+00:00",
    )
    assert client.get(f"{URL}/{quote['id']}", headers=w.keys["bob"]).json()["status"] == "expired"
    assert (count(db, OrderSummary), reserved(db, "DRILL-X")) == (0, 0)
    # and asking again gives the same answer
    assert client.post(f"{URL}/{quote['id']}/accept", json=ACCEPT, headers=w.keys["bob"]).status_code == 409


def test_the_periodic_job_expires_quotes_past_their_validity(db, client, w) -> None:  # type: ignore[no-untyped-def]
    sent = _priced_and_sent(client, w)
    later = _priced_and_sent(client, w, valid_until="2026-12-20T00:00:00Z")
    at = datetime(2026, 12, 15, tzinfo=NOW.tzinfo)
    assert db.transaction(lambda s: quotes.expire_quotes(s, at)) == 1
    assert db.transaction(lambda s: quotes.expire_quotes(s, at)) == 0
    with db.read() as s:
        statuses = dict(s.execute(select(Quote.number, Quote.status)).all())
    assert statuses == {sent["number"]: "expired", later["number"]: "sent"}


def test_an_accepted_quote_goes_through_the_approval_rules_like_any_order(db, client, w) -> None:  # type: ignore[no-untyped-def]
    rule = {"account": "ACME", "kind": "order_total", "name": "Big", "amount": "450.00", "currency": "EUR"}
    assert client.post("/api/v1/approval-rules", json=rule, headers=w.keys["dora"]).status_code == 201
    quote = _priced_and_sent(client, w)
    order = client.post(f"{URL}/{quote['id']}/accept", json=ACCEPT, headers=w.keys["bob"]).json()
    assert (order["status"], order["totals"]["grand_total"]) == ("pending_approval", "497.79")
    r = client.post(f"/api/v1/orders/{order['id']}/approve", headers=w.keys["alice"])
    assert r.json()["order"]["status"] == "approved"


def test_only_agents_price_and_send_and_other_accounts_see_nothing(db, client, w) -> None:  # type: ignore[no-untyped-def]
    quote = _request(client, w)
    for action, body in (("price", PRICING), ("send", None)):
        r = client.post(f"{URL}/{quote['id']}/{action}", json=body, headers=w.keys["bob"])
        assert r.status_code == 403
    assert client.get(f"{URL}/{quote['id']}", headers=w.keys["otto"]).status_code == 404
    assert client.post(f"{URL}/{quote['id']}/reject", headers=w.keys["otto"]).status_code == 404
    assert client.get(URL, headers=w.keys["otto"]).json()["items"] == []
    # a contact without the buyer role neither requests nor accepts quotes
    r = client.post(URL, json={"account": "ACME-BER", "channel": "web", "lines": [{"sku": "BOLT-M8", "quantity": 1}]},
                    headers=w.keys["vic"])
    assert (r.status_code, r.json()["type"]) == (403, "https://ordino.dev/problems/not-a-buyer")
    with db.read() as s:
        assert s.execute(select(Quote.status, Quote.version)).all() == [("requested", 2)]


def test_pricing_errors_name_the_line_and_change_nothing(db, client, w) -> None:  # type: ignore[no-untyped-def]
    factories.product(db, "SAW-Y")  # no price in any book
    quote = _request(client, w, lines=[{"sku": "BOLT-M8", "quantity": 10}, {"sku": "SAW-Y", "quantity": 1}])
    cases = [
        ({"valid_until": UTC_PAST}, [("valid_until", "must be in the future")]),
        ({"valid_until": UNTIL}, [("lines", "line 2 (SAW-Y) has no catalog price; give it a unit_price")]),
        ({"valid_until": UNTIL, "lines": [{"line_number": 9, "unit_price": "1"}]},
         [("lines[0].line_number", "the quote has no line 9")]),
        ({"valid_until": UNTIL, "lines": [{"line_number": 2, "unit_price": "1", "discount_percent": "5",
                                           "discount_amount": "1"}]},
         [("lines[0].discount_amount", "give a discount as a percentage or an amount")]),
        ({"valid_until": UNTIL, "lines": [{"line_number": 2, "unit_price": "10", "discount_amount": "10.01"}]},
         [("lines[0].discount_amount", "line 2: the discount is more than the line's 10.00 EUR")]),
        ({"valid_until": UNTIL, "lines": [{"line_number": 2, "unit_price": "10", "discount_percent": "101"}]},
         [("lines[0].discount_percent", "must be between 0 and 100")]),
    ]
    for body, errors in cases:
        r = client.post(f"{URL}/{quote['id']}/price", json=body, headers=w.keys["agent"])
        assert r.status_code == 422, r.text
        assert [(e["field"], e["message"]) for e in r.json()["errors"]] == errors
    after = client.get(f"{URL}/{quote['id']}", headers=w.keys["agent"]).json()
    assert (after["status"], after["version"], after["totals"], after["lines"][0]["unit_price"]) == (
        "requested", 2, None, None)
    # the agent's price for the unpriced line makes it whole
    ok = client.post(f"{URL}/{quote['id']}/price", headers=w.keys["agent"],
                     json={"valid_until": UNTIL, "lines": [{"line_number": 2, "unit_price": "24.50"}]})
    assert ok.json()["totals"] == {"product": "24.90", "adjustment": "-0.04", "shipping": "0.00", "total": "24.86"}


def test_a_draft_is_edited_then_submitted_and_refused_lines_are_named(db, client, w) -> None:  # type: ignore[no-untyped-def]
    draft = _request(client, w, submit=False)
    assert (draft["status"], draft["available_actions"], draft["version"]) == ("draft", ["submit"], 1)
    # pricing a draft is refused
    r = client.post(f"{URL}/{draft['id']}/price", json=PRICING, headers=w.keys["agent"])
    assert (r.status_code, r.json()["type"]) == (409, "https://ordino.dev/problems/invalid-transition")
    assert r.json()["current_status"] == "draft"
    # its lines are replaced with its version
    r = client.patch(f"{URL}/{draft['id']}", json={"lines": [{"sku": "NUT-M8", "quantity": 100}], "notes": None},
                     headers={**w.keys["bob"], "If-Match": '"1"'})
    assert r.status_code == 200, r.text
    assert ([(x["line_number"], x["sku"], x["quantity"]) for x in r.json()["lines"]], r.json()["notes"],
            r.headers["ETag"]) == ([(1, "NUT-M8", 100)], None, '"2"')
    bad = client.patch(f"{URL}/{draft['id']}", json={"lines": [{"sku": "NUT-M8", "quantity": 1},
                                                               {"sku": "NOPE", "quantity": 1}]},
                       headers={**w.keys["bob"], "If-Match": '"2"'})
    assert (bad.status_code, bad.json()["errors"]) == (422, [{"field": "lines[1].sku",
                                                               "message": "no active product 'NOPE'"}])
    # and it is submitted for pricing
    r = client.post(f"{URL}/{draft['id']}/submit", headers=w.keys["bob"])
    assert (r.json()["status"], r.json()["version"], r.json()["lines"][0]["sku"]) == ("requested", 3, "NUT-M8")
    r = client.patch(f"{URL}/{draft['id']}", json={"notes": "x"}, headers={**w.keys["bob"], "If-Match": '"3"'})
    assert r.status_code == 200
    # once priced, its lines are fixed
    client.post(f"{URL}/{draft['id']}/price", json={"valid_until": UNTIL}, headers=w.keys["agent"])
    r = client.patch(f"{URL}/{draft['id']}", json={"notes": "y"}, headers={**w.keys["bob"], "If-Match": '"5"'})
    assert (r.status_code, r.json()["type"]) == (409, "https://ordino.dev/problems/quote-not-editable")


def test_a_request_names_every_bad_field(db, client, w) -> None:  # type: ignore[no-untyped-def]
    r = client.post(URL, json={"account": "OTHER", "channel": "fax", "currency": "XXX",
                               "lines": [{"sku": "BOLT-M8", "quantity": 1}]}, headers=w.keys["bob"])
    assert r.status_code == 422
    assert r.json()["errors"] == [
        {"field": "account", "message": "no account 'OTHER'"},
        {"field": "channel", "message": "no active sales channel 'fax'"},
        {"field": "currency", "message": "'XXX' is not an active ISO 4217 currency"},
    ]
    assert count(db, Quote) == 0


def test_a_buyer_declines_a_sent_quote_and_it_cannot_be_accepted_after(db, client, w) -> None:  # type: ignore[no-untyped-def]
    quote = _priced_and_sent(client, w)
    r = client.post(f"{URL}/{quote['id']}/reject", json={"reason": "too expensive"}, headers=w.keys["bob"])
    assert (r.status_code, r.json()["status"]) == (200, "rejected")
    r = client.post(f"{URL}/{quote['id']}/accept", json=ACCEPT, headers=w.keys["bob"])
    assert (r.status_code, r.json()["type"]) == (409, "https://ordino.dev/problems/invalid-transition")
    assert r.json()["current_status"] == "rejected"
    assert count(db, OrderSummary) == 0


def test_an_agent_requests_for_a_customer_and_lists_quotes(db, client, w) -> None:  # type: ignore[no-untyped-def]
    mine = _request(client, w, who="agent", currency="EUR")
    other = _request(client, w, who="agent", account="OTHER")
    assert mine["requested_by_contact"] is None
    items = client.get(URL, params={"status": "requested"}, headers=w.keys["agent"]).json()["items"]
    assert [(i["number"], i["account"], i["total"], i["created_at"]) for i in items] == [
        (other["number"], "OTHER", None, NOW_TEXT), (mine["number"], "ACME-BER", None, NOW_TEXT)]
    assert [i["number"] for i in client.get(URL, headers=w.keys["bob"]).json()["items"]] == [mine["number"]]


def test_two_acceptances_at_once_make_one_order(db, client, w) -> None:  # type: ignore[no-untyped-def]
    if db.dialect != "postgresql":
        pytest.skip("concurrency is proven on PostgreSQL")
    quote = _priced_and_sent(client, w)
    bob = Principal(w.contacts["bob"], "bob", Role.BUYER, w.accounts["ACME-BER"], w.contacts["bob"])
    data = QuoteAcceptIn.model_validate(ACCEPT)
    barrier = threading.Barrier(2)
    results: list[tuple[bool, str]] = []

    def accept() -> None:
        barrier.wait()
        created, order = db.transaction(lambda s: quotes.accept_quote(s, quote["id"], data, bob))
        results.append((created, str(order["id"])))

    threads = [threading.Thread(target=accept) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(created for created, _ in results) == [False, True]
    assert len({order_id for _, order_id in results}) == 1
    assert count(db, OrderSummary) == 1
    assert reserved(db, "DRILL-X") == 2


def test_accepting_with_a_gateway_the_installation_lacks_is_refused(db, client, w) -> None:  # type: ignore[no-untyped-def]
    # given a sent quote
    quote = _priced_and_sent(client, w)
    # when bob accepts it paying by card at a gateway that does not exist
    body = {**ACCEPT, "payments": [{"method": "card", "gateway": "no-such-gateway", "token": "tok_visa"}]}
    r = client.post(f"{URL}/{quote['id']}/accept", json=body, headers=w.keys["bob"])
    # then it is refused naming the field, and the quote is still waiting for an answer
    assert (r.status_code, r.json()["errors"]) == (422, [{
        "field": "payments[0].gateway",
        "message": "no payment gateway 'no-such-gateway' (this installation has: simulator)"}])
    assert client.get(f"{URL}/{quote['id']}", headers=w.keys["bob"]).json()["status"] == "sent"
