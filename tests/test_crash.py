"""kill -9 on PostgreSQL: an API server or a worker killed at any moment loses no acknowledged
order and duplicates nothing.

The API server (`uvicorn ordino.app`, 2 processes, as bench.server.Server starts it) and the worker
(`ordino worker`) run as process groups of their own and are killed with SIGKILL, repeatedly, at
seeded points of the work, then started again. When the kill lands differs from run to run; what
is checked does not depend on it: every order exists exactly once, every retry is answered with
the order it placed, every order reaches its end state once, every card is authorized once.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

import ordino
from ordino.app import create_app
from ordino.bench.server import Server
from ordino.inventory import sourcing
from ordino.kernel.auth import generate_secret, key_digests
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
DEADLINE = 45.0  # seconds a test waits for progress (the server up and answering) before it fails
RETRY_PAUSE = 0.05


# --- the world every order needs -------------------------------------------------------------------


@pytest.fixture
def database() -> Iterator[Database]:
    """A fresh, migrated PostgreSQL database with a seller, the account ACME, the web channel
    reserving at WH-BER (ON_HAND of each SKU); dropped afterwards."""
    with stocked_database() as db:
        yield db


@contextlib.contextmanager
def stocked_database() -> Iterator[Database]:
    """The `database` fixture's world, for fixtures of other scopes."""
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


# --- 1. the API server killed while orders are placed ----------------------------------------------


@dataclass
class Placement:
    """One order a client places until it is answered, always with the same key and body."""

    reference: str
    key: str
    body: bytes
    status: int | None = None
    order_id: str | None = None
    attempts: int = 0
    cut_by_kill: int = 0  # attempts sent before a kill whose answer never came
    last: str = ""  # what the last unanswered attempt got
    replayed: bool = False  # the answer was the stored one (the order was placed by an earlier attempt)


@dataclass
class Kills:
    """Counts the kills; a request sent before the count moved was in flight when one landed.
    Also when the server was last back up: a restart imports the whole application in each of its
    processes (seconds on a busy machine, before any of them listens), and that time is no stall."""

    count: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    up_since: float = field(default_factory=time.monotonic)
    restarting: bool = False
    starts: list[float] = field(default_factory=list)  # how long each restart took, in seconds
    done: threading.Event = field(default_factory=threading.Event)  # the test ended: clients stop

    def stalled(self, since: float) -> bool:
        """No progress for DEADLINE seconds since `since` while the server was up."""
        return not self.restarting and time.monotonic() > max(since, self.up_since) + DEADLINE


def _post(port: int, conn: http.client.HTTPConnection | None, p: Placement,
          auth: str) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse, bytes]:
    conn = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("POST", ORDERS, body=p.body, headers={
        "Authorization": auth, "Content-Type": "application/json", "Idempotency-Key": p.key})
    response = conn.getresponse()
    return conn, response, response.read()


def place_until_answered(port: int, auth: str, placements: list[Placement], kills: Kills,
                         errors: list[str]) -> None:
    """A client: each order is sent until the server answers it; a dropped connection, a refused
    one (the server is down), 409 (the same key still running) or 503 is retried as it was."""
    conn: http.client.HTTPConnection | None = None
    progress = time.monotonic()
    for p in placements:
        while p.status is None:
            if kills.stalled(progress) or kills.done.is_set():
                errors.append(f"{p.reference}: no answer within {DEADLINE:.0f} s of the server up "
                              f"(restarts took {kills.starts} s)")
                return
            p.attempts += 1
            sent_before = kills.count
            try:
                conn, response, data = _post(port, conn, p, auth)
            except (OSError, http.client.HTTPException) as exc:
                p.last = type(exc).__name__
                if conn is not None and kills.count > sent_before:
                    p.cut_by_kill += 1
                if conn is not None:
                    conn.close()
                conn = None
                time.sleep(RETRY_PAUSE)
                continue
            if response.status in (409, 503):
                p.last = str(response.status)
                time.sleep(RETRY_PAUSE)
                continue
            p.status, p.replayed = response.status, response.getheader("Idempotent-Replayed") == "true"
            progress = time.monotonic()
            if response.status in (200, 201):
                p.order_id = orjson.loads(data)["id"]
            else:
                errors.append(f"{p.reference}: {response.status} {data[:300]!r}")
    if conn is not None:
        conn.close()


def _activity(url: str) -> list[tuple[Any, ...]]:
    """What the database's sessions are doing (to tell why the server stopped answering)."""
    engine = create_engine(url)
    try:
        return rows(engine, "SELECT pid, state, wait_event_type, wait_event, left(query, 120), "
                            "now() - xact_start FROM pg_stat_activity WHERE datname = current_database() "
                            "AND pid <> pg_backend_pid()")
    finally:
        engine.dispose()


def _answered(clients: list[list[Placement]]) -> int:
    return sum(1 for placements in clients for p in placements if p.status is not None)


