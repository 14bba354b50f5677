"""Property: any sequence of reserve / transfer / release / fulfil / expire / stock updates /
backorder allocation keeps the counters true.

After every step: no counter is negative; a position's `reserved` is the sum of its active
reservations' stock units and `backordered` the sum of their backordered units; every
reservation row balances (quantity = open + fulfilled + released + transferred). At the end,
on hand reconciles: the starting stock, plus the stock changes that applied, minus what was
shipped (the reservations' fulfilled quantities). A reservation that succeeds never leaves its
position oversold (available to fulfil, or to order for a backorder, below zero).
"""

from __future__ import annotations

import os
import uuid
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from ordino.catalog.models import Location
from ordino.inventory import service
from ordino.inventory.domain import StockRecord
from ordino.inventory.models import InventoryPosition, InventoryReservation
from ordino.inventory.stock import apply_records
from ordino.kernel import clock
from ordino.kernel.db import Database
from ordino.kernel.errors import Problem
from tests import factories
from tests.conftest import empty_tables

SKUS = ("A", "B")  # A: deny, B: backorder
LOCATIONS = ("L1", "L2")
REFERENCES = ("r1", "r2", "r3")
START = {("A", "L1"): 10, ("A", "L2"): 5, ("B", "L1"): 3, ("B", "L2"): 0}

sku = st.sampled_from(SKUS)
location = st.sampled_from(LOCATIONS)
reference = st.sampled_from(REFERENCES)
quantity = st.integers(1, 6)
operation = st.one_of(
    st.tuples(st.just("reserve"), reference, st.lists(st.tuples(sku, location, quantity), min_size=1, max_size=3),
              st.booleans()),
    st.tuples(st.just("transfer"), reference, sku, location, st.integers(1, 4)),
    st.tuples(st.just("release"), reference, st.one_of(st.none(), sku), st.one_of(st.none(), st.integers(1, 4))),
    st.tuples(st.just("fulfil"), reference, sku, location, st.integers(1, 4)),
    st.tuples(st.just("delta"), sku, location, st.integers(-5, 8)),
    st.tuples(st.just("count"), sku, location, st.integers(0, 12)),
    st.tuples(st.just("expire")),
    st.tuples(st.just("allocate")),
)


def _seed(db: Database) -> None:
    empty_tables(db)
    factories.product(db, "A")
    factories.product(db, "B", backorder_policy="backorder")
    for code in LOCATIONS:
        factories.location(db, code)
    for (s, code), on_hand in START.items():
        futures = [(date(2026, 12, 24), 4)] if s == "B" else None
        factories.position(db, s, code, on_hand=on_hand, futures=futures)


def _state(db: Database) -> tuple[dict[tuple[str, str], Any], list[Any]]:
    p, r = InventoryPosition, InventoryReservation
    with db.read() as s:
        positions = {
            (row.sku, row.code): row
            for row in s.execute(
                select(p.sku, Location.code, p.on_hand, p.reserved, p.safety_stock, p.futures, p.backordered)
                .join(Location, Location.id == p.location_id)
            )
        }
        rows = s.execute(
            select(r.sku, Location.code, r.status, r.quantity, r.open_quantity, r.backordered_quantity,
                   r.fulfilled_quantity, r.released_quantity, r.transferred_quantity)
            .join(Location, Location.id == r.location_id)
        ).all()
    return positions, rows


def _check_invariants(db: Database) -> None:
    positions, rows = _state(db)
    stock_units: Counter[tuple[str, str]] = Counter()
    backordered: Counter[tuple[str, str]] = Counter()
    for row in rows:
        assert row.quantity == row.open_quantity + row.fulfilled_quantity + row.released_quantity + \
            row.transferred_quantity
        assert 0 <= row.backordered_quantity <= row.open_quantity
        assert (row.status == "active") == (row.open_quantity > 0)
        if row.status == "active":
            stock_units[(row.sku, row.code)] += row.open_quantity - row.backordered_quantity
            backordered[(row.sku, row.code)] += row.backordered_quantity
    for key, pos in positions.items():
        assert min(pos.on_hand, pos.reserved, pos.backordered, pos.futures) >= 0
        assert pos.reserved == stock_units[key], key
        assert pos.backordered == backordered[key], key


