"""Pure servicing rules: what a cancel, a return or an appeasement takes off an order item.

An item's amounts are its line amount, its adjustment lines and its tax lines (each an integer of
minor units, negative for discounts). A change order takes shares of them by the cumulative
rule, so that every share adds up over the changes and the invoices exactly:

- a **cancel** takes units from the top: after cancels of `c` units in all, the item keeps
  `round(amount × (ordered − c) / ordered)` of every amount, which is what its invoices bill once
  every live unit is shipped. A cancel that leaves nothing more to invoice (every live unit is
  invoiced already) takes exactly what the invoices did not, so cancelled + invoiced = amount to
  the minor unit, whatever rounding the invoices' VAT totals made;
- a **return** takes units from the bottom: returns of `r` units in all credit
  `round(amount × r / ordered)`; it also gives back the returned units' share of the item's
  appeasements, so an appeased item returned whole credits what was paid, not the list price;
- an **appeasement** lowers the price of what is left: an amount with or without tax, or a
  percentage of the item's remaining net value, as an adjustment with its own tax lines (VAT of
  the amount at the item's rates), spread over the units before, in and after fulfilment.

No database, no HTTP.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

from ordino.invoicing.domain import round_half_up
from ordino.kernel.money import allocate_minor
from ordino.orders.domain import ItemAmounts, Totals
from ordino.orders.domain import totals as order_totals

STAGES = ("pre_fulfillment", "in_fulfillment", "post_fulfillment")
KINDS = ("cancel", "return", "appeasement", "addition", "return_fee", "exchange", "reship")
APPEASEMENT = "appeasement"  # the reference of an appeasement's adjustment lines


def share(amount: int, units: int, of: int) -> int:
    """`amount × units / of`, rounded half up (0 when `of` is 0)."""
    return round_half_up(Fraction(amount * units, of)) if of else 0


@dataclass(frozen=True, slots=True)
class Tax:
    """A tax line of an item (or of one of its change orders)."""

    id: object
    name: str
    rate: Decimal | None
    category: str | None
    jurisdiction: str | None
    exemption_reason_code: str | None
    amount: int
    invoiced: int = 0
    taxable_amount: int | None = None
    adjustment_line_id: object | None = None


@dataclass(frozen=True, slots=True)
class Adjustment:
    id: object
    name: str
    source: str
    reference: str | None
    amount: int
    invoiced: int = 0


@dataclass(frozen=True, slots=True)
class Item:
    """An order item as servicing sees it: buckets, amounts and what was invoiced of them."""

    id: object
    line_number: int
    type: str
    sku: str | None
    name: str
    unit_price: Decimal
    ordered: int
    canceled: int
    allocated: int
    fulfilled: int
    return_initiated: int
    returned: int
    line_amount: int
    adjustments: tuple[Adjustment, ...] = ()
    taxes: tuple[Tax, ...] = ()
    invoiced_units: int = 0
    invoiced_line: int = 0
    # appeasement adjustment lines (and their tax lines) of change orders, with the returns'
    # give-backs of them: what is still appeased on the item
    appeased: tuple[Adjustment, ...] = ()
    appeased_taxes: tuple[Tax, ...] = ()
    # net value already taken off by change orders (line + adjustment deltas, ≤ 0)
    changed_net: int = 0

    @property
    def live(self) -> int:
        """Units still on the order: ordered − cancelled − returned."""
        return self.ordered - self.canceled - self.returned

    @property
    def unshipped(self) -> int:
        return self.ordered - self.canceled - self.fulfilled

    @property
    def available_to_return(self) -> int:
        return self.fulfilled - self.return_initiated

    @property
    def net(self) -> int:
        """Its value net of discounts (gross of tax when prices include tax)."""
        return self.line_amount + sum(a.amount for a in self.adjustments)

    @property
    def value_left(self) -> int:
        """What an appeasement may still take off: the net value less every change so far."""
        return self.net + self.changed_net

    def stage_units(self) -> dict[str, int]:
        """Live units per fulfilment stage: not allocated, allocated not shipped, shipped not returned."""
        return {
            "pre_fulfillment": self.ordered - self.canceled - self.allocated,
            "in_fulfillment": self.allocated - self.fulfilled,
            "post_fulfillment": self.fulfilled - self.returned,
        }


@dataclass(frozen=True, slots=True)
class TaxDelta:
    source: Tax  # the tax line whose category, rate and jurisdiction it takes
    amount: int
    taxable_amount: int | None = None
    of_adjustment: int | None = None  # index in AdjustmentDelta list it is the tax of


@dataclass(frozen=True, slots=True)
class AdjustmentDelta:
    name: str
    source: str
    reference: str | None
    amount: int


@dataclass(slots=True)
class ItemChange:
    """What one change order takes off (negative) or adds to one item."""

    item: Item
    stage: str
    quantity: int
    line_amount: int = 0
    adjustments: list[AdjustmentDelta] = field(default_factory=list)
    taxes: list[TaxDelta] = field(default_factory=list)

    @property
    def adjustment_amount(self) -> int:
        return sum(a.amount for a in self.adjustments)

    @property
    def tax_amount(self) -> int:
        return sum(t.amount for t in self.taxes)

    def total(self, prices_include_tax: bool) -> int:
        gross = self.line_amount + self.adjustment_amount
        return gross if prices_include_tax else gross + self.tax_amount


# ------------------------------------------------------------------------------------------------
# Cancel and return


def cancel(item: Item, units: int, stage: str) -> ItemChange:
    """Cancel `units` unshipped units (from the top)."""
    before, after = item.ordered - item.canceled, item.ordered - item.canceled - units
    # nothing left to invoice after this cancel: take exactly what the invoices did not
    completes = after == item.invoiced_units

    def take(amount: int, invoiced: int) -> int:
        kept = invoiced if completes else share(amount, after, item.ordered)
        return -(share(amount, before, item.ordered) - kept)

    change = ItemChange(item, stage, units, take(item.line_amount, item.invoiced_line))
    change.adjustments = [
        AdjustmentDelta(a.name, a.source, a.reference, take(a.amount, a.invoiced)) for a in item.adjustments
    ]
    change.taxes = [TaxDelta(t, take(t.amount, t.invoiced)) for t in item.taxes]
    return change


def give_back(item: Item, units: int) -> ItemChange:
    """Return `units` shipped units (from the bottom), with their share of the appeasements."""
    r0, r1 = item.returned, item.returned + units

    def take(amount: int) -> int:
        return -(share(amount, r1, item.ordered) - share(amount, r0, item.ordered))

    change = ItemChange(item, "post_fulfillment", units, take(item.line_amount))
    change.adjustments = [AdjustmentDelta(a.name, a.source, a.reference, take(a.amount)) for a in item.adjustments]
    change.taxes = [TaxDelta(t, take(t.amount)) for t in item.taxes]
    still_appeased = sum(a.amount for a in item.appeased)
    live = item.live  # the appeasement lowered the price of every unit still on the order
    if still_appeased and live:
        # never more than the units' own share gives: a return credits, it never charges
        back = min(-share(still_appeased, units, live), -(change.line_amount + change.adjustment_amount))
        change.adjustments.append(AdjustmentDelta("Appeasement returned", "manual", APPEASEMENT, max(0, back)))
        n = len(change.adjustments) - 1
        room = max(0, -change.tax_amount)
        for taxes in _by_key(item.appeased_taxes).values():
            amount = sum(t.amount for t in taxes)
            tax_back = min(-share(amount, units, live), room) if amount else 0
            if tax_back > 0:
                change.taxes.append(TaxDelta(taxes[0], tax_back, of_adjustment=n))
                room -= tax_back
    return change


def _by_key(taxes: Sequence[Tax]) -> dict[tuple[object, ...], list[Tax]]:
    out: dict[tuple[object, ...], list[Tax]] = {}
    for t in taxes:
        out.setdefault((t.category, t.rate, t.jurisdiction, t.name), []).append(t)
    return out


# ------------------------------------------------------------------------------------------------
# Appeasement


def vat_lines(item: Item) -> list[Tax]:
    """The item's tax lines that an appeasement's tax follows: those with a rate."""
    return [t for t in item.taxes if t.rate is not None]


def appeasement_split(item: Item, amount: int, *, includes_tax: bool, gross_prices: bool) -> tuple[int, list[int]]:
    """(adjustment, taxes per `vat_lines`) of an appeasement of `amount` (> 0).

    Without tax the amount is net: the tax is amount × rate per tax line. With tax it is gross:
    the net part is amount / (1 + Σ rates), rounded once, and the tax the rest, spread over the
    tax lines by rate. On gross prices the adjustment is the gross amount (its tax inside it)."""
    lines = vat_lines(item)
    rates = [Fraction(t.rate) for t in lines if t.rate is not None]
    total_rate = sum(rates, Fraction(0))
    if includes_tax:
        net = round_half_up(Fraction(amount) / (1 + total_rate))
        tax_total = amount - net
        weights = [Decimal(t.rate) for t in lines if t.rate is not None]
        taxes = allocate_minor(tax_total, weights) if any(weights) else [0] * len(weights)
    else:
        net = amount
        taxes = [round_half_up(net * r) for r in rates]
    adjustment = net + sum(taxes) if gross_prices else net
    return -adjustment, [-t for t in taxes]


def appease(item: Item, amount: int, *, includes_tax: bool, gross_prices: bool, reason: str) -> list[ItemChange]:
    """The appeasement's changes to one item, one per fulfilment stage with live units, the
    amount spread over the stages by units."""
    adjustment, taxes = appeasement_split(item, amount, includes_tax=includes_tax, gross_prices=gross_prices)
    lines = vat_lines(item)
    stages = item.stage_units()
    weights = [stages[s] for s in STAGES]
    if not any(weights):
        weights = [0, 0, 1]
    adj_parts = allocate_minor(adjustment, weights)
    tax_parts = [allocate_minor(t, weights) for t in taxes]
    out = []
    for n, stage in enumerate(STAGES):
        if not adj_parts[n] and not any(p[n] for p in tax_parts):
            continue
        change = ItemChange(item, stage, 0)
        change.adjustments = [AdjustmentDelta(f"Appeasement: {reason}"[:200], "manual", APPEASEMENT, adj_parts[n])]
        change.taxes = [TaxDelta(t, parts[n], of_adjustment=0) for t, parts in zip(lines, tax_parts, strict=True)]
        out.append(change)
    return out


def percent_of(value: int, percent: Decimal) -> int:
    """`percent` % of a value, rounded half up."""
    return round_half_up(Fraction(value) * Fraction(percent) / 100)


def appeasement_basis(item: Item, *, includes_tax: bool, gross_prices: bool) -> int:
    """The item's remaining value in the terms of the appeasement's amount: with or without tax."""
    rates = 1 + sum((Fraction(t.rate) for t in vat_lines(item) if t.rate is not None), Fraction(0))
    if includes_tax == gross_prices:
        return item.value_left
    return round_half_up(item.value_left * rates if includes_tax else item.value_left / rates)


# ------------------------------------------------------------------------------------------------
# Totals


def totals(changes: Sequence[ItemChange], *, prices_include_tax: bool) -> Totals:
    """A change order's totals, derived as the order's are."""
    return order_totals(
        (ItemAmounts(c.item.type, c.line_amount, c.adjustment_amount, c.tax_amount) for c in changes),
        prices_include_tax=prices_include_tax,
    )
