"""The exact routing optimum as a mixed-integer program (scipy.optimize.milp / HiGHS).

A reference, not the router: tests and `ordino bench routing` compare `route` with it. It reads
the same arrays (`routing_model.build_problem`: the policy's filters and score weights), so it
checks the optimisation, not the filtering. Variables: y_l ∈ {0, 1} (location l is used) and
x_ls ≥ 0 (units of SKU s from l), with

    x_ls ≤ avail_ls · y_l            Σ_s x_ls ≤ cap_l · y_l            Σ_l y_l ≤ max_splits
    Σ_l x_ls = q_s  (all-or-nothing)   or   Σ_l x_ls ≤ q_s  (partial)

and the lexicographic objective solved in stages, each fixing the optimum of the one before:
(partial only) maximise Σ x; then minimise Σ y; then minimise Σ fixed_l y_l + Σ unit_ls x_ls.
With y fixed, what is left is a transportation problem, so x needs no integrality.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import csr_array, hstack

from ordino.fulfillment.routing.geo import GeoPoint
from ordino.fulfillment.routing.model import Problem, build_problem
from ordino.fulfillment.routing.types import CandidateLocation, OrderLine, RoutingPolicy

GAP = 1e-7  # relative MIP gap of the last stage


@dataclass(frozen=True, slots=True)
class MilpOptimum:
    routed: int  # units
    splits: int
    score: float
    locations: tuple[str, ...]
    allocations: tuple[tuple[str, str, int], ...]  # (location, sku, quantity)


NOTHING = MilpOptimum(0, 0, 0.0, (), ())


def milp_optimum(
    lines: Sequence[OrderLine],
    ship_to: GeoPoint | None,
    locations: Sequence[CandidateLocation],
    policy: RoutingPolicy,
) -> MilpOptimum:
    """The optimum of the routing problem under `policy`, by MILP."""
    return solve_milp(build_problem(lines, ship_to, locations, policy), policy.allow_partial)


@dataclass(frozen=True)
class _Model:
    """The MILP of a routing problem: y_l (location used, binary) then x_p (units of each
    location × SKU pair that has stock)."""

    constraints: list[LinearConstraint]
    integrality: np.ndarray
    bounds: Bounds
    count: np.ndarray  # objective: locations used
    units: np.ndarray  # objective: units routed

    def run(self, c: np.ndarray, extra: list[LinearConstraint], gap: float = 1e-9) -> np.ndarray | None:
        res = milp(
            c, constraints=self.constraints + extra, integrality=self.integrality, bounds=self.bounds,
            options={"mip_rel_gap": gap},
        )
        if res.status != 0 or res.x is None:
            return None
        solution: np.ndarray = res.x
        return solution


def _model(p: Problem, allow_partial: bool, li: np.ndarray, sj: np.ndarray) -> _Model:
    m, n = p.m, p.n
    nv = len(li)
    pairs = np.arange(nv)
    # x_p − avail_p · y_l ≤ 0
    link = hstack(
        [
            csr_array((-p.avail[li, sj].astype(np.float64), (pairs, li)), shape=(nv, m)),
            csr_array((np.ones(nv), (pairs, pairs)), shape=(nv, nv)),
        ]
    )
    # Σ_l x_ls (=|≤) q_s
    demand = hstack([csr_array((n, m)), csr_array((np.ones(nv), (sj, pairs)), shape=(n, nv))])
    # Σ_s x_ls − cap_l · y_l ≤ 0
    capacity = hstack(
        [
            csr_array((-p.cap.astype(np.float64), (np.arange(m), np.arange(m))), shape=(m, m)),
            csr_array((np.ones(nv), (li, pairs)), shape=(m, nv)),
        ]
    )
    count = np.concatenate([np.ones(m), np.zeros(nv)])
    q = p.requested.astype(np.float64)
    constraints = [
        LinearConstraint(link, -np.inf, 0.0),
        LinearConstraint(demand, 0.0 if allow_partial else q, q),
        LinearConstraint(capacity, -np.inf, 0.0),
        LinearConstraint(count[None, :], 0.0, float(p.max_splits)),
    ]
    return _Model(
        constraints,
        integrality=np.concatenate([np.ones(m), np.zeros(nv)]),
        bounds=Bounds(np.zeros(m + nv), np.concatenate([np.ones(m), p.avail[li, sj].astype(np.float64)])),
        count=count,
        units=np.concatenate([np.zeros(m), np.ones(nv)]),
    )


def solve_milp(p: Problem, allow_partial: bool) -> MilpOptimum:
    """Lexicographic: most units routed (when partial is allowed), then fewest locations, then
    the lowest score."""
    m = p.m
    if m == 0:
        return NOTHING
    if not allow_partial and np.any(p.stock < p.requested):
        return NOTHING
    li, sj = np.nonzero(p.avail)
    model = _model(p, allow_partial, li, sj)
    run, count, units = model.run, model.count, model.units
    extra: list[LinearConstraint] = []
    if allow_partial:
        sol = run(-units, [])
        if sol is None:  # pragma: no cover - zero is always feasible
            return NOTHING
        routed = round(float(units @ sol))
        if routed == 0:
            return NOTHING
        extra.append(LinearConstraint(units[None, :], routed, routed))
    sol = run(count, extra)
    if sol is None:
        return NOTHING
    splits = round(float(count @ sol))
    extra.append(LinearConstraint(count[None, :], splits, splits))
    cost = np.concatenate([p.fixed, p.unit[li, sj]])
    sol = run(cost, extra, GAP)
    if sol is None:  # pragma: no cover - the previous stage found a solution
        return NOTHING
    y = sol[:m] > 0.5
    x = np.rint(sol[m:]).astype(np.int64)
    allocations = tuple((p.codes[int(li[v])], p.skus[int(sj[v])], int(x[v])) for v in np.lexsort((sj, li)) if x[v] > 0)
    return MilpOptimum(
        routed=int(x.sum()),
        splits=splits,
        score=float(cost @ sol),
        locations=tuple(p.codes[i] for i in np.flatnonzero(y)),
        allocations=allocations,
    )
