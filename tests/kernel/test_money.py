"""kernel.money: exact minor units, ISO 4217 exponents, allocation without losing a minor unit."""

from __future__ import annotations

import csv
from decimal import Decimal
from fractions import Fraction
from math import floor

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ordino.kernel.money import (
    MAX_MINOR,
    CurrencyError,
    Money,
    MoneyError,
    currency_exponents,
    exponent_of,
    format_minor,
    format_price,
    is_currency,
    parse_amount,
    sum_money,
)
from tests.conftest import shared_data

CURRENCIES = ["JPY", "EUR", "USD", "BHD", "KWD", "CLF"]

totals = st.integers(min_value=-(10**15), max_value=10**15)
int_weights = st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=12).filter(any)
decimal_weights = st.lists(
    st.decimals(min_value=0, max_value=10**6, places=6, allow_nan=False, allow_infinity=False),
    min_size=1,
    max_size=12,
).filter(any)
weights = st.one_of(int_weights, decimal_weights)


def _half_up(x: Fraction) -> int:
    """The reference rounding: to the nearest integer, ties away from zero."""
    n = floor(abs(x) + Fraction(1, 2))
    return n if x >= 0 else -n


# --- allocation ---------------------------------------------------------------------------------


@given(total=totals, ws=weights, currency=st.sampled_from(CURRENCIES))
def test_allocate_sums_exactly_to_the_total(total: int, ws: list[int | Decimal], currency: str) -> None:
    # given any amount and any weights; when it is allocated; then not a minor unit is lost or won
    parts = Money(total, currency).allocate(ws)
    assert len(parts) == len(ws)
    assert sum(p.minor for p in parts) == total
    assert {p.currency for p in parts} == {currency}


@given(total=totals, ws=weights)
def test_allocate_parts_have_the_sign_of_the_total(total: int, ws: list[int | Decimal]) -> None:
    parts = [p.minor for p in Money(total, "EUR").allocate(ws)]
    if total >= 0:
        assert all(p >= 0 for p in parts)
    else:
        assert all(p <= 0 for p in parts)


@given(total=totals, ws=weights)
def test_allocate_of_a_negative_amount_mirrors_the_positive_one(total: int, ws: list[int | Decimal]) -> None:
    positive = [p.minor for p in Money(abs(total), "EUR").allocate(ws)]
    negative = [p.minor for p in Money(-abs(total), "EUR").allocate(ws)]
    assert negative == [-p for p in positive]


@given(total=totals, ws=weights)
def test_allocate_parts_differ_from_the_exact_share_by_less_than_one_minor_unit(
    total: int, ws: list[int | Decimal]
) -> None:
    parts = Money(total, "EUR").allocate(ws)
    weight_sum = sum((Fraction(w) for w in ws), Fraction(0))
    for part, w in zip(parts, ws, strict=True):
        exact = Fraction(total) * Fraction(w) / weight_sum
        assert abs(part.minor - exact) < 1


@given(total=totals, ws=int_weights)
def test_allocate_gives_nothing_to_a_zero_weight(total: int, ws: list[int]) -> None:
    parts = Money(total, "EUR").allocate(ws)
    assert [p.minor for p, w in zip(parts, ws, strict=True) if w == 0] == [0] * ws.count(0)


@pytest.mark.parametrize(
    ("total", "ws", "expected"),
    [
        (10000, [1, 1, 1], [3334, 3333, 3333]),  # the cent left over goes to the first of the ties
        (1, [1, 2], [0, 1]),  # largest remainder: 2/3 beats 1/3
        (-10000, [1, 1, 1], [-3334, -3333, -3333]),
        (1250, [Decimal("0.035"), Decimal("1.5")], [29, 1221]),  # 28.501… and 1221.498…: .501 wins
        (1000, [0, 3, 0], [0, 1000, 0]),
        (0, [5, 5], [0, 0]),
        (7, [1], [7]),
    ],
)
def test_allocate_examples(total: int, ws: list[int | Decimal], expected: list[int]) -> None:
    assert [p.minor for p in Money(total, "EUR").allocate(ws)] == expected


@pytest.mark.parametrize(
    ("ws", "message"),
    [
        ([], "allocate needs at least one weight"),
        ([1, -1], "allocation weights cannot be negative"),
        ([0, 0], "allocation weights cannot all be zero"),
    ],
)
def test_allocate_refuses_meaningless_weights(ws: list[int], message: str) -> None:
    with pytest.raises(MoneyError) as exc:
        Money(100, "EUR").allocate(ws)
    assert str(exc.value) == message


# --- currencies ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("currency", "exponent"), [("JPY", 0), ("EUR", 2), ("BHD", 3), ("KWD", 3), ("CLF", 4)])
def test_exponents_come_from_iso_4217(currency: str, exponent: int) -> None:
    assert exponent_of(currency) == exponent
    assert Money(1, currency).exponent == exponent
    assert is_currency(currency) is True


