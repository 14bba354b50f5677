"""Rounding per line and per rate on the document (DESIGN §2, EN 16931), exactly, in any currency."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction
from math import floor

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ordino.kernel.money import format_minor
from ordino.tax import Category, EuVatPolicy, OrdinoTaxCalculator, RoundingMode, TaxLineInput
from ordino.tax.computation import Part, TaxKey, compute, round_fraction
from tests.tax.builders import context, item, shipping

engine = OrdinoTaxCalculator()
RATES = [Decimal(r) for r in ("0.19", "0.07", "0.255", "0.055", "0.021", "0.0975", "0.04225", "0.06625", "0.2")]
CURRENCIES = ["JPY", "EUR", "USD", "KWD", "BHD"]


def half_up(x: Fraction) -> int:
    """Reference rounding of a non-negative amount: ties go up."""
    return floor(x + Fraction(1, 2))


def test_per_rate_and_per_line_rounding_differ_by_one_cent_and_both_add_up() -> None:
    # given three German lines of 10.13, 20.13 and 5.13 EUR
    lines = [item("a", 1013), item("b", 2013), item("c", 513)]
    # when taxed once per rate on the document (EN 16931, the EU default) and per line
    document = engine.calculate(lines, context())
    per_line = engine.calculate(lines, context(rounding=RoundingMode.PER_LINE))
    # then the document rounds 35.39 × 19 % = 6.7241 once (6.72) and allocates it by largest remainder,
    # while per line 1.9247 + 3.8247 + 0.9747 round to 1.92 + 3.82 + 0.97 = 6.71
    assert [ln.tax_amount for ln in document.lines] == [192, 382, 98]
    assert [ln.tax_amount for ln in per_line.lines] == [192, 382, 97]
    assert (document.tax_total, per_line.tax_total) == (672, 671)
    # and each total equals its breakdown
    assert document.breakdown[0].tax_amount == 672
    assert per_line.breakdown[0].tax_amount == 671
    assert document.rounding is RoundingMode.PER_RATE_ON_DOCUMENT


@pytest.mark.parametrize(("currency", "text"), [("JPY", "2346"), ("EUR", "23.46"), ("KWD", "2.346")])
def test_currencies_round_to_their_own_minor_unit(currency: str, text: str) -> None:
    # given 12345 minor units (12345 JPY, 123.45 EUR, 12.345 KWD) at 19 %: 2345.55 minor units
    result = engine.calculate([item("a", 12345)], context(currency=currency))
    # then the tax is rounded half up to the currency's minor unit
    assert format_minor(result.tax_total, currency) == text


def test_the_rounding_rule_is_half_up_unless_the_policy_says_otherwise() -> None:
    # 1.50 × 19 % = 0.285: half up 0.29, half even 0.28
    assert engine.calculate([item("a", 150)], context()).tax_total == 29
    even = OrdinoTaxCalculator(EuVatPolicy(rounding_rule=ROUND_HALF_EVEN))
    assert even.calculate([item("a", 150)], context()).tax_total == 28


def test_round_fraction() -> None:
    assert [round_fraction(Fraction(n, 2)) for n in (-3, -1, 1, 3, 5)] == [-2, -1, 1, 2, 3]
    assert [round_fraction(Fraction(n, 2), ROUND_HALF_EVEN) for n in (1, 3, 5)] == [0, 2, 2]


amounts = st.lists(st.integers(min_value=0, max_value=10**12), min_size=1, max_size=30)


@given(amounts=amounts, rate=st.sampled_from(RATES), currency=st.sampled_from(CURRENCIES))
def test_allocated_line_taxes_sum_exactly_to_the_category_total(
    amounts: list[int], rate: Decimal, currency: str
) -> None:
    # given any lines of one rate
    lines = [TaxLineInput(str(i), a) for i, a in enumerate(amounts)]
    key = TaxKey("tax", rate, Category.STANDARD, "X")
    parts = [Part(i, a, key) for i, a in enumerate(amounts)]
    # when taxed once per rate on the document
    result = compute(lines, context(currency=currency), parts, regime="test",
                     default_rounding=RoundingMode.PER_RATE_ON_DOCUMENT)
    # then the category total is the rounded exact tax, the line taxes sum to it, none is negative,
    # and each is within one minor unit of its exact share
    total = half_up(sum(amounts) * Fraction(rate))
    assert result.breakdown[0].tax_amount == total
    assert sum(ln.tax_amount for ln in result.lines) == total
    assert all(ln.tax_amount >= 0 for ln in result.lines)
    shares = [Fraction(total * a, sum(amounts) or 1) for a in amounts]
    assert all(abs(ln.tax_amount - share) < 1 for ln, share in zip(result.lines, shares, strict=True))


@given(amounts=amounts, rate=st.sampled_from(RATES), currency=st.sampled_from(CURRENCIES))
def test_per_line_taxes_are_each_rounded_half_up(amounts: list[int], rate: Decimal, currency: str) -> None:
    lines = [TaxLineInput(str(i), a) for i, a in enumerate(amounts)]
    key = TaxKey("tax", rate, Category.STANDARD, "X")
    parts = [Part(i, a, key) for i, a in enumerate(amounts)]
    result = compute(lines, context(currency=currency), parts, regime="test", default_rounding=RoundingMode.PER_LINE)
    assert [ln.tax_amount for ln in result.lines] == [half_up(a * Fraction(rate)) for a in amounts]
    assert result.breakdown[0].tax_amount == result.tax_total


@given(amounts=amounts, rate=st.sampled_from(RATES), per_line=st.booleans())
def test_gross_prices_split_exactly_into_net_and_tax(amounts: list[int], rate: Decimal, per_line: bool) -> None:
    lines = [TaxLineInput(str(i), a) for i, a in enumerate(amounts)]
    key = TaxKey("tax", rate, Category.STANDARD, "X")
    parts = [Part(i, a, key) for i, a in enumerate(amounts)]
    mode = RoundingMode.PER_LINE if per_line else RoundingMode.PER_RATE_ON_DOCUMENT
    result = compute(lines, context(prices_include_tax=True), parts, regime="test", default_rounding=mode)
    r = Fraction(rate)
    for ln, a in zip(result.lines, amounts, strict=True):
        assert (ln.gross_amount, ln.net_amount + ln.tax_amount) == (a, a)
        assert ln.tax_amount >= 0 and ln.net_amount >= 0
        if per_line:
            assert ln.tax_amount == half_up(a * r / (1 + r))
    assert result.breakdown[0].tax_amount == result.tax_total
    assert result.breakdown[0].taxable_amount == result.net_total


@given(
    goods=st.lists(st.tuples(st.integers(min_value=0, max_value=10**9), st.sampled_from(["standard", "reduced"])),
                   min_size=1, max_size=10),
    charge=st.integers(min_value=0, max_value=10**7),
    per_line=st.booleans(),
)
def test_documents_with_mixed_rates_and_shipping_add_up(
    goods: list[tuple[int, str]], charge: int, per_line: bool
) -> None:
    # given German goods at 19 % and 7 % and a shipping charge that follows them
    lines = [item(str(i), a, cls) for i, (a, cls) in enumerate(goods)] + [shipping(charge)]
    mode = RoundingMode.PER_LINE if per_line else RoundingMode.PER_RATE_ON_DOCUMENT
    result = engine.calculate(lines, context(rounding=mode))
    # then every line's parts cover its amount, and the breakdown equals the sum of the lines
    for ln, source in zip(result.lines, lines, strict=True):
        assert sum(t.taxable_amount for t in ln.tax_lines) == source.amount
        assert ln.tax_amount == sum(t.amount for t in ln.tax_lines) >= 0
    assert sum(s.tax_amount for s in result.breakdown) == result.tax_total
    assert sum(s.taxable_amount for s in result.breakdown) == result.net_total == sum(ln.amount for ln in lines)
    if not per_line:
        for s in result.breakdown:
            assert s.tax_amount == half_up(s.taxable_amount * Fraction(s.rate))
