"""Pure rules of the inventory engine: availability formulas, stock records, and which
reservation units a release, transfer or shipment takes. No database, no HTTP.

Definitions (per SKU and location):
- available_to_fulfill = on_hand - reserved - safety_stock. It may be negative: a stock count
  that finds fewer units than are reserved is recorded, never refused.
- available_to_order = available_to_fulfill + futures - backordered, where `futures` is the
  expected stock and `backordered` the units already promised against it.

A reservation takes units from stock on hand (`reserved`) when available_to_fulfill allows it.
For a product whose backorder policy is 'backorder', a reservation that stock cannot cover is
taken whole against the futures instead (`backordered`), when available_to_order allows it.
Both conditions keep available_to_order from going negative, so futures are never oversold either.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal, TypeVar

Mode = Literal["absolute", "delta"]
MODES: tuple[Mode, ...] = ("absolute", "delta")
BACKORDER_POLICIES = ("deny", "backorder")
ACTIVE = "active"
MAX_QUANTITY = 10**12  # what any counter or change may be, in absolute value
T = TypeVar("T")


def available_to_fulfill(on_hand: int, reserved: int, safety_stock: int) -> int:
    return on_hand - reserved - safety_stock


def available_to_order(on_hand: int, reserved: int, safety_stock: int, futures: int, backordered: int) -> int:
    return available_to_fulfill(on_hand, reserved, safety_stock) + futures - backordered


@dataclass(frozen=True, slots=True)
class Figures:
    """The counters of a position (or the sums over a location group)."""

    on_hand: int = 0
    reserved: int = 0
    safety_stock: int = 0
    futures: int = 0
    backordered: int = 0

    @property
    def available_to_fulfill(self) -> int:
        return available_to_fulfill(self.on_hand, self.reserved, self.safety_stock)

    @property
    def available_to_order(self) -> int:
        return available_to_order(self.on_hand, self.reserved, self.safety_stock, self.futures, self.backordered)

    def as_dict(self) -> dict[str, int]:
        return {
            "on_hand": self.on_hand,
            "reserved": self.reserved,
            "safety_stock": self.safety_stock,
            "backordered": self.backordered,
            "futures_total": self.futures,
            "available_to_fulfill": self.available_to_fulfill,
            "available_to_order": self.available_to_order,
        }

    def __add__(self, other: Figures) -> Figures:
        return Figures(
            self.on_hand + other.on_hand,
            self.reserved + other.reserved,
            self.safety_stock + other.safety_stock,
            self.futures + other.futures,
            self.backordered + other.backordered,
        )


# ------------------------------------------------------------------------------------------------
# Stock records (PUT /inventory and file imports)


@dataclass(slots=True)
class StockRecord:
    """One stock record. `None` for a field means: not given (absolute mode keeps the value;
    delta mode changes it by nothing). Futures in absolute mode replace the position's futures;
    in delta mode they are added to them (summed per expected date)."""

    index: int  # the record's place in the call, or its line number in a file
    record_id: uuid.UUID | None
    sku: str
    location: str
    mode: Mode
    on_hand: int | None = None
    safety_stock: int | None = None
    futures: list[tuple[date, int]] | None = None

    @property
    def futures_total(self) -> int:
        return sum(q for _, q in self.futures or ())

    def merged_futures(self) -> dict[date, int]:
        merged: dict[date, int] = {}
        for day, quantity in self.futures or ():
            merged[day] = merged.get(day, 0) + quantity
        return merged

    @property
    def lowers(self) -> bool:
        """A delta that lowers a counter: it is applied only if the counter stays >= 0."""
        return self.mode == "delta" and ((self.on_hand or 0) < 0 or (self.safety_stock or 0) < 0)


def check_values(mode: Mode, on_hand: int | None, safety_stock: int | None, has_futures: bool) -> list[tuple[str, str]]:
    """(field, message) for values that no position could take."""
    errors: list[tuple[str, str]] = []
    if on_hand is None and safety_stock is None and not has_futures:
        errors.append(("on_hand", "give on_hand, safety_stock or futures"))
    for name, value in (("on_hand", on_hand), ("safety_stock", safety_stock)):
        if value is None:
            continue
        if abs(value) > MAX_QUANTITY:
            errors.append((name, f"must be between -{MAX_QUANTITY} and {MAX_QUANTITY}"))
        elif mode == "absolute" and value < 0:
            errors.append((name, "must be 0 or more in absolute mode"))
    return errors


def apply_record(current: Figures, record: StockRecord) -> Figures | None:
    """The counters after the record, or None when a delta would take a counter below zero.
    (The database applies the same rule in one statement; this is its reference model.)"""
    if record.mode == "absolute":
        on_hand = current.on_hand if record.on_hand is None else record.on_hand
        safety = current.safety_stock if record.safety_stock is None else record.safety_stock
        futures = current.futures if record.futures is None else record.futures_total
    else:
        on_hand = current.on_hand + (record.on_hand or 0)
        safety = current.safety_stock + (record.safety_stock or 0)
        futures = current.futures + record.futures_total
    if on_hand < 0 or safety < 0:
        return None
    return Figures(on_hand, current.reserved, safety, futures, current.backordered)


def waves(records: Sequence[T], key: Callable[[T], Any]) -> list[list[T]]:
    """Split records so that no position appears twice in one wave (one multi-row statement
    may change a row only once); a position's records stay in their order across waves."""
    seen: dict[Any, int] = {}
    out: list[list[T]] = []
    for record in records:
        k = key(record)
        n = seen.get(k, 0)
        seen[k] = n + 1
        if n == len(out):
            out.append([])
        out[n].append(record)
    return out