@pytest.mark.parametrize(
    "code",
    [
        "DEM",  # withdrawn 2002
        "HRK",  # withdrawn 2023
        "XXX",  # "no currency"
        "XTS",  # reserved for tests
        "XAU",  # gold: no minor unit
        "ABC",  # never a currency
        "eur",  # codes are upper case
        "",
    ],
)
def test_withdrawn_and_unknown_codes_are_refused(code: str) -> None:
    assert is_currency(code) is False
    with pytest.raises(CurrencyError) as exc:
        exponent_of(code)
    assert str(exc.value) == f"'{code}' is not an active ISO 4217 currency"
    with pytest.raises(CurrencyError):
        Money(100, code)
    with pytest.raises(CurrencyError):
        parse_amount("1.00", code)
    with pytest.raises(CurrencyError):
        format_minor(100, code)


def _iso_table() -> tuple[dict[str, set[int]], set[str]]:
    """Active codes with their minor units, and the withdrawn codes, from the ISO 4217 table."""
    path = shared_data("currency", "iso4217", "codes-all.csv")
    active: dict[str, set[int]] = {}
    withdrawn: set[str] = set()
    with path.open(newline="", encoding="utf-8-sig") as f:
        for row in csv.DictReader(f):
            code, minor, gone = row["AlphabeticCode"].strip(), row["MinorUnit"].strip(), row["WithdrawalDate"].strip()
            if not code:
                continue
            if gone:
                withdrawn.add(code)
            elif minor.isdigit():
                active.setdefault(code, set()).add(int(minor))
    return active, withdrawn - set(active)


def test_exponents_agree_with_the_iso_4217_table() -> None:
    # given the published ISO 4217 table (active rows: no withdrawal date, numeric minor unit)
    active, _ = _iso_table()
    ours = currency_exponents()
    # then every active currency there has the same exponent here, and we know no others
    disagreements = sorted(
        f"{code}: ISO says {sorted(units)}, Ordino says {ours.get(code)}"
        for code, units in active.items()
        if ours.get(code) not in units
    )
    assert disagreements == []
    assert sorted(set(ours) - set(active)) == []
    assert len(ours) == len(active) == 165


def test_codes_withdrawn_in_the_iso_4217_table_are_refused() -> None:
    _, withdrawn = _iso_table()
    assert "DEM" in withdrawn
    assert sorted(code for code in withdrawn if is_currency(code)) == []


# --- arithmetic ---------------------------------------------------------------------------------


def test_money_adds_subtracts_and_compares_within_one_currency() -> None:
    a, b = Money(1250, "EUR"), Money(75, "EUR")
    assert a + b == Money(1325, "EUR")
    assert a - b == Money(1175, "EUR")
    assert -a == Money(-1250, "EUR")
    assert (a > b, a >= b, a < b, a <= b) == (True, True, False, False)
    assert bool(Money.zero("EUR")) is False
    assert sum_money([a, b, b], "EUR") == Money(1400, "EUR")


@pytest.mark.parametrize(
    "operation",
    [
        lambda a, b: a + b,
        lambda a, b: a - b,
        lambda a, b: a < b,
        lambda a, b: a <= b,
        lambda a, b: a > b,
        lambda a, b: a >= b,
        lambda a, b: sum_money([a, b], "EUR"),
    ],
)
def test_mixing_currencies_is_refused(operation) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(MoneyError) as exc:
        operation(Money(100, "EUR"), Money(100, "USD"))
    assert str(exc.value) == "cannot combine EUR with USD"


def test_money_combines_only_with_money() -> None:
    with pytest.raises(TypeError):
        Money(100, "EUR") + 1  # type: ignore[operator]


@pytest.mark.parametrize("minor", [1.0, Decimal("1"), True, "100"])
def test_money_holds_only_an_integer_of_minor_units(minor: object) -> None:
    with pytest.raises(MoneyError):
        Money(minor, "EUR")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("minor", "factor", "expected"),
    [
        (1000, Decimal("0.19"), 190),
        (5, Decimal("0.5"), 3),  # 2.5 → 3: half up, not half even
        (-5, Decimal("0.5"), -3),
        (1999, 3, 5997),
        (333, Decimal("0.333333"), 111),  # 110.999889
        # …999.4999999999999999995: 28-digit arithmetic rounded it to …999.5 and then up
        (999999999999999999, Decimal("1.0000000000000000005"), 999999999999999999),
    ],
)
def test_times_rounds_once_half_up(minor: int, factor: Decimal | int, expected: int) -> None:
    assert Money(minor, "EUR").times(factor) == Money(expected, "EUR")


