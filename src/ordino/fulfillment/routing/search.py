"""Choosing the set of locations: exact where it is cheap, heuristics where it is not.

`solve` finds the fewest locations that can ship the whole demand and, among those, the set with
the best score:

1. A lower bound on the number of locations (per SKU: how many of the largest holders it takes;
   and the same for unit capacity) and a greedy set cover, improved by local search (drop a
   redundant location, replace two by one, swap one for one), give a bracket `lb ≤ k ≤ greedy`.
2. A depth-limited branch and bound proves, level by level from `lb`, whether k locations can
   do it. It branches on the residual SKU with the fewest holders (every feasible set must contain
   one of them; earlier siblings are forbidden in later branches, so no set is visited twice),
   tests the last level for all candidates at once with numpy, prunes by what the remaining
   locations can still hold, and bounds by score (the best k-set found so far).
3. If the search exceeds its budget (nodes or array work), the best plan found so far stands,
   marked not proven. Everything returned is feasible.

When not everything can be routed, `routing_partial.cover_most` takes over.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ordino.fulfillment.routing.model import (
    Problem,
    capacity_allocation,
    greedy_allocation,
    max_routable,
    score_of,
)

Key = tuple[int, int, float, float, float, int, tuple[str, ...]]
SMALL = 20_000  # (locations × SKUs) up to which the exact search is trusted to finish quickly
WORK_PER_NODE = 4_000  # array elements a search node may touch on average within the budget


class OverBudget(Exception):
    pass


@dataclass(slots=True)
class Choice:
    members: tuple[int, ...]  # location indices, ascending
    x: np.ndarray | None  # units (k × n); None until needed when only capacity made it differ
    routed: int
    score: float
    key: Key


@dataclass(slots=True)
class Outcome:
    choice: Choice | None
    proven: bool


class Search:
    def __init__(self, p: Problem, demand: np.ndarray, budget: int) -> None:
        self.p = p
        self.d = demand
        self.total = int(demand.sum())
        self.node_budget = budget
        self.work_budget = budget * WORK_PER_NODE
        self.nodes = 0
        self.work = 0
        self.cache: dict[tuple[int, ...], Choice | None] = {}
        self.alloc_floor = float((demand * p.unit_floor).sum())
        self.eps = 1e-9
        self.best: Choice | None = None
        self.k = 0

    # -- evaluation ------------------------------------------------------------------------

    def _tick(self, work: int) -> None:
        self.nodes += 1
        self.work += work
        if self.nodes > self.node_budget or self.work > self.work_budget:
            raise OverBudget

    def _make(self, members: tuple[int, ...], x: np.ndarray, lazy: bool) -> Choice:
        p = self.p
        idx = np.array(members, dtype=np.int64)
        units = x.sum(axis=1)
        score = score_of(p, idx, x)
        money = float(p.money_fixed[idx].sum() + (p.money_unit[idx] * units).sum())
        key: Key = (
            -int(units.sum()),
            len(members),
            round(score, 6),
            round(float(p.dist[idx].sum()), 6),
            round(money, 6),
            int(p.prio[idx].sum()),
            tuple(p.codes[i] for i in members),
        )
        return Choice(members, None if lazy else x, int(units.sum()), score, key)

    def evaluate(self, members: tuple[int, ...]) -> Choice | None:
        """The best allocation of the whole demand to exactly these locations, if they can ship it."""
        members = tuple(sorted(members))
        if members in self.cache:
            return self.cache[members]
        p = self.p
        idx = np.array(members, dtype=np.int64)
        self.work += len(members) * p.n
        x = greedy_allocation(p, idx, self.d)
        choice: Choice | None = None
        if int(x.sum()) == self.total:
            units = x.sum(axis=1)
            if not p.capacity_binds or np.all(units <= p.cap[idx]):
                choice = self._make(members, x, lazy=False)
            elif max_routable(p, idx, self.d) == self.total:
                if p.uniform_unit:  # every full allocation has the same score: solve it only if chosen
                    choice = self._make(members, x, lazy=True)
                else:
                    exact = capacity_allocation(p, idx, self.d, self.total)
                    if exact is not None:
                        choice = self._make(members, exact, lazy=False)
        self.cache[members] = choice
        return choice

    def finish(self, choice: Choice) -> np.ndarray:
        if choice.x is not None:
            return choice.x
        idx = np.array(choice.members, dtype=np.int64)
        x = capacity_allocation(self.p, idx, self.d, choice.routed)
        if x is None:  # pragma: no cover - max_routable proved the flow exists
            raise RuntimeError("capacity allocation failed after max-flow succeeded")
        return x

    # -- bounds and heuristics ---------------------------------------------------------------

    def lower_bound(self) -> int:
        p, d = self.p, self.d
        need = d > 0
        if not need.any():
            return 0
        cums = np.cumsum(-np.sort(-p.avail[:, need], axis=0), axis=0)
        per_sku = int((cums < d[need]).sum(axis=0).max()) + 1
        caps = np.cumsum(-np.sort(-p.cap))
        by_capacity = int((caps < self.total).sum()) + 1
        return max(per_sku, by_capacity)

    def greedy(self, limit: int) -> list[int]:
        """Greedy set cover: each step takes the location that covers the largest share of the lines left."""
        p = self.p
        r = self.d.copy()
        used = np.zeros(p.m, dtype=bool)
        members: list[int] = []
        while r.any() and len(members) < limit:
            self.work += p.m * p.n
            need = r > 0
            share = (np.minimum(p.avail[:, need], r[need]) / r[need]).sum(axis=1)
            if p.capacity_binds:
                units = np.minimum(p.avail[:, need], r[need]).sum(axis=1)
                share = share * np.minimum(1.0, p.cap / np.maximum(units, 1))
            share[used] = -1.0
            best = share.max()
            if best <= 0:
                break
            ties = np.flatnonzero(share >= best - 1e-12)
            c = int(ties[np.argmin(p.fixed[ties])])
            members.append(c)
            used[c] = True
            take = np.minimum(p.avail[c], r)
            if take.sum() > p.cap[c]:
                take = _cut(take, int(p.cap[c]))
            r -= take
        return members

    def coverage_swaps(self, members: list[int]) -> tuple[list[int], int]:
        """Swap one location for another while that raises the units held of the demand
        (capacity ignored): a local search for max coverage with a fixed number of locations."""
        p, d = self.p, self.d
        chosen = list(members)
        if not chosen:
            return chosen, 0
        held = p.avail[chosen].sum(axis=0)
        covered = int(np.minimum(held, d).sum())
        for _ in range(8 * len(chosen)):
            if covered == self.total or self.work > self.work_budget:
                break
            best = (covered, -1, -1)
            for a in chosen:
                self.work += p.m * p.n
                gain = np.minimum(held - p.avail[a] + p.avail, d).sum(axis=1)
                gain[chosen] = -1
                c = int(np.argmax(gain))
                if gain[c] > best[0]:
                    best = (int(gain[c]), a, c)
            if best[1] < 0:
                break
            covered, a, c = best
            chosen[chosen.index(a)] = c
            held = held - p.avail[a] + p.avail[c]
        return chosen, covered

    def heuristic(self, lb: int) -> Choice | None:
        """A good feasible set: greedy cover, local search, then smaller covers while swaps find them."""
        p = self.p
        order = self.greedy(p.m)
        incumbent = self.evaluate(tuple(order)) if order else None
        # at the lower bound, a small exact search does better than local search, and faster
        if incumbent is not None and (len(incumbent.members) > lb or p.m * p.n > SMALL):
            incumbent = self.improve(incumbent)
        size = (len(incumbent.members) if incumbent is not None else p.max_splits + 1) - 1
        while lb <= size and self.work <= self.work_budget:
            members, covered = self.coverage_swaps(order[:size])
            found = self.evaluate(tuple(members)) if covered == self.total else None
            if found is None:
                break
            incumbent = self.improve(found)
            size = len(incumbent.members) - 1
        if incumbent is not None and len(incumbent.members) > p.max_splits:
            return None
        return incumbent

    def _residual(self, members: list[int]) -> np.ndarray:
        if not members:
            return self.d.copy()
        residual: np.ndarray = np.maximum(self.d - self.p.avail[members].sum(axis=0), 0)
        return residual

    def _completions(self, base: list[int], exclude: set[int]) -> np.ndarray:
        """Locations that, added to `base`, hold the rest (ignoring capacity), cheapest first."""
        p = self.p
        r = self._residual(base)
        self.work += p.m * p.n
        ok = np.all(p.avail >= r, axis=1)
        for e in exclude:
            ok[e] = False
        cands = np.flatnonzero(ok)
        return cands[np.argsort(p.fixed[cands], kind="stable")]

    def improve(self, choice: Choice) -> Choice:
        """Local search on a feasible set: drop, replace two by one, swap one for one."""
        best = choice
        for _ in range(4 * max(1, len(best.members)) + 4):
            if self.work > self.work_budget:
                break
            found = self._better_neighbour(best)
            if found is None:
                break
            best = found
        return best

    def _better_neighbour(self, best: Choice) -> Choice | None:
        members = list(best.members)
        p = self.p
        for a in sorted(members, key=lambda i: -p.fixed[i]):  # drop a redundant location
            rest = [i for i in members if i != a]
            if rest:
                found = self.evaluate(tuple(rest))
                if found is not None:
                    return found
        for i, a in enumerate(members):  # replace two by one
            for b in members[i + 1 :]:
                base = [j for j in members if j not in (a, b)]
                for c in self._completions(base, set(members))[:8]:
                    found = self.evaluate((*base, int(c)))
                    if found is not None:
                        return found
        fixed_sum = float(p.fixed[members].sum())
        for a in members:  # swap one for one
            base = [j for j in members if j != a]
            for c in self._completions(base, set(members)):
                if fixed_sum - p.fixed[a] + p.fixed[c] + self.alloc_floor > best.score + self.eps:
                    break
                found = self.evaluate((*base, int(c)))
                if found is not None and found.key < best.key:
                    return found
        return None

    # -- exact search ------------------------------------------------------------------------

    def best_at(self, k: int, incumbent: Choice | None) -> Choice | None:
        """The best set of exactly k locations (raises OverBudget; self.best keeps the best so far)."""
        self.k = k
        self.best = incumbent if incumbent is not None and len(incumbent.members) == k else None
        self._dfs([], self.d.copy(), np.ones(self.p.m, dtype=bool), 0.0)
        return self.best

    def _offer(self, choice: Choice | None) -> None:
        if choice is not None and (self.best is None or choice.key < self.best.key):
            self.best = choice

    def _bound(self) -> float:
        return np.inf if self.best is None else self.best.score + self.eps * max(1.0, abs(self.best.score))

    def _dfs(self, chosen: list[int], r: np.ndarray, allowed: np.ndarray, fixed_sum: float) -> None:
        p = self.p
        t = self.k - len(chosen)
        need = r > 0
        self._tick(p.m * int(need.sum()) + 1)
        if not need.any():
            found = self.evaluate(tuple(chosen))
            if found is not None or t == 0:
                self._offer(found)
                return
            # capacity, not stock, is short: any further location may help
            holders = np.flatnonzero(allowed & (p.cap > 0))
            self._branch(chosen, r, allowed, fixed_sum, holders[np.argsort(p.fixed[holders], kind="stable")])
            return
        if t == 0:
            return
        free = p.fixed[allowed]
        if len(free) < t:
            return
        if fixed_sum + np.sort(free)[:t].sum() + self.alloc_floor > self._bound():
            return
        sub = p.avail[:, need]
        rn = r[need]
        if t == 1:
            ok = allowed & np.all(sub >= rn, axis=1)
            cands = np.flatnonzero(ok)
            for c in cands[np.argsort(p.fixed[cands], kind="stable")]:
                if fixed_sum + p.fixed[c] + self.alloc_floor > self._bound():
                    break
                self._offer(self.evaluate((*chosen, int(c))))
            return
        live = sub[allowed]
        top = -np.partition(-live, t - 1, axis=0)[:t].sum(axis=0) if live.shape[0] > t else live.sum(axis=0)
        if np.any(top < rn):
            return
        count = (live > 0).sum(axis=0)
        j = int(np.argmin(count))
        holders = np.flatnonzero(allowed & (sub[:, j] > 0))
        self._branch(chosen, r, allowed, fixed_sum, holders[np.argsort(p.fixed[holders], kind="stable")])

    def _branch(
        self, chosen: list[int], r: np.ndarray, allowed: np.ndarray, fixed_sum: float, holders: np.ndarray
    ) -> None:
        p = self.p
        rest = allowed.copy()
        for c in holders:
            c = int(c)
            rest[c] = False  # later siblings never take c again: each set is visited once
            self._dfs([*chosen, c], np.maximum(r - p.avail[c], 0), rest, fixed_sum + float(p.fixed[c]))


def _cut(take: np.ndarray, limit: int) -> np.ndarray:
    out = np.zeros_like(take)
    before = np.cumsum(take) - take
    out[:] = np.clip(limit - before, 0, take)
    return out


def solve(p: Problem, demand: np.ndarray, budget: int) -> tuple[Outcome, Search]:
    """Fewest locations that ship all of `demand` (≤ max_splits), best score among them."""
    search = Search(p, demand, budget)
    if search.total == 0:
        return Outcome(None, True), search
    lb = search.lower_bound()
    if lb > p.max_splits:
        return Outcome(None, True), search
    if lb == 1:  # one location: a single vectorised test, before any heuristic
        found = search.best_at(1, None)
        if found is not None:
            return Outcome(found, True), search
        lb = 2
        if lb > p.max_splits:
            return Outcome(None, True), search
    incumbent = search.heuristic(lb)
    high = p.max_splits if incumbent is None else len(incumbent.members)
    for k in range(lb, high + 1):
        try:
            found = search.best_at(k, incumbent)
        except OverBudget:
            best = search.best if search.best is not None else incumbent
            return Outcome(best, False), search
        if found is not None:
            return Outcome(found, True), search
    return Outcome(incumbent, incumbent is None), search


__all__ = ["Choice", "Outcome", "OverBudget", "Search", "solve"]
