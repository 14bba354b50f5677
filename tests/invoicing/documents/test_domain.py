"""The document model: its arithmetic, and the faults it refuses before any renderer sees them."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from ordino.invoicing.documents.domain import (
    Address,
    AllowanceCharge,
    Document,
    DocumentError,
    DocumentKind,
    PaymentMeans,
    TaxSubtotal,
    Totals,
    compute_breakdown,
    compute_totals,
    line_amount,
    rate_tax,
)
from ordino.tax.domain import Category, RoundingMode
from tests.invoicing.conftest import BUYER_DE, SELLER, STANDARD, build, changed, credit_note, domestic, line

R19 = Decimal("0.19")


def faults(doc: Document, **changes: object) -> list[tuple[str, str]]:
    """The (field, message) pairs a changed copy of `doc` is refused with."""
    with pytest.raises(DocumentError) as refused:
        replace(doc, **changes)
    assert refused.value.status == 409
    return [(e.field, e.message) for e in refused.value.errors]


def fields(doc: Document, **changes: object) -> list[str]:
    return [f for f, _ in faults(doc, **changes)]


# ---- arithmetic ----


def test_a_domestic_invoice_adds_up_per_rate():
    # given lines at 19 % (one with a line discount) and a line at 7 %
    doc = domestic()

    # then each line is quantity × price − discount, and VAT is rounded once per rate
    assert [ln.net_amount for ln in doc.lines] == [1750, 42970, 10140]
    assert doc.tax_breakdown == (
        TaxSubtotal(Category.STANDARD, R19, 44720, 8497),
        TaxSubtotal(Category.STANDARD, Decimal("0.07"), 10140, 710),
    )
    assert doc.totals == Totals(
        line_total=54860, allowance_total=0, charge_total=0, tax_exclusive=54860, tax_total=9207,
        tax_inclusive=64067, prepaid=0, payable=64067,
    )


def test_vat_is_rounded_once_per_rate_not_per_line():
    # given three lines of 0.03 at 19 %: 0.0057 each would round to 0.01 each
    lines = [line(n, 1, "0.03") for n in (1, 2, 3)]

    # when the breakdown is computed
    breakdown = compute_breakdown(lines)

    # then 0.09 × 19 % = 0.0171 rounds once to 0.02
    assert breakdown == (TaxSubtotal(Category.STANDARD, R19, 9, 2),)


def test_line_amounts_round_half_up_once_in_the_currency():
    assert line_amount(Decimal(3), Decimal("333.5"), "JPY") == 1001
    assert line_amount(Decimal(500), Decimal("0.0035"), "EUR") == 175
    assert line_amount(Decimal(1), Decimal("0.005"), "EUR") == 1
    assert line_amount(Decimal(3), Decimal("1.2345"), "KWD") == 3704
    assert rate_tax(-44720, R19) == -8497  # half up away from zero, symmetric for credits


def test_allowances_and_charges_enter_the_breakdown_of_their_rate():
    # given a 19 % line, a 10.00 shipping charge and a 5.00 discount at 19 %
    lines = [line(1, 10, "10.00")]
    charge = AllowanceCharge(1000, STANDARD, R19, "Shipping", "FC")
    allowance = AllowanceCharge(500, STANDARD, R19, "Discount", "95")

    # when the breakdown and totals are computed
    breakdown = compute_breakdown(lines, [allowance], [charge])
    totals = compute_totals(lines, breakdown, [allowance], [charge], prepaid=2000)

    # then the taxable amount is 100 − 5 + 10 and the totals follow EN 16931
    assert breakdown == (TaxSubtotal(Category.STANDARD, R19, 10500, 1995),)
    assert totals == Totals(10000, 500, 1000, 10500, 1995, 12495, 2000, 10495)


def test_exemption_reasons_go_to_the_breakdown_row_of_their_category():
    lines = [line(1, 1, "100.00", "0", Category.REVERSE_CHARGE), line(2, 1, "10.00")]
    breakdown = compute_breakdown(lines, exemptions={Category.REVERSE_CHARGE: ("Reverse charge", "VATEX-EU-AE")})
    assert breakdown == (
        TaxSubtotal(Category.REVERSE_CHARGE, Decimal(0), 10000, 0, "Reverse charge", "VATEX-EU-AE"),
        TaxSubtotal(Category.STANDARD, R19, 1000, 190),
    )


def test_payee_account_is_the_sellers_on_an_invoice_and_the_buyers_on_a_credit_note():
    assert domestic().payee_account == SELLER.bank_account
    note = credit_note()
    assert note.kind is DocumentKind.CREDIT_NOTE
    assert note.payee_account is not None
    assert note.payee_account.iban == "DE02120300000000202051"


# ---- refusals: every fault is named by its field ----


def test_a_line_amount_that_is_not_quantity_times_price_is_refused():
    doc = domestic()
    bad = replace(doc.lines[0], net_amount=1751)
    assert faults(doc, lines=(bad, *doc.lines[1:])) == [
        ("lines[0].net_amount", "is 1751, but quantity × unit price − discount is 1750"),
        ("tax_breakdown[0].taxable_amount", "is 44720, but its lines, allowances and charges sum to 44721"),
        ("totals.line_total", "is 54860, but the document adds up to 54861"),
        ("totals.tax_exclusive", "is 54860, but the document adds up to 54861"),
        ("totals.tax_inclusive", "is 64067, but the document adds up to 64068"),
        ("totals.payable", "is 64067, but the document adds up to 64068"),
    ]


def test_a_breakdown_that_does_not_match_the_lines_is_refused():
    doc = domestic()
    row19, row7 = doc.tax_breakdown
    assert fields(doc, tax_breakdown=(replace(row19, tax_amount=8496), row7)) == [
        "tax_breakdown[0].tax_amount", "totals.tax_total", "totals.tax_inclusive", "totals.payable",
    ]
    assert faults(doc, tax_breakdown=(row19,))[0] == (
        "tax_breakdown", "has no row for category S at 0.07",
    )
    assert faults(doc, tax_breakdown=(row19, row7, TaxSubtotal(Category.ZERO, Decimal(0), 0, 0)))[0] == (
        "tax_breakdown[2]", "no line, allowance or charge has category Z at 0",
    )
    assert faults(doc, tax_breakdown=(row19, row7, row7))[:2] == [
        ("tax_breakdown[1]", "category S at 0.07 appears more than once"),
        ("tax_breakdown[2]", "category S at 0.07 appears more than once"),
    ]


def test_totals_that_do_not_add_up_are_refused():
    doc = domestic()
    assert faults(doc, totals=replace(doc.totals, payable=64066)) == [
        ("totals.payable", "is 64066, but the document adds up to 64067"),
    ]
    assert fields(doc, totals=replace(doc.totals, prepaid=100)) == ["totals.payable"]


def test_rates_must_fit_their_category():
    assert faults(domestic(), lines=(line(1, 1, "1.00", "0", Category.STANDARD),))[0] == (
        "lines[0].rate", "category S needs a rate above zero; use Z, E or O for 0 %",
    )
    assert faults(domestic(), lines=(line(1, 1, "1.00", "0.19", Category.EXEMPT),))[0] == (
        "lines[0].rate", "category E is at 0 %",
    )
    assert faults(domestic(), lines=(line(1, 1, "1.00", "1.5"),))[0] == (
        "lines[0].rate", "must be a fraction from 0 up to 1",
    )


def test_exemption_reasons_are_required_where_no_vat_is_charged_and_refused_elsewhere():
    with pytest.raises(DocumentError) as refused:
        build([line(1, 1, "100.00", "0", Category.REVERSE_CHARGE)], buyer=BUYER_DE)
    assert [(e.field, e.message) for e in refused.value.errors] == [
        ("tax_breakdown[0].exemption_reason", "category AE needs an exemption reason or code"),
    ]
    with pytest.raises(DocumentError) as refused:
        build([line(1, 1, "100.00")], exemptions={Category.STANDARD: ("why", None)})
    assert [e.field for e in refused.value.errors] == ["tax_breakdown[0].exemption_reason"]


def test_a_category_without_vat_cannot_carry_a_tax_amount():
    doc = build([line(1, 1, "100.00", "0", Category.ZERO)])
    row = replace(doc.tax_breakdown[0], tax_amount=1)
    assert faults(doc, tax_breakdown=(row,))[0] == ("tax_breakdown[0].tax_amount", "category Z carries no VAT")


def test_rounding_per_line_is_accepted_less_than_one_unit_off_the_rate_as_en16931_allows():
    # given three lines of 0.03 at 19 % taxed line by line: 0.01 each, 0.03 in all (rate rule: 0.02)
    lines = [line(n, 1, "0.03") for n in (1, 2, 3)]
    per_line = (TaxSubtotal(Category.STANDARD, R19, 9, 3),)
    doc = build(lines, tax_rounding=RoundingMode.PER_LINE)

    # then that breakdown is accepted per line and refused per rate
    accepted = replace(doc, tax_breakdown=per_line, totals=compute_totals(lines, per_line))
    assert accepted.totals.tax_total == 3
    assert fields(accepted, tax_rounding=RoundingMode.PER_RATE_ON_DOCUMENT) == ["tax_breakdown[0].tax_amount"]
    # and per line, up to 0.99 off the rate rule is accepted (BR-CO-17), a whole unit is not
    near = (TaxSubtotal(Category.STANDARD, R19, 9, 101),)
    assert replace(accepted, tax_breakdown=near, totals=compute_totals(lines, near)).totals.tax_total == 101
    too_far = (TaxSubtotal(Category.STANDARD, R19, 9, 102),)
    assert fields(accepted, tax_breakdown=too_far, totals=compute_totals(lines, too_far)) == [
        "tax_breakdown[0].tax_amount",
    ]


def test_header_and_party_faults_are_all_reported_at_once():
    doc = domestic()
    nowhere = Address(("Street 1",), " ", "XX")
    assert faults(
        doc, number=" ", language="xx_YY_ZZ", due_date=date(2026, 3, 1), buyer=replace(BUYER_DE, address=nowhere),
        seller=replace(SELLER, name="", endpoint_id="0123"),
    ) == [
        ("number", "is empty"),
        ("language", "'xx_YY_ZZ' is not a known locale"),
        ("due_date", "is before the issue date"),
        ("seller.name", "is empty"),
        ("seller.endpoint_scheme", "an electronic address needs its scheme"),
        ("buyer.address.city", "is empty"),
        ("buyer.address.country", "'XX' is not an ISO 3166-1 alpha-2 country code"),
    ]


def test_an_unknown_currency_is_refused_before_any_amount_is_read():
    assert faults(domestic(), currency="DEM") == [("currency", "'DEM' is not an active ISO 4217 currency")]


def test_line_faults_name_the_line():
    doc = domestic()
    first, second, third = doc.lines
    assert faults(doc, lines=(first, replace(second, id="1"), third)) == [
        ("lines[1].id", "'1' is used by an earlier line"),
    ]
    assert faults(doc, lines=(first, second, replace(third, unit_price=Decimal("-8.45"))))[0] == (
        "lines[2].unit_price", "must be a number, not negative",
    )
    assert fields(doc, lines=())[0] == "lines"


def test_allowances_need_a_reason_and_a_positive_amount():
    doc = build([line(1, 10, "10.00")], allowances=[AllowanceCharge(500, STANDARD, R19, "Discount", "95")])
    nameless = AllowanceCharge(500, STANDARD, R19)
    assert faults(doc, allowances=(nameless,)) == [("allowances[0].reason", "a reason or a reason code is required")]
    negative = AllowanceCharge(-500, STANDARD, R19, "Discount")
    assert fields(doc, allowances=(negative,))[0] == "allowances[0].amount"


def test_a_credit_transfer_needs_the_payees_account():
    assert faults(domestic(), seller=replace(SELLER, bank_account=None)) == [
        ("seller.bank_account", "a credit transfer needs the account to pay into"),
    ]
    note = credit_note()
    assert note.payment_means is PaymentMeans.SEPA_CREDIT_TRANSFER
    assert faults(note, buyer=BUYER_DE) == [("buyer.bank_account", "a credit transfer needs the account to pay into")]


def test_the_problem_lists_every_fault_for_the_api():
    with pytest.raises(DocumentError) as refused:
        changed(domestic(), number="", currency="EUR", due_date=date(2020, 1, 1))
    body = refused.value.body()
    assert body["status"] == 409
    assert body["type"] == "https://ordino.dev/problems/document-invalid"
    assert body["detail"] == "2 faults found"
    assert body["errors"] == [
        {"field": "number", "message": "is empty"},
        {"field": "due_date", "message": "is before the issue date"},
    ]
