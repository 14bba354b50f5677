"""Pure rules of return orders: their lifecycle, what a receipt may take, and its fees.

- lifecycle as data: requested → approved → partially_received → received → closed; a return
  order that is requested or approved can be cancelled (its expected units go back to the items'
  available to return);
- a receipt names per line the units received good and the units rejected, at most what the line
  still expects; what it does not name stays expected;
- the fees of a receipt are charges, so positive: the restocking fee is a percentage of the
  returned goods' total (per line, rounded half up) and return shipping an amount with tax; each
  is split into net and tax at the item's VAT rates, as an appeasement of that amount would be.

No database, no HTTP.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from ordino.kernel.lifecycle import Lifecycle
from ordino.servicing import domain as servicing

LIFECYCLE = Lifecycle.build(
    "return_order",
    states=("requested", "approved", "partially_received", "received", "closed", "cancelled"),
    initial="requested",
    table=[
        ("approve", ["requested"], "approved"),
        ("receive_partially", ["approved", "partially_received"], "partially_received"),
        ("receive", ["approved", "partially_received"], "received"),
        ("close", ["received"], "closed"),
        ("cancel", ["requested", "approved"], "cancelled"),
    ],
    terminal=("closed", "cancelled"),
)
RESTOCKING_FEE = "restocking_fee"  # the reference of a fee's adjustment lines
RETURN_SHIPPING = "return_shipping"


@dataclass(frozen=True, slots=True)
class Expected:
    """A return order line as a receipt sees it."""

    line_number: int
    expected: int
    received: int
    rejected: int

    @property
    def outstanding(self) -> int:
        return self.expected - self.received - self.rejected


def over_receipt(line: Expected, received: int, rejected: int) -> str | None:
    """Why a receipt line asks too much of a return order line, or None."""
    if received + rejected == 0:
        return "receives or rejects nothing"
    if received + rejected > line.outstanding:
        return f"line {line.line_number}: {received + rejected} units, {line.outstanding} still expected"
    return None


def status_after(lines: Sequence[Expected]) -> str:
    """The receive action a receipt calls for once its lines are counted in."""
    return "receive" if all(x.outstanding == 0 for x in lines) else "receive_partially"


def fee_change(item: servicing.Item, amount: int, name: str, reference: str, *,
               gross_prices: bool) -> servicing.ItemChange:
    """A charge of `amount` (with tax, > 0) on an item: an adjustment and its tax lines, no units."""
    adjustment, taxes = servicing.appeasement_split(item, amount, includes_tax=True, gross_prices=gross_prices)
    change = servicing.ItemChange(item, "post_fulfillment", 0)
    change.adjustments = [servicing.AdjustmentDelta(name, "manual", reference, -adjustment)]
    change.taxes = [servicing.TaxDelta(t, -part, of_adjustment=0)
                    for t, part in zip(servicing.vat_lines(item), taxes, strict=True) if part]
    return change


def fees(returned: Sequence[servicing.ItemChange], *, restocking_percent: Decimal | None, return_shipping: int,
         gross_prices: bool) -> list[servicing.ItemChange]:
    """The fee changes of a receipt: a restocking fee per returned item, return shipping on the first."""
    out: list[servicing.ItemChange] = []
    for change in returned:
        goods = -change.total(gross_prices)
        fee = servicing.percent_of(goods, restocking_percent) if restocking_percent else 0
        if fee > 0:
            out.append(fee_change(change.item, fee, f"Restocking fee {restocking_percent.normalize()}%"
                                  if restocking_percent else "Restocking fee", RESTOCKING_FEE,
                                  gross_prices=gross_prices))
    if return_shipping > 0 and returned:
        shipping = fee_change(returned[0].item, return_shipping, "Return shipping", RETURN_SHIPPING,
                              gross_prices=gross_prices)
        first = next((c for c in out if c.item.id == returned[0].item.id), None)
        if first is None:
            out.insert(0, shipping)
        else:  # one change per item: its credit memo line keeps the change's own lines
            n = len(first.adjustments)
            first.adjustments += shipping.adjustments
            first.taxes += [servicing.TaxDelta(t.source, t.amount, of_adjustment=n) for t in shipping.taxes]
    return out
