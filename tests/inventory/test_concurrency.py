"""No oversell under concurrency, proven on PostgreSQL with real parallel connections.

Each scenario runs many rounds with one thread pool and one connection pool (50 connections),
resetting the positions between rounds. The reservation scenarios run twice: each buyer in its
own transaction, and batched (ten concurrent batches of five buyers, each batch one transaction,
as the reservation API combines the requests a process receives at once). A sampler on its own
connection reads the positions all along and records the lowest available to fulfil it ever saw.
"""

from __future__ import annotations

import random
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import delete, func, select, update

from ordino.catalog.models import Location
from ordino.inventory import holds, service, stock
from ordino.inventory.ledger import Line
from ordino.inventory.models import InventoryPosition, InventoryRecord, InventoryReservation
from ordino.inventory.schemas import InventoryUpdateIn
from ordino.kernel.db import Database
from ordino.kernel.errors import Problem
from ordino.kernel.idempotency import Command, Outcome
from ordino.kernel.outbox import OutboxEvent
from tests import factories

THREADS = 50
BATCH = 5
API_KEY_ID = uuid.UUID("0192f3c4-0000-7000-8000-000000000001")
ROUNDS = 200
SKUS = ("HOT-A", "HOT-B", "HOT-C")
P = InventoryPosition


@pytest.fixture
def pool(db: Database) -> Iterator[Database]:
    """A database handle with a connection for every thread."""
    if db.dialect != "postgresql":
        pytest.skip("concurrency is proven on PostgreSQL")
    for sku in SKUS:
        factories.product(db, sku)
    factories.location(db, "WH-BER")
    factories.location(db, "WH-HAM")
    for sku in SKUS:
        for code in ("WH-BER", "WH-HAM"):
            factories.position(db, sku, code, on_hand=5)
    wide = Database(db.url, pool_size=THREADS)
    yield wide
    wide.dispose()


