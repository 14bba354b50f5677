"""No capture above the authorization and no refund above the capture, even with many requests at
once: proven on PostgreSQL with real threads and connections (SQLite serializes writers)."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Callable

import pytest

from ordino.kernel.db import Database
from ordino.kernel.errors import Conflict
from ordino.payments.gateway import HttpGateway
from tests.payments.support import Sim, authorize, capture, kinds, new_order, payment, refund, summary_amounts, void

G = dict[str, HttpGateway]


def _race(n: int, attempt: Callable[[], object]) -> Counter[str]:
    """Run `attempt` in n threads released together; count outcomes."""
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()
    barrier = threading.Barrier(n)

    def run() -> None:
        barrier.wait()
        try:
            attempt()
            outcome = "succeeded"
        except Conflict as refused:
            outcome = refused.slug
        except Exception as exc:  # reported, so the assertion shows it
            outcome = f"{type(exc).__name__}: {exc}"
        with lock:
            outcomes[outcome] += 1

    threads = [threading.Thread(target=run) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes


@pytest.fixture
def pg(db: Database) -> Database:
    if db.dialect != "postgresql":
        pytest.skip("concurrency is proven on PostgreSQL")
    return db


def test_ten_concurrent_captures_of_ten_against_fifty_capture_exactly_fifty(
    pg: Database, sim: Sim, gateways: G
) -> None:
    # given 50.00 authorized
    order = new_order()
    auth = authorize(pg, gateways, order, 5000).payment_id
    # when 10 threads capture 10.00 each at the same moment
    outcomes = _race(10, lambda: capture(pg, gateways, auth, 1000, key=f"cap-{uuid.uuid4()}"))
    # then exactly 5 succeed and 5 are refused; 50.00 is captured, here and at the gateway
    assert outcomes == Counter({"succeeded": 5, "amount-not-available": 5})
    assert summary_amounts(pg, order) == (5000, 5000, 0, 0, 0, 0)
    assert kinds(pg).count(("capture", "succeeded", 1000)) == 5
    assert len(kinds(pg)) == 6
    assert payment(pg, auth).status == "closed"
    assert sim.stats()["approved"] == {"authorize": 1, "capture": 5}
    assert sim.authorization(payment(pg, auth).gateway_reference)["captured_minor"] == 5000


def test_concurrent_refunds_never_exceed_the_capture(pg: Database, sim: Sim, gateways: G) -> None:
    # given 30.00 captured
    order = new_order()
    auth = authorize(pg, gateways, order, 5000).payment_id
    cap = capture(pg, gateways, auth, 3000).payment_id
    # when 8 threads refund 10.00 each at once
    outcomes = _race(8, lambda: refund(pg, gateways, cap, 1000))
    # then 3 succeed: exactly the 30.00 captured is refunded
    assert outcomes == Counter({"succeeded": 3, "amount-not-available": 5})
    assert summary_amounts(pg, order) == (5000, 3000, 3000, 0, 0, 0)
    assert sim.stats()["approved"]["refund"] == 3


def test_concurrent_captures_and_voids_share_the_authorization(pg: Database, sim: Sim, gateways: G) -> None:
    # given 50.00 authorized; when 6 captures of 10.00 and 6 voids of 10.00 race
    order = new_order()
    auth = authorize(pg, gateways, order, 5000).payment_id
    attempts: list[Callable[[], object]] = [
        lambda: capture(pg, gateways, auth, 1000), lambda: void(pg, gateways, auth, 1000)
    ]
    calls = iter(attempts * 6)
    lock = threading.Lock()

    def next_call() -> object:
        with lock:
            call = next(calls)
        return call()

    outcomes = _race(12, next_call)
    # then exactly five of them went through, and captured + reversed is the authorization
    assert outcomes == Counter({"succeeded": 5, "amount-not-available": 7})
    a = payment(pg, auth)
    assert a.captured_amount + a.reversed_amount == 5000
    authorized, captured, *pending = summary_amounts(pg, order)
    assert (authorized, captured, pending) == (a.captured_amount, a.captured_amount, [0, 0, 0, 0])
