"""Quotes, pure: the lifecycle, and the arithmetic of an agent's pricing. No database, no HTTP.

A quote line is priced by the catalog (price books and automatic promotions, as intake prices a
catalog order) unless the agent gives it a unit price, which replaces the catalog price and its
promotions. An agent's discount (a percentage or an amount) then comes off what the line is worth
after its promotions; a line never goes below zero. Amounts are minor units, rounded half up
once per line.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from ordino.kernel.lifecycle import Lifecycle
from ordino.kernel.money import EXACT, MAX_MINOR, format_minor
from ordino.orders.domain import line_amount

QUOTE_STATUSES = ("draft", "requested", "priced", "sent", "accepted", "rejected", "expired")
QUOTE_LIFECYCLE = Lifecycle.build(
    "quote",
    states=QUOTE_STATUSES,
    initial="draft",
    table=[
        ("submit", ["draft"], "requested"),
        # An agent may price again until the buyer accepts; a sent quote then waits to be sent again.
        ("price", ["requested", "priced", "sent"], "priced"),
        ("send", ["priced"], "sent"),
        ("accept", ["sent"], "accepted"),
        ("reject", ["requested", "priced", "sent"], "rejected"),
        ("expire", ["priced", "sent"], "expired"),
    ],
    terminal=("accepted", "rejected", "expired"),
)
EDITABLE = ("draft", "requested")  # the buyer may still change lines and notes
EXPIRING = ("priced", "sent")


def is_expired(valid_until: datetime | None, now: datetime) -> bool:
    """A quote is valid up to, not including, its `valid_until`."""
    return valid_until is not None and valid_until <= now


@dataclass(frozen=True, slots=True)
class QuoteLine:
    line_number: int
    sku: str
    quantity: int


@dataclass(frozen=True, slots=True)
class Discount:
    name: str
    source: str  # promotion | quote
    reference: str | None
    amount: int  # ≤ 0

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "source": self.source, "reference": self.reference, "amount": self.amount}


@dataclass(frozen=True, slots=True)
class CatalogPrice:
    unit_price: Decimal
    promotions: tuple[Discount, ...] = ()


@dataclass(frozen=True, slots=True)
class Override:
    unit_price: Decimal | None = None
    discount_percent: Decimal | None = None
    discount_amount: int | None = None  # minor units, ≥ 0


@dataclass(frozen=True, slots=True)
class PricedLine:
    line_number: int
    unit_price: Decimal
    source: str  # catalog | agent
    line_amount: int
    discounts: tuple[Discount, ...]

    @property
    def adjustment_amount(self) -> int:
        return sum(d.amount for d in self.discounts)


@dataclass(frozen=True, slots=True)
class PricedQuote:
    lines: tuple[PricedLine, ...]
    shipping: int
    errors: tuple[tuple[str, str], ...] = field(default=())  # (field, message)

    @property
    def product(self) -> int:
        return sum(line.line_amount for line in self.lines)

    @property
    def adjustment(self) -> int:
        return sum(line.adjustment_amount for line in self.lines)

    @property
    def total(self) -> int:
        return self.product + self.adjustment + self.shipping


def percent_of(amount: int, percent: Decimal) -> int:
    """`percent` % of a minor-unit amount, rounded half up to the minor unit."""
    return int((Decimal(amount) * percent / 100).quantize(Decimal(1), rounding=ROUND_HALF_UP, context=EXACT))


def price_quote(
    lines: Sequence[QuoteLine],
    catalog: Mapping[int, CatalogPrice],
    overrides: Mapping[int, Override],
    shipping: int,
    currency: str,
    paths: Mapping[int, str] | None = None,
) -> PricedQuote:
    """Price every line (by line number); `paths` names each override's place in the request,
    so errors point at the field to fix."""
    paths = paths or {}
    priced: list[PricedLine] = []
    errors: list[tuple[str, str]] = []
    for line in lines:
        path = paths.get(line.line_number, "lines")
        override = overrides.get(line.line_number, Override())
        if override.unit_price is not None:
            unit_price, source, discounts = override.unit_price, "agent", []
        elif line.line_number in catalog:
            price = catalog[line.line_number]
            unit_price, source, discounts = price.unit_price, "catalog", list(price.promotions)
        else:
            errors.append((f"{path}.unit_price" if line.line_number in paths else "lines",
                           f"line {line.line_number} ({line.sku}) has no catalog price; give it a unit_price"))
            continue
        amount = line_amount(unit_price, line.quantity, currency)
        if amount > MAX_MINOR:
            errors.append((path, f"line {line.line_number}: the line amount is larger than Ordino can store"))
            continue
        left = amount + sum(d.amount for d in discounts)
        off, name = 0, ""
        if override.discount_percent is not None:
            off = percent_of(left, override.discount_percent)
            name = f"Quote discount {format(override.discount_percent.normalize(), 'f')}%"
        elif override.discount_amount is not None:
            off = override.discount_amount
            name = f"Quote discount {format_minor(off, currency)} {currency}"
        if off > left:
            errors.append((f"{path}.discount_amount", f"line {line.line_number}: the discount is more than the "
                           f"line's {format_minor(left, currency)} {currency}"))
            continue
        if off:
            discounts.append(Discount(name, "quote", None, -off))
        priced.append(PricedLine(line.line_number, unit_price, source, amount, tuple(discounts)))
    result = PricedQuote(tuple(priced), shipping, tuple(errors))
    if not errors and max(result.product, result.total) > MAX_MINOR:
        return PricedQuote(result.lines, shipping, (("lines", "the quote total is larger than Ordino can store"),))
    return result
