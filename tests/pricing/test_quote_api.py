"""POST /api/v1/prices/quote: prices, adjustments and totals for an account, without writing."""

from __future__ import annotations

from datetime import datetime

import pytest

from ordino.kernel.auth import Role
from ordino.kernel.db import Database
from ordino.kernel.outbox import OutboxEvent
from tests.conftest import api_key
from tests.pricing.conftest import account_id, book, count, entry, promotion, times_used

URL = "/api/v1/prices/quote"


@pytest.fixture
def shop(world: Database, frozen: datetime) -> Database:
    db = world
    book(db, "LIST-EUR", standard=True)
    entry(db, "LIST-EUR", "BOLT-M8", "0.040", {1000: "0.035"})
    entry(db, "LIST-EUR", "NUT-M8", "0.010")
    book(db, "GROUP-EUR", kind="contract", accounts=["GROUP"])
    entry(db, "GROUP-EUR", "NUT-M8", "0.008")
    book(db, "LIST-JPY", "JPY", standard=True)
    entry(db, "LIST-JPY", "BOLT-M8", "6.5")
    promotion(db, "BOLT10", "line", "percentage", percentage="10", skus=["BOLT-M8"], accounts=["GROUP"],
              name="Bolt week")
    promotion(db, "WINTER", "order", "amount", amount="1.00", currency="EUR", requires_coupon=True,
              coupons=[("WINTER-ACME", 1)], name="Winter coupon")
    return db


def test_a_quote_prices_lines_with_promotions_and_coupons(shop, client, admin) -> None:  # type: ignore[no-untyped-def]
    body = {"account": "ACME-BER", "currency": "EUR", "channel": "web", "coupons": ["winter-acme"],
            "lines": [{"sku": "BOLT-M8", "quantity": 1000}, {"sku": "NUT-M8", "quantity": 250}]}
    r = client.post(URL, json=body, headers=admin)
    assert r.status_code == 200, r.text
    # bolts: tier 0.035 × 1000 = 35.00, 10 % off = 3.50; nuts: contract 0.008 × 250 = 2.00
    # coupon: 1.00 over 31.50 and 2.00 → 0.94 and 0.06
    assert r.json() == {
        "account": "ACME-BER",
        "currency": "EUR",
        "channel": "web",
        "at": "2026-11-26T10:00:00+00:00",
        "lines": [
            {"sku": "BOLT-M8", "quantity": 1000, "unit_price": "0.035", "price_book": "LIST-EUR", "amount": "35.00",
             "adjustments": [
                 {"name": "Bolt week", "source": "promotion", "reference": "BOLT10", "amount": "-3.50"},
                 {"name": "Winter coupon", "source": "promotion", "reference": "WINTER-ACME", "amount": "-0.94"},
             ],
             "net_amount": "30.56"},
            {"sku": "NUT-M8", "quantity": 250, "unit_price": "0.008", "price_book": "GROUP-EUR", "amount": "2.00",
             "adjustments": [
                 {"name": "Winter coupon", "source": "promotion", "reference": "WINTER-ACME", "amount": "-0.06"},
             ],
             "net_amount": "1.94"},
        ],
        "promotions": ["BOLT10", "WINTER"],
        "coupons": [{"code": "WINTER-ACME", "applied": True}],
        "totals": {"lines": "37.00", "adjustments": "-4.50", "total": "32.50"},
    }
    # a quote writes nothing: the coupon is still unused
    assert (times_used(shop, "WINTER-ACME"), count(shop, OutboxEvent)) == (0, 0)


def test_a_quote_in_yen_at_a_given_time(shop, client, admin) -> None:  # type: ignore[no-untyped-def]
    body = {"account": "OTHER", "currency": "JPY", "at": "2026-12-24T09:00:00+09:00",
            "lines": [{"sku": "BOLT-M8", "quantity": 3}]}
    r = client.post(URL, json=body, headers=admin)
    assert r.status_code == 200, r.text
    doc = r.json()
    assert (doc["at"], doc["lines"][0]["unit_price"], doc["lines"][0]["amount"], doc["totals"]) == (
        "2026-12-24T00:00:00+00:00", "6.5", "20", {"lines": "20", "adjustments": "0", "total": "20"},
    )


def test_what_cannot_be_priced_is_named_field_by_field(shop, client, admin) -> None:  # type: ignore[no-untyped-def]
    r = client.post(URL, json={"account": "NOPE", "currency": "XTS", "channel": "fax",
                               "lines": [{"sku": "BOLT-M8", "quantity": 1}]}, headers=admin)
    assert (r.status_code, r.json()["errors"]) == (422, [
        {"field": "account", "message": "no account 'NOPE'"},
        {"field": "channel", "message": "no sales channel 'fax'"},
        {"field": "currency", "message": "'XTS' is not an active ISO 4217 currency"},
    ])
    r = client.post(URL, json={"account": "ACME", "currency": "EUR", "coupons": ["nope"],
                               "lines": [{"sku": "BOLT-M8", "quantity": 1}, {"sku": "WASHER-M8", "quantity": 2}]},
                    headers=admin)
    assert (r.status_code, r.json()["errors"]) == (422, [
        {"field": "lines[1].sku", "message": "no price for 'WASHER-M8' in EUR for this account on 2026-11-26"},
        {"field": "coupons[0]", "message": "no coupon 'NOPE'"},
    ])
    r = client.post(URL, json={"account": "ACME", "currency": "EUR", "at": "2026-11-26T10:00:00",
                               "lines": [{"sku": "BOLT-M8", "quantity": 0}, {"sku": "BOLT-M8", "quantity": "5"}]},
                    headers=admin)
    assert r.json()["errors"] == [
        {"field": "at", "message": "must carry a timezone, e.g. 2026-11-26T10:00:00Z"},
        {"field": "lines[0].quantity", "message": "Input should be greater than 0"},
        {"field": "lines[1].quantity", "message": "Input should be a valid integer"},
    ]
    r = client.post(URL, json={"account": "ACME", "currency": "EUR", "lines": []}, headers=admin)
    assert r.json()["errors"] == [
        {"field": "lines", "message": "List should have at least 1 item after validation, not 0"}
    ]


def test_a_buyer_quotes_for_its_own_account_only(shop, client) -> None:  # type: ignore[no-untyped-def]
    buyer = api_key(shop, Role.BUYER, account_id(shop, "ACME"))
    lines = [{"sku": "NUT-M8", "quantity": 100}]
    own = client.post(URL, json={"account": "ACME", "currency": "EUR", "lines": lines}, headers=buyer)
    assert (own.status_code, own.json()["totals"]["total"]) == (200, "0.80")
    foreign = client.post(URL, json={"account": "OTHER", "currency": "EUR", "lines": lines}, headers=buyer)
    assert (foreign.status_code, foreign.json()["errors"]) == (
        422, [{"field": "account", "message": "no account 'OTHER'"}]
    )
    assert client.post(URL, json={"account": "ACME", "currency": "EUR", "lines": lines}).status_code == 401
