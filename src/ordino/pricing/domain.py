"""Pure pricing rules: which book prices a SKU, volume tiers, line amounts, promotions and how
they stack. No database and no HTTP: `service.py` loads the facts and calls these functions.

Rules (docs/architecture.md, "Pricing"):
- A validity window is half-open, `[valid_from, valid_to)`; `None` is open-ended.
- Books are tried in order: the account's own contract books, then its parent's, and so on up
  the hierarchy, then the standard list book of the currency. The first book with an entry valid
  at the pricing time wins. Among several contract books of one account, the one that started
  last is tried first.
- A tier applies from its `from_quantity`; the highest one not above the quantity wins. The
  quantity is the order's quantity of the SKU over all its lines.
- A line amount is unit price × quantity, rounded once, half up, to the currency's minor unit.
- Promotions: stackable ones apply together (line level first, then order level; higher priority
  first), each on what the earlier ones left. A non-stackable one applies alone. Of "all the
  stackable ones" and each non-stackable one, the customer gets the largest discount.
- Order-level discounts are allocated to the qualifying lines by largest remainder, weighted by
  what is left of each line, so no line gets more than it is worth and none goes negative.
"""

from __future__ import annotations

import uuid
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from fractions import Fraction

from ordino.kernel.errors import FieldError
from ordino.kernel.money import EXACT, MAX_MINOR, allocate_minor, exponent_of, round_to_currency

Key = Hashable


def valid_at(at: datetime, valid_from: datetime | None, valid_to: datetime | None) -> bool:
    return (valid_from is None or valid_from <= at) and (valid_to is None or at < valid_to)


def line_amount(unit_price: Decimal, quantity: int, currency: str) -> int:
    """Unit price × quantity, rounded once, half up, to the currency's minor unit."""
    return round_to_currency(EXACT.multiply(unit_price, Decimal(quantity)), currency)


def half_up(value: Fraction) -> int:
    """A non-negative exact value rounded half up to an integer."""
    return (2 * value.numerator + value.denominator) // (2 * value.denominator)


# ----------------------------------------------------------------------------------------------
# Price books


@dataclass(frozen=True, slots=True)
class Tier:
    from_quantity: int
    unit_price: Decimal


@dataclass(frozen=True, slots=True)
class Entry:
    sku: str
    unit_price: Decimal
    tiers: tuple[Tier, ...] = ()
    valid_from: datetime | None = None
    valid_to: datetime | None = None

    def price_for(self, quantity: int) -> Decimal:
        """The unit price of the highest tier whose `from_quantity` ≤ quantity; else the base price."""
        price, reached = self.unit_price, 1
        for tier in self.tiers:
            if reached < tier.from_quantity <= quantity:
                price, reached = tier.unit_price, tier.from_quantity
        return price


@dataclass(frozen=True, slots=True)
class BookRef:
    """A book that may price an order: `depth` 0 is assigned to the account itself, 1 to its
    parent, …; `None` is the currency's standard list book."""

    id: uuid.UUID
    code: str
    depth: int | None
    valid_from: datetime | None = None


def resolution_order(refs: Sequence[BookRef]) -> list[BookRef]:
    """Contract books nearest the account first (the latest-starting first, then the newest),
    each book once, then the standard list book."""
    nearest: dict[uuid.UUID, BookRef] = {}
    for ref in refs:
        if ref.depth is None:
            continue
        seen = nearest.get(ref.id)
        if seen is None or (seen.depth is not None and ref.depth < seen.depth):
            nearest[ref.id] = ref

    def rank(ref: BookRef) -> tuple[int, int, float, int]:
        started = ref.valid_from
        return (ref.depth or 0, started is None, -started.timestamp() if started else 0.0, -ref.id.int)

    ordered = sorted(nearest.values(), key=rank)
    ordered += [ref for ref in refs if ref.depth is None and ref.id not in nearest][:1]
    return ordered


@dataclass(frozen=True, slots=True)
class Book:
    code: str
    entries: Mapping[str, Sequence[Entry]]  # by SKU


@dataclass(frozen=True, slots=True)
class Price:
    unit_price: Decimal
    book: str


