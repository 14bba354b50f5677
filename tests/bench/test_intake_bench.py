"""`ordino bench intake` end to end on a tiny run: the real server, the raw baseline, the checks.

A correctness test, not a timed one: it asserts the JSON shape and that every order answered 201
is in the database exactly once, never how fast anything was.
"""

from __future__ import annotations

import orjson
from typer.testing import CliRunner

from ordino.bench import bench_app

KEYS = {"scenario", "database", "size", "value", "unit", "baseline", "ratio", "p50_ms", "p99_ms", "checks"}


def test_tiny_intake_run_places_every_order_exactly_once() -> None:
    # when a tiny run places 30 orders from 2 clients against 1 server process on SQLite
    result = CliRunner().invoke(
        bench_app,
        ["intake", "--json", "--size", "30", "--clients", "2", "--workers", "1", "--seconds", "60",
         "--warmup", "0"],
    )
    # then stdout is exactly one JSON object of the DESIGN §8 shape
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, result.stdout
    doc = orjson.loads(lines[0])
    assert set(doc) >= KEYS
    assert (doc["scenario"], doc["database"], doc["unit"], doc["size"]) == ("intake", "sqlite", "orders/s", 30)
    checks = doc["checks"]
    # and every order was placed without error and is in the database exactly once
    assert checks["errors"] == 0
    assert checks["orders_expected"] == 30
    assert checks["orders_in_db"] == checks["orders_expected"] == checks["order_rows"]
    assert checks["items_in_db"] == checks["items_expected"] == 30 * 6
    assert checks["events_in_db"] == 30
    # and the raw baseline placed its 30 the same way
    assert checks["baseline_errors"] == 0
    assert checks["baseline_orders_in_db"] == checks["baseline_orders_expected"] == 30
    assert all(isinstance(doc[k], float) for k in ("value", "baseline", "ratio", "p50_ms", "p99_ms"))
    assert isinstance(checks["client_cpu_pct"], float)
    assert doc["pricing"] == "order"
    # and each order kept the sender's prices and tax lines: no adjustment, a VAT line on each of its 6 items
    assert (checks["adjustments_in_db"], checks["tax_lines_in_db"]) == (0, 30 * 6)
    assert set(doc["cpu_ms_per_order"]) == {"client", "server", "db", "total", "baseline_client", "baseline_db",
                                            "baseline_total"}


def test_tiny_catalog_intake_run_prices_discounts_and_taxes_every_order() -> None:
    # when a tiny run places 20 orders priced by the price books, promotions and tax engine
    result = CliRunner().invoke(
        bench_app,
        ["intake", "--json", "--pricing", "catalog", "--size", "20", "--clients", "2", "--workers", "1",
         "--seconds", "60", "--warmup", "0"],
    )
    # then both sides placed all 20, each with 6 items, 5 promotion adjustments and 6 tax lines
    assert result.exit_code == 0, result.output
    doc = orjson.loads(result.stdout.strip().splitlines()[0])
    assert (doc["scenario"], doc["pricing"], doc["size"]) == ("intake", "catalog", 20)
    checks = doc["checks"]
    assert checks["errors"] == checks["baseline_errors"] == 0
    assert checks["orders_in_db"] == checks["baseline_orders_in_db"] == 20
    assert checks["items_in_db"] == checks["baseline_items_in_db"] == 20 * 6
    assert checks["adjustments_in_db"] == checks["baseline_adjustments_in_db"] == 20 * 5
    assert checks["tax_lines_in_db"] == checks["baseline_tax_lines_in_db"] == 20 * 6


def test_an_unknown_pricing_is_refused_before_anything_runs() -> None:
    # when the pricing is neither order nor catalog
    result = CliRunner().invoke(bench_app, ["intake", "--json", "--pricing", "quote", "--size", "1"])
    # then the command stops with a usage error naming the option, and prints no result
    assert result.exit_code == 2
    assert "Invalid value for --pricing: one of order, catalog" in result.stderr
    assert result.stdout == ""