# ------------------------------------------------------------------------------------------------
# Reservations


@dataclass(frozen=True, slots=True)
class Hold:
    """An active reservation row as the planners see it."""

    id: uuid.UUID
    open: int
    backordered: int

    @property
    def physical(self) -> int:
        return self.open - self.backordered


@dataclass(slots=True)
class Take:
    """Units taken from one reservation row: `quantity` in all, `backordered` of them backordered."""

    id: uuid.UUID
    quantity: int = 0
    backordered: int = 0

    @property
    def physical(self) -> int:
        return self.quantity - self.backordered


@dataclass(slots=True)
class Plan:
    takes: list[Take] = field(default_factory=list)

    @property
    def quantity(self) -> int:
        return sum(t.quantity for t in self.takes)

    @property
    def backordered(self) -> int:
        return sum(t.backordered for t in self.takes)

    @property
    def physical(self) -> int:
        return self.quantity - self.backordered


def plan_release(holds: Sequence[Hold], quantity: int | None) -> Plan:
    """Which units a release (or a transfer away) takes: all of them, or `quantity` units taking
    backordered units first (they hold nothing physical), then stock units; rows in the order
    given (callers pass newest first). The caller checks that enough units are open."""
    if quantity is None:
        return Plan([Take(h.id, h.open, h.backordered) for h in holds if h.open])
    takes: dict[uuid.UUID, Take] = {}
    left = quantity
    for h in holds:
        if left == 0:
            break
        n = min(left, h.backordered)
        if n:
            takes[h.id] = Take(h.id, n, n)
            left -= n
    for h in holds:
        if left == 0:
            break
        n = min(left, h.physical)
        if n:
            take = takes.setdefault(h.id, Take(h.id))
            take.quantity += n
            left -= n
    if left:
        raise ValueError("not enough open units")
    return Plan([takes[h.id] for h in holds if h.id in takes])


def plan_fulfil(holds: Sequence[Hold], quantity: int) -> Plan:
    """A shipment takes stock units (never backordered ones) from rows in the order given
    (callers pass oldest first)."""
    left = quantity
    takes = []
    for h in holds:
        if left == 0:
            break
        n = min(left, h.physical)
        if n:
            takes.append(Take(h.id, n, 0))
            left -= n
    if left:
        raise ValueError("not enough units in stock reserved")
    return Plan(takes)


def sum_quantities(lines: Iterable[tuple[str, uuid.UUID, int]]) -> list[tuple[tuple[str, uuid.UUID], int]]:
    """Quantities summed per (sku, location), in the sorted order positions are locked in."""
    totals: dict[tuple[str, uuid.UUID], int] = {}
    for sku, location_id, quantity in lines:
        totals[(sku, location_id)] = totals.get((sku, location_id), 0) + quantity
    return sorted(totals.items())


# ------------------------------------------------------------------------------------------------
# Capacity


def capacity_remaining(capacity: int | None, held: int, confirmed: int) -> int | None:
    """Units still free on a day; None when the location has no capacity limit."""
    return None if capacity is None else capacity - held - confirmed
