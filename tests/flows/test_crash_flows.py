"""kill -9 of `ordino worker` at every step boundary of the fulfilment and servicing flows, on
PostgreSQL.

One order per boundary, placed through the API (order.created: credit check and routing, the
authorization at the gateway), then:

- fulfilment: shipped whole through the API (its invoice; invoice.created, ensure funds: a capture);
- servicing: its bolts shipped and captured so, its nuts cancelled (a credit memo; ensure refunds
  voids what the authorization still holds, as a cancel's credit was never charged), 4 bolts
  returned (a credit memo; ensure refunds: a refund).

The first worker runs with ORDINO_CRASH_AT naming the boundary (kernel.faults) and kills itself
with SIGKILL there; its leases are let lapse, a worker without the variable takes over, and the
order must end as it would have without the crash: fulfilled, its invoice paid, its credit memos
closed, one invoice per shipment, one credit memo per change order, one payment record per
movement, and the gateway's /stats showing each movement performed once (a call cut short is sent
again with its idempotency key and answered as a replay). No event dead-lettered, no process
exception. Each boundary is a test of its own, named by it.

Other side effects of these flows (e-mails, webhooks) join by adding their handlers' boundaries to
FULFILMENT or SERVICING and checking their count next to `then_the_gateway_moved_money_once`.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from ordino.app import create_app
from ordino.kernel.db import Database
from ordino.payments.simulator import RunningServer, SimulatorState, create_simulator, serve_in_thread
from ordino.settings import Settings
from tests import factories
from tests.conftest import PG_URL, api_key
from tests.flows.forked_workers import Forked
from tests.test_crash import DEADLINE, UNDELIVERED, rows, scalar, stocked_database, worker_env

pytestmark = [pytest.mark.postgres, pytest.mark.skipif(not PG_URL, reason="ORDINO_TEST_DATABASE_URL is not set")]

# Where the worker can die: `<handler>:before | after_handler | before_settle` (kernel.worker),
# `payments.<operation>:before_gateway | after_gateway_before_settle` (payments.orchestrator).
FULFILMENT = [
    # order.created: credit check and routing, then the authorization
    "fulfillment.approve_and_route:before", "fulfillment.approve_and_route:after_handler",
    "payments.authorize_order:before", "payments.authorize_order:after_handler",
    "payments.authorize:before_gateway", "payments.authorize:after_gateway_before_settle",
    "payments.authorize_order:before_settle",
    # fulfillment_order.partially_shipped (shipped through the API): the shipment's invoice
    "invoicing.invoice_shipment:before", "invoicing.invoice_shipment:after_handler",
    "invoicing.invoice_shipment:before_settle",
    # invoice.created: ensure funds captures the invoice
    "invoicing.ensure_funds:before", "invoicing.ensure_funds:after_handler",
    "payments.capture:before_gateway", "payments.capture:after_gateway_before_settle",
    "invoicing.ensure_funds:before_settle",
]
SERVICING = [
    # credit_memo.created (the cancel's, then the return's): ensure refunds voids, then refunds
    "invoicing.ensure_refunds:before", "invoicing.ensure_refunds:after_handler",
    "payments.void:before_gateway", "payments.void:after_gateway_before_settle",
    "invoicing.ensure_refunds:before_settle",
    "payments.refund:before_gateway", "payments.refund:after_gateway_before_settle",
]
# BOLT-M8 10 × 1.00 and NUT-M8 5 × 2.00, shipping 12.50, VAT 19 %: 38.68 authorized. Shipped whole,
# it is captured whole. Else the bolts and the shipping ship and are captured (26.78), the nuts are
# cancelled (11.90 voided) and 4 bolts come back (4.76 refunded).
LINES = [{"sku": "BOLT-M8", "quantity": 10, "unit_price": "1.00"},
         {"sku": "NUT-M8", "quantity": 5, "unit_price": "2.00"}]


@dataclass
class Workers:
    """The workers of one test: first one that dies at `crash_at`, then one without it."""

    forked: Forked
    log_path: Path
    crash_at: str
    engine: Engine
    current: int | None = None  # pid
    crashes: list[int] = field(default_factory=list)  # exit codes of the workers that died

    def start(self) -> None:
        self.current = self.forked.start(self.log_path, "" if self.crashes else self.crash_at)

    def settle(self, what: str) -> None:
        """Wait until every event is delivered; a worker that died is replaced once its leases
        lapse (set to now: a dead worker's lease runs out after lease_seconds)."""
        deadline = time.monotonic() + DEADLINE
        while scalar(self.engine, UNDELIVERED):
            assert self.current is not None
            code = self.forked.exit_code(self.current)
            if code is not None:
                assert not self.crashes, f"a second worker died ({code}) {what}:\n{self.log()}"
                self.crashes.append(code)
                with self.engine.begin() as conn:
                    conn.execute(text("UPDATE outbox_event SET lease_until = NULL WHERE dispatched_at IS NULL"))
                self.start()
                deadline = time.monotonic() + DEADLINE
            assert time.monotonic() < deadline, f"events undelivered {DEADLINE:.0f} s {what}:\n{self.log()}"
            time.sleep(0.02)

    def log(self) -> str:
        return self.log_path.read_text()[-4000:] if self.log_path.exists() else ""


@pytest.fixture(scope="module")
def database() -> Iterator[Database]:
    with stocked_database() as db:
        yield db


@pytest.fixture(scope="module")
def simulator() -> Iterator[tuple[RunningServer, SimulatorState]]:
    state = SimulatorState()
    server = serve_in_thread(create_simulator(state))
    yield server, state
    server.stop()


@pytest.fixture(scope="module")
def forked(database: Database, simulator: tuple[RunningServer, SimulatorState]) -> Iterator[Forked]:
    f = Forked(worker_env(database.url, simulator[0].url), DEADLINE)
    yield f
    f.close()


@pytest.fixture
def workers(database: Database, simulator: tuple[RunningServer, SimulatorState], forked: Forked, tmp_path: Path,
            request: pytest.FixtureRequest) -> Iterator[Workers]:
    simulator[1].reset()  # the gateway's counts are this test's
    engine = create_engine(database.url)
    w = Workers(forked, tmp_path / "worker.log", request.node.callspec.params["boundary"], engine)
    try:
        yield w
    finally:
        if w.current is not None:
            forked.kill(w.current)
        engine.dispose()


def _post(client: TestClient, headers: dict[str, str], path: str, body: dict[str, Any],
          status: int = 201) -> dict[str, Any]:
    r = client.post(path, json=body, headers={**headers, "Idempotency-Key": str(uuid.uuid4())})
    assert r.status_code == status, r.text
    return dict(r.json())


Step = tuple[str, Callable[[TestClient, dict[str, str], str], object]]


def _ship(engine: Engine, **units: int) -> Callable[[TestClient, dict[str, str], str], object]:
    def ship(client: TestClient, headers: dict[str, str], order_id: str) -> object:
        fo = scalar(engine, f"SELECT id FROM fulfillment_order WHERE order_summary_id = '{order_id}'")
        return _post(client, headers, f"/api/v1/fulfillment-orders/{fo}/ship", {
            "carrier": "DHL", "tracking_numbers": ["00340434161094042557"],
            "items": [{"sku": sku.replace("_", "-"), "quantity": q} for sku, q in units.items()]}, 200)

    return ship


def _service(kind: str, line_number: int, quantity: int) -> Callable[[TestClient, dict[str, str], str], object]:
    return lambda client, headers, order_id: _post(client, headers, f"/api/v1/orders/{order_id}/{kind}", {
        "lines": [{"line_number": line_number, "quantity": quantity}], "reason": "customer changed mind"})


def run_an_order_through(database: Database, workers: Workers, reference: str, steps: list[Step]) -> str:
    """Place an order (LINES) through the API, then take the steps; the worker delivers what each
    step emitted before the next."""
    app = create_app(Settings(database_url=database.url, run_worker=False), db=database)
    headers = api_key(database)
    body = factories.order_payload(external_reference=reference)
    body["delivery_groups"][0]["lines"] = LINES
    with TestClient(app) as client:
        order_id = str(_post(client, headers, "/api/v1/orders", body)["id"])
        workers.start()
        workers.settle("after the order was placed")
        for what, step in steps:
            step(client, headers, order_id)
            workers.settle(what)
    return order_id


def then_the_worker_died_there_once(workers: Workers, boundary: str) -> None:
    """What these tests are about: the first worker reached the boundary, the next one did not die."""
    assert workers.crashes == [-9], workers.log()
    assert f"ordino: crash point {boundary}\n" in workers.log()


def then_nothing_is_left_over(engine: Engine) -> None:
    """Every event delivered, none dead-lettered, no process exception."""
    assert scalar(engine, "SELECT count(*) FROM outbox_event WHERE dispatched_at IS NULL OR failed_at IS NOT NULL") == 0
    assert scalar(engine, "SELECT count(*) FROM process_exception") == 0


def then_the_gateway_moved_money_once(simulator: RunningServer, boundary: str, performed: dict[str, int]) -> None:
    """Each movement performed once; a call the kill cut short was sent again with its key (a replay)."""
    stats = httpx.get(f"{simulator.url}/stats").json()
    assert stats["performed"] == performed
    assert stats["replays"] == (1 if boundary.endswith(":after_gateway_before_settle") else 0)


def one_invoice_per_shipment(engine: Engine, o: str) -> None:
    assert scalar(engine, f"SELECT count(*) - count(DISTINCT shipment_id) FROM invoice "
                          f"WHERE order_summary_id = {o}") == 0


@pytest.mark.parametrize("boundary", FULFILMENT)
def test_a_fulfilled_order_is_paid_once_with_the_worker_killed_at(
        boundary: str, database: Database, simulator: tuple[RunningServer, SimulatorState], workers: Workers) -> None:
    # given a worker that kills itself with SIGKILL at the boundary
    # when an order is placed and shipped whole
    order_id = run_an_order_through(database, workers, f"CRASH-{boundary}", [
        ("after the order shipped", _ship(workers.engine, BOLT_M8=10, NUT_M8=5))])
    then_the_worker_died_there_once(workers, boundary)
    # then the order and its fulfilment order are fulfilled
    engine, o = workers.engine, f"'{order_id}'"
    assert scalar(engine, f"SELECT status FROM order_summary WHERE id = {o}") == "fulfilled"
    assert rows(engine, f"SELECT status FROM fulfillment_order WHERE order_summary_id = {o}") == [("fulfilled",)]
    # and its one invoice, for the one shipment, is paid: 38.68
    assert rows(engine, f"SELECT status, total_amount, balance_amount FROM invoice WHERE order_summary_id = {o}") == [
        ("paid", 3868, 0)]
    one_invoice_per_shipment(engine, o)
    # and one authorization, closed by one capture of all of it
    assert sorted(rows(engine, f"SELECT kind, status, amount FROM payment WHERE order_summary_id = {o}")) == [
        ("authorization", "closed", 3868), ("capture", "succeeded", 3868)]
    then_nothing_is_left_over(engine)
    then_the_gateway_moved_money_once(simulator[0], boundary, {"authorize": 1, "capture": 1})


@pytest.mark.parametrize("boundary", SERVICING)
def test_a_cancel_and_a_return_are_credited_once_with_the_worker_killed_at(
        boundary: str, database: Database, simulator: tuple[RunningServer, SimulatorState], workers: Workers) -> None:
    # given a worker that kills itself with SIGKILL at the boundary
    # when an order is placed, its bolts ship, its nuts are cancelled and 4 bolts are returned
    order_id = run_an_order_through(database, workers, f"CRASH-{boundary}", [
        ("after the bolts shipped", _ship(workers.engine, BOLT_M8=10)),
        ("after the nuts were cancelled", _service("cancellations", 2, 5)),
        ("after 4 bolts were returned", _service("returns", 1, 4)),
    ])
    then_the_worker_died_there_once(workers, boundary)
    # then the order and its fulfilment order are fulfilled (what was not cancelled shipped)
    engine, o = workers.engine, f"'{order_id}'"
    assert scalar(engine, f"SELECT status FROM order_summary WHERE id = {o}") == "fulfilled"
    assert rows(engine, f"SELECT status FROM fulfillment_order WHERE order_summary_id = {o}") == [("fulfilled",)]
    # and the shipment's one invoice is paid: 26.78
    assert rows(engine, f"SELECT status, total_amount, balance_amount FROM invoice WHERE order_summary_id = {o}") == [
        ("paid", 2678, 0)]
    one_invoice_per_shipment(engine, o)
    # and one credit memo per change order (the cancel's 11.90, the return's 4.76), both closed
    assert sorted(rows(engine, f"SELECT status, total_amount, balance_amount FROM credit_memo "
                               f"WHERE order_summary_id = {o}")) == [("closed", 476, 0), ("closed", 1190, 0)]
    assert rows(engine, f"SELECT count(*), count(DISTINCT l.change_order_id) FROM credit_memo_change_order l "
                        f"JOIN credit_memo m ON m.id = l.credit_memo_id WHERE m.order_summary_id = {o}") == [(2, 2)]
    # and one record per movement, each settled: the authorization closed (26.78 captured, 11.90 voided)
    assert sorted(rows(engine, f"SELECT kind, status, amount FROM payment WHERE order_summary_id = {o}")) == [
        ("authorization", "closed", 3868), ("capture", "succeeded", 2678), ("refund", "succeeded", 476),
        ("void", "succeeded", 1190)]
    then_nothing_is_left_over(engine)
    then_the_gateway_moved_money_once(simulator[0], boundary, {"authorize": 1, "capture": 1, "void": 1, "refund": 1})
