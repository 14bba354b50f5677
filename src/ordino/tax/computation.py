"""From taxable parts of lines to exact tax amounts, per line or once per rate on the document.

A regime (EU VAT, US sales tax) decides which tax applies to which part of each line: a `Part`
is a base amount of one line with a `TaxKey` (name, rate, category, jurisdiction). This module
only does the arithmetic, the same way for every regime:

- per line: each part's tax is its base × rate, rounded once;
- per rate on the document (EN 16931): the tax of each key is the sum of its bases × rate,
  rounded once; that total is then allocated over the parts by `allocate_minor`, weighted by the
  bases, so the line taxes sum exactly to the document's tax breakdown.

Gross bases (prices include tax) use the tax fraction rate / (1 + rate). All arithmetic is on
exact fractions; the only rounding is the one named, ROUND_HALF_UP unless a regime says otherwise.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, ROUND_UP, Decimal
from fractions import Fraction

from ordino.kernel.money import MAX_MINOR, CurrencyError, allocate_minor, exponent_of
from ordino.tax.domain import (
    Category,
    LineTax,
    RoundingMode,
    TaxContext,
    TaxLine,
    TaxLineInput,
    TaxNote,
    TaxResult,
    TaxSubtotal,
)
from ordino.tax.errors import TaxError

ROUNDING_RULES = (ROUND_HALF_UP, ROUND_HALF_EVEN, ROUND_HALF_DOWN, ROUND_DOWN, ROUND_UP)
_COUNTRY = re.compile(r"[A-Z]{2}")


@dataclass(frozen=True, slots=True)
class TaxKey:
    name: str
    rate: Decimal
    category: Category
    jurisdiction: str
    exemption_reason_code: str | None = None


@dataclass(frozen=True, slots=True)
class Part:
    line: int  # index into the document's lines
    base: int  # minor units of the line's amount (net, or gross when prices include tax)
    key: TaxKey


def round_fraction(value: Fraction, rounding: str = ROUND_HALF_UP) -> int:
    """An exact fraction of minor units rounded to a whole minor unit; signs are symmetric."""
    sign = -1 if value < 0 else 1
    magnitude = abs(value)
    whole = magnitude.numerator // magnitude.denominator
    rest = magnitude - whole
    half = Fraction(1, 2)
    if rounding == ROUND_HALF_UP:
        up = rest >= half
    elif rounding == ROUND_HALF_EVEN:
        up = rest > half or (rest == half and whole % 2 == 1)
    elif rounding == ROUND_HALF_DOWN:
        up = rest > half
    elif rounding == ROUND_DOWN:
        up = False
    elif rounding == ROUND_UP:
        up = rest > 0
    else:
        raise ValueError(f"unsupported rounding rule {rounding}")
    return sign * (whole + int(up))


def tax_fraction(rate: Decimal, gross: bool) -> Fraction:
    """The share of a base that is tax: rate on net amounts, rate / (1 + rate) on gross ones."""
    r = Fraction(rate)
    return r / (1 + r) if gross else r


def validate(lines: Sequence[TaxLineInput], context: TaxContext) -> None:
    """Refuse, naming the field, what no regime could compute."""
    try:
        exponent_of(context.currency)
    except CurrencyError as exc:
        raise TaxError("currency", str(exc)) from None
    for name, address in (("seller", context.seller), ("ship_to", context.ship_to), ("ship_from", context.ship_from)):
        if address is not None and not _COUNTRY.fullmatch(address.country or ""):
            raise TaxError(f"{name}.country", f"'{address.country}' is not an ISO 3166-1 alpha-2 country code")
    seen: set[str] = set()
    for i, line in enumerate(lines):
        if line.line_id in seen:
            raise TaxError(f"lines[{i}].line_id", f"'{line.line_id}' appears twice")
        seen.add(line.line_id)
        if not isinstance(line.amount, int) or isinstance(line.amount, bool):
            raise TaxError(f"lines[{i}].amount", "must be an integer number of minor units")
        if line.amount < 0:
            raise TaxError(f"lines[{i}].amount", "cannot be negative; compute credits on positive amounts and negate")
        if line.amount > MAX_MINOR:
            raise TaxError(f"lines[{i}].amount", "is larger than the largest amount Ordino stores")
        if isinstance(line.quantity, bool) or Decimal(line.quantity) <= 0:
            raise TaxError(f"lines[{i}].quantity", "must be positive")


def follow_goods(index: int, amount: int, goods: Iterable[Part], fallback: TaxKey) -> list[Part]:
    """Parts of a shipping charge that follows the goods it carries.

    The charge is split over the tax keys of the goods in proportion to their bases (largest
    remainder, so no minor unit is lost); with one key it takes that key whole. Without goods, or
    when the goods amount to zero, it takes `fallback`.
    """
    bases: dict[TaxKey, int] = {}
    for part in goods:
        bases[part.key] = bases.get(part.key, 0) + part.base
    if not bases or not any(bases.values()):
        return [Part(index, amount, fallback)]
    keys = list(bases)
    shares = allocate_minor(amount, [bases[k] for k in keys])
    parts = [Part(index, share, key) for key, share in zip(keys, shares, strict=True) if share]
    return parts or [Part(index, amount, keys[0])]


def compute(
    lines: Sequence[TaxLineInput],
    context: TaxContext,
    parts: Sequence[Part],
    *,
    regime: str,
    default_rounding: RoundingMode,
    notes: Iterable[TaxNote] = (),
    rounding_rule: str = ROUND_HALF_UP,
) -> TaxResult:
    """Round the taxes of `parts` and assemble the result."""
    mode = context.rounding or default_rounding
    gross = context.prices_include_tax
    covered = [0] * len(lines)
    for part in parts:
        covered[part.line] += part.base
    for i, line in enumerate(lines):
        if covered[i] != line.amount:  # a regime bug, never an input error
            raise RuntimeError(f"tax parts of line {line.line_id} cover {covered[i]}, not {line.amount}")

    taxes = [0] * len(parts)
    groups: dict[TaxKey, list[int]] = {}
    for n, part in enumerate(parts):
        groups.setdefault(part.key, []).append(n)
    for key, members in groups.items():
        share = tax_fraction(key.rate, gross)
        if mode is RoundingMode.PER_LINE:
            for n in members:
                taxes[n] = round_fraction(parts[n].base * share, rounding_rule)
            continue
        bases = [parts[n].base for n in members]
        total = round_fraction(sum(bases) * share, rounding_rule)
        allocated = allocate_minor(total, bases) if any(bases) else [0] * len(members)
        for n, tax in zip(members, allocated, strict=True):
            taxes[n] = tax

    nets = [part.base - tax if gross else part.base for part, tax in zip(parts, taxes, strict=True)]
    per_line: list[list[TaxLine]] = [[] for _ in lines]
    for part, tax, net in zip(parts, taxes, nets, strict=True):
        k = part.key
        per_line[part.line].append(
            TaxLine(k.name, k.rate, tax, net, k.jurisdiction, k.category, k.exemption_reason_code)
        )
    results = []
    for line, tax_lines in zip(lines, per_line, strict=True):
        tax = sum(t.amount for t in tax_lines)
        net, gross_amount = (line.amount - tax, line.amount) if gross else (line.amount, line.amount + tax)
        results.append(LineTax(line.line_id, net, tax, gross_amount, tuple(tax_lines)))
    breakdown = tuple(
        TaxSubtotal(
            key.name, key.category, key.rate, key.jurisdiction,
            sum(nets[n] for n in members), sum(taxes[n] for n in members), key.exemption_reason_code,
        )
        for key, members in groups.items()
    )
    unique_notes = tuple(dict.fromkeys(notes))
    return TaxResult(context.currency, regime, mode, gross, tuple(results), breakdown, unique_notes)
