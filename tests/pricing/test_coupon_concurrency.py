"""A coupon is never used more often than its limit, proven on PostgreSQL with real parallel
connections: 20 orders consume a coupon limited to 5 at the same moment; exactly 5 succeed."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import update

from ordino.kernel.db import Database
from ordino.kernel.errors import Conflict
from ordino.pricing.models import Coupon
from ordino.pricing.service import consume_coupons
from tests.pricing.conftest import promotion, times_used

THREADS = 20
LIMIT = 5
ROUNDS = 10


@pytest.fixture
def pool(world: Database) -> Iterator[Database]:
    if world.dialect != "postgresql":
        pytest.skip("concurrency is proven on PostgreSQL")
    promotion(world, "WINTER", "order", "percentage", percentage="5", requires_coupon=True,
              coupons=[("LIMITED", LIMIT), ("OTHER", None)])
    wide = Database(world.url, pool_size=THREADS)
    yield wide
    wide.dispose()


def test_twenty_orders_consuming_a_coupon_limited_to_five_succeed_exactly_five_times(pool: Database) -> None:
    for _ in range(ROUNDS):
        # given the coupon unused
        pool.transaction(lambda s: s.execute(update(Coupon).values(times_used=0)))
        start = threading.Barrier(THREADS)

        def order(start: threading.Barrier = start) -> str:
            start.wait()
            try:
                # each order also uses an unlimited coupon, in another order than the sorted one
                pool.transaction(lambda s: consume_coupons(s, ["other", "limited"]))
            except Conflict as refused:
                return refused.detail
            return "ok"

        # when 20 orders consume it at once
        with ThreadPoolExecutor(THREADS) as workers:
            outcomes = Counter(workers.map(lambda _: order(), range(THREADS)))
        # then exactly 5 succeed, the others are refused, and the counter says 5
        assert outcomes == {"ok": LIMIT, "coupon 'LIMITED' has been used up": THREADS - LIMIT}
        assert times_used(pool, "LIMITED") == LIMIT
        # and the refused orders' other coupon was not counted either
        assert times_used(pool, "OTHER") == LIMIT
