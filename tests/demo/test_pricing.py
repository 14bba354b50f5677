"""Demo prices, shipping charges and taxes: exact values, and the VAT table against its source."""

from __future__ import annotations

import json
from decimal import Decimal

from ordino.demo.pricing import VAT_RATES, Taxable, document_taxes, shipping_charge, unit_price
from ordino.kernel.money import Money
from tests.conftest import shared_data


def test_unit_prices_keep_four_places_below_one_unit() -> None:
    assert unit_price(Decimal("0.0144"), Decimal("0.88"), "EUR") == Decimal("0.0127")
    assert unit_price(Decimal("3.61"), Decimal("0.88"), "EUR") == Decimal("3.18")
    assert unit_price(Decimal("0.0144"), Decimal(1), "JPY") == Decimal("2.38")  # sub-yen parts
    assert unit_price(Decimal("68.00"), Decimal(1), "JPY") == Decimal(11220)


def test_shipping_charges_are_whole_minor_units() -> None:
    assert shipping_charge("standard", Decimal("12.5"), Decimal(80), "EUR") == Money.of("9.90", "EUR")
    assert shipping_charge("standard", Decimal("12.5"), Decimal(500), "EUR") == Money.zero("EUR")
    assert shipping_charge("express", Decimal(3), Decimal(80), "JPY") == Money(3927, "JPY")
    assert shipping_charge("freight", Decimal(610), Decimal(1049), "GBP") == Money.of("100.13", "GBP")
    assert shipping_charge("pickup", Decimal(40), Decimal(10), "USD") == Money.zero("USD")


def test_vat_is_computed_once_per_rate_and_allocated() -> None:
    # given three lines of 0.13 EUR: per line 0.0247 would round to 0.02 each (0.06 in all)
    lines = [Taxable(13, "standard"), Taxable(13, "standard"), Taxable(13, "standard"), Taxable(1000, "reduced")]
    taxes = document_taxes("DE", "EUR", lines)
    # then the category total is 0.39 × 19 % = 0.0741 → 0.07, split by largest remainder
    assert [[(t.name, t.rate, t.amount.minor, t.category) for t in line] for line in taxes] == [
        [("USt. 19%", Decimal("0.19"), 3, "S")],
        [("USt. 19%", Decimal("0.19"), 2, "S")],
        [("USt. 19%", Decimal("0.19"), 2, "S")],
        [("USt. 7%", Decimal("0.07"), 70, "S")],
    ]


def test_uk_books_are_zero_rated() -> None:
    taxes = document_taxes("GB", "GBP", [Taxable(3690, "reduced")])
    assert [(t.name, t.rate, t.amount, t.category) for t in taxes[0]] == [
        ("VAT 0%", Decimal(0), Money.zero("GBP"), "Z")
    ]


def test_us_sales_tax_is_per_line_and_jurisdiction_where_delivered() -> None:
    # given a Chicago delivery (shipping not taxed) and a Dallas one (shipping taxed)
    lines = [Taxable(1999, "standard", "60608"), Taxable(1000, "shipping", "60608"),
             Taxable(1999, "standard", "75212"), Taxable(1000, "shipping", "75212"),
             Taxable(1999, "standard", "10001")]
    taxes = document_taxes("US", "USD", lines)
    assert [[t.amount.minor for t in line] for line in taxes] == [
        [125, 35, 25, 20],  # 6.25 %, 1.75 %, 1.25 %, 1 % of 19.99, each rounded half up
        [],
        [125, 20, 20],
        [63, 10, 10],
        [],  # no nexus in New York: no tax
    ]


def test_vat_rates_match_the_eu_rates_table() -> None:
    # given the ibericode table of current VAT rates (EU 27 and GB)
    data = json.loads(shared_data("tax", "eu_vat", "ibericode_vat-rates.json").read_text(encoding="utf-8"))
    for country, (standard, reduced) in VAT_RATES.items():
        if country not in data["items"]:
            continue  # CH and JP are not in it
        current = max(data["items"][country], key=lambda p: p["effective_from"])["rates"]
        # then the standard rate is today's and the books rate is one of the country's rates (GB: zero rate)
        assert Decimal(standard) == Decimal(str(current["standard"])), country
        allowed = {Decimal(str(v)) for v in current.values()} | ({Decimal(0)} if country == "GB" else set())
        assert Decimal(reduced) in allowed, country
