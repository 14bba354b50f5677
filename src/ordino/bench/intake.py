"""`ordino bench intake`: HTTP order placement against the real server, and its raw baseline.

One run: two fresh databases with the same seed (one for Ordino, one for the raw SQL); the raw
baseline first (C threads, bare driver), then C HTTP clients against `uvicorn ordino.app` in a
subprocess; then every order that was answered 201 is counted in the database.
"""

from __future__ import annotations

import os
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from ordino.bench.baseline import run_baseline
from ordino.bench.client import LoadResult, run_load
from ordino.bench.common import BenchDatabase, CpuMeter, checkpoint, percentile_ms, scratch_databases
from ordino.bench.seed import prepare
from ordino.bench.server import Server
from ordino.bench.workload import LINES

ITEMS_PER_ORDER = LINES + 1  # the product lines and the shipping charge


@dataclass(frozen=True, slots=True)
class IntakeOptions:
    database_url: str | None = None  # None: SQLite in a temporary directory
    size: int = 0  # stop after this many orders (0: run for `seconds`)
    clients: int = 8
    seconds: float = 20.0
    warmup: float = 2.0
    workers: int = 0  # 0: auto_workers()
    accounts: int = 50
    products: int = 1000


def auto_workers(dialect: str) -> int:
    """Server processes that measured best on 2 cores (docs/benchmarks.md): on SQLite one, since
    the write transaction (and the Python work inside it) is serialized across processes anyway;
    on PostgreSQL one per core."""
    return 1 if dialect == "sqlite" else max(1, os.cpu_count() or 1)


def _count_orders(db: BenchDatabase, created: list[str]) -> dict[str, int]:
    """Count rows: each 201 reference must be in order_summary exactly once, with its items."""
    engine = create_engine(db.url)
    try:
        with engine.connect() as conn:
            rows = Counter(
                {r[0]: int(r[1]) for r in conn.execute(
                    text("SELECT external_reference, count(*) FROM order_summary GROUP BY external_reference")
                )}
            )
            items = int(conn.execute(text("SELECT count(*) FROM order_item_summary")).scalar_one())
            events = int(conn.execute(
                text("SELECT count(*) FROM outbox_event WHERE type = 'order.created'")
            ).scalar_one())
    finally:
        engine.dispose()
    expected = set(created)
    return {
        "orders_in_db": sum(1 for ref in expected if rows.get(ref) == 1),
        "orders_expected": len(expected),
        "order_rows": sum(rows.values()),
        "items_in_db": items,
        "items_expected": ITEMS_PER_ORDER * len(expected),
        "events_in_db": events,
    }


def _pg_name(db: BenchDatabase) -> str | None:
    return make_url(db.url).database if db.dialect == "postgresql" else None


def _per_order(cpu_pct: float, rate: float) -> float:
    """CPU milliseconds per order from a percent-of-one-core reading and orders per second."""
    return round(10 * cpu_pct / rate, 3) if rate > 0 else 0.0


def _merge(*results: LoadResult) -> list[str]:
    return [ref for r in results for ref in r.created]


