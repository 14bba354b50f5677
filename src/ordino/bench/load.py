"""Load drivers for the scenarios whose requests are not orders (hot-sku, availability,
inventory-sync): HTTP clients that send the requests a scenario makes and let it judge each
answer, and driver threads that run a scenario's transaction on bare connections.

Both count every attempt as accepted (its tag goes to `created`), refused as it should be (out
of stock: `refused`) or failed (`errors`), and keep one latency per answer. The HTTP side reuses
the intake client's response reader, budget and connection renewal (bench.client).
"""

from __future__ import annotations

import asyncio
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from ordino.bench.baseline import RawConnection
from ordino.bench.client import (
    REQUEST_TIMEOUT,
    REQUESTS_PER_CONNECTION,
    LoadResult,
    _Budget,
    _read_response,
    _runner,
)
from ordino.bench.common import BenchDatabase, CpuMeter, percentile_ms
from ordino.bench.server import Server


@dataclass(slots=True)
class Tally(LoadResult):
    """A LoadResult that also counts the attempts refused as they should be (out of stock)."""

    refused: int = 0

    @property
    def accepted(self) -> int:
        return len(self.created)

    def add(self, other: Tally) -> None:
        """Fold a phase into this one (counts and latencies; the elapsed time is this one's)."""
        self.attempts += other.attempts
        self.created += other.created
        self.refused += other.refused
        self.latencies_ns += other.latencies_ns
        for sample in other.error_samples:
            self.error(sample)
        self.errors += other.errors - len(other.error_samples)


# ------------------------------------------------------------------------------------------------
# HTTP


@contextmanager
def serving(db: BenchDatabase, api_key: str, workers: int) -> Iterator[Server]:
    """The real server on `db` for the block, logging to a temporary file."""
    with tempfile.TemporaryDirectory(prefix="ordino-bench-") as logs, Server(
        db.url, api_key, workers=workers, log_path=Path(logs) / "server.log"
    ) as server:
        yield server


@dataclass(frozen=True, slots=True)
class Call:
    """One request of a scenario; `tag` names it in `created` and in error samples."""

    method: str
    path: str
    body: bytes
    tag: str
    headers: tuple[tuple[str, str], ...] = ()

    def encode(self, port: int, api_key: str) -> bytes:
        head = [f"{self.method} {self.path} HTTP/1.1", f"Host: 127.0.0.1:{port}",
                f"Authorization: Bearer {api_key}", "Content-Type: application/json",
                f"Content-Length: {len(self.body)}", *(f"{k}: {v}" for k, v in self.headers)]
        return ("\r\n".join(head) + "\r\n\r\n").encode() + self.body


# The scenario's view of an answer: True accepted, False refused as it should be, None an error.
Judge = Callable[[Call, int, bytes], bool | None]
MakeCall = Callable[[int, int], Call]  # (client index, attempt number) -> the request


class _Connection:
    """A keep-alive connection, opened on first use and renewed every `renew` requests."""

    def __init__(self, port: int, renew: int) -> None:
        self.port = port
        self.renew = renew
        self.streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        self.served = 0

    async def exchange(self, request: bytes) -> tuple[int, bytes]:
        if self.streams is None:
            self.streams = await asyncio.open_connection("127.0.0.1", self.port)
            self.served = 0
        reader, writer = self.streams
        writer.write(request)
        answer = await _read_response(reader)
        self.served += 1
        if self.served >= self.renew:
            self.close()
        return answer

    def close(self) -> None:
        if self.streams is not None:
            self.streams[1].close()
            self.streams = None


