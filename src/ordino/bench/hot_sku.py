"""`ordino bench hot-sku`: C clients (64) reserve one unit each of one SKU at one location.

PostgreSQL only: what it measures is many transactions on one row, and SQLite has one writer.

Three variants, each on a fresh database seeded alike (SKU-00001 with `--stock` units and
SKU-00002 with `--contended-stock` units, both with a safety stock of 10, at LOC-001):

- **ordino**: `POST /api/v1/reservations` against the real server, one line of quantity 1, a
  timed hold (`expires_in_seconds`) and an `Idempotency-Key`: the cart hold of a web shop or a
  B2B portal, and the inventory engine's own entry point (`inventory.service.reserve`; intake with
  channel sourcing runs the same conditional statement on the same row);
- **baseline**: the bare conditional statement, `UPDATE … SET reserved = reserved + 1 WHERE …
  AND on_hand - reserved - safety_stock >= 1`, one transaction each, C driver threads;
- **naive**: `SELECT … FOR UPDATE`, check in the client, `UPDATE`, in one transaction (what
  Medusa and Saleor do), C driver threads.

Each variant has a timed phase on SKU-00001 (stock that does not run out) and a contention phase
on SKU-00002: 2 × stock attempts, while a watcher reads the row's availability every millisecond.
Checks: nothing oversold, exactly `stock` accepted and the rest refused as out of stock,
availability 0 at the end and never seen below 0, `reserved` equal to what was accepted, and for
Ordino one reservation row per accepted reference.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import orjson
import psycopg

from ordino.bench.baseline import RawConnection
from ordino.bench.common import BenchDatabase, CpuMeter, checkpoint, percentile_ms, scratch_databases
from ordino.bench.intake import auto_workers
from ordino.bench.load import (
    Call,
    Operation,
    Tally,
    cpu_per_unit,
    error_samples,
    result_doc,
    run_http,
    run_threads,
    serving,
)
from ordino.bench.stockroom import Stockroom, prepare_stockroom, put_position

SAFETY_STOCK = 10
HOLD_SECONDS = 3600
PATH = "/api/v1/reservations"
VARIANTS = {"": "ordino", "baseline_": "baseline", "naive_": "naive"}  # checks prefix -> database

_RESERVE = (
    "UPDATE inventory_position SET reserved = reserved + 1, version = version + 1, updated_at = now()"
    " WHERE sku = %s AND location_id = %s AND on_hand - reserved - safety_stock >= 1"
)
_LOCK = "SELECT on_hand, reserved, safety_stock FROM inventory_position WHERE sku = %s AND location_id = %s FOR UPDATE"
_TAKE = (
    "UPDATE inventory_position SET reserved = reserved + 1, version = version + 1, updated_at = now()"
    " WHERE sku = %s AND location_id = %s"
)
_AVAILABLE = "SELECT on_hand - reserved - safety_stock FROM inventory_position WHERE sku = %s AND location_id = %s"


class NeedsPostgres(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class HotSkuOptions:
    database_url: str | None
    clients: int = 64
    seconds: float = 20.0
    warmup: float = 2.0
    size: int = 0  # stop the timed phase after this many attempts (0: run for `seconds`)
    stock: int = 1_000_000  # of the timed SKU: must not run out
    contended_stock: int = 1_000  # of the contention phase's SKU; demand is twice that
    workers: int = 0


# ------------------------------------------------------------------------------------------------
# The three ways to reserve: a Drive runs a phase of attempts on one SKU

Drive = Callable[[str, str, float, int, CpuMeter | None], Tally]  # (sku, prefix, seconds, size, meter)


def conditional(location_id: uuid.UUID) -> Callable[[str], Operation]:
    def for_sku(sku: str) -> Operation:
        def op(conn: RawConnection, _thread: int, _n: int) -> bool:
            cur = cast(Any, conn.cursor)
            cur.execute(_RESERVE, (sku, location_id))
            return bool(cur.rowcount == 1)

        return op

    return for_sku


def naive(location_id: uuid.UUID) -> Callable[[str], Operation]:
    def for_sku(sku: str) -> Operation:
        def op(conn: RawConnection, _thread: int, _n: int) -> bool:
            cur = cast(Any, conn.cursor)
            cur.execute(_LOCK, (sku, location_id))
            on_hand, reserved, safety_stock = cur.fetchone()
            if on_hand - reserved - safety_stock < 1:
                return False
            cur.execute(_TAKE, (sku, location_id))
            return True

        return op

    return for_sku


def threads_drive(db: BenchDatabase, make_op: Callable[[str], Operation], threads: int) -> Drive:
    def drive(sku: str, _prefix: str, seconds: float, size: int, meter: CpuMeter | None) -> Tally:
        return run_threads(db, make_op(sku), threads=threads, seconds=seconds, size=size, meter=meter)

    return drive


def judge(_call: Call, status: int, body: bytes) -> bool | None:
    if status == 201:
        return True
    if status == 409 and b"out-of-stock" in body:
        return False
    return None


def http_drive(port: int, room: Stockroom, clients: int) -> Drive:
    location = room.locations[0]

    def drive(sku: str, prefix: str, seconds: float, size: int, meter: CpuMeter | None) -> Tally:
        def make(_client: int, n: int) -> Call:
            reference = f"{prefix}-{n:08d}"
            body = orjson.dumps({"reference": reference, "expires_in_seconds": HOLD_SECONDS,
                                 "lines": [{"sku": sku, "location": location, "quantity": 1}]})
            return Call("POST", PATH, body, reference, (("Idempotency-Key", str(uuid.uuid4())),))

        return run_http(port, room.api_key, make, judge, clients=clients, seconds=seconds, size=size, meter=meter)

    return drive


# ------------------------------------------------------------------------------------------------
# Watching and counting


class Watcher:
    """Reads a position's availability (committed) every millisecond from its own connection."""

    def __init__(self, db: BenchDatabase, sku: str, location_id: uuid.UUID) -> None:
        self.args = (sku, location_id)
        self.conninfo = db.libpq_conninfo
        self.lowest: int | None = None
        self.reads = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="watcher")

    def _run(self) -> None:
        with psycopg.connect(self.conninfo, autocommit=True) as conn:
            while not self._stop.wait(0.001):
                row = conn.execute(_AVAILABLE, self.args).fetchone()
                assert row is not None
                self.reads += 1
                self.lowest = row[0] if self.lowest is None else min(self.lowest, row[0])

    def __enter__(self) -> Watcher:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def position(db: BenchDatabase, sku: str, location_id: uuid.UUID) -> dict[str, Any]:
    """The position's counters and its reservation rows (references, units)."""
    with psycopg.connect(db.libpq_conninfo, autocommit=True) as conn:
        on_hand, reserved, safety_stock = cast(tuple[int, int, int], conn.execute(
            "SELECT on_hand, reserved, safety_stock FROM inventory_position WHERE sku = %s AND location_id = %s",
            (sku, location_id),
        ).fetchone())
        refs = [r[0] for r in conn.execute(
            "SELECT reference FROM inventory_reservation WHERE sku = %s AND location_id = %s",
            (sku, location_id),
        )]
        units = conn.execute(
            "SELECT coalesce(sum(quantity), 0) FROM inventory_reservation WHERE sku = %s AND location_id = %s",
            (sku, location_id),
        ).fetchone()
    return {"on_hand": on_hand, "reserved": reserved, "available": on_hand - reserved - safety_stock,
            "references": refs, "units": int(units[0]) if units else 0}


