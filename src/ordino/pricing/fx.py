"""Foreign exchange: rates, conversion of money and the ECB reference-rate files. Pure: no
database, no HTTP (`fx_service.py` finds the rates and writes them).

A rate `base → quote` says how many units of `quote` one unit of `base` buys (ECB: 1 EUR =
1.1684 USD is `EUR → USD 1.1684`). Rates are exact decimals (at most 12 digits before the point
and 18 after), never floats.

Conversion rule, the only one in Ordino:
- The exact rate of a conversion is a fraction: a direct rate, the inverse of the opposite rate
  (`USD → EUR = 1 / (EUR → USD)`), or a cross rate through a pivot currency
  (`USD → JPY = (EUR → JPY) / (EUR → USD)`). Nothing is rounded on the way.
- The amount is multiplied by that exact rate and rounded once, at the end, half up (ties away
  from zero, as `decimal.ROUND_HALF_UP`) to the target currency's minor unit.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from fractions import Fraction

from ordino.kernel.money import EXACT, MAX_MINOR, Money, MoneyError, exponent_of, is_currency

RATE_PLACES = 18
RATE_INTEGER_DIGITS = 12
SOURCE_PATTERN = r"^[a-z][a-z0-9_-]{0,19}$"
_SOURCE = re.compile(SOURCE_PATTERN)
_CODE = re.compile(r"^[A-Z]{3}$")


class RateError(ValueError):
    """A rate that is not a positive decimal Ordino can store exactly."""


def parse_rate(value: str | Decimal) -> Decimal:
    """A positive decimal with at most 12 digits before the point and 18 after."""
    try:
        rate = value if isinstance(value, Decimal) else Decimal(value.strip())
    except (InvalidOperation, AttributeError):
        raise RateError("is not a decimal number") from None
    if not rate.is_finite():
        raise RateError("is not a decimal number")
    if rate <= 0:
        raise RateError("must be more than 0")
    exponent = rate.normalize().as_tuple().exponent
    assert isinstance(exponent, int)
    if -exponent > RATE_PLACES:
        raise RateError(f"at most {RATE_PLACES} decimal places")
    if rate >= Decimal(10) ** RATE_INTEGER_DIGITS:
        raise RateError(f"at most {RATE_INTEGER_DIGITS} digits before the decimal point")
    return rate


def rate_text(rate: Decimal) -> str:
    """The canonical text of a rate: no exponent, no trailing zeros ("1.1684", "13168")."""
    return format(rate.normalize(EXACT), "f")


def check_source(source: str) -> str:
    if not _SOURCE.match(source):
        raise RateError("a source is 1 to 20 lower-case letters, digits, '-' or '_', starting with a letter")
    return source


@dataclass(frozen=True, slots=True)
class Rate:
    base: str
    quote: str
    rate: Decimal
    effective_on: date
    source: str


@dataclass(frozen=True, slots=True)
class Leg:
    """A stored rate used in a conversion, forwards or inverted."""

    rate: Rate
    inverted: bool = False

    @property
    def source_currency(self) -> str:
        return self.rate.quote if self.inverted else self.rate.base

    @property
    def target_currency(self) -> str:
        return self.rate.base if self.inverted else self.rate.quote

    @property
    def factor(self) -> Fraction:
        value = Fraction(self.rate.rate)
        return 1 / value if self.inverted else value


def exact_rate(legs: Sequence[Leg]) -> Fraction:
    """The product of the legs' factors: the exact rate of the whole path."""
    result = Fraction(1)
    for leg in legs:
        result *= leg.factor
    return result


def cross_rate(base_to_source: Decimal, base_to_target: Decimal) -> Fraction:
    """`source → target` from two rates of one base: (base → target) / (base → source)."""
    return Fraction(base_to_target) / Fraction(base_to_source)


def round_half_up(value: Fraction) -> int:
    """To the nearest integer; ties away from zero (as ROUND_HALF_UP does for decimals)."""
    magnitude = abs(value)
    rounded = (2 * magnitude.numerator + magnitude.denominator) // (2 * magnitude.denominator)
    return -rounded if value < 0 else rounded


def convert_money(money: Money, to: str, rate: Fraction | Decimal | int) -> Money:
    """`money` × `rate` in currency `to`, rounded once, half up, to its minor unit."""
    exact = Fraction(money.minor) * Fraction(rate) * Fraction(10) ** (exponent_of(to) - money.exponent)
    minor = round_half_up(exact)
    if abs(minor) > MAX_MINOR:
        raise MoneyError("the converted amount is larger than the largest amount Ordino stores")
    return Money(minor, to)


@dataclass(frozen=True, slots=True)
class Conversion:
    money: Money
    result: Money
    legs: tuple[Leg, ...]

    @property
    def rate(self) -> Fraction:
        return exact_rate(self.legs)


def convert_through(money: Money, legs: Sequence[Leg]) -> Conversion:
    """Convert along a path of rates (`find_path`); no legs means the same currency."""
    to = legs[-1].target_currency if legs else money.currency
    return Conversion(money, convert_money(money, to, exact_rate(legs)), tuple(legs))


