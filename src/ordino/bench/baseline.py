"""The raw baseline: Ordino's intake SQL from C threads with the bare driver, one transaction per
order, no Ordino code on the path (see raw_sql.py and, for catalog pricing, raw_catalog.py)."""

from __future__ import annotations

import sqlite3
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import psycopg

from ordino.bench.client import LoadResult
from ordino.bench.common import BenchDatabase, CpuMeter
from ordino.bench.raw_catalog import place_catalog_order
from ordino.bench.raw_sql import DIALECTS, Cursor, place_order
from ordino.bench.seed import World
from ordino.bench.workload import OrderSource

_SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA busy_timeout=30000",
    "PRAGMA foreign_keys=ON",
    "PRAGMA synchronous=NORMAL",
)


class RawConnection:
    """One driver connection with begin / commit / rollback, the same on both databases."""

    def __init__(self, db: BenchDatabase) -> None:
        self.dialect = DIALECTS[db.dialect]
        self._sqlite: sqlite3.Connection | None = None
        self._pg: psycopg.Connection[Any] | None = None
        if db.dialect == "sqlite":
            # the same settings as Ordino's engine (kernel.db): WAL, busy timeout, BEGIN IMMEDIATE
            self._sqlite = sqlite3.connect(db.sqlite_path, timeout=30, isolation_level=None,
                                           check_same_thread=False)
            for pragma in _SQLITE_PRAGMAS:
                self._sqlite.execute(pragma)
            self.cursor: Cursor = self._sqlite.cursor()
        else:
            self._pg = psycopg.connect(db.libpq_conninfo, autocommit=False)
            self.cursor = self._pg.cursor()

    def begin(self) -> None:
        if self._sqlite is not None:
            self.cursor.execute("BEGIN IMMEDIATE")
        # psycopg opens the transaction with the first statement

    def commit(self) -> None:
        if self._sqlite is not None:
            self.cursor.execute("COMMIT")
        else:
            assert self._pg is not None
            self._pg.commit()

    def rollback(self) -> None:
        if self._sqlite is not None:
            if self._sqlite.in_transaction:
                self.cursor.execute("ROLLBACK")
        else:
            assert self._pg is not None
            self._pg.rollback()

    def close(self) -> None:
        if self._sqlite is not None:
            self._sqlite.close()
        if self._pg is not None:
            self._pg.close()


def _worker(
    index: int,
    db: BenchDatabase,
    world: World,
    prefix: str,
    take: Callable[[], int | None],
    result: LoadResult,
    lock: threading.Lock,
    ready: threading.Barrier,
    done: threading.Barrier,
) -> float:
    source = OrderSource(world, f"{prefix}{index:02d}", seed=index * 7919 + 1)
    place = place_catalog_order if world.pricing == "catalog" else place_order
    try:
        conn = RawConnection(db)
    except BaseException:
        ready.abort()  # the run cannot start; let the others (and the caller) know
        raise
    latencies: list[int] = []
    created: list[str] = []
    errors: list[str] = []
    finished = 0.0
    try:
        ready.wait()
        while (n := take()) is not None:
            spec = source.make(n)
            started = time.perf_counter_ns()
            try:
                conn.begin()
                place(conn.cursor, conn.dialect, spec, channel=world.channel,
                      api_key_id=world.api_key_id, key=str(uuid.uuid4()))
                conn.commit()
            except Exception as exc:
                conn.rollback()
                errors.append(f"{spec.external_reference}: {type(exc).__name__}: {exc}")
                continue
            latencies.append(time.perf_counter_ns() - started)
            created.append(spec.external_reference)
            finished = time.perf_counter()
        done.wait()  # the connections stay open until the CPU meter has read the backends
    finally:
        conn.close()
        with lock:
            result.attempts += len(latencies) + len(errors)
            result.latencies_ns.extend(latencies)
            result.created.extend(created)
            for e in errors:
                result.error(e)
    return finished


def run_baseline(
    db: BenchDatabase, world: World, *, threads: int, seconds: float, size: int, prefix: str,
    meter: CpuMeter | None = None,
) -> LoadResult:
    """Place orders with the raw SQL from `threads` threads for `seconds` or until `size` orders.

    `meter`, if given, is started when every connection is open and stopped when the last order
    is done (before the connections close); its reading is in `result.cpu`."""
    result = LoadResult()
    lock = threading.Lock()
    ready = threading.Barrier(threads + 1)

    def finished() -> None:  # runs once all arrived at `done`, before any connection closes
        if meter is not None:
            result.cpu = meter.stop()

    done = threading.Barrier(threads + 1, action=finished)
    issued = 0
    deadline = float("inf")  # set once every connection is open

    def take() -> int | None:
        nonlocal issued
        with lock:
            if issued >= size or time.perf_counter() >= deadline:
                return None
            issued += 1
            return issued

    ends: list[float] = []

    def run(i: int) -> None:
        ends.append(_worker(i, db, world, prefix, take, result, lock, ready, done))

    pool = [threading.Thread(target=run, args=(i,), name=f"raw-{i}") for i in range(threads)]
    for t in pool:
        t.start()
    try:
        ready.wait()  # every connection is open: the clock starts now
        if meter is not None:
            meter.start()
        started = time.perf_counter()
        deadline = started + seconds
        done.wait()
    except threading.BrokenBarrierError:
        done.abort()
        raise
    finally:
        for t in pool:
            t.join()
    result.elapsed = max((e for e in ends if e), default=started) - started
    return result
