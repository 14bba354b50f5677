"""Distributed order routing: which locations ship which units of an order. Pure: no database, no
HTTP.

    plan = route(lines, ship_to, candidates, policy)

The decision is lexicographic (see `RoutingPolicy`): route as many units as possible, then use
the fewest locations (at most `max_splits`), then the best score (distance, cost, priority,
overstock). The plan is always feasible: never more than a location has available, never more
than its capacity left today, never an excluded location or kind. `plan.optimal` says whether the
search proved the plan best (it does for orders of ordinary size; see `routing_search`), and
`plan.reason` explains the decision in one line to store with the order.

Modules: `routing_types` (values), `routing_model` (arrays, allocation), `routing_search` (the
search), `routing_milp` (the exact MILP used as a reference by tests and `ordino bench routing`).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import numpy as np

from ordino.fulfillment.routing.geo import GeoPoint
from ordino.fulfillment.routing.model import Problem, build_problem, max_flow
from ordino.fulfillment.routing.partial import cover_most
from ordino.fulfillment.routing.search import solve
from ordino.fulfillment.routing.types import (
    LOCATION_KINDS,
    Allocation,
    CandidateLocation,
    DistanceMode,
    LocationGroup,
    OrderLine,
    RoutingPlan,
    RoutingPolicy,
    UnroutableLine,
)

DEFAULT_POLICY = RoutingPolicy()


def route(
    lines: Sequence[OrderLine],
    ship_to: GeoPoint | None,
    locations: Sequence[CandidateLocation],
    policy: RoutingPolicy = DEFAULT_POLICY,
) -> RoutingPlan:
    """Route an order's lines to candidate locations under a channel's policy."""
    if not lines:
        raise ValueError("an order to route needs at least one line")
    p = build_problem(lines, ship_to, locations, policy)
    demand = np.minimum(p.requested, p.stock)
    total = int(demand.sum())
    if total < int(p.requested.sum()) and not policy.allow_partial:
        return _nothing(p, policy, limit=None)
    if total == 0:
        return _nothing(p, policy, limit=None)
    proven_short = True  # proven that no set of at most max_splits locations ships everything
    if not p.capacity_binds or int(np.minimum(p.cap, p.avail.sum(axis=1)).sum()) >= total:
        outcome, search = solve(p, demand, policy.search_budget)
        if outcome.choice is not None:
            x = search.finish(outcome.choice)
            return _plan(p, np.array(outcome.choice.members, dtype=np.int64), x, outcome.proven, None)
        proven_short = outcome.proven
    if not p.capacity_binds or max_flow(p, np.arange(p.m), demand) == total:
        limit = f"more than {policy.max_splits} location{_s(policy.max_splits)} would be needed"
    else:
        limit = "not enough capacity left today at the locations that hold it"
    if not policy.allow_partial and proven_short:
        return _nothing(p, policy, limit=limit)
    choice, x, proven = cover_most(p, demand, policy.search_budget)
    if choice is None:
        return _nothing(p, policy, limit=limit)
    members = np.array(choice.members, dtype=np.int64)
    if choice.routed == total:  # the exact search ran out of budget; the cover search found a way
        return _plan(p, members, x, False, None)
    if not policy.allow_partial:
        return _nothing(p, policy, limit=limit, proven=proven_short)
    return _plan(p, members, x, proven, limit)


# ---------------------------------------------------------------------------------------------
# the plan and its reason


def _s(count: int) -> str:
    return "" if count == 1 else "s"


def _shortfall(p: Problem, j: int, routed: int, limit: str | None) -> str:
    if p.stock[j] == 0:
        return "no stock at an eligible location"
    if p.stock[j] < p.requested[j] and (routed >= p.stock[j] or limit is None):
        return f"only {int(p.stock[j])} available at eligible locations"
    return limit or "cannot be routed"


def _unroutable(p: Problem, routed: np.ndarray, limit: str | None, all_or_nothing: bool) -> tuple[UnroutableLine, ...]:
    out = []
    for j, sku in enumerate(p.skus):
        missing = int(p.requested[j] - routed[j])
        if missing <= 0:
            continue
        if all_or_nothing and (p.stock[j] >= p.requested[j]) and limit is None:
            why = "the order is all-or-nothing and other lines cannot be routed"
        else:
            why = _shortfall(p, j, int(routed[j]), limit)
        out.append(UnroutableLine(sku, missing, why))
    return tuple(out)


def _unroutable_text(items: tuple[UnroutableLine, ...]) -> str:
    shown = [f"{u.sku} ×{u.quantity} ({u.reason})" for u in items[:5]]
    more = f" and {len(items) - 5} more" if len(items) > 5 else ""
    return ", ".join(shown) + more


def _nothing(p: Problem, policy: RoutingPolicy, limit: str | None, proven: bool = True) -> RoutingPlan:
    unroutable = _unroutable(p, np.zeros(p.n, dtype=np.int64), limit, not policy.allow_partial)
    return RoutingPlan(
        allocations=(),
        groups=(),
        unroutable=unroutable,
        splits=0,
        total_distance_km=0.0,
        average_distance_km=0.0,
        unit_distance_km=0.0,
        total_cost=Decimal(0),
        score=0.0,
        optimal=proven,
        reason=f"nothing routed: {_unroutable_text(unroutable)}",
    )


def _plan(p: Problem, members: np.ndarray, x: np.ndarray, proven: bool, limit: str | None) -> RoutingPlan:
    used = x.sum(axis=1) > 0
    members, x = members[used], x[used]
    order = np.argsort(members)
    members, x = members[order], x[order]
    allocations: list[Allocation] = []
    groups: list[LocationGroup] = []
    for row, i in enumerate(members):
        i = int(i)
        lines = tuple((p.skus[j], int(x[row, j])) for j in np.flatnonzero(x[row]))
        units = int(x[row].sum())
        allocations.extend(Allocation(p.codes[i], sku, q) for sku, q in lines)
        cost = p.shipment_cost[i] + p.unit_cost[i] * units
        groups.append(LocationGroup(p.codes[i], p.kinds[i], float(p.dist[i]), lines, units, cost))
    routed = x.sum(axis=0)
    unroutable = _unroutable(p, routed, limit, False)
    k = len(groups)
    total_km = float(p.dist[members].sum())
    total_cost = sum((g.cost for g in groups), Decimal(0))
    plan_score = float(p.fixed[members].sum() + (p.unit[members] * x).sum())
    text = _headline(p, [g.location_code for g in groups], routed, proven)
    if p.has_distance:
        text += f"; {total_km:,.0f} km" if k == 1 else f"; average {total_km / k:,.0f} km"
    if total_cost > 0:
        text += f"; cost {total_cost:.2f}"
    if unroutable:
        text += f"; unroutable: {_unroutable_text(unroutable)}"
    return RoutingPlan(
        allocations=tuple(allocations),
        groups=tuple(groups),
        unroutable=unroutable,
        splits=k,
        total_distance_km=total_km,
        average_distance_km=total_km / k,
        unit_distance_km=float((p.dist[members] * x.sum(axis=1)).sum()),
        total_cost=total_cost,
        score=plan_score,
        optimal=proven,
        reason=text,
    )


def _headline(p: Problem, codes: list[str], routed: np.ndarray, proven: bool) -> str:
    k, n = len(codes), p.n
    names = ", ".join(codes)
    where = f"{k} location{_s(k)} ({names})"
    if int(routed.sum()) < int(p.requested.sum()):
        ships = "ships" if k == 1 else "ship"
        budget = "" if proven else " (best found within the search budget)"
        return (
            f"{where} {ships} {int((routed > 0).sum())} of {n} lines"
            f" ({int(routed.sum())} of {int(p.requested.sum())} units){budget}"
        )
    lines = "the line" if n == 1 else f"all {n} lines"
    if k == 1:
        return f"{where} holds {lines}"
    if not proven:
        return f"{where} hold {lines} (best found within the search budget)"
    fewer = "no single location holds" if k == 2 else f"no {k - 1} locations hold"
    return f"{fewer} {lines}; {where} do"


# ---------------------------------------------------------------------------------------------
# an independent check of a plan against the raw inputs


def plan_violations(
    lines: Sequence[OrderLine],
    locations: Sequence[CandidateLocation],
    policy: RoutingPolicy,
    plan: RoutingPlan,
) -> list[str]:
    """Every rule the plan breaks (empty when it is feasible): stock, capacity, exclusions,
    splits, quantities and all-or-nothing. Written from the inputs, not from the router's arrays."""
    found: list[str] = []
    by_code = {c.code: c for c in locations}
    requested: dict[str, int] = {}
    for line in lines:
        requested[line.sku] = requested.get(line.sku, 0) + line.quantity
    shipped: dict[tuple[str, str], int] = {}
    units: dict[str, int] = {}
    routed: dict[str, int] = {}
    for a in plan.allocations:
        if a.quantity <= 0:
            found.append(f"{a.location_code}/{a.sku}: quantity {a.quantity} is not positive")
        if a.sku not in requested:
            found.append(f"{a.sku} is not in the order")
        shipped[a.location_code, a.sku] = shipped.get((a.location_code, a.sku), 0) + a.quantity
        units[a.location_code] = units.get(a.location_code, 0) + a.quantity
        routed[a.sku] = routed.get(a.sku, 0) + a.quantity
    for (code, sku), q in shipped.items():
        loc = by_code.get(code)
        if loc is None:
            found.append(f"{code} is not a candidate")
            continue
        if q > loc.available.get(sku, 0):
            found.append(f"{code}/{sku}: {q} allocated, {loc.available.get(sku, 0)} available")
    for code, q in units.items():
        loc = by_code.get(code)
        if loc is None:
            continue
        if code in policy.excluded_locations or loc.kind in policy.excluded_kinds:
            found.append(f"{code} is excluded")
        if policy.respect_capacity:
            if loc.capacity_units is not None and q > loc.capacity_units:
                found.append(f"{code}: {q} units over a capacity of {loc.capacity_units}")
            if loc.capacity_shipments is not None and loc.capacity_shipments < 1:
                found.append(f"{code}: no shipment capacity left")
    if len(units) != plan.splits or plan.splits > policy.max_splits:
        found.append(f"{plan.splits} splits reported, {len(units)} locations used, at most {policy.max_splits}")
    if {g.location_code: g.units for g in plan.groups} != units:
        found.append("groups do not match the allocations")
    missing = {u.sku: u.quantity for u in plan.unroutable}
    for sku, q in requested.items():
        if routed.get(sku, 0) + missing.get(sku, 0) != q:
            found.append(f"{sku}: {routed.get(sku, 0)} routed + {missing.get(sku, 0)} unroutable ≠ {q} ordered")
    if not policy.allow_partial and plan.allocations and plan.unroutable:
        found.append("all-or-nothing order routed in part")
    return found


__all__ = [
    "DEFAULT_POLICY",
    "LOCATION_KINDS",
    "Allocation",
    "CandidateLocation",
    "DistanceMode",
    "GeoPoint",
    "LocationGroup",
    "OrderLine",
    "RoutingPlan",
    "RoutingPolicy",
    "UnroutableLine",
    "plan_violations",
    "route",
]