def decimal_text(value: Fraction, significant: int = 12) -> str:
    """An exact rate shown as a decimal with `significant` digits (for reading, not for computing)."""
    if value == 0:
        return "0"
    quotient = Decimal(value.numerator) / Decimal(value.denominator)  # the default context: 28 digits
    shown = quotient.quantize(Decimal(1).scaleb(quotient.adjusted() - significant + 1), context=EXACT)
    return format(shown.normalize(EXACT), "f")


Pair = tuple[str, str]


def find_path(source: str, target: str, rates: Mapping[Pair, Rate], pivots: Sequence[str]) -> tuple[Leg, ...] | None:
    """The legs that convert `source` into `target`, from the rates in force (one per pair).

    In this order: the same currency (no leg); the direct rate; the inverse of the opposite
    rate; then through each pivot in the order given (source → pivot, then pivot → target, each
    direct or inverted). None when no path exists."""
    if source == target:
        return ()

    def leg(a: str, b: str) -> Leg | None:
        if (a, b) in rates:
            return Leg(rates[(a, b)])
        if (b, a) in rates:
            return Leg(rates[(b, a)], inverted=True)
        return None

    single = leg(source, target)
    if single is not None:
        return (single,)
    for pivot in pivots:
        if pivot in (source, target):
            continue
        first, second = leg(source, pivot), leg(pivot, target)
        if first is not None and second is not None:
            return (first, second)
    return None


# ----------------------------------------------------------------------------------------------
# ECB euro foreign exchange reference rates (CSV)
#
# Both files the ECB publishes have the same layout: a header `Date, USD, JPY, …` and one row
# per business day; cells are "N/A" (or empty) where a currency has no rate that day, and every
# line ends with a separator (an empty last column).
# - eurofxref-hist.csv: every day since 1999-01-04, newest first, dates as 2026-04-13;
# - eurofxref.csv (the latest day): ", " separators and dates as "13 April 2026".


ECB_BASE = "EUR"
_MISSING = ("", "N/A", "NA", "-")


@dataclass(frozen=True, slots=True)
class EcbRow:
    line: int
    effective_on: date
    rates: tuple[tuple[str, Decimal], ...]


@dataclass(slots=True)
class EcbFile:
    currencies: list[str] = field(default_factory=list)  # the columns Ordino keeps
    skipped_currencies: list[str] = field(default_factory=list)  # withdrawn or unknown codes
    days: int = 0
    missing_cells: int = 0  # "N/A" and empty cells of the columns kept


class EcbFormatError(ValueError):
    """A file that is not an ECB reference-rate CSV; the message names the line."""


def _ecb_date(text: str, line: int) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    try:
        return datetime.strptime(text, "%d %B %Y").date()  # noqa: DTZ007 (a calendar date, no time)
    except ValueError:
        pass
    raise EcbFormatError(f"line {line}: '{text}' is not a date (2026-04-13 or 13 April 2026)")


def parse_ecb(lines: Iterable[str], summary: EcbFile) -> Iterator[EcbRow]:
    """The rows of an ECB reference-rate CSV, in file order; `summary` is filled as it goes.

    Columns of codes that are not active ISO 4217 currencies (withdrawn ones such as CYP, ROL
    or HRK) are skipped and listed; a malformed header, date or rate stops with
    `EcbFormatError`, and so does a date given twice."""
    numbered = enumerate(lines, start=1)
    header: list[str] | None = None
    for _, raw in numbered:
        if raw.strip():
            header = [cell.strip() for cell in raw.lstrip("\ufeff").rstrip("\r\n").split(",")]
            break
    if header is None:
        raise EcbFormatError("the file is empty")
    while header and header[-1] == "":
        header.pop()
    if not header or header[0].lower() != "date":
        raise EcbFormatError("line 1: the header must start with 'Date'")
    columns: list[tuple[int, str]] = []
    for index, code in enumerate(header[1:], start=1):
        if not _CODE.match(code):
            raise EcbFormatError(f"line 1: column {index + 1} '{code}' is not a currency code")
        if code in header[1:index]:
            raise EcbFormatError(f"line 1: currency '{code}' appears twice")
        if code == ECB_BASE:
            raise EcbFormatError(f"line 1: '{ECB_BASE}' is the base of these rates, not a column")
        if is_currency(code):
            columns.append((index, code))
            summary.currencies.append(code)
        else:
            summary.skipped_currencies.append(code)
    seen: set[date] = set()
    width = len(header)
    for number, raw in numbered:
        if not raw.strip():
            continue
        cells = [cell.strip() for cell in raw.rstrip("\r\n").split(",")]
        while len(cells) > width and cells[-1] == "":
            cells.pop()
        if len(cells) != width:
            raise EcbFormatError(f"line {number}: {len(cells)} cells; the header has {width}")
        day = _ecb_date(cells[0], number)
        if day in seen:
            raise EcbFormatError(f"line {number}: {day.isoformat()} appears twice")
        seen.add(day)
        rates: list[tuple[str, Decimal]] = []
        for index, code in columns:
            text = cells[index]
            if text.upper() in _MISSING:
                summary.missing_cells += 1
                continue
            try:
                rates.append((code, parse_rate(text)))
            except RateError as exc:
                raise EcbFormatError(f"line {number}, {code}: '{text}' {exc}") from None
        summary.days += 1
        yield EcbRow(number, day, tuple(rates))
