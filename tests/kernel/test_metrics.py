"""Metrics: request latency by route template, outbox gauges read at scrape time, handler counters,
and several processes adding up through PROMETHEUS_MULTIPROC_DIR."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from ordino.app import create_app
from ordino.kernel import clock
from ordino.kernel.db import Database
from ordino.kernel.metrics import REGISTRY, exposition
from ordino.kernel.outbox import OutboxEvent, emit
from ordino.kernel.worker import Dispatcher, Registration
from ordino.settings import Settings
from tests.conftest import api_key
from tests.test_app import sample

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def frozen() -> Iterator[None]:
    clock.set_clock(lambda: NOW)
    yield
    clock.set_clock(None)


def _scrape(db: Database) -> str:
    return exposition(db).decode()


def test_a_request_is_timed_under_its_route_template_not_its_path(db: Database) -> None:
    # given the API with /metrics on
    labels = {"method": "GET", "route": "/api/v1/orders/{order_ref}", "status_class": "4xx"}
    count = "ordino_http_request_duration_seconds_count"
    headers = api_key(db)
    with TestClient(create_app(Settings(database_url=db.url, run_worker=False, metrics=True), db=db)) as c:
        before = c.get("/metrics").text
        # when an order that does not exist is asked for twice
        answers = [c.get(f"/api/v1/orders/ORD-NOPE-{i}", headers=headers).status_code for i in range(2)]
        after = c.get("/metrics").text
    # then both were counted under the route's template, and no order reference became a label
    assert answers == [404, 404]
    assert sample(after, count, **labels) - sample(before, count, **labels) == 2
    assert sample(after, "ordino_http_request_duration_seconds_bucket", **labels, le="+Inf") >= 2
    assert "ORD-NOPE" not in after


def test_outbox_gauges_count_pending_and_dead_events_and_age_the_oldest(db: Database, frozen: None) -> None:
    # given three events: one delivered, one dead-lettered, one pending since two minutes
    ids = db.transaction(lambda s: [emit(s, "thing.happened", f"thing/{i}", {"i": i}) for i in range(3)])
    db.transaction(lambda s: s.execute(update(OutboxEvent).where(OutboxEvent.id == ids[0]).values(dispatched_at=NOW)))
    db.transaction(lambda s: s.execute(update(OutboxEvent).where(OutboxEvent.id == ids[1]).values(
        failed_at=NOW, time=NOW - timedelta(hours=5))))
    db.transaction(lambda s: s.execute(update(OutboxEvent).where(OutboxEvent.id == ids[2]).values(
        time=NOW - timedelta(seconds=120))))
    # when /metrics is scraped
    text = _scrape(db)
    # then the dead letter counts apart, and is not the oldest pending event
    assert sample(text, "ordino_outbox_pending_events") == 1
    assert sample(text, "ordino_outbox_dead_letters") == 1
    assert sample(text, "ordino_outbox_oldest_pending_age_seconds") == 120


def test_an_empty_outbox_has_no_pending_age(db: Database) -> None:
    text = _scrape(db)
    assert (sample(text, "ordino_outbox_pending_events"), sample(text, "ordino_outbox_oldest_pending_age_seconds"),
            sample(text, "ordino_outbox_dead_letters")) == (0, 0, 0)


def _handler_counts(handler: str) -> tuple[float, float]:
    labels = {"handler": handler}
    return (REGISTRY.get_sample_value("ordino_handler_deliveries_total", labels) or 0.0,
            REGISTRY.get_sample_value("ordino_handler_failures_total", labels) or 0.0)


def test_handler_deliveries_and_failures_are_counted_per_handler(db: Database) -> None:
    # given two events, a handler that succeeds and one that fails on the second event
    db.transaction(lambda s: [emit(s, "thing.happened", f"thing/{i}", {"i": i}) for i in range(2)])

    def picky(_session: object, event: object) -> None:
        if getattr(event, "data", {}).get("i") == 1:
            raise RuntimeError("no")

    good, bad = Registration("test.metrics.good", lambda _s, _e: None), Registration("test.metrics.picky", picky)
    before = _handler_counts("test.metrics.good"), _handler_counts("test.metrics.picky")
    # when the worker runs one round
    Dispatcher(db, {"thing.happened": [good, bad]}).run_once()
    after = _handler_counts("test.metrics.good"), _handler_counts("test.metrics.picky")
    # then each handler had both events, and only the picky one failed, once
    assert [(a[0] - b[0], a[1] - b[1]) for a, b in zip(after, before, strict=True)] == [(2, 0), (2, 1)]


_COUNT_IN_ANOTHER_PROCESS = textwrap.dedent("""
    from ordino.kernel.metrics import HANDLER_DELIVERIES, WEBHOOK_DELIVERIES
    HANDLER_DELIVERIES.labels("test.multi").inc(3)
    WEBHOOK_DELIVERIES.labels("https://erp.example/hook", "delivered").inc()
""")

_SCRAPE_IN_THIS_PROCESS = textwrap.dedent("""
    import sys
    from ordino.kernel.db import Database
    from ordino.kernel.metrics import HANDLER_DELIVERIES, exposition
    HANDLER_DELIVERIES.labels("test.multi").inc(2)
    sys.stdout.write(exposition(Database(sys.argv[1])).decode())
""")


def _python(code: str, env: dict[str, str], *args: str) -> str:
    done = subprocess.run([sys.executable, "-c", code, *args], env=env, cwd=ROOT, capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_processes_sharing_a_multiprocess_directory_add_up(db: Database, tmp_path: Path) -> None:
    # given PROMETHEUS_MULTIPROC_DIR shared by two processes
    if db.dialect != "sqlite":
        pytest.skip("the scrape's database does not matter here")
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
           "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    # when one (a worker) counts 3 deliveries and a webhook, and the other counts 2 and is scraped
    _python(_COUNT_IN_ANOTHER_PROCESS, env)
    text = _python(_SCRAPE_IN_THIS_PROCESS, env, db.url)
    # then the scrape answers for both, and the outbox gauges are there too
    assert sample(text, "ordino_handler_deliveries_total", handler="test.multi") == 5
    assert sample(text, "ordino_webhook_deliveries_total", endpoint="https://erp.example/hook",
                  outcome="delivered") == 1
    assert "# TYPE ordino_outbox_pending_events gauge" in text


def test_without_the_database_the_scrape_answers_without_the_outbox_gauges(tmp_path: Path) -> None:
    # given a database that cannot be opened
    gone = Database(f"sqlite:///{tmp_path / 'missing' / 'ordino.db'}")
    # when /metrics is scraped
    text = exposition(gone).decode()
    # then the request metrics are there, the outbox gauges are not
    assert "# TYPE ordino_http_request_duration_seconds histogram" in text
    assert "ordino_outbox_pending_events" not in text
    gone.dispose()