def kill_and_restart(server: Server, clients: list[list[Placement]], kills: Kills, at: list[int]) -> None:
    """When `at[i]` orders have been answered, SIGKILL the server's process group and start it
    again on the same port."""
    for threshold in at:
        progress, answered = time.monotonic(), _answered(clients)
        while answered < threshold:
            assert not kills.stalled(progress), (
                f"only {answered} orders answered; restarts took {kills.starts} s; last statuses "
                f"{Counter(p.last for c in clients for p in c if p.status is None and p.attempts)}\n"
                f"{_activity(server.database_url)}\n{server.log()}")
            time.sleep(0.005)
            if _answered(clients) > answered:
                progress, answered = time.monotonic(), _answered(clients)
        with kills.lock:
            kills.count += 1
            kills.restarting = True
        started = time.monotonic()
        try:
            kill_group(server.process)
            server.__enter__()  # the same port: clients retry the address they know
        finally:
            kills.up_since, kills.restarting = time.monotonic(), False
            kills.starts.append(round(kills.up_since - started, 1))


def test_orders_survive_the_api_server_killed_three_times(database: Database, tmp_path: Path) -> None:
    # given 6 clients with 25 orders each, every order with its own Idempotency-Key and reference
    rng = random.Random(20261207)
    clients = [[Placement(f"CRASH-{c}-{n:03d}", str(uuid.uuid4()), orjson.dumps(order_body(f"CRASH-{c}-{n:03d}", rng)))
                for n in range(25)] for c in range(6)]
    total = sum(len(c) for c in clients)
    # and the kills: after 15–30 answered orders, then 25–40 more, then 25–40 more
    gaps = [rng.randint(15, 30), rng.randint(25, 40), rng.randint(25, 40)]
    at = [sum(gaps[: i + 1]) for i in range(len(gaps))]
    admin = generate_secret()
    auth = f"Bearer {admin}"
    kills, errors = Kills(), list[str]()
    server = Server(database.url, admin, workers=2, log_path=tmp_path / "server.log")
    threads: list[threading.Thread] = []
    try:
        server.__enter__()
        kills.up_since = time.monotonic()
        threads = [threading.Thread(target=place_until_answered, args=(server.port, auth, placements, kills, errors))
                   for placements in clients]
        for t in threads:
            t.start()
        # when the server's process group is killed with SIGKILL three times while they place them
        kill_and_restart(server, clients, kills, at)
        for t in threads:
            t.join()  # a client ends once its orders are answered, or after DEADLINE s without an answer
        assert errors == [], f"{errors}\n{server.log()}"
        placements = [p for c in clients for p in c]
        # then every order was answered 201, each with an order of its own
        assert Counter(p.status for p in placements) == {201: total}
        ids = {p.order_id for p in placements}
        assert len(ids) == total
        # and the database holds exactly those orders, each (channel, reference) once, nothing more
        engine = create_engine(database.url)
        try:
            stored = rows(engine, "SELECT o.id, c.code, o.external_reference FROM order_summary o "
                                  "JOIN sales_channel c ON c.id = o.channel_id")
            assert {str(i) for i, *_ in stored} == ids
            assert Counter((c, r) for _, c, r in stored) == Counter({("web", p.reference): 1 for p in placements})
            assert {r: str(i) for i, _, r in stored} == {p.reference: p.order_id for p in placements}
            # and one order.created event per order
            assert scalar(engine, "SELECT count(*) FROM outbox_event WHERE type = 'order.created'") == total
            assert scalar(engine, "SELECT count(DISTINCT subject) FROM outbox_event "
                                  "WHERE type = 'order.created'") == total
        finally:
            engine.dispose()
        # and sending every order again with its key answers the order it placed, 201, and places none
        with httpx.Client(base_url=f"http://127.0.0.1:{server.port}", timeout=30) as client:
            for p in placements:
                r = client.post(ORDERS, content=p.body, headers={
                    "Authorization": auth, "Content-Type": "application/json", "Idempotency-Key": p.key})
                assert (r.status_code, r.json()["id"]) == (201, p.order_id), r.text
        # and the kills cut requests in flight (what this test is about)
        assert kills.count == 3
        assert sum(p.cut_by_kill for p in placements) >= 1
    finally:
        kills.done.set()
        kill_group(server.process)
        for t in threads:
            t.join(5)


# --- 2. the worker killed while it delivers order.created ------------------------------------------


def worker_env(database_url: str, simulator_url: str) -> dict[str, str]:
    """The environment of `ordino worker` (with this very ordino and these tests importable)."""
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([SRC, str(Path(__file__).resolve().parents[1]),
                                       *filter(None, [os.environ.get("PYTHONPATH")])]),
        "ORDINO_DATABASE_URL": database_url,
        "ORDINO_SECRET_KEY": key_digests().secret,
        "ORDINO_GATEWAY_SIMULATOR_URL": simulator_url,
    }


def start_worker(database_url: str, simulator_url: str, log_path: Path) -> subprocess.Popen[bytes]:
    """`ordino worker` in a process group of its own."""
    env = worker_env(database_url, simulator_url)
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