async def _http_client(
    index: int, port: int, api_key: str, make: MakeCall, judge: Judge, budget: _Budget, tally: Tally, renew: int
) -> float:
    connection = _Connection(port, renew)
    finished = time.perf_counter()
    while (n := budget.take()) is not None:
        call = make(index, n)
        request = call.encode(port, api_key)
        tally.attempts += 1
        started = time.perf_counter_ns()
        try:
            async with asyncio.timeout(REQUEST_TIMEOUT):
                status, body = await connection.exchange(request)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError) as exc:
            tally.error(f"{call.tag}: {type(exc).__name__}: {exc}")
            connection.close()
            await asyncio.sleep(0.05)
            continue
        tally.latencies_ns.append(time.perf_counter_ns() - started)
        finished = time.perf_counter()
        verdict = judge(call, status, body)
        if verdict:
            tally.created.append(call.tag)
        elif verdict is None:
            tally.error(f"{call.tag}: HTTP {status}: {body[:300]!r}")
        else:
            tally.refused += 1
    connection.close()
    return finished


def run_http(
    port: int, api_key: str, make: MakeCall, judge: Judge, *, clients: int, seconds: float, size: int,
    meter: CpuMeter | None = None, renew: int = REQUESTS_PER_CONNECTION,
) -> Tally:
    """`clients` concurrent connections send `make(client, n)` back to back for `seconds` or until
    `size` attempts; `meter`, if given, measures exactly that time (its reading: `tally.cpu`).
    Connections are renewed every `renew` requests (bench.client says why); big requests want a
    small number, or a few connections stay with one server process for the whole run."""

    async def load() -> Tally:
        tally = Tally()
        if meter is not None:
            meter.start()
        budget = _Budget(seconds, size)
        started = time.perf_counter()
        ends = await asyncio.gather(
            *(_http_client(i, port, api_key, make, judge, budget, tally, renew) for i in range(clients))
        )
        if meter is not None:
            tally.cpu = meter.stop()
        tally.elapsed = max(ends) - started
        return tally

    return cast(Tally, _runner()(load()))


# ------------------------------------------------------------------------------------------------
# Driver threads


# One attempt on a thread's connection: True accepted, False refused; raising counts as an error
# (the transaction is rolled back). (connection, thread index, attempt number)
Operation = Callable[[RawConnection, int, int], bool]


@dataclass(slots=True)
class _Start:
    """What the threads share: the attempt counter and the deadline, set once all are connected."""

    size: int
    seconds: float
    lock: threading.Lock = field(default_factory=threading.Lock)
    issued: int = 0
    deadline: float = float("inf")
    failed: list[BaseException] = field(default_factory=list)  # a connection that could not be opened

    def take(self) -> int | None:
        with self.lock:
            if self.issued >= self.size or time.perf_counter() >= self.deadline:
                return None
            self.issued += 1
            return self.issued


def _thread(
    index: int, db: BenchDatabase, op: Operation, write: bool, start: _Start, tally: Tally,
    gates: tuple[threading.Barrier, threading.Barrier], ends: list[float],
    setup: Callable[[RawConnection], None] | None,
) -> None:
    ready, done = gates
    mine = Tally()
    finished = 0.0
    try:
        conn = RawConnection(db)
        if setup is not None:
            setup(conn)
    except Exception as exc:
        start.failed.append(exc)
        ready.abort()
        return
    try:
        ready.wait()
        while (n := start.take()) is not None:
            t0 = time.perf_counter_ns()
            try:
                if write:
                    conn.begin()
                ok = op(conn, index, n)
                if write:
                    conn.commit()
                else:
                    conn.rollback()  # ends the read (PostgreSQL); SQLite reads without BEGIN
            except Exception as exc:
                conn.rollback()
                mine.error(f"{index}/{n}: {type(exc).__name__}: {exc}")
                continue
            mine.latencies_ns.append(time.perf_counter_ns() - t0)
            finished = time.perf_counter()
            if ok:
                mine.created.append(f"{index}/{n}")
            else:
                mine.refused += 1
        done.wait()  # connections stay open until the meter has read the database's processes
    except threading.BrokenBarrierError:
        pass  # another thread could not connect: the caller says why
    finally:
        conn.close()
        mine.attempts = len(mine.latencies_ns) + mine.errors
        with start.lock:
            tally.add(mine)
            ends.append(finished)


