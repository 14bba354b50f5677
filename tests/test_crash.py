"""kill -9 on PostgreSQL: a worker killed at any moment of the order flow loses nothing and
duplicates nothing.

The worker (`ordino worker`) runs as a process group of its own and is killed with SIGKILL,
repeatedly, at seeded points of the work, then started again. When the kill lands differs from run
to run; what is checked does not depend on it: every order reaches its end state once, every card
is authorized once.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

import ordino
from ordino.app import create_app
from ordino.inventory import sourcing
from ordino.kernel.auth import key_digests
from ordino.kernel.db import Database
from ordino.migrate import upgrade
from ordino.payments.simulator import SimulatorState, create_simulator, serve_in_thread
from ordino.settings import Settings
from tests import factories
from tests.conftest import PG_URL, _create_pg_database, _drop_pg_database, api_key

pytestmark = pytest.mark.skipif(not PG_URL, reason="ORDINO_TEST_DATABASE_URL is not set")

ORDERS = "/api/v1/orders"
SKUS = ("BOLT-M8", "NUT-M8", "DRILL-X")
ON_HAND = 1_000_000
SRC = str(Path(ordino.__file__).resolve().parents[1])  # the subprocesses import this very ordino
DEADLINE = 45.0  # seconds a test may take before it gives up waiting (it then fails)


# --- the world every order needs -------------------------------------------------------------------


@pytest.fixture
def database() -> Iterator[Database]:
    """A fresh, migrated PostgreSQL database with a seller, the account ACME, the web channel
    reserving at WH-BER (ON_HAND of each SKU); dropped afterwards."""
    url, name = _create_pg_database()
    try:
        upgrade(url)
        db = Database(url, pool_size=2)
        factories.legal_entity(db)
        factories.account(db, "ACME")
        factories.channel(db, "web")
        factories.location(db, "WH-BER")
        for sku in SKUS:
            factories.product(db, sku)
            factories.position(db, sku, "WH-BER", on_hand=ON_HAND)
        db.transaction(lambda s: sourcing.set_sourcing(s, "web", "location", "WH-BER"))
        yield db
        db.dispose()
    finally:
        _drop_pg_database(name)


def order_body(reference: str, rng: random.Random) -> dict[str, Any]:
    """An order of 1–3 lines with seeded quantities and prices, paid by card."""
    lines = [{"sku": sku, "quantity": rng.randint(1, 50), "unit_price": f"{rng.randint(100, 9_999) / 100:.2f}"}
             for sku in rng.sample(SKUS, rng.randint(1, len(SKUS)))]
    body = factories.order_payload(external_reference=reference)
    body["delivery_groups"][0]["lines"] = lines
    return body


def scalar(engine: Engine, sql: str) -> Any:
    with engine.connect() as conn:
        return conn.execute(text(sql)).scalar_one()


def rows(engine: Engine, sql: str) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql))]


def kill_group(process: subprocess.Popen[bytes] | None) -> None:
    """SIGKILL the process group `process` leads (it and every child), and reap it."""
    if process is None:
        return
    with contextlib.suppress(ProcessLookupError):  # already gone
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


# --- 2. the worker killed while it delivers order.created ------------------------------------------


def start_worker(database_url: str, simulator_url: str, log_path: Path) -> subprocess.Popen[bytes]:
    """`ordino worker` in a process group of its own."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([SRC, *filter(None, [os.environ.get("PYTHONPATH")])]),
        "ORDINO_DATABASE_URL": database_url,
        "ORDINO_SECRET_KEY": key_digests().secret,
        "ORDINO_GATEWAY_SIMULATOR_URL": simulator_url,
    }
    with open(log_path, "ab") as log:
        return subprocess.Popen([sys.executable, "-c", "from ordino.cli import app; app()", "worker"], env=env,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def _wait(condition: Any, what: str, log_path: Path) -> None:
    deadline = time.monotonic() + DEADLINE
    while not condition():
        assert time.monotonic() < deadline, f"{what} within {DEADLINE:.0f} s:\n{log_path.read_text()[-4000:]}"
        time.sleep(0.01)


ORDERS_FOR_THE_WORKER = 60
UNDELIVERED = "SELECT count(*) FROM outbox_event WHERE dispatched_at IS NULL"


def kill_worker_while_it_works(engine: Engine, start: Any, delays: list[float], log_path: Path) -> int:
    """For each delay: start a worker, wait until it has run a handler, let it run `delay` seconds
    more, SIGKILL it. The leases it held are then let lapse (its events are claimable at once, as
    they would be after lease_seconds). Returns how many kills landed with events undelivered."""
    landed = 0
    for delay in delays:
        before = scalar(engine, "SELECT count(*) FROM handler_receipt")
        worker = start()
        try:
            _wait(lambda b=before: scalar(engine, "SELECT count(*) FROM handler_receipt") > b
                  or scalar(engine, UNDELIVERED) == 0, "the worker ran no handler", log_path)
            time.sleep(delay)
        finally:
            kill_group(worker)
        landed += scalar(engine, UNDELIVERED) > 0
        with engine.begin() as conn:
            conn.execute(text("UPDATE outbox_event SET lease_until = NULL WHERE dispatched_at IS NULL"))
    return landed


def then_each_order_was_routed_and_authorized_once(engine: Engine, ordered: Counter[str]) -> None:
    n = ORDERS_FOR_THE_WORKER
    # then every event was delivered, none dead-lettered, no process exception raised
    assert scalar(engine, "SELECT count(*) FROM outbox_event WHERE dispatched_at IS NULL OR failed_at IS NOT NULL") == 0
    assert scalar(engine, "SELECT count(*) FROM process_exception") == 0
    # and every order is approved, with exactly one fulfilment order (allocated at WH-BER) holding its lines
    assert rows(engine, "SELECT status, count(*) FROM order_summary GROUP BY status") == [("approved", n)]
    assert rows(engine, "SELECT count(DISTINCT order_summary_id), count(*), min(status), max(status) "
                        "FROM fulfillment_order") == [(n, n, "allocated", "allocated")]
    assert rows(engine, "SELECT count(*) FROM order_item_summary i JOIN fulfillment_order f "
                        "ON f.order_summary_id = i.order_summary_id LEFT JOIN fulfillment_order_item fi "
                        "ON fi.fulfillment_order_id = f.id AND fi.order_item_summary_id = i.id "
                        "WHERE i.sku IS NOT NULL AND (fi.quantity IS DISTINCT FROM i.quantity_ordered "
                        "OR i.quantity_allocated <> i.quantity_ordered)") == [(0,)]
    assert dict(rows(engine, "SELECT sku, sum(quantity) FROM fulfillment_order_item GROUP BY sku")) == ordered
    # and each unit is reserved once
    assert dict(rows(engine, "SELECT sku, reserved FROM inventory_position")) == ordered
    # and every order has exactly one authorization, authorized for its grand total
    assert rows(engine, "SELECT count(*) FROM order_summary o JOIN payment p ON p.order_summary_id = o.id "
                        "WHERE p.kind = 'authorization' AND p.status = 'authorized' "
                        "AND p.amount = o.grand_total_amount") == [(n,)]
    assert scalar(engine, "SELECT count(*) FROM payment") == n
    # and the flow announced each step once per order
    assert dict(rows(engine, "SELECT type, count(*) FROM outbox_event WHERE type <> 'channel.sourcing_changed' "
                             "GROUP BY type")) == dict.fromkeys((
        "order.created", "inventory.reserved", "order.approved", "order.routed", "fulfillment_order.created",
        "fulfillment_order.allocated", "payment_authorization.authorized"), n)


def test_orders_are_routed_and_authorized_once_with_the_worker_killed_five_times(
        database: Database, tmp_path: Path) -> None:
    # given 60 orders paid by card, placed through the API, not yet seen by any worker
    rng = random.Random(20261208)
    app = create_app(Settings(database_url=database.url, run_worker=False), db=database)
    headers = api_key(database)
    ordered: Counter[str] = Counter()  # units per SKU
    with TestClient(app) as client:
        for i in range(ORDERS_FOR_THE_WORKER):
            body = order_body(f"WORK-{i:03d}", rng)
            ordered.update({line["sku"]: line["quantity"] for line in body["delivery_groups"][0]["lines"]})
            r = client.post(ORDERS, json=body, headers=headers)
            assert r.status_code == 201, r.text
    state = SimulatorState()
    simulator = serve_in_thread(create_simulator(state))
    log_path = tmp_path / "worker.log"
    engine = create_engine(database.url)
    final: subprocess.Popen[bytes] | None = None
    try:
        def start() -> subprocess.Popen[bytes]:
            return start_worker(database.url, simulator.url, log_path)

        # when `ordino worker` is killed with SIGKILL five times while it delivers their events
        landed = kill_worker_while_it_works(engine, start, [rng.uniform(0.0, 0.6) for _ in range(5)], log_path)
        # and a last worker is left to finish
        final = start()
        _wait(lambda: scalar(engine, UNDELIVERED) == 0, "the events were not all delivered", log_path)
        kill_group(final)
        then_each_order_was_routed_and_authorized_once(engine, ordered)
        # and the gateway authorized each order once: a retried call reused its Idempotency-Key
        stats = state.stats()
        assert (stats["performed"], stats["approved"]) == ({"authorize": 60}, {"authorize": 60})
        # and the kills landed while events were still undelivered (what this test is about)
        assert landed >= 1
    finally:
        kill_group(final)
        simulator.stop()
        engine.dispose()
