"""The routing problem as arrays, and the allocation of an order to a chosen set of locations.

`build_problem` applies the policy's filters (exclusions, kinds, exhausted capacity) and turns the
order and the remaining candidates into numpy arrays: availability `avail[l, s]` (capped at the
quantity ordered), unit capacity `cap[l]`, a per-location score `fixed[l]` and a per-unit score
`unit[l, s]` (DESIGN: `RoutingPolicy`). Locations are indexed in code order and SKUs in order of
first appearance, so every result is independent of the order of the inputs.

For a set of locations, the cheapest allocation without capacities fills each SKU from the
location with the lowest unit score (at equal score: a location that can ship the SKU whole, then
the nearer one). When unit capacities bind, the allocation is a min-cost flow (SKU → location,
within capacity), solved exactly by successive shortest paths for small sets and by HiGHS's dual
simplex for large ones (a network matrix: the vertex it returns is integral; checked). Whether a
set can ship at all within capacities is its max flow: the min-cut formula over subsets for up to
`HALL_LIMIT` locations, Dinic's algorithm (scipy.sparse.csgraph) beyond.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from itertools import product, repeat
from typing import TYPE_CHECKING

import numpy as np
from scipy.optimize import linprog
from scipy.sparse import coo_array, csr_array
from scipy.sparse.csgraph import maximum_flow

from ordino.fulfillment.routing.geo import GeoPoint, distances_km

if TYPE_CHECKING:
    from ordino.fulfillment.routing.types import CandidateLocation, OrderLine, RoutingPolicy

SSP_LIMIT = 2_000  # up to this many (location, SKU) pairs, allocations with capacities use shortest paths
HALL_LIMIT = 10  # up to this many locations, max-flow values come from the min-cut formula
_MASKS: dict[int, np.ndarray] = {}


@dataclass(slots=True)
class Problem:
    skus: tuple[str, ...]
    requested: np.ndarray  # int64[n]: units ordered per SKU
    stock: np.ndarray  # int64[n]: units available at eligible locations (each capped at the order)
    codes: tuple[str, ...]  # eligible locations, in code order
    kinds: tuple[str, ...]
    avail: np.ndarray  # int64[m, n]: min(available, requested)
    cap: np.ndarray  # int64[m]: unit capacity left (the order's total when unlimited)
    dist: np.ndarray  # float64[m]: km to the ship-to
    prio: np.ndarray  # int64[m]
    fixed: np.ndarray  # float64[m]: score of using a location
    unit: np.ndarray  # float64[m, n]: score per unit shipped
    shipment_cost: tuple[Decimal, ...]
    unit_cost: tuple[Decimal, ...]
    money_fixed: np.ndarray  # float64[m]: shipment cost, for tie-breaking
    money_unit: np.ndarray  # float64[m]: unit cost, for tie-breaking
    capacity_binds: bool  # some location cannot ship all it holds of the order
    uniform_unit: bool  # every location has the same unit score for a SKU: allocation does not move the score
    unit_floor: np.ndarray  # float64[n]: lowest unit score of a SKU over the locations that hold it
    ineligible: dict[str, str]  # code → why the location was left out
    max_splits: int
    has_distance: bool  # a ship-to point was given

    @property
    def m(self) -> int:
        return len(self.codes)

    @property
    def n(self) -> int:
        return len(self.skus)


def build_problem(
    lines: Sequence[OrderLine],
    ship_to: GeoPoint | None,
    locations: Sequence[CandidateLocation],
    policy: RoutingPolicy,
) -> Problem:
    requested: dict[str, int] = {}
    for line in lines:  # one row per SKU, in the order of the lines
        requested[line.sku] = requested.get(line.sku, 0) + line.quantity
    skus, req = tuple(requested), np.fromiter(requested.values(), dtype=np.int64, count=len(requested))
    total = int(req.sum())

    candidates, ineligible = _eligible(locations, policy)
    n = len(skus)
    chosen, avail = _holding(candidates, skus, req, ineligible)
    m = len(chosen)
    limited = policy.respect_capacity
    cap = np.array([min(total, int(c.capacity_units)) if limited and c.capacity_units is not None else total
                    for c in chosen], dtype=np.int64)
    dist = _distances(chosen, ship_to, policy)
    prio = np.array([int(policy.priorities.get(c.code, c.priority)) for c in chosen], dtype=np.int64)
    shipment_cost = tuple(Decimal(c.cost_per_shipment) for c in chosen)
    unit_cost = tuple(Decimal(c.cost_per_unit) for c in chosen)
    money_fixed = np.array([float(v) for v in shipment_cost], dtype=np.float64)
    money_unit = np.array([float(v) for v in unit_cost], dtype=np.float64)

    fixed = policy.cost_weight * money_fixed + policy.priority_weight * prio.astype(np.float64)
    unit = np.repeat((policy.cost_weight * money_unit)[:, None], n, axis=1)
    if policy.distance == "shipment":
        fixed = fixed + policy.distance_weight * dist
    else:
        unit = unit + policy.distance_weight * dist[:, None]
    if policy.prefer_overstock and policy.overstock_weight > 0:
        _prefer_overstock(unit, chosen, skus, policy.overstock_weight)
    uniform, unit_floor = _unit_spread(avail, unit, m, n)
    return Problem(
        skus=skus,
        requested=req,
        stock=avail.sum(axis=0),
        codes=tuple(c.code for c in chosen),
        kinds=tuple(c.kind for c in chosen),
        avail=avail,
        cap=cap,
        dist=dist,
        prio=prio,
        fixed=fixed,
        unit=unit,
        shipment_cost=shipment_cost,
        unit_cost=unit_cost,
        money_fixed=money_fixed,
        money_unit=money_unit,
        capacity_binds=bool(np.any(cap < avail.sum(axis=1))),
        uniform_unit=uniform,
        unit_floor=unit_floor,
        ineligible=ineligible,
        max_splits=policy.max_splits,
        has_distance=ship_to is not None,
    )


def _eligible(
    locations: Sequence[CandidateLocation], policy: RoutingPolicy
) -> tuple[list[CandidateLocation], dict[str, str]]:
    """The candidates the policy allows, by code, and why each other one was left out."""
    seen: set[str] = set()
    for loc in locations:
        if loc.code in seen:
            raise ValueError(f"location {loc.code} is a candidate twice")
        seen.add(loc.code)
    ineligible: dict[str, str] = {}
    candidates: list[CandidateLocation] = []
    for loc in sorted(locations, key=lambda c: c.code):
        why = _excluded(loc, policy)
        if why is None:
            candidates.append(loc)
        else:
            ineligible[loc.code] = why
    return candidates, ineligible


def _holding(
    candidates: list[CandidateLocation], skus: tuple[str, ...], req: np.ndarray, ineligible: dict[str, str]
) -> tuple[list[CandidateLocation], np.ndarray]:
    """The candidates that hold some of the order's SKUs, and what each holds of each SKU (up to
    the quantity requested); the others are noted in `ineligible`."""
    n = len(skus)
    rows = [list(map(c.available.get, skus, repeat(0, n))) for c in candidates]
    avail = np.clip(np.array(rows, dtype=np.int64).reshape(len(candidates), n), 0, req)
    holds = np.asarray(avail.any(axis=1), dtype=bool)
    chosen = [c for c, h in zip(candidates, holds.tolist(), strict=True) if h]
    for c, h in zip(candidates, holds.tolist(), strict=True):
        if not h:
            ineligible[c.code] = "holds none of the order's SKUs"
    return chosen, avail[holds]


def _prefer_overstock(
    unit: np.ndarray, chosen: Sequence[CandidateLocation], skus: Sequence[str], weight: float
) -> None:
    """Lower the unit score of the SKUs a location is overstocked with (in place)."""
    index = {s: j for j, s in enumerate(skus)}
    for i, c in enumerate(chosen):
        for s in c.overstock:
            j = index.get(s)
            if j is not None:
                unit[i, j] -= weight


def _unit_spread(avail: np.ndarray, unit: np.ndarray, m: int, n: int) -> tuple[bool, np.ndarray]:
    """Whether every SKU scores the same at each location that holds it, and each SKU's lowest
    unit score there (0 for a SKU no location holds)."""
    if not m:
        return True, np.zeros(n)
    held = avail > 0
    hi = np.where(held, unit, -np.inf).max(axis=0)
    lo = np.where(held, unit, np.inf).min(axis=0)
    uniform = bool(np.all(~held.any(axis=0) | (hi - lo <= 1e-12 * np.maximum(1.0, np.abs(lo)))))
    return uniform, np.where(held.any(axis=0), lo, 0.0)


def _excluded(loc: CandidateLocation, policy: RoutingPolicy) -> str | None:
    if loc.code in policy.excluded_locations:
        return "excluded by the channel"
    if loc.kind in policy.excluded_kinds:
        return f"{loc.kind} locations are excluded by the channel"
    if policy.respect_capacity:
        if loc.capacity_shipments is not None and loc.capacity_shipments <= 0:
            return "no shipment capacity left today"
        if loc.capacity_units is not None and loc.capacity_units <= 0:
            return "no unit capacity left today"
    return None


def _distances(chosen: list[CandidateLocation], ship_to: GeoPoint | None, policy: RoutingPolicy) -> np.ndarray:
    m = len(chosen)
    if ship_to is None or m == 0:
        return np.zeros(m)
    known = np.array([c.latitude is not None for c in chosen])
    lats = np.array([float(c.latitude) if c.latitude is not None else 0.0 for c in chosen])
    lons = np.array([float(c.longitude) if c.longitude is not None else 0.0 for c in chosen])
    dist = distances_km(ship_to, lats, lons)
    digital = np.array([c.kind == "digital" for c in chosen])
    return np.where(known, dist, np.where(digital, 0.0, policy.unknown_distance_km))


# ---------------------------------------------------------------------------------------------
# allocation to a set of locations


def greedy_allocation(p: Problem, members: np.ndarray, demand: np.ndarray) -> np.ndarray:
    """The cheapest allocation of `demand` to `members`, ignoring unit capacities (k × n)."""
    a = p.avail[members]
    if len(members) == 1:
        single: np.ndarray = np.minimum(a, demand)
        return single
    u = p.unit[members]
    whole = (a < demand).astype(np.int8)  # 0 where the location can ship the whole SKU
    rank = np.broadcast_to(np.arange(len(members))[:, None], a.shape)
    dist = np.broadcast_to(p.dist[members][:, None], a.shape)
    order = np.lexsort((rank, dist, whole, np.round(u, 9)), axis=0)
    a_sorted = np.take_along_axis(a, order, axis=0)
    before = np.cumsum(a_sorted, axis=0) - a_sorted
    take = np.clip(demand - before, 0, a_sorted)
    x: np.ndarray = np.empty_like(a)
    np.put_along_axis(x, order, take, axis=0)
    return x


def _masks(k: int) -> np.ndarray:
    masks = _MASKS.get(k)
    if masks is None:
        masks = np.array(list(product((False, True), repeat=k)), dtype=bool).reshape(-1, k)
        _MASKS[k] = masks
    return masks


def max_routable(p: Problem, members: np.ndarray, demand: np.ndarray) -> int:
    """Most units `members` can ship of `demand` within their unit capacities (max flow)."""
    k = len(members)
    if k == 0:
        return 0
    if k > HALL_LIMIT:
        return max_flow(p, members, demand)
    a = p.avail[members]
    masks = _masks(k)
    # min cut: locations in T are cut at their capacity, the rest at what they hold
    outside = (~masks).astype(np.int64) @ a
    values = np.minimum(outside, demand).sum(axis=1) + masks.astype(np.int64) @ p.cap[members]
    return int(values.min())


def max_flow(p: Problem, members: np.ndarray, demand: np.ndarray) -> int:
    """Max flow source → SKU (demand) → location (avail) → sink (capacity), by Dinic."""
    k, n = len(members), p.n
    a = p.avail[members]
    li, sj = np.nonzero(a)
    source, sink = 0, 1 + n + k
    rows = np.concatenate([np.zeros(n, dtype=np.int64), 1 + sj, 1 + n + np.arange(k)])
    cols = np.concatenate([1 + np.arange(n), 1 + n + li, np.full(k, sink)])
    caps = np.concatenate([demand, a[li, sj], p.cap[members]])
    keep = caps > 0
    limit = np.iinfo(np.int32).max
    graph = csr_array(
        coo_array((np.minimum(caps[keep], limit).astype(np.int32), (rows[keep], cols[keep])), shape=(sink + 1,) * 2)
    )
    return int(maximum_flow(graph, source, sink).flow_value)


def capacity_allocation(p: Problem, members: np.ndarray, demand: np.ndarray, units: int) -> np.ndarray | None:
    """The cheapest allocation of exactly `units` units (≤ demand per SKU) within unit capacities."""
    a = p.avail[members]
    u = p.unit[members]
    # among allocations of equal score, nearer locations ship more: a tie-breaking cost far below
    # any real difference (1e-9 of the largest unit score per rank of distance)
    rank = np.argsort(np.argsort(p.dist[members], kind="stable"), kind="stable")
    u = u + rank[:, None] * 1e-9 * max(1.0, float(np.abs(u).max(initial=0.0)))
    if a.size <= SSP_LIMIT:
        return shortest_paths_allocation(a, u, demand, p.cap[members], units)
    return _lp_allocation(a, u, demand, p.cap[members], units)


def shortest_paths_allocation(
    a: np.ndarray, u: np.ndarray, demand: np.ndarray, cap: np.ndarray, units: int
) -> np.ndarray | None:
    """Min-cost flow by successive shortest paths: SKU s → location l (≤ a[l, s], cost u[l, s]),
    each SKU supplying ≤ demand[s], each location taking ≤ cap[l]; flow value `units`.

    Bellman-Ford runs on the bipartite residual graph with numpy, one side at a time. Starting
    from the empty flow, each augmentation along a cheapest path keeps the flow cheapest for its
    value, so the result is optimal and integral."""
    k, n = a.shape
    x = np.zeros((k, n), dtype=np.int64)
    flow = 0
    scale = 1e-12 * max(1.0, float(np.abs(u).max(initial=0.0)))
    while flow < units:
        supply = demand - x.sum(axis=0)
        room = cap - x.sum(axis=1)
        ps, dl, pl = _cheapest_paths(u, supply, x < a, x > 0, scale)
        open_l = np.where(room > 0, dl, np.inf)
        end = int(open_l.argmin())
        if not np.isfinite(open_l[end]):
            return None
        path = _trace(end, ps, pl, n + k + 1)
        if path is None:  # pragma: no cover - Bellman-Ford trees have no cycles without negative cycles
            return None
        path_f, path_b = path
        start = path_f[-1][1]
        push = min(units - flow, int(supply[start]), int(room[end]))
        push = min([push] + [int(a[i, j] - x[i, j]) for i, j in path_f] + [int(x[i, j]) for i, j in path_b])
        if push <= 0:  # pragma: no cover - every arc on a shortest path has residual capacity
            return None
        for i, j in path_f:
            x[i, j] += push
        for i, j in path_b:
            x[i, j] -= push
        flow += push
    return x


def _cheapest_paths(
    u: np.ndarray, supply: np.ndarray, forward: np.ndarray, backward: np.ndarray, scale: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bellman-Ford from every SKU with supply left over the residual graph (forward arcs SKU →
    location where flow can grow, backward arcs location → SKU where it can shrink): the
    predecessor location of each SKU, the distance of each location and its predecessor SKU."""
    k, n = u.shape
    rows, cols = np.arange(k), np.arange(n)
    ds = np.where(supply > 0, 0.0, np.inf)
    ps = np.full(n, -1)
    dl = np.full(k, np.inf)
    pl = np.full(k, -1)
    for _ in range(n + k + 2):
        reach = np.where(forward, ds[None, :] + u, np.inf)
        s_best = reach.argmin(axis=1)
        value = reach[rows, s_best]
        better_l = value < dl - scale
        dl = np.where(better_l, value, dl)
        pl = np.where(better_l, s_best, pl)
        back = np.where(backward, dl[:, None] - u, np.inf)
        l_best = back.argmin(axis=0)
        value = back[l_best, cols]
        better_s = value < ds - scale
        if not better_s.any() and not better_l.any():
            break
        ds = np.where(better_s, value, ds)
        ps = np.where(better_s, l_best, ps)
    return ps, dl, pl


