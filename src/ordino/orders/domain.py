"""Pure order rules: lifecycle, quantity buckets, derived amounts. No database, no HTTP."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from ordino.kernel.lifecycle import Lifecycle
from ordino.kernel.money import EXACT, MAX_MINOR, MoneyError, exponent_of, parse_amount, round_to_currency

ORDER_LIFECYCLE = Lifecycle.build(
    "order",
    states=(
        "created",
        "pending_approval",
        "approved",
        "partially_fulfilled",
        "fulfilled",
        "closed",
        "cancelled",
    ),
    initial="created",
    table=[
        ("hold_for_approval", ["created"], "pending_approval"),
        ("approve", ["created", "pending_approval"], "approved"),
        ("reject", ["pending_approval"], "cancelled"),
        ("cancel", ["created", "pending_approval", "approved"], "cancelled"),
        ("fulfill_partially", ["approved"], "partially_fulfilled"),
        ("fulfill", ["approved", "partially_fulfilled"], "fulfilled"),
        ("close", ["fulfilled", "cancelled"], "closed"),
        # items added after fulfilment (an exchange's, a reship's) are routed and shipped again
        ("reopen", ["fulfilled"], "partially_fulfilled"),
    ],
    terminal=("closed",),
)

ORDER_STATUSES = tuple(sorted(ORDER_LIFECYCLE.states))

# The order actions a client can take, and the statuses their endpoint serves: approve and reject
# (POST /orders/{ref}/approve|reject) decide an order waiting for approval. The other transitions
# are taken by flows; an action appears here only once an endpoint serves it.
ENDPOINT_ACTIONS: dict[str, tuple[str, ...]] = {
    "approve": ("pending_approval",),
    "reject": ("pending_approval",),
}


# Servicing actions (POST /orders/{ref}/cancellations | returns | appeasements) and the statuses
# they serve; an order offers one only when its items leave something to act on.
CANCELLABLE = ("created", "pending_approval", "approved", "partially_fulfilled")
# Change orders whose items are new items, at their own amounts (already on the item rows): not a
# change to an item's value.
ADDING_KINDS = ("addition", "exchange", "reship")
SERVICING_ACTIONS = ("cancel", "return", "appease", "add", "exchange", "reship")
SERVICING_PATHS = {"cancel": "cancellations", "return": "returns", "appease": "appeasements", "add": "additions",
                   "exchange": "exchanges", "reship": "reships"}


def available_actions(status: str, items: Sequence[tuple[Buckets, int]] = ()) -> list[str]:
    """The actions an order in `status` offers through the API: the lifecycle's (in its order),
    then the servicing actions its product items allow; `items` are (buckets, value left)."""
    actions = [a for a in ORDER_LIFECYCLE.actions_from(status) if status in ENDPOINT_ACTIONS.get(a, ())]
    if status in CANCELLABLE and any(b.ordered - b.canceled - b.fulfilled > 0 for b, _ in items):
        actions.append("cancel")
    if any(b.available_to_return > 0 for b, _ in items):
        actions.append("return")
    if status != "closed" and any(b.quantity > 0 and value > 0 for b, value in items):
        actions.append("appease")
    if status in CANCELLABLE and items:
        actions.append("add")
    if any(b.available_to_return > 0 for b, _ in items):
        actions.append("exchange")
    if status != "closed" and any(b.fulfilled - b.returned > 0 for b, _ in items):
        actions.append("reship")
    return actions


@dataclass(frozen=True, slots=True)
class Buckets:
    """The quantity buckets of an order item summary (DESIGN §3)."""

    ordered: int
    canceled: int = 0
    allocated: int = 0
    fulfilled: int = 0
    return_initiated: int = 0
    returned: int = 0

    @property
    def quantity(self) -> int:
        return self.ordered - self.canceled - self.returned

    @property
    def available_to_fulfill(self) -> int:
        return self.ordered - self.canceled - self.allocated

    @property
    def available_to_cancel(self) -> int:
        return self.available_to_fulfill

    @property
    def available_to_return(self) -> int:
        return self.fulfilled - self.return_initiated

    def violations(self) -> list[str]:
        """The invariants this state breaks (the same ones the database CHECKs enforce)."""
        found = []
        for name in ("canceled", "allocated", "fulfilled", "return_initiated", "returned"):
            if getattr(self, name) < 0:
                found.append(f"{name} is negative")
        if self.ordered <= 0:
            found.append("ordered must be positive")
        if self.available_to_fulfill < 0:
            found.append("available to fulfil is negative")
        if self.fulfilled > self.allocated:
            found.append("fulfilled exceeds allocated")
        if self.available_to_return < 0:
            found.append("available to return is negative")
        if self.returned > self.return_initiated:
            found.append("returned exceeds return initiated")
        if self.quantity < 0:
            found.append("quantity is negative")
        return found

    def status(self) -> str:
        if self.canceled == self.ordered:
            return "canceled"
        if self.returned and self.returned == self.ordered - self.canceled:
            return "returned"
        live = self.ordered - self.canceled
        if self.fulfilled == live:
            return "fulfilled"
        if self.fulfilled:
            return "partially_fulfilled"
        if self.allocated == live:
            return "allocated"
        if self.allocated:
            return "partially_allocated"
        return "ordered"


def line_amount(unit_price: Decimal, quantity: int, currency: str) -> int:
    """Unit price × quantity, rounded once (half up) to the currency's minor unit."""
    return round_to_currency(EXACT.multiply(unit_price, quantity), currency, ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class ItemAmounts:
    type: str  # product | delivery_charge | fee
    line_amount: int
    adjustment_amount: int
    tax_amount: int


@dataclass(frozen=True, slots=True)
class Totals:
    product: int
    adjustment: int
    delivery: int
    tax: int
    grand_total: int

    @property
    def storable(self) -> bool:
        """Every total fits the amount columns (signed 64-bit minor units)."""
        return max(abs(self.product), abs(self.adjustment), abs(self.delivery), abs(self.tax),
                   abs(self.grand_total)) <= MAX_MINOR


def totals(items: Iterable[ItemAmounts], *, prices_include_tax: bool) -> Totals:
    """Order totals derived from items.

    product: product and fee lines before adjustments; adjustment: their discounts (≤ 0);
    delivery: delivery charges after their own adjustments; tax: all tax lines. With gross
    prices (tax included) the tax is part of the amounts already and is not added again.
    """
    product = adjustment = delivery = tax = 0
    for item in items:
        if item.type == "delivery_charge":
            delivery += item.line_amount + item.adjustment_amount
        else:
            product += item.line_amount
            adjustment += item.adjustment_amount
        tax += item.tax_amount
    grand = product + adjustment + delivery + (0 if prices_include_tax else tax)
    return Totals(product, adjustment, delivery, tax, grand)


# An amount the order cannot take: (field path in the payload, message). The caller gathers them
# all and refuses the order once, naming every field.
Issue = tuple[str, str]


def to_minor(value: Decimal, currency: str, path: str, issues: list[Issue]) -> int:
    """A payload amount in minor units; one the currency cannot hold is noted and counts 0, so that
    the rest of the order is still checked."""
    try:
        return parse_amount(value, currency)
    except MoneyError as exc:
        issues.append((path, str(exc)))
        return 0


@dataclass(slots=True)  # not frozen: one per line on intake's hot path, and a frozen __init__ is slower
class LineAmounts:
    """The amounts of one order item in minor units. An amount that cannot be used counts 0 and is
    named in `issues`."""

    unit_price: Decimal
    line: int
    adjustment: int  # promotions and the order's own adjustments (discounts are negative)
    tax: int
    adjustments: tuple[int, ...]  # each of the order's own adjustments, as given
    taxes: tuple[int, ...]  # each given tax line, as given
    issues: tuple[Issue, ...]


def _minors(values: Sequence[Decimal], currency: str, path: str, issues: list[Issue]) -> tuple[int, ...]:
    """Each value in minor units (`to_minor`), named `{path}[i].amount` when refused."""
    if not values:
        return ()
    parts = []
    for i, value in enumerate(values):
        try:
            parts.append(parse_amount(value, currency))
        except MoneyError as exc:  # the field's name is built only for a refusal: intake is a hot path
            issues.append((f"{path}[{i}].amount", str(exc)))
            parts.append(0)
    return tuple(parts)


def _taxes(taxes: Sequence[Decimal], currency: str, path: str, issues: list[Issue]) -> tuple[tuple[int, ...], int]:
    parts = _minors(taxes, currency, path, issues)
    total = sum(parts)
    if total > MAX_MINOR:
        issues.append((path, "the tax amounts add up to more than Ordino can store"))
        total = 0
    return parts, total


def product_line(
    unit_price: Decimal, quantity: int, currency: str, path: str, *,
    promotions: Sequence[int] = (), adjustments: Sequence[Decimal] = (), taxes: Sequence[Decimal] = (),
) -> LineAmounts:
    """A product line at `path` (`delivery_groups[g].lines[l]`): its amount, its promotions (minor
    units, from the price books) and its own adjustments added up, and its given tax lines."""
    issues: list[Issue] = []
    amount = line_amount(unit_price, quantity, currency)
    if amount > MAX_MINOR:
        issues.append((path, "the line amount is larger than Ordino can store"))
        amount = 0
    own = _minors(adjustments, currency, f"{path}.adjustments", issues) if adjustments else ()
    adjustment = sum(promotions) + sum(own)
    if amount + adjustment < 0:
        issues.append((f"{path}.adjustments", "discounts exceed the line amount"))
    tax_parts, tax = _taxes(taxes, currency, f"{path}.tax_lines", issues) if taxes else ((), 0)
    return LineAmounts(unit_price, amount, adjustment, tax, own, tax_parts, tuple(issues))


def shipping_charge(charge: Decimal, taxes: Sequence[Decimal], currency: str, group_path: str) -> LineAmounts:
    """A delivery group's shipping charge as an item of quantity 1 (its unit price is the charge)."""
    issues: list[Issue] = []
    amount = to_minor(charge, currency, f"{group_path}.shipping_charge", issues)
    tax_parts, tax = _taxes(taxes, currency, f"{group_path}.shipping_tax_lines", issues)
    unit_price = Decimal(amount).scaleb(-exponent_of(currency))
    return LineAmounts(unit_price, amount, 0, tax, (), tax_parts, tuple(issues))


def unknown_gateways(gateways: Sequence[str | None], configured: Iterable[str], path: str = "payments") -> list[Issue]:
    """A payment's gateway must be one the installation has (`payments[1].gateway`); `None`: a
    payment without one (invoice terms)."""
    known = sorted(configured)
    has = ", ".join(known) or "none"
    return [(f"{path}[{i}].gateway", f"no payment gateway '{name}' (this installation has: {has})")
            for i, name in enumerate(gateways) if name is not None and name not in known]
