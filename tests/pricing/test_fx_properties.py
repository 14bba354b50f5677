"""Properties of the conversion rule, for currencies with 0, 2 and 3 decimals: one rounding, half
up; a conversion and its way back stay within one minor unit per conversion; a cross rate
through the base is exact until the end."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Context, Decimal
from fractions import Fraction

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from ordino.kernel.money import MAX_MINOR, Money, MoneyError, exponent_of
from ordino.pricing import fx
from ordino.pricing.fx import Leg, Rate

CURRENCIES = ("JPY", "EUR", "USD", "KWD", "BHD")
BIG = Context(prec=200)

currencies = st.sampled_from(CURRENCIES)
minors = st.integers(min_value=-(10**12), max_value=10**12)
rates = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("100000"), places=6).filter(lambda r: r > 0)


def reference(minor: int, source: str, target: str, rate: Decimal) -> int:
    """The rule stated with Decimal: the exact product in major units, quantized half up once."""
    amount = Decimal(minor).scaleb(-exponent_of(source), BIG)
    exact = BIG.multiply(amount, rate)
    rounded = exact.quantize(Decimal(1).scaleb(-exponent_of(target)), rounding=ROUND_HALF_UP, context=BIG)
    return int(rounded.scaleb(exponent_of(target), BIG))


@given(minor=minors, source=currencies, target=currencies, rate=rates)
def test_a_conversion_rounds_once_half_up_to_the_target_minor_unit(
    minor: int, source: str, target: str, rate: Decimal
) -> None:
    converted = fx.convert_money(Money(minor, source), target, rate)
    assert converted == Money(reference(minor, source, target, rate), target)
    exact = Fraction(minor) * Fraction(rate) * Fraction(10) ** (exponent_of(target) - exponent_of(source))
    assert abs(converted.minor - exact) <= Fraction(1, 2)


@given(minor=minors, source=currencies, target=currencies, rate=rates)
def test_there_and_back_stays_within_one_minor_unit_per_conversion(
    minor: int, source: str, target: str, rate: Decimal
) -> None:
    # given an amount converted with a rate and back with its inverse
    there = fx.convert_money(Money(minor, source), target, rate)
    back = fx.convert_money(there, source, 1 / Fraction(rate))
    # then the way back is off by at most half a minor unit of its own rounding, plus what half a
    # minor unit of the target is worth in the source currency (the first rounding)
    target_unit = Fraction(10) ** (exponent_of(source) - exponent_of(target)) / Fraction(rate)
    assert abs(back.minor - minor) <= Fraction(1, 2) + target_unit / 2
    # so where the target's minor unit is worth no more than the source's, within one minor unit
    if target_unit <= 1:
        assert abs(back.minor - minor) <= 1


@given(minor=minors, source=currencies, target=currencies, base_source=rates, base_target=rates)
@example(minor=83_320_872_220, source="BHD", target="KWD", base_source=Decimal(100),
         base_target=Decimal("99999.999196"))  # found by Hypothesis: beyond what Ordino stores
def test_a_cross_rate_through_the_base_rounds_only_at_the_end(
    minor: int, source: str, target: str, base_source: Decimal, base_target: Decimal
) -> None:
    day = date(2024, 5, 3)
    legs = (
        Leg(Rate("CHF", source, base_source, day, "test"), inverted=True),
        Leg(Rate("CHF", target, base_target, day, "test"), inverted=False),
    )
    exact = (
        Fraction(minor) * Fraction(base_target) / Fraction(base_source)
        * Fraction(10) ** (exponent_of(target) - exponent_of(source))
    )
    if abs(fx.round_half_up(exact)) > MAX_MINOR:  # too large to store: both ways refuse it alike
        with pytest.raises(MoneyError):
            fx.convert_through(Money(minor, source), legs)
        with pytest.raises(MoneyError):
            fx.convert_money(Money(minor, source), target, fx.cross_rate(base_source, base_target))
        return
    through = fx.convert_through(Money(minor, source), legs).result
    direct = fx.convert_money(Money(minor, source), target, fx.cross_rate(base_source, base_target))
    assert through == direct
    assert abs(through.minor - exact) <= Fraction(1, 2)