def resolve_price(books: Sequence[Book], sku: str, quantity: int, at: datetime) -> Price | None:
    """The first book (in resolution order) with an entry for the SKU valid at `at`."""
    for book in books:
        entries = [e for e in book.entries.get(sku, ()) if valid_at(at, e.valid_from, e.valid_to)]
        if entries:
            # Windows of one SKU in one book do not overlap; should they, the latest start wins.
            entry = max(entries, key=lambda e: e.valid_from.timestamp() if e.valid_from else float("-inf"))
            return Price(entry.price_for(quantity), book.code)
    return None


def overlapping(windows: Sequence[tuple[datetime | None, datetime | None]]) -> list[tuple[int, int]]:
    """Pairs (earlier index, later index) of half-open windows that overlap."""
    found = []
    for j, (from_j, to_j) in enumerate(windows):
        for i in range(j):
            from_i, to_i = windows[i]
            starts_before_end = from_i is None or to_j is None or from_i < to_j
            ends_after_start = to_i is None or from_j is None or from_j < to_i
            if starts_before_end and ends_after_start:
                found.append((i, j))
                break
    return found


# ----------------------------------------------------------------------------------------------
# Promotions


@dataclass(frozen=True, slots=True)
class Offer:
    """A promotion as the calculator sees it, already found eligible for the order."""

    code: str
    name: str
    level: str  # line | order
    kind: str  # percentage | amount | buy_x_get_y
    reference: str  # the coupon that activated it, else the promotion's code
    percentage: Decimal | None = None
    amount: Decimal | None = None  # per unit (line level) or per order (order level)
    min_subtotal: int | None = None  # minor units
    buy_quantity: int | None = None
    get_quantity: int | None = None
    get_sku: str | None = None
    skus: frozenset[str] = frozenset()
    priority: int = 0
    stackable: bool = True
    coupon: str | None = None

    def qualifies(self, sku: str) -> bool:
        return not self.skus or sku in self.skus


@dataclass(frozen=True, slots=True)
class Line:
    key: Key
    sku: str
    quantity: int
    amount: int  # minor units, before adjustments


@dataclass(frozen=True, slots=True)
class Adjustment:
    name: str
    reference: str
    amount: int  # minor units, ≤ 0
    source: str = "promotion"


@dataclass(frozen=True, slots=True)
class Discounts:
    by_line: dict[Key, tuple[Adjustment, ...]]
    applied: tuple[Offer, ...]  # offers that gave a discount, in the order they were applied
    total: int  # minor units, ≤ 0