# long: one scenario read top to bottom (seed, raw baseline, Ordino, checks, result), as the other scenarios
def run_intake(opts: IntakeOptions, note: Callable[[str], None] = lambda _: None) -> dict[str, Any]:
    size = opts.size if opts.size > 0 else 1 << 62
    with scratch_databases(opts.database_url, ["app", "raw"]) as dbs:
        app_db, raw_db = dbs["app"], dbs["raw"]
        note(f"migrating and seeding two {app_db.dialect} databases")
        world = prepare(app_db.url, accounts=opts.accounts, products=opts.products)
        raw_world = prepare(raw_db.url, accounts=opts.accounts, products=opts.products)

        checkpoint(raw_db)
        note(f"raw baseline: {opts.clients} threads, {opts.seconds:g} s")
        raw_warm = run_baseline(raw_db, raw_world, threads=opts.clients, seconds=opts.warmup,
                                size=size, prefix="WARM") if opts.warmup > 0 else LoadResult()
        raw = run_baseline(raw_db, raw_world, threads=opts.clients, seconds=opts.seconds, size=size,
                           prefix="RAW", meter=CpuMeter(database=_pg_name(raw_db)))
        raw_cpu = raw.cpu
        raw_checks = _count_orders(raw_db, _merge(raw_warm, raw))

        checkpoint(app_db)
        workers = opts.workers or auto_workers(app_db.dialect)
        note(f"starting uvicorn ordino.app ({workers} process(es))")
        with tempfile.TemporaryDirectory(prefix="ordino-bench-") as logs, Server(
            app_db.url, world.api_key, workers=workers, log_path=Path(logs) / "server.log"
        ) as server:
            warm = run_load(server.port, world, clients=opts.clients, seconds=opts.warmup, size=size,
                            prefix="WARM") if opts.warmup > 0 else LoadResult()
            note(f"ordino: {opts.clients} HTTP clients, {opts.seconds:g} s")
            meter = CpuMeter(server.pids(), database=_pg_name(app_db))
            meter.start()
            load = run_load(server.port, world, clients=opts.clients, seconds=opts.seconds, size=size,
                            prefix="ORD")
            cpu = meter.stop()
            server_log = server.log()
        checks = _count_orders(app_db, _merge(warm, load))

    errors = warm.errors + load.errors
    value = load.rate
    baseline = raw.rate
    result: dict[str, Any] = {
        "scenario": "intake",
        "database": app_db.dialect,
        "size": load.attempts,
        "value": round(value, 1),
        "unit": "orders/s",
        "baseline": round(baseline, 1),
        "ratio": round(value / baseline, 3) if baseline else 0.0,
        "p50_ms": percentile_ms(load.latencies_ns, 50),
        "p99_ms": percentile_ms(load.latencies_ns, 99),
        "checks": {
            "errors": errors,
            **checks,
            **cpu,
            "baseline_errors": raw_warm.errors + raw.errors,
            "baseline_orders_in_db": raw_checks["orders_in_db"],
            "baseline_orders_expected": raw_checks["orders_expected"],
            "baseline_client_cpu_pct": raw_cpu["client_cpu_pct"],
            "baseline_db_cpu_pct": raw_cpu["db_cpu_pct"],
            "baseline_machine_cpu_pct": raw_cpu["machine_cpu_pct"],
            "baseline_other_cpu_pct": raw_cpu["other_cpu_pct"],
        },
        # CPU per order (ms) is steadier than orders/s when other programs share the machine
        "cpu_ms_per_order": {
            "client": _per_order(cpu["client_cpu_pct"], value),
            "server": _per_order(cpu["server_cpu_pct"], value),
            "db": _per_order(cpu["db_cpu_pct"], value),
            "baseline_client": _per_order(raw_cpu["client_cpu_pct"], baseline),
            "baseline_db": _per_order(raw_cpu["db_cpu_pct"], baseline),
        },
        "baseline_p50_ms": percentile_ms(raw.latencies_ns, 50),
        "baseline_p99_ms": percentile_ms(raw.latencies_ns, 99),
        "clients": opts.clients,
        "workers": workers,
        "seconds": round(load.elapsed, 2),
    }
    samples = warm.error_samples + load.error_samples + raw_warm.error_samples + raw.error_samples
    if samples:
        result["error_samples"] = samples[:5]
        if errors:
            result["server_log_tail"] = server_log[-2000:]
    return result


def passed(result: dict[str, Any]) -> bool:
    c = result["checks"]
    return bool(
        c["errors"] == 0
        and c["orders_in_db"] == c["orders_expected"] == c["order_rows"]
        and c["items_in_db"] == c["items_expected"]
        and c["events_in_db"] == c["orders_expected"]
        and c["baseline_errors"] == 0
        and c["baseline_orders_in_db"] == c["baseline_orders_expected"]
    )
