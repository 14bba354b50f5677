"""`ordino bench servicing` end to end on a tiny run: orders placed and shipped through the real
flows, cancels and returns through the use case and by hand, the invariants counted after.

A correctness test, not a timed one: it asserts the JSON shape and the invariants, never speed.
"""

from __future__ import annotations

import os

import orjson
import pytest
from typer.testing import CliRunner

from ordino.bench import bench_app

PG_URL = os.environ.get("ORDINO_TEST_DATABASE_URL")
needs_pg = pytest.mark.skipif(not PG_URL, reason="needs ORDINO_TEST_DATABASE_URL")
DATABASES = [pytest.param(None, "sqlite", id="sqlite"),
             pytest.param(PG_URL, "postgresql", id="postgresql", marks=needs_pg)]
KEYS = {"scenario", "database", "size", "value", "unit", "baseline", "ratio", "p50_ms", "p99_ms", "checks", "returns"}


@pytest.mark.parametrize(("url", "dialect"), DATABASES)
def test_tiny_servicing_run_credits_every_change_order_once_and_breaks_no_bucket(url: str | None,
                                                                                 dialect: str) -> None:
    # when a tiny run services 20 cancels and 20 returns from 2 threads on each side
    result = CliRunner().invoke(
        bench_app, ["servicing", "--json", "--orders", "10", "--clients", "2", "--size", "20", "--seconds", "60",
                    "--warmup", "0", *(["--database-url", url] if url else [])],
    )
    # then stdout is exactly one JSON object of the scenario shape
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, result.stdout
    doc = orjson.loads(lines[0])
    assert set(doc) >= KEYS
    assert (doc["scenario"], doc["database"], doc["unit"], doc["size"]) == ("servicing", dialect, "cancels/s", 20)
    assert (doc["returns"]["unit"], doc["returns"]["size"]) == ("returns/s", 20)
    assert all(isinstance(doc[k], float) for k in ("value", "baseline", "ratio", "p50_ms", "p99_ms"))
    c = doc["checks"]
    for p in ("", "baseline_"):
        # and both sides accepted every attempt without error
        assert (c[f"{p}errors"], c[f"{p}return_errors"]) == (0, 0)
        assert (c[f"{p}cancels_accepted"], c[f"{p}returns_accepted"]) == (20, 20)
        # and wrote one change order per unit, each credited by exactly one credit memo
        assert (c[f"{p}cancel_change_orders"], c[f"{p}return_change_orders"], c[f"{p}credit_memos"]) == (20, 20, 40)
        assert c[f"{p}change_orders_without_one_credit_memo"] == 0
        assert (c[f"{p}cancelled_units"], c[f"{p}returned_units"]) == (20, 20)
        # and no bucket went negative, nothing was cancelled beyond what was ordered
        assert (c[f"{p}negative_buckets"], c[f"{p}over_cancelled"]) == (0, 0)
