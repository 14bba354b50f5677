"""EU VAT acceptance cases (issue 5): exact minor units, categories and notes."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest

from ordino.tax import (
    Address,
    Category,
    EuVatPolicy,
    ExemptionCertificate,
    InvalidVatIdPolicy,
    OrdinoTaxCalculator,
    TaxError,
    check_vat_id,
)
from ordino.tax.domain import EXPORT_TEXT, INTRA_COMMUNITY_TEXT, REVERSE_CHARGE_TEXT
from tests.conftest import shared_data
from tests.tax.builders import VALID_DE_VAT_ID, VALID_FR_VAT_ID, VALID_GR_VAT_ID, context, item, shipping

engine = OrdinoTaxCalculator()
REVERSE_CHARGE_NOTE = "Reverse charge: VAT to be accounted for by the recipient (Article 196, Directive 2006/112/EC)"


def test_domestic_b2b_in_germany_is_taxed_at_19_percent_once_per_rate() -> None:
    # given a German seller, a German business buyer, two items and a shipping charge
    lines = [item("a", 12345), item("b", 5000), shipping(1250)]
    ctx = context("DE", "DE", buyer_is_business=True, buyer_vat_id=VALID_DE_VAT_ID)
    # when the order is taxed
    result = engine.calculate(lines, ctx)
    # then VAT is 19 % of 185.95 = 35.3305 → 35.33, allocated to the lines by their amounts
    assert result.regime == "eu_vat"
    assert [ln.tax_amount for ln in result.lines] == [2346, 950, 237]
    assert [(t.name, t.rate, t.category, t.jurisdiction) for t in result.lines[0].tax_lines] == [
        ("VAT 19%", Decimal("0.19"), Category.STANDARD, "DE")
    ]
    [subtotal] = result.breakdown
    assert (subtotal.taxable_amount, subtotal.tax_amount) == (18595, 3533)
    assert (result.net_total, result.tax_total, result.gross_total) == (18595, 3533, 22128)
    assert result.notes == ()


def test_intra_eu_b2b_with_a_valid_vat_id_is_reverse_charged() -> None:
    # given a German seller shipping to a French business with a valid French VAT ID
    ctx = context("DE", Address("FR", postal_code="69002"), buyer_is_business=True, buyer_vat_id=VALID_FR_VAT_ID)
    # when taxed
    result = engine.calculate([item("a", 10000), shipping(1250)], ctx)
    # then no VAT is charged: category AE at 0 %, with the legal note for the invoice
    for line in result.lines:
        assert line.tax_amount == 0
        assert [(t.category, t.rate, t.jurisdiction, t.exemption_reason_code) for t in line.tax_lines] == [
            (Category.REVERSE_CHARGE, Decimal(0), "FR", "VATEX-EU-AE")
        ]
    assert [(n.code, n.text) for n in result.notes] == [("reverse_charge", REVERSE_CHARGE_NOTE)]
    assert REVERSE_CHARGE_TEXT == REVERSE_CHARGE_NOTE
    assert result.gross_total == 11250


def test_intra_eu_b2b_can_be_declared_as_an_intra_community_supply_k() -> None:
    # given the policy that books intra-EU B2B goods as intra-community supplies (Article 138)
    calc = OrdinoTaxCalculator(EuVatPolicy(intra_eu_b2b_category=Category.INTRA_COMMUNITY))
    ctx = context("DE", "FR", buyer_is_business=True, buyer_vat_id=VALID_FR_VAT_ID)
    # when taxed
    result = calc.calculate([item("a", 10000)], ctx)
    # then the category is K with its own note
    assert [(t.category, t.amount, t.exemption_reason_code) for t in result.lines[0].tax_lines] == [
        (Category.INTRA_COMMUNITY, 0, "VATEX-EU-IC")
    ]
    assert [n.text for n in result.notes] == [INTRA_COMMUNITY_TEXT]


def test_a_greek_vat_id_with_the_el_prefix_is_of_greece() -> None:
    # given a Greek business buyer whose VAT ID starts with EL
    ctx = context("DE", "GR", buyer_is_business=True, buyer_vat_id=VALID_GR_VAT_ID)
    # when taxed; then it is a reverse charge
    result = engine.calculate([item("a", 10000)], ctx)
    assert result.lines[0].tax_lines[0].category is Category.REVERSE_CHARGE


@pytest.mark.parametrize(
    ("vat_id", "message"),
    [
        ("FR40303265046", "'FR40303265046' is not a valid EU VAT ID; reverse charge cannot apply"),
        (VALID_DE_VAT_ID, f"'{VALID_DE_VAT_ID}' is a VAT ID of DE, not of the ship-to country FR; "
                          "reverse charge cannot apply"),
        (None, "is missing: a sale to a business in another member state needs the buyer's VAT ID; "
               "reverse charge cannot apply"),
    ],
)
def test_an_invalid_vat_id_is_refused_under_the_refuse_policy(vat_id: str | None, message: str) -> None:
    # given a French business buyer whose VAT ID is wrong, of another country, or missing
    ctx = context("DE", "FR", buyer_is_business=True, buyer_vat_id=vat_id)
    # when taxed under the default policy (refuse); then a TaxError names the field
    with pytest.raises(TaxError) as refused:
        engine.calculate([item("a", 10000)], ctx)
    assert refused.value.field == "buyer_vat_id"
    assert refused.value.message == message
    assert [e.as_dict() for e in refused.value.errors] == [{"field": "buyer_vat_id", "message": message}]


def test_an_invalid_vat_id_is_taxed_as_b2c_under_that_policy_with_a_note() -> None:
    # given the tax_as_b2c policy and a VAT ID with a wrong check digit
    calc = OrdinoTaxCalculator(EuVatPolicy(invalid_vat_id=InvalidVatIdPolicy.TAX_AS_B2C))
    ctx = context("DE", "FR", buyer_is_business=True, buyer_vat_id="FR40303265046")
    # when taxed
    result = calc.calculate([item("a", 10000), shipping(1250)], ctx)
    # then French VAT of 20 % is charged, and the notes say why (never silently)
    assert [ln.tax_amount for ln in result.lines] == [2000, 250]
    assert result.lines[0].tax_lines[0].jurisdiction == "FR"
    assert [n.code for n in result.notes] == ["invalid_vat_id", "distance_sale"]
    assert result.notes[0].text == (
        "Buyer VAT ID 'FR40303265046' is not a valid EU VAT ID: taxed as a sale to a consumer in FR"
    )


def test_b2c_distance_sale_is_taxed_at_the_destination_rate() -> None:
    # given a German seller and a French consumer
    result = engine.calculate([item("a", 10000), shipping(490)], context("DE", "FR"))
    # then French VAT 20 % applies (One-Stop Shop)
    assert [ln.tax_amount for ln in result.lines] == [2000, 98]
    assert result.breakdown[0].name == "VAT 20%"
    assert [n.code for n in result.notes] == ["distance_sale"]


@pytest.mark.parametrize("destination", ["CH", "US", "GB"])
def test_exports_outside_the_eu_are_zero_rated_g(destination: str) -> None:
    # given a German seller shipping to Switzerland, the US or (after Brexit) Great Britain
    result = engine.calculate([item("a", 10000), shipping(1500)], context("DE", destination, buyer_is_business=True))
    # then no VAT, category G, with the export note
    assert result.tax_total == 0
    assert {(t.category, t.jurisdiction, t.exemption_reason_code) for ln in result.lines for t in ln.tax_lines} == {
        (Category.EXPORT, "DE", "VATEX-EU-G")
    }
    assert [n.text for n in result.notes] == [EXPORT_TEXT]


def test_great_britain_was_in_the_eu_vat_area_before_2021() -> None:
    # given a French seller and a British consumer in 2020
    result = engine.calculate([item("a", 10000)], context("FR", "GB", tax_date=date(2020, 6, 1)))
    # then it was a distance sale within the EU, taxed at the British rate
    assert (result.lines[0].tax_amount, result.lines[0].tax_lines[0].jurisdiction) == (2000, "GB")


def test_a_british_seller_charges_uk_vat_at_home_and_zero_rates_exports() -> None:
    # given a seller in Great Britain
    home = engine.calculate([item("a", 10000), item("b", 10000, "reduced")], context("GB", "GB", currency="GBP"))
    abroad = engine.calculate([item("a", 10000)], context("GB", "DE", currency="GBP"))
    # then UK VAT at home (20 % and 5 %), exports zero-rated
    assert home.regime == "uk_vat"
    assert [ln.tax_amount for ln in home.lines] == [2000, 500]
    assert (abroad.tax_total, abroad.lines[0].tax_lines[0].category) == (0, Category.EXPORT)
    assert abroad.notes[0].code == "export"


def test_books_in_the_reduced_class_are_taxed_at_7_percent_in_germany() -> None:
    # given a book (reduced class) and a tool (standard) sold in Germany
    result = engine.calculate([item("book", 2500, "reduced"), item("tool", 2500)], context())
    # then 7 % and 19 %
    assert [ln.tax_amount for ln in result.lines] == [175, 475]
    assert [(s.name, s.taxable_amount, s.tax_amount) for s in result.breakdown] == [
        ("VAT 7%", 2500, 175), ("VAT 19%", 2500, 475)
    ]


@pytest.mark.parametrize(("day", "tax", "name"), [(date(2024, 8, 31), 2400, "VAT 24%"),
                                                  (date(2024, 9, 1), 2550, "VAT 25.5%")])
def test_finland_raised_its_standard_rate_on_2024_09_01(day: date, tax: int, name: str) -> None:
    # given a Finnish sale on the day before and on the day of the rate change
    result = engine.calculate([item("a", 10000)], context("FI", "FI", tax_date=day))
    # then the rate in force on the date of supply applies
    assert (result.lines[0].tax_amount, result.lines[0].tax_lines[0].name) == (tax, name)
    assert result.lines[0].tax_lines[0].rate == Decimal(name[4:-1]) / 100


@pytest.mark.parametrize(
    ("country", "day", "standard_tax"),
    [("EE", date(2025, 6, 30), 2200), ("EE", date(2025, 7, 1), 2400), ("SK", date(2024, 12, 31), 2000),
     ("SK", date(2025, 1, 1), 2300), ("RO", date(2025, 7, 31), 1900), ("RO", date(2025, 8, 1), 2100),
     ("DE", date(2020, 12, 31), 1600), ("DE", date(2021, 1, 1), 1900)],
)
def test_other_dated_rate_changes(country: str, day: date, standard_tax: int) -> None:
    result = engine.calculate([item("a", 10000)], context(country, country, tax_date=day))
    assert result.lines[0].tax_amount == standard_tax


def test_gross_prices_extract_the_tax_from_the_price() -> None:
    # given prices that include tax (a German consumer shop)
    ctx = context(prices_include_tax=True)
    # when taxed
    result = engine.calculate([item("a", 11900), item("b", 1000)], ctx)
    # then tax = gross × 19 / 119 on the category (2059.66… → 2060), net = gross − tax
    assert [(ln.net_amount, ln.tax_amount, ln.gross_amount) for ln in result.lines] == [
        (10000, 1900, 11900), (840, 160, 1000)
    ]
    assert (result.breakdown[0].taxable_amount, result.breakdown[0].tax_amount) == (10840, 2060)
    assert result.lines[1].tax_lines[0].taxable_amount == 840


def test_shipping_follows_the_goods_and_is_split_over_mixed_rates() -> None:
    # given a book (7 %) of 40.00 and a tool (19 %) of 60.00 with 5.00 shipping
    result = engine.calculate([item("book", 4000, "reduced"), item("tool", 6000), shipping(500)], context())
    # then shipping is split 2.00 / 3.00 and taxed at 7 % and 19 %, once per rate on the document
    ship = result.line("shipping")
    assert [(t.name, t.taxable_amount, t.amount) for t in ship.tax_lines] == [("VAT 7%", 200, 14), ("VAT 19%", 300, 57)]
    assert [(s.name, s.taxable_amount, s.tax_amount) for s in result.breakdown] == [
        ("VAT 7%", 4200, 294), ("VAT 19%", 6300, 1197)
    ]
    assert [ln.tax_amount for ln in result.lines] == [280, 1140, 71]


def test_shipping_alone_takes_the_standard_rate() -> None:
    result = engine.calculate([shipping(1000)], context("DE", "FR"))
    assert result.lines[0].tax_amount == 200


def test_zero_and_exempt_classes() -> None:
    result = engine.calculate([item("z", 1000, "zero"), item("e", 1000, "exempt")], context())
    assert [(t.category, t.amount) for ln in result.lines for t in ln.tax_lines] == [
        (Category.ZERO, 0), (Category.EXEMPT, 0)
    ]
    assert [n.code for n in result.notes] == ["exempt_supply"]


def test_a_rate_the_country_does_not_have_is_taxed_at_its_standard_rate_with_a_note() -> None:
    # given a German shop sending a book (reduced class) and a lamp to a consumer in Denmark, which has
    # only a standard rate (25 % in ibericode/vat-rates)
    result = engine.calculate([item("lamp", 1000), item("book", 2000, "reduced")], context("DE", "DK"))
    # then both are taxed at Denmark's 25 %, once on the document (3,000 × 25 % = 750)
    assert [(t.name, t.rate, t.amount, t.category, t.jurisdiction) for ln in result.lines for t in ln.tax_lines] == [
        ("VAT 25%", Decimal("0.25"), 250, Category.STANDARD, "DK"),
        ("VAT 25%", Decimal("0.25"), 500, Category.STANDARD, "DK"),
    ]
    assert [(n.code, n.text) for n in result.notes][-1] == (
        "standard_rate_applies", "DK has no reduced VAT rate: its standard rate 25% applies"
    )


@pytest.mark.parametrize(("kind", "country", "tax"), [
    ("reduced_alt", "DE", 1900), ("super_reduced", "DE", 1900), ("parking", "FR", 2000), ("super_reduced", "FR", 210),
])
def test_every_missing_rate_kind_falls_back_to_the_standard_rate(kind: str, country: str, tax: int) -> None:
    # given a domestic sale of 100.00 in a rate kind the country may or may not have
    result = engine.calculate([item("a", 10000, kind)], context(country, country))
    # then Germany (19 %, no second reduced, no super-reduced) and France (20 %, no parking rate)
    # use their standard rate; France's super-reduced 2.1 % exists and applies
    assert result.tax_total == tax


def test_an_unknown_tax_class_is_refused() -> None:
    with pytest.raises(TaxError) as refused:
        engine.calculate([item("a", 1000, "groceries")], context())
    assert (refused.value.field, refused.value.message) == (
        "lines[0].tax_class", "'groceries' is not a VAT tax class for DE"
    )


def test_a_catalogue_can_map_a_class_per_country() -> None:
    # given a "books" class: reduced in Germany, super-reduced in Spain
    classes = {"books": {"DE": "reduced", "ES": "super_reduced", "*": "standard"}}
    calc = OrdinoTaxCalculator(EuVatPolicy(tax_classes=classes))
    # then each country's rate applies
    assert calc.calculate([item("a", 10000, "books")], context("DE", "DE")).tax_total == 700
    assert calc.calculate([item("a", 10000, "books")], context("DE", "ES")).tax_total == 400
    assert calc.calculate([item("a", 10000, "books")], context("DE", "DK")).tax_total == 2500


def test_canary_islands_are_outside_the_eu_vat_area() -> None:
    # given a consumer in Las Palmas (postal code 35001)
    result = engine.calculate([item("a", 10000)], context("DE", Address("ES", postal_code="35001")))
    # then the supply is an export
    assert (result.tax_total, result.lines[0].tax_lines[0].category) == (0, Category.EXPORT)
    assert [n.code for n in result.notes] == ["export", "special_territory"]
    assert result.notes[1].text == "Canary Islands is outside the EU VAT area: the supply is an export"


@pytest.mark.parametrize(
    ("seller", "country", "postal_code", "territory"),
    [
        ("DE", "FI", "22100", "Åland Islands"),  # Mariehamn, addressed as Finland
        ("FI", "FI", "AX-22100", "Åland Islands"),  # from mainland Finland, Åland's own notation
        ("DE", "ES", "38001", "Canary Islands"),  # Santa Cruz de Tenerife
        ("FR", "ES", "51002", "Ceuta"),
        ("FR", "ES", "52005", "Melilla"),
        ("FR", "DE", "78266", "Büsingen am Hochrhein"),
        ("AT", "DE", "27498", "Heligoland"),
        ("DE", "IT", "23041", "Livigno"),
        ("DE", "IT", "22061", "Campione d'Italia"),
        ("DE", "GR", "630 86", "Mount Athos"),
    ],
)
def test_special_territories_outside_the_vat_area_are_exports(
    seller: str, country: str, postal_code: str, territory: str
) -> None:
    # given goods of 100.00 and 10.00 shipping to a consumer in a territory outside the EU VAT area
    where = Address(country, postal_code=postal_code)
    result = engine.calculate([item("a", 10000), shipping(1000)], context(seller, where))
    # then no VAT: category G with the export exemption (VATEX-EU-G) on every line, and the two notes
    assert result.tax_total == 0
    taxes = {(t.name, t.category, t.exemption_reason_code, t.jurisdiction) for ln in result.lines for t in ln.tax_lines}
    assert taxes == {("VAT export", Category.EXPORT, "VATEX-EU-G", seller)}
    assert [(n.code, n.text) for n in result.notes] == [
        ("export", EXPORT_TEXT),
        ("special_territory", f"{territory} is outside the EU VAT area: the supply is an export"),
    ]


def test_mainland_postcodes_of_the_same_countries_are_taxed_as_usual() -> None:
    # given Helsinki, Madrid, Konstanz (next to Büsingen) and Milan
    cases = [("FI", "00100", 2550), ("ES", "28001", 2100), ("DE", "78462", 1900), ("IT", "20121", 2200)]
    for country, postal_code, tax in cases:
        result = engine.calculate([item("a", 10000)], context(country, Address(country, postal_code=postal_code)))
        # then the country's standard rate applies
        assert result.tax_total == tax, country


def test_madeira_has_its_own_standard_rate_and_no_reduced_rate_in_the_tables() -> None:
    # given a Portuguese sale to Funchal, Madeira
    madeira = context("PT", Address("PT", postal_code="9000-018"))
    result = engine.calculate([item("a", 10000)], madeira)
    assert (result.lines[0].tax_amount, result.lines[0].tax_lines[0].jurisdiction) == (2200, "PT Madeira")
    with pytest.raises(TaxError) as refused:
        engine.calculate([item("a", 10000, "reduced")], madeira)
    assert refused.value.field == "lines[0].tax_class"


def test_monaco_is_in_the_french_vat_area() -> None:
    result = engine.calculate([item("a", 10000)], context("DE", "MC"))
    assert (result.tax_total, result.lines[0].tax_lines[0].jurisdiction) == (2000, "FR")


def test_a_valid_exemption_certificate_exempts_and_an_expired_one_does_not() -> None:
    cert = ExemptionCertificate("DIPL-2026-17", frozenset({"DE"}), expires_on=date(2026, 12, 31))
    exempt = engine.calculate([item("a", 10000)], context(exemption_certificate=cert))
    assert (exempt.tax_total, exempt.lines[0].tax_lines[0].category) == (0, Category.EXEMPT)
    assert [n.code for n in exempt.notes] == ["exemption_certificate"]
    taxed = engine.calculate([item("a", 10000)], context(exemption_certificate=cert, tax_date=date(2027, 1, 1)))
    assert taxed.tax_total == 1900
    assert [n.text for n in taxed.notes] == ["Exemption certificate DIPL-2026-17 expired on 2026-12-31: VAT charged"]


def test_ship_from_decides_the_origin() -> None:
    # given a German seller shipping from its French warehouse to a French consumer: a French domestic sale
    result = engine.calculate([item("a", 10000)], context("DE", "FR", ship_from=Address("FR")))
    assert (result.tax_total, result.notes) == (2000, ())


def test_check_vat_id() -> None:
    assert check_vat_id("FR 40 303 265 045", "FR") == (True, "FR40303265045")
    assert check_vat_id("FR40303265046", "FR")[0] is False


def test_a_book_to_a_danish_consumer_is_taxed_at_the_published_danish_standard_rate() -> None:
    # given Denmark's entry in the public table (ibericode/vat-rates): a standard rate and no reduced one
    periods = json.loads(shared_data("tax", "eu_vat", "ibericode_vat-rates.json").read_text(encoding="utf-8"))
    latest = max(periods["items"]["DK"], key=lambda p: str(p["effective_from"]))
    assert latest["rates"] == {"standard": 25}
    # when a German shop sends a book of 40.00 to a consumer in Copenhagen
    result = engine.calculate([item("book", 4000, "reduced")], context("DE", Address("DK", postal_code="1050")))
    # then it is taxed at that 25 %: 10.00
    assert (result.tax_total, result.lines[0].tax_lines[0].rate) == (1000, Decimal("0.25"))