def _trace(
    end: int, ps: np.ndarray, pl: np.ndarray, limit: int
) -> tuple[list[tuple[int, int]], list[tuple[int, int]]] | None:
    """The path ending at location `end`, back to a SKU with supply: its forward arcs and its
    backward arcs as (location, sku); None if it does not end within `limit` steps."""
    path_f: list[tuple[int, int]] = []
    path_b: list[tuple[int, int]] = []
    loc = end
    for _ in range(limit):
        s = int(pl[loc])
        path_f.append((loc, s))
        prev = int(ps[s])
        if prev < 0:
            return path_f, path_b
        path_b.append((prev, s))
        loc = prev
    return None


def _lp_allocation(a: np.ndarray, u: np.ndarray, demand: np.ndarray, cap: np.ndarray, units: int) -> np.ndarray | None:
    k, n = a.shape
    li, sj = np.nonzero(a)
    nv = len(li)
    rows = np.concatenate([sj, n + li])
    cols = np.concatenate([np.arange(nv), np.arange(nv)])
    a_ub = csr_array((np.ones(2 * nv), (rows, cols)), shape=(n + k, nv))
    b_ub = np.concatenate([demand, cap]).astype(np.float64)
    res = linprog(
        u[li, sj],
        A_ub=a_ub,
        b_ub=b_ub,
        A_eq=np.ones((1, nv)),
        b_eq=[float(units)],
        bounds=np.column_stack([np.zeros(nv), a[li, sj]]),
        method="highs-ds",
    )
    if res.status != 0:
        return None
    values = np.rint(res.x).astype(np.int64)
    if np.abs(res.x - values).max(initial=0.0) > 1e-6:  # pragma: no cover - network LPs have integral vertices
        return None
    x = np.zeros((k, n), dtype=np.int64)
    x[li, sj] = values
    return x


def allocate_most(p: Problem, members: np.ndarray, demand: np.ndarray) -> np.ndarray:
    """The cheapest allocation of as many units of `demand` as `members` can ship."""
    x = greedy_allocation(p, members, demand)
    if p.capacity_binds and np.any(x.sum(axis=1) > p.cap[members]):
        units = max_routable(p, members, demand)
        found = capacity_allocation(p, members, demand, units) if units else None
        return found if found is not None else np.zeros_like(x)
    return x


def score_of(p: Problem, members: np.ndarray, x: np.ndarray) -> float:
    return float(p.fixed[members].sum() + (p.unit[members] * x).sum())
