"""Routing what can be routed: when no set of at most `max_splits` locations can ship the whole
demand (too many locations would be needed, or capacity is short), choose the set that ships the
most units, then the fewest locations, then the best score.

This is a maximum-coverage problem. A greedy choice improved by swaps gives the incumbent; a
branch and bound over combinations (locations ordered by what they hold of the order) then proves
or improves it. A node is pruned when even the best t more locations per SKU could not beat the
incumbent's units (and capacity), or could only tie with more locations or a worse score.
Without binding capacities, a location that adds nothing to what the set already holds is skipped:
coverage only shrinks as the set grows. Over budget, the best found stands, marked not proven.
"""

from __future__ import annotations

import numpy as np

from ordino.fulfillment.routing.model import Problem, allocate_most
from ordino.fulfillment.routing.search import Choice, OverBudget, Search


class _Cover:
    def __init__(self, p: Problem, demand: np.ndarray, budget: int) -> None:
        self.p = p
        self.d = demand
        self.search = Search(p, demand, budget)
        self.best: Choice | None = None
        self.best_x = np.zeros((0, p.n), dtype=np.int64)
        self.cache: dict[tuple[int, ...], tuple[Choice, np.ndarray] | None] = {}
        self.floor = float((np.minimum(p.unit_floor, 0.0) * demand).sum())
        self.hold = np.minimum(p.cap, p.avail.sum(axis=1))  # most a location can ship of the order

    def judge(self, members: list[int]) -> tuple[Choice, np.ndarray] | None:
        key = tuple(sorted(members))
        if key in self.cache:
            return self.cache[key]
        p = self.p
        idx = np.array(key, dtype=np.int64)
        self.search.work += len(key) * p.n * (20 if p.capacity_binds else 1)
        x = allocate_most(p, idx, self.d)
        used = x.sum(axis=1) > 0
        found = None
        if used.any():
            idx, x = idx[used], x[used]
            found = self.search._make(tuple(int(i) for i in idx), x, lazy=False), x
        self.cache[key] = found
        return found

    def offer(self, members: list[int]) -> None:
        found = self.judge(members)
        if found is not None and (self.best is None or found[0].key < self.best.key):
            self.best, self.best_x = found

    def dfs(self, chosen: list[int], held: np.ndarray, rest: np.ndarray, fixed_sum: float) -> None:
        p, d, best = self.p, self.d, self.best
        self.search._tick(len(rest) * p.n + 1)
        k = len(chosen)
        if k and best is not None:
            covered = int(np.minimum(held, d).sum())
            if covered > best.routed or (covered == best.routed and k <= len(best.members)):
                self.offer(chosen)
                best = self.best
        elif k:
            self.offer(chosen)
            best = self.best
        t = p.max_splits - k
        if t == 0 or len(rest) == 0 or best is None:
            return
        if not p.capacity_binds:
            gain = np.minimum(held + p.avail[rest], d).sum(axis=1) - int(np.minimum(held, d).sum())
            rest = rest[gain > 0]
            if len(rest) == 0:
                return
        block = p.avail[rest]
        top = -np.partition(-block, t - 1, axis=0)[:t].sum(axis=0) if len(rest) > t else block.sum(axis=0)
        bound = int(np.minimum(held + top, d).sum())
        if p.capacity_binds:
            room = self.hold[rest]
            more = -np.partition(-room, t - 1)[:t].sum() if len(rest) > t else room.sum()
            bound = min(bound, int(self.hold[chosen].sum()) + int(more))
        if bound < best.routed:
            return
        if bound == best.routed:
            if k + 1 > len(best.members):
                return
            if k + 1 == len(best.members) and fixed_sum + float(
                p.fixed[rest].min()
            ) + self.floor > best.score + 1e-9 * max(1.0, abs(best.score)):
                return
        for i, c in enumerate(rest):
            c = int(c)
            self.dfs([*chosen, c], held + p.avail[c], rest[i + 1 :], fixed_sum + float(p.fixed[c]))


def cover_most(p: Problem, demand: np.ndarray, budget: int) -> tuple[Choice | None, np.ndarray, bool]:
    """The set of at most max_splits locations that ships the most of `demand`, with its allocation
    and whether the search proved it best."""
    cover = _Cover(p, demand, budget)
    search = cover.search
    start, _ = search.coverage_swaps(search.greedy(p.max_splits))
    if start:
        cover.offer(start)
    if cover.best is None:
        return None, cover.best_x, True
    reach = np.minimum(p.avail, demand).sum(axis=1)
    order = np.lexsort((p.fixed, -reach)).astype(np.int64)  # most useful first
    try:
        cover.dfs([], np.zeros(p.n, dtype=np.int64), order, 0.0)
    except OverBudget:
        return cover.best, cover.best_x, False
    return cover.best, cover.best_x, True


__all__ = ["cover_most"]
