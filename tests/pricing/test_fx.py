"""The conversion rule and the ECB file parser, without a database."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest

from ordino.kernel.money import Money, MoneyError
from ordino.pricing import fx
from ordino.pricing.fx import EcbFile, EcbFormatError, Leg, Rate, RateError

DAY = date(2024, 5, 3)


def rate(base: str, quote: str, value: str, day: date = DAY, source: str = "ecb") -> Rate:
    return Rate(base, quote, Decimal(value), day, source)


# ----------------------------------------------------------------------------------------------
# Rates


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1.0823", Decimal("1.0823")), (" 164.50 ", Decimal("164.50")), ("0.000049795841", Decimal("0.000049795841")),
     ("999999999999.999999999999999999", Decimal("999999999999.999999999999999999"))],
)
def test_rates_are_exact_decimals(text: str, expected: Decimal) -> None:
    assert fx.parse_rate(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [("0", "must be more than 0"), ("-1.2", "must be more than 0"), ("abc", "is not a decimal number"),
     ("NaN", "is not a decimal number"), ("Infinity", "is not a decimal number"),
     ("0.0000000000000000001", "at most 18 decimal places"),
     ("1000000000000", "at most 12 digits before the decimal point")],
)
def test_rates_that_cannot_be_stored_exactly_are_refused(text: str, message: str) -> None:
    with pytest.raises(RateError) as refused:
        fx.parse_rate(text)
    assert str(refused.value) == message


def test_the_canonical_text_of_a_rate_has_no_exponent_and_no_trailing_zeros() -> None:
    assert [fx.rate_text(Decimal(t)) for t in ("164.50", "13168", "1E+3", "0.000050")] == [
        "164.5", "13168", "1000", "0.00005"
    ]


# ----------------------------------------------------------------------------------------------
# Conversion: the documented examples


def test_a_direct_rate_converts_exactly() -> None:
    # 100.00 EUR at EUR → USD 1.0823 is 108.23 USD
    assert fx.convert_money(Money.of("100.00", "EUR"), "USD", Decimal("1.0823")) == Money.of("108.23", "USD")


def test_a_cross_rate_through_the_base_is_exact_until_one_final_rounding() -> None:
    # given EUR → USD 1.0723 and EUR → JPY 164.50: USD → JPY = 164.50 / 1.0723, kept as a fraction
    usd_jpy = fx.cross_rate(Decimal("1.0723"), Decimal("164.50"))
    assert usd_jpy == Fraction(1645000, 10723)
    # when 12.34 USD are converted: 12.34 × 164.50 / 1.0723 = 1893.0616… JPY
    # then the result is rounded once, to whole yen (JPY has no minor unit)
    assert fx.convert_money(Money.of("12.34", "USD"), "JPY", usd_jpy) == Money(1893, "JPY")


def test_three_decimal_currencies_round_to_the_fils() -> None:
    # 1000 JPY at EUR → JPY 164.50 and EUR → KWD 0.3298: 1000 × 0.3298 / 164.50 = 2.004863… KWD
    jpy_kwd = fx.cross_rate(Decimal("164.50"), Decimal("0.3298"))
    assert fx.convert_money(Money(1000, "JPY"), "KWD", jpy_kwd) == Money(2005, "KWD")


def test_ties_round_half_up_away_from_zero() -> None:
    # 0.01 EUR × 0.5 = 0.005 → 0.01; and its negative → -0.01
    assert fx.convert_money(Money(1, "EUR"), "USD", Decimal("0.5")) == Money(1, "USD")
    assert fx.convert_money(Money(-1, "EUR"), "USD", Decimal("0.5")) == Money(-1, "USD")
    assert fx.convert_money(Money(-1, "EUR"), "USD", Decimal("0.4999")) == Money(0, "USD")


def test_an_inverted_rate_is_one_over_the_rate() -> None:
    # 108.23 USD at the inverse of EUR → USD 1.0823 is exactly 100.00 EUR
    legs = (Leg(rate("EUR", "USD", "1.0823"), inverted=True),)
    conversion = fx.convert_through(Money.of("108.23", "USD"), legs)
    assert (conversion.result, conversion.rate) == (Money.of("100.00", "EUR"), Fraction(10000, 10823))


def test_a_result_too_large_to_store_is_refused() -> None:
    with pytest.raises(MoneyError):
        fx.convert_money(Money(2**62, "EUR"), "JPY", Decimal("1645"))


def test_decimal_text_shows_an_exact_rate_to_twelve_digits() -> None:
    assert fx.decimal_text(Fraction(1645000, 10723)) == "153.408561037"
    assert fx.decimal_text(Fraction(1, 3)) == "0.333333333333"
    assert fx.decimal_text(Fraction(2)) == "2"


# ----------------------------------------------------------------------------------------------
# Finding a path


RATES = {
    ("EUR", "USD"): rate("EUR", "USD", "1.0723"),
    ("EUR", "JPY"): rate("EUR", "JPY", "164.50"),
    ("USD", "CAD"): rate("USD", "CAD", "1.3700"),
}


def test_paths_prefer_direct_then_inverse_then_a_pivot() -> None:
    assert fx.find_path("EUR", "EUR", RATES, ["EUR"]) == ()
    assert fx.find_path("EUR", "USD", RATES, ["EUR"]) == (Leg(RATES[("EUR", "USD")]),)
    assert fx.find_path("USD", "EUR", RATES, ["EUR"]) == (Leg(RATES[("EUR", "USD")], inverted=True),)
    assert fx.find_path("USD", "JPY", RATES, ["EUR"]) == (
        Leg(RATES[("EUR", "USD")], inverted=True),
        Leg(RATES[("EUR", "JPY")]),
    )
    # CAD is quoted against USD only: EUR → CAD goes through USD, and not at all through EUR
    assert fx.find_path("EUR", "CAD", RATES, ["EUR", "USD"]) == (Leg(RATES[("EUR", "USD")]), Leg(RATES[("USD", "CAD")]))
    assert fx.find_path("JPY", "CAD", RATES, ["EUR"]) is None


# ----------------------------------------------------------------------------------------------
# ECB files

HISTORY = """Date,USD,JPY,CYP,KWD,
2024-05-06,1.0776,165.7,N/A,N/A,
2024-05-03,1.0744,164.62,N/A,0.3301,
"""

DAILY = "Date, USD, JPY, GBP, \n13 April 2026, 1.1684, 186.75, 0.87058, \n"


def parse(text: str) -> tuple[list[fx.EcbRow], EcbFile]:
    summary = EcbFile()
    return list(fx.parse_ecb(text.splitlines(keepends=True), summary)), summary


def test_the_history_layout_with_na_cells_and_a_trailing_empty_column() -> None:
    rows, summary = parse(HISTORY)
    assert [(r.line, r.effective_on, r.rates) for r in rows] == [
        (2, date(2024, 5, 6), (("USD", Decimal("1.0776")), ("JPY", Decimal("165.7")))),
        (3, date(2024, 5, 3), (("USD", Decimal("1.0744")), ("JPY", Decimal("164.62")), ("KWD", Decimal("0.3301")))),
    ]
    # CYP (withdrawn in 2008) is not an active currency: its column is skipped and named
    assert (summary.currencies, summary.skipped_currencies, summary.days, summary.missing_cells) == (
        ["USD", "JPY", "KWD"], ["CYP"], 2, 1
    )


def test_the_daily_layout_with_spaces_and_a_spelled_out_date() -> None:
    rows, summary = parse("\ufeff" + DAILY)
    assert [(r.effective_on, r.rates) for r in rows] == [
        (date(2026, 4, 13), (("USD", Decimal("1.1684")), ("JPY", Decimal("186.75")), ("GBP", Decimal("0.87058")))),
    ]
    assert summary.currencies == ["USD", "JPY", "GBP"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the file is empty"),
        ("Day,USD\n2024-05-03,1.07\n", "line 1: the header must start with 'Date'"),
        ("Date,USD,usd\n", "line 1: column 3 'usd' is not a currency code"),
        ("Date,USD,USD\n", "line 1: currency 'USD' appears twice"),
        ("Date,EUR\n", "line 1: 'EUR' is the base of these rates, not a column"),
        ("Date,USD,JPY\n2024-05-03,1.07\n", "line 2: 2 cells; the header has 3"),
        ("Date,USD\n3/5/2024,1.07\n", "line 2: '3/5/2024' is not a date (2026-04-13 or 13 April 2026)"),
        ("Date,USD\n2024-05-03,1,07\n", "line 2: 3 cells; the header has 2"),
        ("Date,USD\n2024-05-03,-1.07\n", "line 2, USD: '-1.07' must be more than 0"),
        ("Date,USD\n2024-05-03,1.07\n2024-05-03,1.08\n", "line 3: 2024-05-03 appears twice"),
    ],
)
def test_malformed_files_are_refused_naming_the_line(text: str, message: str) -> None:
    with pytest.raises(EcbFormatError) as refused:
        parse(text)
    assert str(refused.value) == message
