"""`ordino bench order-to-cash` end to end on a tiny run: orders placed and shipped through the
API, routed, invoiced and captured by a worker process, the raw writes of the same rows after.

A correctness test, not a timed one: it asserts the JSON shape and the checks, never speed.
"""

from __future__ import annotations

import os

import orjson
import pytest
from typer.testing import CliRunner

from ordino.bench import bench_app

PG_URL = os.environ.get("ORDINO_TEST_DATABASE_URL")


def test_order_to_cash_needs_postgres() -> None:
    # when the scenario is asked for on SQLite
    result = CliRunner().invoke(bench_app, ["order-to-cash", "--json"])
    # then it refuses, printing no result
    assert result.exit_code == 2
    assert result.stdout == ""


@pytest.mark.skipif(not PG_URL, reason="needs ORDINO_TEST_DATABASE_URL")
def test_tiny_run_takes_every_order_through_order_to_cash_once() -> None:
    assert PG_URL is not None
    # when one client places about two orders a second for two seconds, with one worker
    result = CliRunner().invoke(bench_app, [
        "order-to-cash", "--json", "--database-url", PG_URL, "--seconds", "2", "--clients", "1", "--rate", "2",
        "--workers", "1", "--drain-timeout", "300",
    ])
    # then every check passed: each placed order is in the database once, shipped, invoiced and, when
    # paid by card, captured; no errors, no dead letters, no process exceptions; the raw rows written
    assert result.exit_code == 0, result.output
    doc = orjson.loads(result.stdout.strip().splitlines()[-1])
    c = doc["checks"]
    assert (doc["scenario"], doc["database"], doc["workers"]) == ("order-to-cash", "postgresql", 1)
    assert c["orders_placed"] == c["orders_in_db"] == c["orders_through"] == doc["size"] >= 1
    assert (c["errors"], c["dead_letters"], c["process_exceptions"], c["baseline_errors"]) == (0, 0, 0, 0)
    assert c["shipments_posted"] >= doc["size"]
    assert c["baseline_rows"] > 0
    assert doc["latencies"]["placed_to_fulfillment_orders"]["n"] == doc["size"]
    assert doc["latencies"]["shipped_to_invoiced"]["n"] == c["shipments_posted"]
