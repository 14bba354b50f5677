"""Pure fulfilment rules: the lifecycles of fulfilment orders and shipments, how a routing plan's
units are shared among order items, how an item's reservations move to follow the plan, and
which order transition a shipment calls for. No database, no HTTP."""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from ordino.kernel.lifecycle import Lifecycle

# ------------------------------------------------------------------------------------------------
# Lifecycles

FO_STATUSES = (
    "draft", "allocated", "assigned", "picked", "packed", "partially_shipped", "fulfilled", "cancelled", "rejected",
)
# A shipment is a fact reported by the location: it may be reported from any open status, not only
# after pick and pack were reported (many warehouses report only the shipment).
SHIPPABLE = ("allocated", "assigned", "picked", "packed", "partially_shipped")
OPEN = SHIPPABLE  # statuses whose unshipped units are still allocated to the location

FULFILLMENT_ORDER_LIFECYCLE = Lifecycle.build(
    "fulfillment_order",
    states=FO_STATUSES,
    initial="draft",
    table=[
        ("allocate", ["draft"], "allocated"),
        ("assign", ["allocated"], "assigned"),
        ("pick", ["assigned"], "picked"),
        ("pack", ["picked"], "packed"),
        ("ship_partially", SHIPPABLE, "partially_shipped"),
        ("fulfill", SHIPPABLE, "fulfilled"),
        ("reject", OPEN, "rejected"),
        ("cancel", ["draft", *OPEN], "cancelled"),
    ],
    terminal=("fulfilled", "cancelled", "rejected"),
)

SHIPMENT_STATUSES = ("shipped", "delivered")
SHIPMENT_LIFECYCLE = Lifecycle.build(
    "shipment",
    states=SHIPMENT_STATUSES,
    initial="shipped",
    table=[("deliver", ["shipped"], "delivered")],
    terminal=("delivered",),
)

# The lifecycle actions behind each endpoint: a shipment is one of two transitions.
_ENDPOINT = {"ship_partially": "ship", "fulfill": "ship", "allocate": None}


def available_actions(status: str, *, undelivered_shipments: bool) -> list[str]:
    """The actions a fulfilment order offers (the endpoints: assign, pick, pack, ship, deliver,
    reject, cancel), in lifecycle order."""
    out: list[str] = []
    for action in FULFILLMENT_ORDER_LIFECYCLE.actions_from(status):
        name = _ENDPOINT.get(action, action)
        if name and name not in out:
            out.append(name)
    if undelivered_shipments:
        out.append("deliver")
    return out


# ------------------------------------------------------------------------------------------------
# Sharing a plan among items

K = TypeVar("K", bound=Hashable)  # an order item key
L = TypeVar("L", bound=Hashable)  # a location key


@dataclass(frozen=True, slots=True)
class Need(Generic[K]):
    item: K
    sku: str
    quantity: int  # units still to allocate (available to fulfil)


def share_plan(
    needs: Sequence[Need[K]],
    allocations: Sequence[tuple[L, str, int]],
    holds: Mapping[K, Mapping[L, int]],
) -> dict[K, dict[L, int]]:
    """Units per item and location, from the plan's units per SKU and location.

    The router routes lines of one SKU as one; here the units go back to the items of that SKU, in
    the order given. Each item first takes units where it already holds a reservation (so nothing
    moves that need not), then the rest, location by location in the plan's order."""
    by_sku: dict[str, list[Need[K]]] = {}
    for n in needs:
        by_sku.setdefault(n.sku, []).append(n)
    left_item = {n.item: n.quantity for n in needs}
    left_at: dict[tuple[str, L], int] = {}
    order: dict[str, list[L]] = {}
    for location, sku, quantity in allocations:
        if sku not in by_sku:
            raise ValueError(f"{sku} is not among the needs")
        if (sku, location) not in left_at:
            order.setdefault(sku, []).append(location)
        left_at[(sku, location)] = left_at.get((sku, location), 0) + quantity
    out: dict[K, dict[L, int]] = {n.item: {} for n in needs}

    def give(n: Need[K], location: L, limit: int) -> None:
        take = min(limit, left_item[n.item], left_at[(n.sku, location)])
        if take > 0:
            out[n.item][location] = out[n.item].get(location, 0) + take
            left_item[n.item] -= take
            left_at[(n.sku, location)] -= take

    for sku, locations in order.items():
        for n in by_sku[sku]:
            for location in locations:
                give(n, location, holds.get(n.item, {}).get(location, 0))
        for n in by_sku[sku]:
            for location in locations:
                give(n, location, left_item[n.item])
        short = sum(left_at[(sku, loc)] for loc in locations)
        if short:
            raise ValueError(f"{sku}: {short} routed units exceed what the items need")
    return {k: v for k, v in out.items()}


# ------------------------------------------------------------------------------------------------
# Moving an item's reservations to follow the plan


@dataclass(frozen=True, slots=True)
class Free:
    """Units an item holds at a location that no open fulfilment order uses."""

    physical: int = 0
    backordered: int = 0

    @property
    def total(self) -> int:
        return self.physical + self.backordered


@dataclass(slots=True)
class Moves(Generic[L]):
    transfers: list[tuple[L, L, int]] = field(default_factory=list)  # (from, to, units)
    reserves: list[tuple[L, int]] = field(default_factory=list)  # fresh reservations (to, units)
    releases: list[tuple[L, int]] = field(default_factory=list)  # (at, units)


def plan_moves(target: Mapping[L, int], free: Mapping[L, Free], keep: int) -> Moves[L]:
    """How an item's free reservations become `target` (units per location, reserved from stock),
    keeping at most `keep` further units held (the units it still needs but that were not routed:
    a backorder promise) and releasing what is left over.

    Units already held from stock where the target wants them stay. Missing units are transferred
    from other free holds (backordered ones and stock not wanted where it is), in location order,
    then reserved fresh."""
    moves: Moves[L] = Moves()
    spare: dict[L, int] = {}
    for location in sorted(free, key=str):
        f = free[location]
        stays = min(f.physical, target.get(location, 0))
        if f.total - stays > 0:
            spare[location] = f.total - stays
    for location in sorted(target, key=str):
        wanted = target[location]
        missing = wanted - min(free.get(location, Free()).physical, wanted)
        for source in list(spare):
            if missing == 0:
                break
            if source == location:
                continue
            take = min(missing, spare[source])
            moves.transfers.append((source, location, take))
            missing -= take
            spare[source] -= take
            if not spare[source]:
                del spare[source]
        if missing:
            moves.reserves.append((location, missing))
    extra = sum(spare.values()) - keep
    for location in sorted(spare, key=str):
        if extra <= 0:
            break
        take = min(extra, spare[location])
        moves.releases.append((location, take))
        extra -= take
    return moves


# ------------------------------------------------------------------------------------------------
# The order after a shipment


@dataclass(frozen=True, slots=True)
class ItemProgress:
    ordered: int
    canceled: int
    fulfilled: int


def order_action(status: str, items: Sequence[ItemProgress], available: Sequence[str]) -> str | None:
    """The order lifecycle action a shipment calls for: 'fulfill' once every product item is
    fulfilled (or cancelled), 'fulfill_partially' when some units are; None when nothing changes
    or the order's status does not allow it."""
    if not any(i.fulfilled for i in items):
        return None
    done = all(i.fulfilled >= i.ordered - i.canceled for i in items)
    action = "fulfill" if done else "fulfill_partially"
    if status == "partially_fulfilled" and action == "fulfill_partially":
        return None
    return action if action in available else None
