"""US sales tax acceptance cases (issue 5): exact cents, jurisdictions and notes."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from ordino.tax import (
    Address,
    Category,
    ExemptionCertificate,
    OrdinoTaxCalculator,
    RoundingMode,
    TaxError,
    UsSalesTaxPolicy,
)
from tests.tax.builders import context, item, shipping, us_context

engine = OrdinoTaxCalculator()


def test_a_los_angeles_address_pays_the_cdtfa_city_rate_and_no_tax_on_shipping() -> None:
    # given goods of 100.00 and 12.50 shipping delivered to Los Angeles
    result = engine.calculate([item("a", 10000), shipping(1250)], us_context("CA", "Los Angeles"))
    # then the combined rate of the city (9.75 %) applies to the goods; California does not tax
    # separately stated shipping
    assert result.regime == "us_sales_tax"
    assert result.rounding is RoundingMode.PER_LINE
    goods, ship = result.lines
    assert [(t.name, t.rate, t.amount, t.jurisdiction, t.category) for t in goods.tax_lines] == [
        ("CA sales tax 9.75%", Decimal("0.0975"), 975, "US-CA Los Angeles", Category.STANDARD)
    ]
    assert [(t.name, t.amount, t.category) for t in ship.tax_lines] == [("Shipping not taxable", 0, Category.EXEMPT)]
    assert (result.tax_total, result.gross_total) == (975, 12225)
    assert [n.code for n in result.notes] == ["shipping_not_taxable"]


def test_a_district_city_differs_from_a_plain_state() -> None:
    # given the same goods sent to Alhambra, CA (district taxes) and to Indiana (one statewide rate)
    alhambra = engine.calculate([item("a", 10000)], us_context("CA", "Alhambra"))
    indiana = engine.calculate([item("a", 10000)], us_context("IN", "Indianapolis"))
    # then Alhambra pays 10.5 %, Indiana its 7 % state rate without any note
    assert (alhambra.tax_total, alhambra.lines[0].tax_lines[0].jurisdiction) == (1050, "US-CA Alhambra")
    assert (indiana.tax_total, indiana.lines[0].tax_lines[0].jurisdiction, indiana.notes) == (700, "US-IN", ())


def test_city_names_are_matched_without_regard_to_case_and_spacing() -> None:
    result = engine.calculate([item("a", 10000)], us_context("US-CA", "  los   ANGELES "))
    assert result.lines[0].tax_lines[0].jurisdiction == "US-CA Los Angeles"


def test_an_unknown_city_falls_back_to_the_county_then_the_state_with_a_note() -> None:
    # given Markleeville, an unincorporated place in Alpine County, with and without its county
    with_county = engine.calculate([item("a", 10000)], us_context("CA", "Markleeville", county="Alpine"))
    without = engine.calculate([item("a", 10000)], us_context("CA", "Markleeville"))
    # then the county's unincorporated rate applies, else the statewide 7.25 %, each with a note
    assert (with_county.tax_total, with_county.lines[0].tax_lines[0].jurisdiction) == (725, "US-CA Alpine County")
    assert [n.text for n in with_county.notes] == [
        "City 'Markleeville' is not an incorporated city in CDTFA's table: the rate of Alpine County's "
        "unincorporated area (7.25%) applies"
    ]
    assert (without.tax_total, without.lines[0].tax_lines[0].jurisdiction) == (725, "US-CA")
    assert [n.code for n in without.notes] == ["city_not_found"]


def test_kern_county_uses_the_row_of_its_unincorporated_area() -> None:
    result = engine.calculate([item("a", 10000)], us_context("CA", "Lost Hills", county="Kern County"))
    assert result.tax_total == 825
    assert result.lines[0].tax_lines[0].jurisdiction == "US-CA Kern County Unincorporated Area"


def test_texas_taxes_shipping_and_notes_that_local_taxes_are_not_included() -> None:
    # given goods of 100.00 and 15.00 shipping to Lubbock, a city the tables do not list
    result = engine.calculate([item("a", 10000), shipping(1500)], us_context("TX", "Lubbock"))
    # then the state rate 6.25 % applies to both, rounded per line (93.75 → 94)
    assert [ln.tax_amount for ln in result.lines] == [625, 94]
    assert result.line("shipping").tax_lines[0].name == "TX sales tax 6.25%"
    assert [n.text for n in result.notes] == [
        "Local sales taxes of TX are not in Ordino's tables: the statewide base rate 6.25% applies"
    ]


def test_taxable_shipping_of_mixed_goods_is_taxed_only_for_the_taxable_share() -> None:
    # given taxable goods of 60.00, exempt goods of 40.00 and shipping of 10.00 in Texas
    lines = [item("tool", 6000), item("kit", 4000, "exempt"), shipping(1000)]
    result = engine.calculate(lines, us_context("TX"))
    # then 6.00 of the shipping is taxable (37.5 → 38) and 4.00 is exempt
    assert [(t.taxable_amount, t.amount, t.category) for t in result.line("shipping").tax_lines] == [
        (600, 38, Category.STANDARD), (400, 0, Category.EXEMPT)
    ]
    assert [ln.tax_amount for ln in result.lines] == [375, 0, 38]


def test_per_line_rounding_is_the_default_and_per_document_can_be_asked_for() -> None:
    lines = [item("a", 333), item("b", 333), item("c", 333)]
    per_line = engine.calculate(lines, us_context("TX"))
    per_document = engine.calculate(lines, us_context("TX", rounding=RoundingMode.PER_RATE_ON_DOCUMENT))
    # 3.33 × 6.25 % = 0.208125 → 0.21 each; 9.99 × 6.25 % = 0.624375 → 0.62 once
    assert [ln.tax_amount for ln in per_line.lines] == [21, 21, 21]
    assert [ln.tax_amount for ln in per_document.lines] == [21, 21, 20]


@pytest.mark.parametrize(("state", "tax"), [("UT", 610), ("VA", 530), ("CO", 290), ("MO", 423), ("NJ", 663)])
def test_statewide_base_rates(state: str, tax: int) -> None:
    # UT and VA include their mandatory statewide local shares (6.10 %, 5.3 %)
    assert engine.calculate([item("a", 10000)], us_context(state)).tax_total == tax


@pytest.mark.parametrize("state", ["OR", "MT", "NH", "DE", "AK"])
def test_states_without_sales_tax(state: str) -> None:
    result = engine.calculate([item("a", 10000), shipping(500)], us_context(state))
    assert result.tax_total == 0
    assert {t.category for ln in result.lines for t in ln.tax_lines} == {Category.OUTSIDE_SCOPE}
    assert [n.code for n in result.notes] == ["no_sales_tax"]


def test_an_exempt_account_with_a_valid_certificate_pays_no_tax() -> None:
    # given a resale certificate for Texas valid until the end of 2026
    cert = ExemptionCertificate("TX-RESALE-0042", frozenset({"US-TX"}), expires_on=date(2026, 12, 31))
    result = engine.calculate([item("a", 10000), shipping(1500)], us_context("TX", exemption_certificate=cert))
    # then nothing is taxed, category E, and the certificate is named
    assert result.tax_total == 0
    assert {(t.category, t.name) for ln in result.lines for t in ln.tax_lines} == {
        (Category.EXEMPT, "Sales tax exempt (certificate)")
    }
    assert [n.text for n in result.notes] == [
        "Exempt from sales tax under exemption certificate TX-RESALE-0042 (TX)"
    ]


def test_an_expired_certificate_is_taxed_with_a_note() -> None:
    cert = ExemptionCertificate("TX-RESALE-0042", frozenset({"US-TX"}), expires_on=date(2026, 3, 1))
    result = engine.calculate([item("a", 10000), shipping(1500)], us_context("TX", exemption_certificate=cert))
    assert [ln.tax_amount for ln in result.lines] == [625, 94]
    assert result.notes[0].text == "Exemption certificate TX-RESALE-0042 expired on 2026-03-01: sales tax charged"


def test_a_certificate_of_another_state_does_not_exempt() -> None:
    cert = ExemptionCertificate("CA-SR-1", frozenset({"US-CA"}))
    result = engine.calculate([item("a", 10000)], us_context("TX", exemption_certificate=cert))
    assert result.tax_total == 625
    assert result.notes[0].code == "exemption_certificate_not_covering"
    nationwide = ExemptionCertificate("US-ALL", frozenset({"US"}))
    assert engine.calculate([item("a", 10000)], us_context("TX", exemption_certificate=nationwide)).tax_total == 0


@pytest.mark.parametrize(
    ("state", "amount", "quantity", "tax"),
    [
        ("PA", 5000, 1, 0),  # clothing exempt
        ("MN", 5000, 1, 0),
        ("TX", 10000, 1, 625),  # taxed like other goods
        ("MA", 20000, 1, 156),  # 200.00: only the 25.00 above 175.00 is taxed at 6.25 % (1.5625)
        ("MA", 20000, 2, 0),  # 100.00 each
        ("RI", 30000, 1, 350),  # 50.00 above 250.00 at 7 %
        ("NY", 10000, 2, 0),  # 50.00 each: below 110.00
        ("NY", 12000, 1, 480),  # 120.00: taxed in full at 4 %
    ],
)
def test_clothing_exemptions(state: str, amount: int, quantity: int, tax: int) -> None:
    result = engine.calculate([item("shirt", amount, "clothing", quantity)], us_context(state))
    assert result.tax_total == tax
    assert sum(t.taxable_amount for t in result.lines[0].tax_lines) == amount


def test_no_nexus_no_tax() -> None:
    calc = OrdinoTaxCalculator(us_policy=UsSalesTaxPolicy(nexus_states=frozenset({"CA"})))
    result = calc.calculate([item("a", 10000)], us_context("TX"))
    assert (result.tax_total, [n.code for n in result.notes]) == (0, ["no_nexus"])
    assert calc.calculate([item("a", 10000)], us_context("CA", "Los Angeles")).tax_total == 975


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"tax_date": date(2025, 12, 31)}, "tax_date", "Ordino's US sales tax tables start on 2026-01-01"),
        ({"state": "PR"}, "ship_to.region", "'PR' is not a US state in Ordino's tables"),
        ({"state": None}, "ship_to.region", "a US address needs its state to compute sales tax"),
    ],
)
def test_what_cannot_be_taxed_is_refused(changes: dict[str, Any], field: str, message: str) -> None:
    changes = dict(changes)
    state = changes.pop("state", "TX")
    with pytest.raises(TaxError) as refused:
        engine.calculate([item("a", 10000)], us_context(state, **changes))
    assert (refused.value.field, refused.value.message) == (field, message)


def test_clothing_thresholds_need_dollars() -> None:
    with pytest.raises(TaxError) as refused:
        engine.calculate([item("shirt", 20000, "clothing")], us_context("MA", currency="EUR"))
    assert refused.value.field == "currency"


def _zip_context(state: str, city: str, postal_code: str, county: str | None = None) -> Any:
    return context("US", Address("US", state, postal_code, city, county), currency="USD")


def test_marina_del_rey_without_a_county_pays_the_los_angeles_county_rate_from_its_zip_code() -> None:
    # given Marina del Rey, unincorporated Los Angeles County, with its ZIP code and no county
    result = engine.calculate([item("a", 10000)], _zip_context("CA", "Marina del Rey", "90292"))
    # then CDTFA's rate of Los Angeles County's unincorporated area (9.75 %) applies, not 7.25 %
    assert [(t.name, t.rate, t.amount, t.jurisdiction) for t in result.lines[0].tax_lines] == [
        ("CA sales tax 9.75%", Decimal("0.0975"), 975, "US-CA Los Angeles County")
    ]
    assert [n.text for n in result.notes] == [
        "City 'Marina del Rey' is not an incorporated city in CDTFA's table: the rate of Los Angeles County's "
        "unincorporated area (9.75%) applies (the county of ZIP code 90292)"
    ]


def test_a_given_county_comes_before_the_zip_code_and_zip_plus_4_is_read() -> None:
    # given an unincorporated place with a ZIP+4 code of Los Angeles County but the county Kern named
    named = engine.calculate([item("a", 10000)], _zip_context("CA", "Somewhere", "90292-6501", "Kern"))
    unnamed = engine.calculate([item("a", 10000)], _zip_context("CA", "Somewhere", "90292-6501"))
    unknown = engine.calculate([item("a", 10000)], _zip_context("CA", "Somewhere", "90292", "Atlantis"))
    # then the named county wins (8.25 %); without one, or with one CDTFA does not know, the ZIP's (9.75 %)
    assert (named.tax_total, unnamed.tax_total, unknown.tax_total) == (825, 975, 975)


def test_a_zip_code_the_tables_do_not_know_falls_back_to_the_statewide_rate() -> None:
    result = engine.calculate([item("a", 10000)], _zip_context("CA", "Nowhere", "00000"))
    assert (result.tax_total, result.lines[0].tax_lines[0].jurisdiction) == (725, "US-CA")
    assert [n.code for n in result.notes] == ["city_not_found"]


@pytest.mark.parametrize(
    ("state", "city", "postal_code", "tax", "jurisdiction"),
    [
        ("NY", "New York", "10001", 888, "US-NY New York City"),  # 8.875 % of 100.00 = 8.875 → 8.88
        ("NY", "Brooklyn", "11201", 888, "US-NY New York City"),  # a borough: Kings County, from the ZIP code
        ("NY", "Buffalo", "14202", 875, "US-NY Buffalo"),
        ("NY", "Yonkers", "10701", 838, "US-NY Yonkers"),
        ("TX", "Houston", "77002", 825, "US-TX Houston"),
        ("TX", "Corpus Christi", "78401", 825, "US-TX Corpus Christi"),
    ],
)
def test_local_rates_of_new_york_and_texas_from_the_state_files(
    state: str, city: str, postal_code: str, tax: int, jurisdiction: str
) -> None:
    # given goods of 100.00 delivered to a place the state files list
    result = engine.calculate([item("a", 10000)], _zip_context(state, city, postal_code))
    # then the combined state and local rate applies, without a note
    assert (result.tax_total, result.lines[0].tax_lines[0].jurisdiction, result.notes) == (tax, jurisdiction, ())


def test_dallas_taxes_goods_and_shipping_at_the_combined_rate() -> None:
    # given goods of 100.00 and 15.00 shipping to Dallas (6.25 % state + 2 % local)
    result = engine.calculate([item("a", 10000), shipping(1500)], us_context("TX", "Dallas"))
    # then 8.25 % on both, per line: 8.25 and 1.2375 → 1.24
    assert [ln.tax_amount for ln in result.lines] == [825, 124]
    assert result.line("a").tax_lines[0].name == "TX sales tax 8.25%"


@pytest.mark.parametrize(
    ("state", "city", "tax"), [("NY", "Ithaca", 400), ("WA", "Seattle", 650), ("AL", "Mobile", 400)]
)
def test_where_ordino_cannot_know_the_local_rate_the_note_says_so(state: str, city: str, tax: int) -> None:
    result = engine.calculate([item("a", 10000)], us_context(state, city))
    assert result.tax_total == tax
    assert [n.code for n in result.notes] == ["local_taxes_not_included"]
