"""`ordino bench hot-sku`, `availability` and `inventory-sync` end to end at a tiny size: the real
server, the raw baselines, the checks.

Correctness tests, not timed ones: they assert the JSON shape and what the checks count (nothing
oversold, answers equal to the database, no position lost), never how fast anything was.
"""

from __future__ import annotations

import os
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner

from ordino.bench import bench_app

KEYS = {"scenario", "database", "size", "value", "unit", "baseline", "ratio", "p50_ms", "p99_ms", "checks"}
PG_URL = os.environ.get("ORDINO_TEST_DATABASE_URL")
needs_pg = pytest.mark.skipif(not PG_URL, reason="needs ORDINO_TEST_DATABASE_URL")
DATABASES = [pytest.param(None, id="sqlite"), pytest.param(PG_URL, id="postgresql", marks=needs_pg)]


def run(*args: str) -> dict[str, Any]:
    result = CliRunner().invoke(bench_app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, result.stdout
    doc: dict[str, Any] = orjson.loads(lines[0])
    assert set(doc) >= KEYS
    assert all(isinstance(doc[k], float) for k in ("value", "baseline", "ratio", "p50_ms", "p99_ms"))
    return doc


def url_args(url: str | None) -> list[str]:
    return ["--database-url", url] if url else []


# ------------------------------------------------------------------------------------------------
# hot-sku


@needs_pg
def test_hot_sku_never_oversells_and_holds_one_reservation_per_accepted_request() -> None:
    assert PG_URL is not None
    # when 8 clients make 40 timed attempts on plenty of stock, then 40 on a stock of 20, for each variant
    doc = run("hot-sku", "--database-url", PG_URL, "--clients", "8", "--size", "40", "--seconds", "60",
              "--warmup", "0", "--stock", "100000", "--contended-stock", "20", "--workers", "1")
    assert (doc["scenario"], doc["database"], doc["unit"], doc["size"]) == ("hot-sku", "postgresql",
                                                                          "reservations/s", 40)
    c = doc["checks"]
    for p in ("", "baseline_", "naive_"):
        # then every timed attempt was accepted and is reserved
        assert (c[f"{p}errors"], c[f"{p}refused"], c[f"{p}accepted"], c[f"{p}reserved"]) == (0, 0, 40, 40)
        # and under contention exactly the stock was accepted, the rest refused, nothing oversold
        assert (c[f"{p}contended_attempts"], c[f"{p}contended_accepted"], c[f"{p}contended_refused"]) == (40, 20, 20)
        assert (c[f"{p}contended_reserved"], c[f"{p}contended_available_after"], c[f"{p}oversold"]) == (20, 0, 0)
        assert c[f"{p}min_available_seen"] is None or c[f"{p}min_available_seen"] >= 0
    # and Ordino holds one reservation row per accepted reference
    assert (c["reservation_rows"], c["reservation_units"], c["reservations_match"]) == (60, 60, True)
    assert isinstance(doc["naive"], float)
    # and the CPU per reservation is reported for each variant, by process group and in all
    assert set(doc["cpu_ms_per_unit"]) == {"client", "server", "db", "total", "baseline_client", "baseline_db",
                                           "baseline_total", "naive_client", "naive_db", "naive_total"}


def test_hot_sku_refuses_sqlite_and_creates_nothing() -> None:
    # when hot-sku is asked to run without a PostgreSQL server
    result = CliRunner().invoke(bench_app, ["hot-sku", "--json"])
    # then it exits 2 with the reason and prints no result
    assert result.exit_code == 2
    assert "hot-sku needs PostgreSQL" in result.output
    assert "{" not in result.stdout


# ------------------------------------------------------------------------------------------------
# availability


@pytest.mark.parametrize("url", DATABASES)
@pytest.mark.parametrize("scope", ["locations", "group"])
def test_availability_answers_equal_the_database(url: str | None, scope: str) -> None:
    # when 2 clients send 40 queries of 5 SKUs over 60 SKUs × 4 locations
    doc = run("availability", *url_args(url), "--skus", "60", "--locations", "4", "--query-skus", "5",
              "--scope", scope, "--clients", "2", "--size", "40", "--seconds", "60", "--warmup", "0",
              "--workers", "1")
    assert (doc["scenario"], doc["unit"], doc["size"]) == ("availability", "requests/s", 40)
    assert doc["database"] == ("postgresql" if url else "sqlite")
    assert (doc["scope"], doc["rows_per_answer"]) == (scope, 20 if scope == "locations" else 5)
    # then every query was answered, and the sampled answers (every 20th) equal the database
    c = doc["checks"]
    assert (c["errors"], c["baseline_errors"], c["positions"]) == (0, 0, 240)
    assert (c["answers_checked"], c["answers_wrong"]) == (2, 0)


# ------------------------------------------------------------------------------------------------
# inventory-sync


@pytest.mark.parametrize("url", DATABASES)
def test_inventory_sync_leaves_every_position_at_the_last_value_sent(url: str | None) -> None:
    # when 2 clients send 8 batches of 50 absolute records for 20 SKUs × 5 locations
    doc = run("inventory-sync", *url_args(url), "--skus", "20", "--locations", "5", "--batch", "50",
              "--clients", "2", "--size", "8", "--seconds", "60", "--warmup", "0", "--workers", "1")
    assert (doc["scenario"], doc["unit"], doc["size"]) == ("inventory-sync", "positions/s", 400)
    assert (doc["batch"], doc["batches"], doc["baseline_batches"]) == (50, 8, 8)
    c = doc["checks"]
    # then each of the 100 positions holds the last value accepted for it, one record row per record
    assert (c["errors"], c["positions_expected"], c["positions_in_db"], c["positions_wrong"]) == (0, 100, 100, 0)
    assert (c["records_accepted"], c["records_in_db"]) == (400, 400)
    # and the first batches sent again are answered as duplicates and change nothing
    assert (c["replayed_batches"], c["replay_errors"]) == (2, 0)
    # and the raw baseline did the same
    assert (c["baseline_errors"], c["baseline_positions_wrong"], c["baseline_replay_applied"]) == (0, 0, 0)
    assert c["baseline_positions_in_db"] == c["baseline_positions_expected"]
    assert (c["baseline_records_accepted"], c["baseline_records_in_db"]) == (400, 400)