# ------------------------------------------------------------------------------------------------
# One variant: warm-up and timed phase on the hot SKU, then the contention phase


def _variant(
    prefix: str, db: BenchDatabase, room: Stockroom, drive: Drive, opts: HotSkuOptions, meter: CpuMeter,
    rows: bool,
) -> tuple[Tally, Tally, dict[str, Any]]:
    """(warm-up and timed phase together, timed phase alone, checks named with `prefix`)."""
    hot, contended = room.skus[0], room.skus[1]
    location_id = room.location_ids[0]
    size = opts.size or 1 << 62
    everything = drive(hot, "WARM", opts.warmup, size, None) if opts.warmup > 0 else Tally()
    timed = drive(hot, "HOT", opts.seconds, size, meter)
    everything.add(timed)
    attempts = 2 * opts.contended_stock
    with Watcher(db, contended, location_id) as watcher:
        race = drive(contended, "RACE", float("inf"), attempts, None)
    hot_pos, race_pos = position(db, hot, location_id), position(db, contended, location_id)
    checks: dict[str, Any] = {
        "errors": everything.errors + race.errors,
        "refused": everything.refused,  # the timed SKU must not run out
        "accepted": everything.accepted,
        "reserved": hot_pos["reserved"],
        "oversold": max(0, race.accepted - opts.contended_stock) + max(0, -race_pos["available"])
        + max(0, -hot_pos["available"]),
        "contended_stock": opts.contended_stock,
        "contended_attempts": race.attempts,
        "contended_accepted": race.accepted,
        "contended_refused": race.refused,
        "contended_reserved": race_pos["reserved"],
        "contended_available_after": race_pos["available"],
        "min_available_seen": watcher.lowest,
        "availability_reads": watcher.reads,
    }
    if rows:  # Ordino writes a reservation row per accepted reference
        accepted = set(everything.created) | set(race.created)
        refs = hot_pos["references"] + race_pos["references"]
        checks["reservation_rows"] = len(refs)
        checks["reservation_units"] = hot_pos["units"] + race_pos["units"]
        checks["reservations_match"] = len(set(refs)) == len(refs) and set(refs) == accepted
    checks = {f"{prefix}{k}": v for k, v in checks.items()}
    everything.error_samples += race.error_samples
    return everything, timed, checks


