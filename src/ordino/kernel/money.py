"""Exact money: integer minor units of an ISO 4217 currency.

Exponents come from the maintained `iso4217` package (ISO 4217 list one), so every active
currency is known, including those with 0 (JPY), 3 (BHD, KWD) and 4 (CLF) decimals. Codes that
are withdrawn or not currencies of payment (precious metals, test codes) are refused.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import MAX_EMAX, MAX_PREC, MIN_EMIN, ROUND_HALF_UP, Context, Decimal, InvalidOperation
from fractions import Fraction
from functools import cache

import iso4217

# Decimal's default context keeps 28 digits and silently rounds beyond them; money arithmetic uses
# this context instead, where products and shifts of finite operands are always exact.
EXACT = Context(prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN)

# Amounts are stored as signed 64-bit integers of minor units (BIGINT on both databases).
MAX_MINOR = 2**63 - 1


class CurrencyError(ValueError):
    """An unknown, withdrawn or unusable currency code."""


class MoneyError(ValueError):
    """An amount that cannot be expressed exactly, or a mix of currencies."""


@cache
def currency_exponents() -> dict[str, int]:
    """Every active ISO 4217 currency with minor units, by alphabetic code."""
    return {c.code: c.exponent for c in iso4217.Currency if c.exponent is not None}


def exponent_of(currency: str) -> int:
    try:
        return currency_exponents()[currency]
    except KeyError:
        raise CurrencyError(f"'{currency}' is not an active ISO 4217 currency") from None


def is_currency(code: str) -> bool:
    return code in currency_exponents()


def round_to_currency(value: Decimal, currency: str, rounding: str = ROUND_HALF_UP) -> int:
    """A decimal major-unit amount rounded to the currency, as minor units."""
    exp = exponent_of(currency)
    return int(value.scaleb(exp, EXACT).quantize(Decimal(1), rounding=rounding, context=EXACT))


def parse_amount(text: str | Decimal, currency: str) -> int:
    """A decimal string in major units ("12.50") to minor units, refusing extra precision."""
    try:
        value = text if isinstance(text, Decimal) else Decimal(text)
    except (InvalidOperation, TypeError):
        raise MoneyError(f"'{text}' is not a decimal amount") from None
    if not value.is_finite():
        raise MoneyError(f"'{text}' is not a decimal amount")
    exp = exponent_of(currency)
    scaled = value.scaleb(exp, EXACT)
    if scaled != scaled.to_integral_value(context=EXACT):
        raise MoneyError(f"{currency} allows at most {exp} decimal places")
    if abs(scaled) > MAX_MINOR:
        raise MoneyError(f"'{text}' is larger than the largest amount Ordino stores")
    return int(scaled)


def format_minor(minor: int, currency: str) -> str:
    """Minor units as a plain decimal string with the currency's exponent ("12.50", "1200", "0.125")."""
    exp = exponent_of(currency)
    if exp == 0:
        return str(minor)
    sign = "-" if minor < 0 else ""
    digits = str(abs(minor)).rjust(exp + 1, "0")
    return f"{sign}{digits[:-exp]}.{digits[-exp:]}"


def format_price(value: Decimal, currency: str) -> str:
    """A unit price in its canonical text: no trailing zeros past the currency's decimals."""
    exp = exponent_of(currency)
    normal = value.normalize()
    places = max(exp, -int(normal.as_tuple().exponent)) if normal else exp
    return f"{value:.{places}f}"


@dataclass(frozen=True, slots=True)
class Money:
    minor: int
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.minor, int) or isinstance(self.minor, bool):
            raise MoneyError("Money holds an integer number of minor units")
        exponent_of(self.currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)

    @classmethod
    def of(cls, amount: str | Decimal, currency: str) -> Money:
        return cls(parse_amount(amount, currency), currency)

    @classmethod
    def from_decimal(cls, amount: Decimal, currency: str, rounding: str = ROUND_HALF_UP) -> Money:
        return cls(round_to_currency(amount, currency, rounding), currency)

    @property
    def exponent(self) -> int:
        return exponent_of(self.currency)

    @property
    def amount(self) -> Decimal:
        return Decimal(self.minor).scaleb(-self.exponent)

    def _same(self, other: Money) -> None:
        if not isinstance(other, Money):
            raise TypeError("Money can only be combined with Money")
        if other.currency != self.currency:
            raise MoneyError(f"cannot combine {self.currency} with {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor + other.minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor - other.minor, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.minor, self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.minor < other.minor

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.minor <= other.minor

    def __gt__(self, other: Money) -> bool:
        self._same(other)
        return self.minor > other.minor

    def __ge__(self, other: Money) -> bool:
        self._same(other)
        return self.minor >= other.minor

    def __bool__(self) -> bool:
        return self.minor != 0

    def times(self, factor: Decimal | int, rounding: str = ROUND_HALF_UP) -> Money:
        """Multiply by a quantity or rate; the result is rounded once to the minor unit."""
        product = EXACT.multiply(Decimal(self.minor), Decimal(factor))
        return Money(int(product.quantize(Decimal(1), rounding=rounding, context=EXACT)), self.currency)

    def allocate(self, weights: Sequence[int | Decimal]) -> list[Money]:
        """Split into parts proportional to `weights` without losing a minor unit.

        Largest remainder: every part gets the floor of its exact share, then the minor units
        left over go one each to the parts with the largest remainders (earlier parts win ties).
        Negative amounts are split like their absolute value and negated.
        """
        return [Money(m, self.currency) for m in allocate_minor(self.minor, weights)]

    def __str__(self) -> str:
        return f"{format_minor(self.minor, self.currency)} {self.currency}"

    def to_str(self) -> str:
        return format_minor(self.minor, self.currency)


def allocate_minor(total: int, weights: Sequence[int | Decimal]) -> list[int]:
    if not weights:
        raise MoneyError("allocate needs at least one weight")
    ws = [Fraction(w) for w in weights]  # exact: no rounding in the shares themselves
    if any(w < 0 for w in ws):
        raise MoneyError("allocation weights cannot be negative")
    weight_sum = sum(ws, Fraction(0))
    if weight_sum == 0:
        raise MoneyError("allocation weights cannot all be zero")
    sign = -1 if total < 0 else 1
    remaining = abs(total)
    exact = [remaining * w / weight_sum for w in ws]
    parts = [e.numerator // e.denominator for e in exact]
    left = remaining - sum(parts)
    order = sorted(range(len(ws)), key=lambda i: (-(exact[i] - parts[i]), i))
    for i in order[:left]:
        parts[i] += 1
    return [sign * p for p in parts]


def sum_money(items: Iterable[Money], currency: str) -> Money:
    total = Money.zero(currency)
    for m in items:
        total = total + m
    return total