@pytest.fixture
def sqlite_db(db: Database) -> Database:
    if db.dialect != "sqlite":
        pytest.skip("the property is exercised on SQLite; PostgreSQL has the concurrency tests")
    return db


EXAMPLES = int(os.environ.get("ORDINO_PROPERTY_EXAMPLES", "150"))


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=st.lists(operation, min_size=1, max_size=25))
def test_counters_stay_true_under_any_sequence(sqlite_db: Database, operations: list[tuple[Any, ...]]) -> None:
    db = sqlite_db
    _seed(db)
    now = [datetime(2026, 11, 26, 10, 0, tzinfo=UTC)]
    clock.set_clock(lambda: now[0])
    expected = dict(START)  # on hand: the start, plus stock changes that applied, minus shipments
    shipped: Counter[tuple[str, str]] = Counter()
    try:
        for op in operations:
            kind = op[0]
            try:
                if kind == "reserve":
                    _, ref, lines, timed = op
                    expires = now[0] + timedelta(seconds=30) if timed else None
                    docs = db.transaction(lambda s, r=ref, ln=lines, e=expires: service.reserve(s, r, ln, e))
                    positions, _ = _state(db)
                    for d in docs:
                        pos = positions[(d["sku"], d["location"])]
                        atf = pos.on_hand - pos.reserved - pos.safety_stock
                        ato = atf + pos.futures - pos.backordered
                        assert ato >= 0
                        assert d["backordered"] or atf >= 0
                elif kind == "transfer":
                    _, ref, s_, to, q = op
                    db.transaction(lambda s, r=ref, k=s_, t=to, n=q: service.transfer(s, r, t, n, sku=k))
                elif kind == "release":
                    _, ref, s_, q = op
                    db.transaction(lambda s, r=ref, k=s_, n=q: service.release(s, r, k, n if k else None))
                elif kind == "fulfil":
                    _, ref, s_, loc, q = op
                    db.transaction(lambda s, r=ref, k=s_, lc=loc, n=q: service.fulfil(s, r, k, lc, n))
                    expected[(s_, loc)] -= q
                    shipped[(s_, loc)] += q
                elif kind in ("delta", "count"):
                    _, s_, loc, value = op
                    record = StockRecord(0, uuid.uuid4(), s_, loc, "delta" if kind == "delta" else "absolute",
                                         on_hand=value)
                    [outcome] = db.transaction(lambda s, rec=record: apply_records(s, [rec]))
                    if outcome.status == "applied":
                        expected[(s_, loc)] = expected[(s_, loc)] + value if kind == "delta" else value
                    else:
                        assert kind == "delta" and expected[(s_, loc)] + value < 0
                elif kind == "expire":
                    now[0] += timedelta(seconds=31)
                    db.transaction(lambda s: service.expire_holds(s, now[0]))
                else:
                    db.transaction(lambda s: service.allocate_backorders(s))
            except Problem:
                pass  # a refusal: nothing may have changed, which the invariants check
            _check_invariants(db)
        positions, _ = _state(db)
        with db.read() as s:
            fulfilled = {
                (k, c): int(n)
                for k, c, n in s.execute(
                    select(InventoryReservation.sku, Location.code, func.sum(InventoryReservation.fulfilled_quantity))
                    .join(Location, Location.id == InventoryReservation.location_id)
                    .group_by(InventoryReservation.sku, Location.code)
                )
            }
        for key, pos in positions.items():
            assert pos.on_hand == expected[key], key
            assert fulfilled.get(key, 0) == shipped[key], key
    finally:
        clock.set_clock(None)