def run_hot_sku(opts: HotSkuOptions, note: Callable[[str], None] = lambda _: None) -> dict[str, Any]:
    if opts.database_url is None or not opts.database_url.startswith("postgresql"):
        raise NeedsPostgres(
            "hot-sku needs PostgreSQL (--database-url postgresql+psycopg://…): it measures many concurrent"
            " transactions on one row, and SQLite lets one writer in at a time"
        )
    with scratch_databases(opts.database_url, list(VARIANTS.values())) as dbs:
        note("migrating and seeding three PostgreSQL databases")
        rooms = {}
        for name, db in dbs.items():
            room = prepare_stockroom(db, skus=2, locations=1)
            put_position(db, room.skus[0], room.location_ids[0], on_hand=opts.stock + SAFETY_STOCK,
                         safety_stock=SAFETY_STOCK)
            put_position(db, room.skus[1], room.location_ids[0], on_hand=opts.contended_stock + SAFETY_STOCK,
                         safety_stock=SAFETY_STOCK)
            rooms[name] = room
        results: dict[str, tuple[Tally, Tally, dict[str, Any]]] = {}
        for prefix, make_op in (("baseline_", conditional), ("naive_", naive)):
            name = VARIANTS[prefix]
            db = dbs[name]
            checkpoint(db)
            note(f"{name}: {opts.clients} threads, {opts.seconds:g} s, then {2 * opts.contended_stock} contended")
            drive = threads_drive(db, make_op(rooms[name].location_ids[0]), opts.clients)
            results[prefix] = _variant(prefix, db, rooms[name], drive, opts, CpuMeter(database=db.pg_name), rows=False)
        db, room = dbs["ordino"], rooms["ordino"]
        checkpoint(db)
        workers = opts.workers or auto_workers(db.dialect)
        note(f"ordino: uvicorn with {workers} process(es), {opts.clients} clients, {opts.seconds:g} s")
        with serving(db, room.api_key, workers) as server:
            meter = CpuMeter(server.pids(), database=db.pg_name)
            results[""] = _variant("", db, room, http_drive(server.port, room, opts.clients), opts, meter, rows=True)
            server_log = server.log()

    _, timed, checks = results[""]
    _, raw, raw_checks = results["baseline_"]
    _, naive_timed, naive_checks = results["naive_"]
    result = result_doc(
        "hot-sku", "postgresql", "reservations/s", value=timed.accepted / timed.elapsed if timed.elapsed else 0.0,
        baseline=raw.accepted / raw.elapsed if raw.elapsed else 0.0, ordino=timed, raw=raw, size=timed.attempts,
        checks={**checks, **raw_checks, **naive_checks},
    )
    naive_rate = naive_timed.accepted / naive_timed.elapsed if naive_timed.elapsed else 0.0
    result["cpu_ms_per_unit"].update(cpu_per_unit(naive_timed.cpu, naive_rate, "naive_", server=False))
    result.update({
        "naive": round(naive_rate, 1),
        "naive_ratio": round(naive_rate / result["baseline"], 3) if result["baseline"] else 0.0,
        "naive_p50_ms": percentile_ms(naive_timed.latencies_ns, 50),
        "naive_p99_ms": percentile_ms(naive_timed.latencies_ns, 99),
        "clients": opts.clients,
        "workers": workers,
        "stock": opts.stock,
    })
    samples = error_samples(*(r[0] for r in results.values()))
    if samples:
        result["error_samples"] = samples
        result["server_log_tail"] = server_log[-2000:]
    return result


def passed(result: dict[str, Any]) -> bool:
    c = result["checks"]
    for p in VARIANTS:
        if not (
            c[f"{p}errors"] == 0
            and c[f"{p}refused"] == 0
            and c[f"{p}oversold"] == 0
            and c[f"{p}reserved"] == c[f"{p}accepted"]
            and c[f"{p}contended_accepted"] == c[f"{p}contended_stock"] == c[f"{p}contended_reserved"]
            and c[f"{p}contended_refused"] == c[f"{p}contended_attempts"] - c[f"{p}contended_stock"]
            and c[f"{p}contended_available_after"] == 0
            and (c[f"{p}min_available_seen"] is None or c[f"{p}min_available_seen"] >= 0)
        ):
            return False
    held = c["accepted"] + c["contended_accepted"]
    return bool(c["reservations_match"] and c["reservation_units"] == c["reservation_rows"] == held)