def run_threads(
    db: BenchDatabase, op: Operation, *, threads: int, seconds: float, size: int, write: bool = True,
    meter: CpuMeter | None = None, setup: Callable[[RawConnection], None] | None = None,
) -> Tally:
    """`threads` threads, each with its own driver connection (after `setup`), run `op` in a
    transaction of its own (SQLite: BEGIN IMMEDIATE when `write`) for `seconds` or `size` attempts.
    The clock and `meter` start once every connection is open."""
    tally = Tally()
    start = _Start(size, seconds)
    ends: list[float] = []

    def stop_meter() -> None:
        if meter is not None:
            tally.cpu = meter.stop()

    gates = (threading.Barrier(threads + 1), threading.Barrier(threads + 1, action=stop_meter))
    pool = [
        threading.Thread(target=_thread, args=(i, db, op, write, start, tally, gates, ends, setup), name=f"raw-{i}")
        for i in range(threads)
    ]
    for t in pool:
        t.start()
    began = time.perf_counter()
    try:
        gates[0].wait()
        if meter is not None:
            meter.start()
        began = time.perf_counter()
        start.deadline = began + seconds
        gates[1].wait()
    except threading.BrokenBarrierError:
        gates[1].abort()
        for t in pool:
            t.join()
        if start.failed:
            raise RuntimeError(f"could not open {threads} connections: {start.failed[0]}") from start.failed[0]
        raise
    finally:
        for t in pool:
            t.join()
    tally.elapsed = max([e for e in ends if e] or [began]) - began
    return tally


# ------------------------------------------------------------------------------------------------
# The result document (DESIGN §8)


def per_unit_ms(cpu_pct: float, rate: float) -> float:
    """CPU milliseconds per unit of work from a percent-of-one-core reading and units per second."""
    return round(10 * cpu_pct / rate, 3) if rate > 0 else 0.0


def cpu_per_unit(cpu: dict[str, Any], rate: float, prefix: str = "", *, server: bool = True) -> dict[str, float]:
    """CPU ms per unit of work of one timed phase by process group, and in all. A phase without a
    server (driver threads) has its application work in `client`."""
    groups = ("client", "server", "db") if server else ("client", "db")
    each = {k: per_unit_ms(cpu.get(f"{k}_cpu_pct", 0.0), rate) for k in groups}
    return {**{f"{prefix}{k}": v for k, v in each.items()}, f"{prefix}total": round(sum(each.values()), 3)}


def result_doc(
    scenario: str, database: str, unit: str, *, value: float, baseline: float, ordino: Tally, raw: Tally,
    size: int, checks: dict[str, Any],
) -> dict[str, Any]:
    """The JSON object every scenario prints, with the CPU of both timed phases per unit of work."""
    cpu, raw_cpu = ordino.cpu, raw.cpu
    return {
        "scenario": scenario,
        "database": database,
        "size": size,
        "value": round(value, 1),
        "unit": unit,
        "baseline": round(baseline, 1),
        "ratio": round(value / baseline, 3) if baseline else 0.0,
        "p50_ms": percentile_ms(ordino.latencies_ns, 50),
        "p99_ms": percentile_ms(ordino.latencies_ns, 99),
        "checks": {
            **checks,
            **cpu,
            **{f"baseline_{k}": raw_cpu[k] for k in ("client_cpu_pct", "db_cpu_pct", "machine_cpu_pct",
                                                      "other_cpu_pct") if k in raw_cpu},
        },
        "cpu_ms_per_unit": {**cpu_per_unit(cpu, value), **cpu_per_unit(raw_cpu, baseline, "baseline_", server=False)},
        "baseline_p50_ms": percentile_ms(raw.latencies_ns, 50),
        "baseline_p99_ms": percentile_ms(raw.latencies_ns, 99),
        "seconds": round(ordino.elapsed, 2),
    }


def error_samples(*tallies: Tally) -> list[str]:
    return [s for t in tallies for s in t.error_samples][:5]
