"""`ordino bench intake`: HTTP order placement against the real server, and its raw baseline.

`--pricing order` (the default) sends prices with the lines; `--pricing catalog` sends none, so
intake reads the price books, tiers and promotions and runs the tax engine (EU VAT), and writes a
promotion adjustment and a tax line per item too (raw_catalog.py does the same by hand).

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
from ordino.bench.load import cpu_per_unit
from ordino.bench.seed import PRICINGS, prepare
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
    pricing: str = "order"  # one of seed.PRICINGS


def auto_workers(dialect: str) -> int:
    """Server processes that measured best on 2 cores (docs/benchmarks.md): on SQLite one, since
    the write transaction (and the Python work inside it) is serialized across processes anyway;
    on PostgreSQL one per core."""
    return 1 if dialect == "sqlite" else max(1, os.cpu_count() or 1)


def _count_orders(db: BenchDatabase, created: list[str], pricing: str) -> dict[str, int]:
    """Count rows: each 201 reference must be in order_summary exactly once, with its items (and
    with catalog pricing a promotion adjustment per product line and a tax line per item)."""
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
            adjustments = int(conn.execute(text("SELECT count(*) FROM order_item_adjustment_line")).scalar_one())
            taxes = int(conn.execute(text("SELECT count(*) FROM order_item_tax_line")).scalar_one())
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
        "adjustments_in_db": adjustments,
        "adjustments_expected": LINES * len(expected) if pricing == "catalog" else 0,
        "tax_lines_in_db": taxes,
        "tax_lines_expected": ITEMS_PER_ORDER * len(expected),  # the engine's or the sender's, one per item
    }


def _pg_name(db: BenchDatabase) -> str | None:
    return make_url(db.url).database if db.dialect == "postgresql" else None


def _merge(*results: LoadResult) -> list[str]:
    return [ref for r in results for ref in r.created]


# long: one scenario read top to bottom (seed, raw baseline, Ordino, checks, result), as the other scenarios
def run_intake(opts: IntakeOptions, note: Callable[[str], None] = lambda _: None) -> dict[str, Any]:
    if opts.pricing not in PRICINGS:
        raise ValueError(f"pricing must be one of {PRICINGS}, not {opts.pricing!r}")
    size = opts.size if opts.size > 0 else 1 << 62
    with scratch_databases(opts.database_url, ["app", "raw"]) as dbs:
        app_db, raw_db = dbs["app"], dbs["raw"]
        note(f"migrating and seeding two {app_db.dialect} databases ({opts.pricing} pricing)")
        world = prepare(app_db.url, accounts=opts.accounts, products=opts.products, pricing=opts.pricing)
        raw_world = prepare(raw_db.url, accounts=opts.accounts, products=opts.products, pricing=opts.pricing)

        checkpoint(raw_db)
        note(f"raw baseline: {opts.clients} threads, {opts.seconds:g} s")
        raw_warm = run_baseline(raw_db, raw_world, threads=opts.clients, seconds=opts.warmup,
                                size=size, prefix="WARM") if opts.warmup > 0 else LoadResult()
        raw = run_baseline(raw_db, raw_world, threads=opts.clients, seconds=opts.seconds, size=size,
                           prefix="RAW", meter=CpuMeter(database=_pg_name(raw_db)))
        raw_cpu = raw.cpu
        raw_checks = _count_orders(raw_db, _merge(raw_warm, raw), opts.pricing)

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
        checks = _count_orders(app_db, _merge(warm, load), opts.pricing)

    errors = warm.errors + load.errors
    value = load.rate
    baseline = raw.rate
    result: dict[str, Any] = {
        "scenario": "intake",
        "pricing": opts.pricing,
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
            "baseline_items_in_db": raw_checks["items_in_db"],
            "baseline_items_expected": raw_checks["items_expected"],
            "baseline_adjustments_in_db": raw_checks["adjustments_in_db"],
            "baseline_adjustments_expected": raw_checks["adjustments_expected"],
            "baseline_tax_lines_in_db": raw_checks["tax_lines_in_db"],
            "baseline_tax_lines_expected": raw_checks["tax_lines_expected"],
            "baseline_client_cpu_pct": raw_cpu["client_cpu_pct"],
            "baseline_db_cpu_pct": raw_cpu["db_cpu_pct"],
            "baseline_machine_cpu_pct": raw_cpu["machine_cpu_pct"],
            "baseline_other_cpu_pct": raw_cpu["other_cpu_pct"],
        },
        # CPU per order (ms) is steadier than orders/s when other programs share the machine. The
        # raw baseline has no server: its driver threads run in the client (`baseline_client`).
        "cpu_ms_per_order": {**cpu_per_unit(cpu, value), **cpu_per_unit(raw_cpu, baseline, "baseline_", server=False)},
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
        and c["adjustments_in_db"] == c["adjustments_expected"]
        and c["tax_lines_in_db"] == c["tax_lines_expected"]
        and c["baseline_errors"] == 0
        and c["baseline_orders_in_db"] == c["baseline_orders_expected"]
        and c["baseline_items_in_db"] == c["baseline_items_expected"]
        and c["baseline_adjustments_in_db"] == c["baseline_adjustments_expected"]
        and c["baseline_tax_lines_in_db"] == c["baseline_tax_lines_expected"]
    )