class Sampler:
    """Reads the lowest available to fulfil and the highest reserved − on hand, until stopped."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.lowest = 0
        self.stop = threading.Event()
        self.reads = 0
        self.thread = threading.Thread(target=self.run)

    def run(self) -> None:
        while not self.stop.is_set():
            with self.db.read() as s:
                low = s.execute(select(func.min(P.on_hand - P.reserved - P.safety_stock))).scalar_one()
            self.lowest = min(self.lowest, int(low))
            self.reads += 1
            self.stop.wait(0.002)  # leave the interpreter to the buyers

    def __enter__(self) -> Sampler:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()


def _reset(db: Database) -> None:
    def work(s: Any) -> None:
        s.execute(delete(InventoryReservation))
        s.execute(delete(OutboxEvent))
        s.execute(update(InventoryPosition).values(on_hand=5, reserved=0, backordered=0))

    db.transaction(work)


def _rounds(db: Database, attempt: Callable[[int, int], Any], check: Callable[[int, list[Any]], None],
            batches: bool = False) -> Sampler:
    """THREADS buyers per round: each in its own transaction, or (`batches`) combined BATCH at a
    time as the reservation API does, one batch per thread."""
    threads_used = THREADS // BATCH if batches else THREADS
    barrier = threading.Barrier(threads_used)

    def start(round_: int, t: int) -> list[Any]:
        barrier.wait()
        if batches:
            return list(attempt(round_, t))
        return [attempt(round_, t)]

    with ThreadPoolExecutor(threads_used) as threads, Sampler(db) as sampler:
        for round_ in range(ROUNDS):
            _reset(db)
            outcomes = [o for some in threads.map(lambda t, r=round_: start(r, t), range(threads_used)) for o in some]  # type: ignore[misc]
            assert len(outcomes) == THREADS
            check(round_, outcomes)
    return sampler


def _batch(db: Database, round_: int, t: int, lines_of: Callable[[int], list[tuple[str, str, int]]]) -> list[Any]:
    """Thread t's batch: buyers t·BATCH … t·BATCH + BATCH − 1 through `holds.run_calls`, each
    answered ("reserved" or the problem's slug, and its lines)."""
    buyers = range(t * BATCH, (t + 1) * BATCH)
    calls = [
        holds.ReserveCall(
            Command(API_KEY_ID, f"k{round_}-{i}", "POST", "/api/v1/reservations", f"{round_}-{i}".encode()),
            f"r{round_}-{i}", [Line(*x) for x in lines_of(i)],
        )
        for i in buyers
    ]
    results = holds.run_calls(db, calls)
    return [
        ("reserved" if isinstance(r, Outcome) and r.status_code == 201
         else r.slug if isinstance(r, Problem) else f"error {r!r}", lines_of(i))
        for i, r in zip(buyers, results, strict=True)
    ]


def _outcome(db: Database, work: Callable[[Any], Any]) -> Any:
    try:
        return db.transaction(work)
    except Problem as exc:
        return exc.slug
    except Exception as exc:  # a deadlock or anything else escaping would show here
        return f"error {type(exc).__name__}: {exc}"


def _position(db: Database, sku: str, code: str = "WH-BER") -> tuple[int, int]:
    with db.read() as s:
        row = s.execute(
            select(P.on_hand, P.reserved).join(Location, Location.id == P.location_id).where(
                P.sku == sku, Location.code == code
            )
        ).one()
    return row.on_hand, row.reserved


@pytest.mark.parametrize("batches", [False, True], ids=["alone", "batched"])
def test_fifty_buyers_five_units_exactly_five_win(pool: Database, batches: bool) -> None:
    def attempt(round_: int, i: int) -> Any:
        if batches:
            return [kind for kind, _ in _batch(pool, round_, i, lambda _: [("HOT-A", "WH-BER", 1)])]
        result = _outcome(pool, lambda s: service.reserve(s, f"r{round_}-{i}", [("HOT-A", "WH-BER", 1)]))
        return "reserved" if isinstance(result, list) else result

    def check(round_: int, outcomes: list[Any]) -> None:
        assert Counter(outcomes) == Counter({"reserved": 5, "out-of-stock": 45}), f"round {round_}"
        assert _position(pool, "HOT-A") == (5, 5), f"round {round_}"
        with pool.read() as s:
            assert s.execute(select(func.sum(InventoryReservation.open_quantity))).scalar_one() == 5

    sampler = _rounds(pool, attempt, check, batches)
    assert sampler.lowest == 0
    assert sampler.reads > 0


@pytest.mark.parametrize("batches", [False, True], ids=["alone", "batched"])
def test_multi_line_orders_sharing_skus_never_over_reserve(pool: Database, batches: bool) -> None:
    rng = random.Random(20261126)
    plans = [
        [
            [(sku, rng.choice(("WH-BER", "WH-HAM")), rng.randint(1, 2))
             for sku in rng.sample(SKUS + SKUS[:1], rng.randint(1, 4))]
            for _ in range(THREADS)
        ]
        for _ in range(ROUNDS)
    ]

    def attempt(round_: int, i: int) -> Any:
        if batches:
            return _batch(pool, round_, i, lambda buyer: plans[round_][buyer])
        lines = plans[round_][i]
        result = _outcome(pool, lambda s: service.reserve(s, f"r{round_}-{i}", lines))
        return ("reserved", lines) if isinstance(result, list) else (result, lines)

    def check(round_: int, outcomes: list[Any]) -> None:
        kinds = Counter(kind for kind, _ in outcomes)
        assert set(kinds) <= {"reserved", "out-of-stock"}, f"round {round_}: {kinds}"
        wanted: Counter[tuple[str, str]] = Counter()
        for kind, lines in outcomes:
            if kind == "reserved":
                for sku, code, quantity in lines:
                    wanted[(sku, code)] += quantity
        r = InventoryReservation
        with pool.read() as s:
            rows = s.execute(
                select(P.sku, Location.code, P.on_hand, P.reserved).join(Location, Location.id == P.location_id)
            ).all()
            held = {
                (sku, code): int(total)
                for sku, code, total in s.execute(
                    select(r.sku, Location.code, func.sum(r.open_quantity))
                    .join(Location, Location.id == r.location_id)
                    .where(r.status == "active")
                    .group_by(r.sku, Location.code)
                )
            }
        for sku, code, on_hand, reserved in rows:
            assert 0 <= reserved <= on_hand == 5, f"round {round_}: {sku}@{code} reserved {reserved}"
            assert reserved == wanted[(sku, code)] == held.get((sku, code), 0), f"round {round_}"
        assert kinds["reserved"] > 0

    sampler = _rounds(pool, attempt, check, batches)
    assert sampler.lowest >= 0


def test_one_record_id_sent_at_once_applies_once(pool: Database) -> None:
    record = {"record_id": str(uuid.UUID(int=42)), "sku": "HOT-A", "location": "WH-BER", "on_hand": 1}
    data = InventoryUpdateIn.model_validate({"mode": "delta", "records": [record]})
    barrier = threading.Barrier(10)

    def send(_: int) -> str:
        barrier.wait()
        result = _outcome(pool, lambda s: stock.update_inventory(s, data))
        return str(result["records"][0]["status"]) if isinstance(result, dict) else str(result)

    with ThreadPoolExecutor(10) as threads:
        outcomes = Counter(threads.map(send, range(10)))
    assert outcomes == Counter({"applied": 1, "duplicate": 9})
    assert _position(pool, "HOT-A") == (6, 0)
    with pool.read() as s:
        assert s.execute(select(func.count()).select_from(InventoryRecord)).scalar_one() == 1