def free_units(offer: Offer, lines: Sequence[Line]) -> dict[Key, int]:
    """Buy X get Y: the free units per line.

    Same SKU (`get_sku` None, or the only SKU bought): of every X + Y units of a SKU, Y are free
    ("buy 10 get 1": 11 units, 1 free). Another SKU: every X units of the qualifying SKUs (other
    than the free one) make Y units of `get_sku` free, as far as the order holds them.
    """
    x, y = offer.buy_quantity or 0, offer.get_quantity or 0
    if x < 1 or y < 1:
        return {}
    free: dict[Key, int] = {}

    def spread(units: int, targets: list[Line]) -> None:
        for line in targets:
            take = min(units, line.quantity)
            if take:
                free[line.key] = free.get(line.key, 0) + take
            units -= take

    if offer.get_sku is None or offer.skus == {offer.get_sku}:
        by_sku: dict[str, list[Line]] = {}
        for line in lines:
            if offer.qualifies(line.sku):
                by_sku.setdefault(line.sku, []).append(line)
        for sku_lines in by_sku.values():
            total = sum(line.quantity for line in sku_lines)
            spread(total // (x + y) * y, sku_lines)
        return free
    bought = sum(line.quantity for line in lines if line.sku != offer.get_sku and offer.qualifies(line.sku))
    spread(bought // x * y, [line for line in lines if line.sku == offer.get_sku])
    return free


def _line_cuts(offer: Offer, lines: Sequence[Line], nets: Mapping[Key, int], currency: str) -> dict[Key, int]:
    cuts: dict[Key, int] = {}
    if offer.kind == "buy_x_get_y":
        quantities = {line.key: line.quantity for line in lines}
        for key, units in free_units(offer, lines).items():
            # The free units' share of what is left of the line, so that stacked offers compose.
            net, quantity = nets[key], quantities[key]
            cuts[key] = net - half_up(Fraction(net) * (quantity - units) / quantity)
        return cuts
    for line in lines:
        net = nets[line.key]
        if net <= 0 or not offer.qualifies(line.sku):
            continue
        if offer.kind == "percentage":
            assert offer.percentage is not None
            cut = half_up(Fraction(net) * Fraction(offer.percentage) / 100)
        else:
            assert offer.amount is not None
            cut = round_to_currency(EXACT.multiply(offer.amount, Decimal(line.quantity)), currency)
        cuts[line.key] = min(cut, net)
    return cuts


def _order_cuts(offer: Offer, lines: Sequence[Line], nets: Mapping[Key, int], currency: str) -> dict[Key, int]:
    qualifying = [line for line in lines if offer.qualifies(line.sku) and nets[line.key] > 0]
    subtotal = sum(nets[line.key] for line in qualifying)
    if subtotal == 0 or (offer.min_subtotal is not None and subtotal < offer.min_subtotal):
        return {}
    if offer.kind == "percentage":
        assert offer.percentage is not None
        total = half_up(Fraction(subtotal) * Fraction(offer.percentage) / 100)
    else:
        assert offer.amount is not None
        total = min(round_to_currency(offer.amount, currency), subtotal)
    parts = allocate_minor(total, [nets[line.key] for line in qualifying])
    return {line.key: part for line, part in zip(qualifying, parts, strict=True)}


def discount_of(offer: Offer, lines: Sequence[Line], nets: Mapping[Key, int], currency: str) -> dict[Key, int]:
    """What one offer takes off each line, given what earlier offers left (`nets`)."""
    cuts = (_order_cuts if offer.level == "order" else _line_cuts)(offer, lines, nets, currency)
    return {key: cut for key, cut in cuts.items() if cut > 0}


def _run(offers: Sequence[Offer], lines: Sequence[Line], currency: str) -> list[tuple[Key, Offer, int]]:
    nets = {line.key: line.amount for line in lines}
    taken: list[tuple[Key, Offer, int]] = []
    for offer in offers:
        for key, cut in discount_of(offer, lines, nets, currency).items():
            nets[key] -= cut
            taken.append((key, offer, cut))
    return taken


def stacking_order(offers: Sequence[Offer]) -> list[Offer]:
    return sorted(offers, key=lambda o: (o.level != "line", -o.priority, o.code))


def apply_promotions(lines: Sequence[Line], offers: Sequence[Offer], currency: str) -> Discounts:
    """The adjustments that give the customer the best allowed combination of offers."""
    exponent_of(currency)
    stack = stacking_order([o for o in offers if o.stackable])
    candidates: list[tuple[list[Offer], bool]] = [(stack, True)] if stack else []
    candidates += [([o], False) for o in offers if not o.stackable]
    best: list[tuple[Key, Offer, int]] = []
    best_rank: tuple[int, int, bool, str] | None = None
    for group, is_stack in candidates:
        taken = _run(group, lines, currency)
        total = sum(cut for _, _, cut in taken)
        rank = (-total, -max(o.priority for o in group), not is_stack, group[0].code)
        if total > 0 and (best_rank is None or rank < best_rank):
            best, best_rank = taken, rank
    by_line: dict[Key, list[Adjustment]] = {}
    applied: dict[str, Offer] = {}
    for key, offer, cut in best:
        by_line.setdefault(key, []).append(Adjustment(offer.name, offer.reference, -cut))
        applied.setdefault(offer.code, offer)
    return Discounts(
        {key: tuple(adjs) for key, adjs in by_line.items()},
        tuple(applied.values()),
        -sum(cut for _, _, cut in best),
    )


@dataclass(frozen=True, slots=True)
class Limits:
    """What limits where a promotion applies."""

    active: bool = True
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    currency: str | None = None
    accounts: frozenset[uuid.UUID] = frozenset()
    channels: frozenset[str] = frozenset()


def refusal(
    limits: Limits, *, at: datetime, currency: str, accounts: Sequence[uuid.UUID], channel: str | None
) -> str | None:
    """Why a promotion does not apply to an order, or None when it does. `accounts` is the
    ordering account and its ancestors: a promotion for an account is also for its descendants."""
    if not limits.active:
        return "is not active"
    if not valid_at(at, limits.valid_from, limits.valid_to):
        return f"is not valid on {at.date().isoformat()}"
    if limits.currency is not None and limits.currency != currency:
        return f"is for orders in {limits.currency}"
    if limits.accounts and not limits.accounts.intersection(accounts):
        return "is not for this account"
    if limits.channels and channel not in limits.channels:
        return "is not for this sales channel"
    return None


@dataclass(frozen=True, slots=True)
class Terms:
    """A promotion's discount terms, as checked on create and on every change."""

    level: str
    kind: str
    percentage: Decimal | None = None
    amount: Decimal | None = None
    currency: str | None = None
    min_subtotal: Decimal | None = None  # major units, as in the API
    buy_quantity: int | None = None
    get_quantity: int | None = None
    get_sku: str | None = None
    skus: frozenset[str] = field(default_factory=frozenset)
    valid_from: datetime | None = None
    valid_to: datetime | None = None


def _exact_in(value: Decimal, currency: str) -> bool:
    scaled = value.scaleb(exponent_of(currency), EXACT)
    return scaled == scaled.to_integral_value(context=EXACT) and abs(scaled) <= MAX_MINOR


def check_terms(t: Terms) -> list[FieldError]:
    """Every inconsistency of the terms, each naming its field."""
    errors: list[FieldError] = []
    uses = {
        "percentage": ("percentage",),
        "amount": ("amount",),
        "buy_x_get_y": ("buy_quantity", "get_quantity", "get_sku"),
    }
    for kind, names in uses.items():
        for name in names:
            if kind != t.kind and getattr(t, name) is not None:
                errors.append(FieldError(name, f"is only used by kind '{kind}'; leave it out or set it to null"))
    if t.kind == "percentage":
        if t.percentage is None:
            errors.append(FieldError("percentage", "is required for kind 'percentage'"))
        elif not Decimal(0) < t.percentage <= Decimal(100):
            errors.append(FieldError("percentage", "must be more than 0 and at most 100"))
    elif t.kind == "amount":
        if t.amount is None:
            errors.append(FieldError("amount", "is required for kind 'amount'"))
        elif t.amount <= 0:
            errors.append(FieldError("amount", "must be more than 0"))
        elif t.currency and t.level == "order" and not _exact_in(t.amount, t.currency):
            errors.append(FieldError("amount", f"{t.currency} allows at most {exponent_of(t.currency)} decimal places"))
        if t.currency is None:
            errors.append(FieldError("currency", "is required for kind 'amount'"))
    else:
        if t.level != "line":
            errors.append(FieldError("level", "buy X get Y is a line-level promotion"))
        for name in ("buy_quantity", "get_quantity"):
            if getattr(t, name) is None:
                errors.append(FieldError(name, "is required for kind 'buy_x_get_y'"))
        if t.get_sku is not None and t.get_sku in t.skus and t.skus != {t.get_sku}:
            errors.append(FieldError("get_sku", "cannot also be one of several SKUs bought"))
    if t.min_subtotal is not None:
        if t.level != "order":
            errors.append(FieldError("min_subtotal", "is only used by order-level promotions"))
        elif t.currency is None:
            errors.append(FieldError("currency", "is required with a min_subtotal"))
        elif t.min_subtotal < 0 or not _exact_in(t.min_subtotal, t.currency):
            errors.append(FieldError("min_subtotal", f"must be an amount of {t.currency} and not negative"))
    if t.valid_from is not None and t.valid_to is not None and t.valid_to <= t.valid_from:
        errors.append(FieldError("valid_to", "must be later than valid_from"))
    return errors