@given(
    minor=st.integers(min_value=-(10**18), max_value=10**18),
    factor=st.decimals(min_value=-1000, max_value=1000, places=15, allow_nan=False, allow_infinity=False),
)
def test_times_is_exact_for_every_amount_and_factor(minor: int, factor: Decimal) -> None:
    # the product is rounded once, from its exact value (28-digit Decimal arithmetic would not be)
    assert Money(minor, "EUR").times(factor).minor == _half_up(Fraction(minor) * Fraction(factor))


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [
        (Decimal("0.125"), "EUR", 13),
        (Decimal("0.135"), "EUR", 14),
        (Decimal("-0.125"), "EUR", -13),
        (Decimal("0.5"), "JPY", 1),
        (Decimal("0.0005"), "KWD", 1),
        (Decimal("9999999999999999.994999999999999"), "EUR", 999999999999999999),  # not …000
    ],
)
def test_from_decimal_rounds_half_up(amount: Decimal, currency: str, minor: int) -> None:
    assert Money.from_decimal(amount, currency) == Money(minor, currency)


def test_amount_and_text() -> None:
    assert Money.of("12.50", "EUR").amount == Decimal("12.50")
    assert str(Money.of("12.50", "EUR").amount) == "12.50"
    assert str(Money(1250, "EUR")) == "12.50 EUR"
    assert Money.of("1200", "JPY").to_str() == "1200"
    assert Money.of("0.125", "BHD").minor == 125


# --- parsing and formatting ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [
        ("12.50", "EUR", 1250),
        ("12.5", "EUR", 1250),
        ("12", "EUR", 1200),
        ("12.500", "EUR", 1250),  # trailing zeros are not extra precision
        ("-0.01", "EUR", -1),
        ("1200", "JPY", 1200),
        ("0.125", "BHD", 125),
        ("100.001", "KWD", 100001),
        ("1.2345", "CLF", 12345),
        (Decimal("0.35"), "EUR", 35),
        ("92233720368547758.07", "EUR", MAX_MINOR),  # the largest amount a BIGINT holds
    ],
)
def test_parse_amount(text: str | Decimal, currency: str, minor: int) -> None:
    assert parse_amount(text, currency) == minor


@pytest.mark.parametrize(
    ("text", "currency", "message"),
    [
        ("12.345", "EUR", "EUR allows at most 2 decimal places"),
        ("1.5", "JPY", "JPY allows at most 0 decimal places"),
        ("0.1234", "KWD", "KWD allows at most 3 decimal places"),
        ("1.23456", "CLF", "CLF allows at most 4 decimal places"),
        ("0.001", "USD", "USD allows at most 2 decimal places"),
        # 31 digits: beyond Decimal's default 28 digits, which used to round the cent away silently
        ("12345678901234567890123456789.015", "EUR", "EUR allows at most 2 decimal places"),
        ("92233720368547758.08", "EUR", "'92233720368547758.08' is larger than the largest amount Ordino stores"),
        ("1E+400", "EUR", "'1E+400' is larger than the largest amount Ordino stores"),
        ("abc", "EUR", "'abc' is not a decimal amount"),
        ("", "EUR", "'' is not a decimal amount"),
        ("NaN", "EUR", "'NaN' is not a decimal amount"),
        ("Infinity", "EUR", "'Infinity' is not a decimal amount"),
    ],
)
def test_parse_amount_refuses_extra_precision_and_non_amounts(text: str, currency: str, message: str) -> None:
    with pytest.raises(MoneyError) as exc:
        parse_amount(text, currency)
    assert str(exc.value) == message


@given(minor=st.integers(min_value=-MAX_MINOR, max_value=MAX_MINOR), currency=st.sampled_from(CURRENCIES))
def test_format_and_parse_round_trip(minor: int, currency: str) -> None:
    assert parse_amount(format_minor(minor, currency), currency) == minor


@pytest.mark.parametrize(
    ("minor", "currency", "text"),
    [
        (1250, "EUR", "12.50"),
        (5, "EUR", "0.05"),
        (-5, "EUR", "-0.05"),
        (0, "EUR", "0.00"),
        (-100, "EUR", "-1.00"),
        (1200, "JPY", "1200"),
        (-1200, "JPY", "-1200"),
        (0, "JPY", "0"),
        (125, "BHD", "0.125"),
        (-100001, "KWD", "-100.001"),
        (12345, "CLF", "1.2345"),
        (1, "CLF", "0.0001"),
    ],
)
def test_format_minor(minor: int, currency: str, text: str) -> None:
    assert format_minor(minor, currency) == text


@pytest.mark.parametrize(
    ("value", "currency", "text"),
    [
        (Decimal("0.0350"), "EUR", "0.035"),
        (Decimal("0.035000"), "EUR", "0.035"),
        (Decimal("12.5"), "EUR", "12.50"),
        (Decimal("100"), "EUR", "100.00"),
        (Decimal("1E+2"), "EUR", "100.00"),
        (Decimal("0"), "EUR", "0.00"),
        (Decimal("0.000001"), "EUR", "0.000001"),
        (Decimal("12.000000"), "JPY", "12"),
        (Decimal("1.5"), "JPY", "1.5"),
        (Decimal("0.1"), "BHD", "0.100"),
        (Decimal("-2.5"), "EUR", "-2.50"),
    ],
)
def test_format_price(value: Decimal, currency: str, text: str) -> None:
    assert format_price(value, currency) == text
