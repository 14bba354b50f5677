"""The inputs and outputs of distributed order routing: order lines, candidate locations, the
channel's routing policy and the plan. Frozen value types; `ordino.fulfillment.routing.domain` re-exports
them, so callers import from there.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Literal

from ordino.fulfillment.routing.geo import MAX_DISTANCE_KM

LOCATION_KINDS = ("warehouse", "store", "drop_ship", "digital")

DistanceMode = Literal["shipment", "unit"]


@dataclass(frozen=True, slots=True)
class OrderLine:
    """A quantity of one SKU to route. Lines of the same SKU are routed as one."""

    sku: str
    quantity: int

    def __post_init__(self) -> None:
        if not self.sku:
            raise ValueError("an order line needs a sku")
        if isinstance(self.quantity, bool) or not isinstance(self.quantity, int) or self.quantity <= 0:
            raise ValueError(f"quantity of {self.sku} must be a positive integer, not {self.quantity!r}")


@dataclass(frozen=True, slots=True)
class CandidateLocation:
    """A location that could ship the order, with what it can offer right now.

    `available` is available-to-fulfil per SKU (on hand − reserved − safety stock). Capacities are
    what is left of today's capacity; None means unlimited. Lower `priority` is preferred.
    A location without coordinates is treated as `RoutingPolicy.unknown_distance_km` away, except a
    digital one, which is 0 km away.
    """

    code: str
    kind: str = "warehouse"
    latitude: Decimal | float | None = None
    longitude: Decimal | float | None = None
    available: Mapping[str, int] = field(default_factory=dict)
    cost_per_unit: Decimal = Decimal(0)
    cost_per_shipment: Decimal = Decimal(0)
    priority: int = 0
    capacity_units: int | None = None
    capacity_shipments: int | None = None
    overstock: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if not self.code:
            raise ValueError("a candidate location needs a code")
        if self.kind not in LOCATION_KINDS:
            raise ValueError(f"location {self.code}: kind must be one of {', '.join(LOCATION_KINDS)}")
        if (self.latitude is None) != (self.longitude is None):
            raise ValueError(f"location {self.code}: give both latitude and longitude, or neither")
        if Decimal(self.cost_per_unit) < 0 or Decimal(self.cost_per_shipment) < 0:
            raise ValueError(f"location {self.code}: costs cannot be negative")
        object.__setattr__(self, "overstock", frozenset(self.overstock))


@dataclass(frozen=True, slots=True)
class RoutingPolicy:
    """A channel's routing rules.

    Routing is lexicographic: first route as many units as possible (all of them, or nothing when
    `allow_partial` is off), then use as few locations as possible (at most `max_splits`), then
    minimise the score, a weighted sum of
      - distance: km from each location used to the ship-to, counted once per shipment
        (`distance="shipment"`: minimises the average distance of the locations used) or once per
        unit shipped (`distance="unit"`), times `distance_weight`;
      - cost: shipment and unit costs of the locations, times `cost_weight`;
      - priority: the priority number of each location used, times `priority_weight`;
      - overstock: minus `overstock_weight` for each unit shipped from a location that flags that
        SKU as overstock, when `prefer_overstock` is on.
    Equal scores are broken by distance, then cost, then priority, then location codes.

    `search_budget` bounds the exact search (nodes, and array work of 4,000 elements per node);
    beyond it the best plan found stands, with `RoutingPlan.optimal` false.
    """

    max_splits: int = 5
    allow_partial: bool = True
    excluded_locations: frozenset[str] = frozenset()
    excluded_kinds: frozenset[str] = frozenset()
    priorities: Mapping[str, int] = field(default_factory=dict)
    respect_capacity: bool = True
    prefer_overstock: bool = False
    distance: DistanceMode = "shipment"
    distance_weight: float = 1.0
    cost_weight: float = 0.0
    priority_weight: float = 0.0
    overstock_weight: float = 100.0
    unknown_distance_km: float = MAX_DISTANCE_KM
    search_budget: int = 5_000

    def __post_init__(self) -> None:
        if self.max_splits < 1:
            raise ValueError("max_splits must be at least 1")
        if self.distance not in ("shipment", "unit"):
            raise ValueError("distance must be 'shipment' or 'unit'")
        for name in ("distance_weight", "cost_weight", "priority_weight", "overstock_weight", "unknown_distance_km"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be a finite number ≥ 0")
        unknown = set(self.excluded_kinds) - set(LOCATION_KINDS)
        if unknown:
            raise ValueError(f"unknown location kinds: {', '.join(sorted(unknown))}")
        object.__setattr__(self, "excluded_locations", frozenset(self.excluded_locations))
        object.__setattr__(self, "excluded_kinds", frozenset(self.excluded_kinds))
        object.__setattr__(self, "priorities", MappingProxyType(dict(self.priorities)))


@dataclass(frozen=True, slots=True)
class Allocation:
    location_code: str
    sku: str
    quantity: int


@dataclass(frozen=True, slots=True)
class LocationGroup:
    """What one location ships: a future fulfilment order."""

    location_code: str
    kind: str
    distance_km: float
    lines: tuple[tuple[str, int], ...]  # (sku, quantity), in order-line order
    units: int
    cost: Decimal


@dataclass(frozen=True, slots=True)
class UnroutableLine:
    sku: str
    quantity: int
    reason: str


@dataclass(frozen=True, slots=True)
class RoutingPlan:
    """A routing decision. `optimal` says the search proved it best under the policy; otherwise it
    is the best plan the heuristics found within the search budget (always feasible)."""

    allocations: tuple[Allocation, ...]
    groups: tuple[LocationGroup, ...]
    unroutable: tuple[UnroutableLine, ...]
    splits: int
    total_distance_km: float  # sum over the locations used
    average_distance_km: float
    unit_distance_km: float  # sum over units shipped of their location's distance
    total_cost: Decimal
    score: float
    optimal: bool
    reason: str

    @property
    def complete(self) -> bool:
        return not self.unroutable

    @property
    def locations(self) -> tuple[str, ...]:
        return tuple(g.location_code for g in self.groups)

    def routed(self) -> dict[str, int]:
        """Units routed per SKU."""
        out: dict[str, int] = {}
        for a in self.allocations:
            out[a.sku] = out.get(a.sku, 0) + a.quantity
        return out

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready form, to store with the order."""
        return {
            "splits": self.splits,
            "locations": list(self.locations),
            "allocations": [
                {"location": a.location_code, "sku": a.sku, "quantity": a.quantity} for a in self.allocations
            ],
            "unroutable": [{"sku": u.sku, "quantity": u.quantity, "reason": u.reason} for u in self.unroutable],
            "total_distance_km": round(self.total_distance_km, 3),
            "average_distance_km": round(self.average_distance_km, 3),
            "total_cost": str(self.total_cost),
            "optimal": self.optimal,
            "reason": self.reason,
        }
