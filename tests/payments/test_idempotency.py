"""Retries never move money twice: gateway timeouts, give-ups and crashes between the two
transactions of a payment operation are all settled by the same idempotency key."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from ordino.kernel.db import Database
from ordino.payments import service
from ordino.payments.gateway import GatewayUnavailable, HttpGateway
from ordino.payments.models import GatewayCall, Payment
from tests.payments.support import (
    CLIENT_TIMEOUT,
    Sim,
    authorize,
    capture,
    count,
    kinds,
    new_order,
    payment,
    summary_amounts,
)

G = dict[str, HttpGateway]


def _calls(db: Database, payment_id: object) -> list[tuple[str, int, str]]:
    with db.read() as s:
        rows = s.execute(
            select(GatewayCall.operation, GatewayCall.attempt, GatewayCall.outcome)
            .where(GatewayCall.payment_id == payment_id).order_by(GatewayCall.created_at, GatewayCall.id)
        ).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def test_capture_that_times_out_and_is_retried_captures_exactly_once(db: Database, sim: Sim, gateways: G) -> None:
    # given 50.00 authorized on a token whose first answers arrive after the client's timeout
    order = new_order()
    auth = authorize(db, gateways, order, 5000, token="tok_timeout").payment_id
    assert payment(db, auth).status == "authorized"
    # when 20.00 is captured: the first call times out, the adapter retries with the same key
    cap = capture(db, gateways, auth, 2000)
    # then the simulator captured exactly once, and Ordino holds exactly one capture
    stats = sim.stats()
    assert stats["performed"] == {"authorize": 1, "capture": 1}
    assert stats["replays"] == 2
    assert cap.status == "succeeded"
    assert kinds(db) == [("authorization", "authorized", 5000), ("capture", "succeeded", 2000)]
    assert summary_amounts(db, order) == (5000, 2000, 0, 0, 0, 0)
    assert sim.authorization(payment(db, auth).gateway_reference)["captured_minor"] == 2000
    # and both attempts are in the call log
    assert _calls(db, cap.payment_id) == [("capture", 1, "timeout"), ("capture", 2, "approved")]


def test_capture_left_pending_by_a_gateway_that_never_answered_is_settled_by_the_retry(
    db: Database, sim: Sim, gateways: G
) -> None:
    # given an authorization, and an adapter that gives up after one timed-out attempt
    order = new_order()
    auth = authorize(db, gateways, order, 5000, token="tok_timeout").payment_id
    impatient = {"simulator": HttpGateway("simulator", sim.url, timeout=CLIENT_TIMEOUT, attempts=1)}
    # when the capture is sent, the caller gets no answer
    with pytest.raises(GatewayUnavailable):
        capture(db, impatient, auth, 2000, key="cap-1")
    # then the capture is pending with its amount held, while the gateway did capture
    (cap_id,) = [p for p in _payment_ids(db) if p != auth]
    assert payment(db, cap_id).status == "pending"
    assert summary_amounts(db, order) == (5000, 0, 0, 2000, 0, 0)
    assert sim.performed("capture") == 1
    # when the same capture is sent again with the same key
    retried = capture(db, gateways, auth, 2000, key="cap-1")
    # then the pending record is settled from the gateway's replay: still one capture everywhere
    assert (retried.payment_id, retried.status, retried.settled_now) == (cap_id, "succeeded", True)
    assert sim.performed("capture") == 1
    assert kinds(db) == [("authorization", "authorized", 5000), ("capture", "succeeded", 2000)]
    assert summary_amounts(db, order) == (5000, 2000, 0, 0, 0, 0)
    assert _calls(db, cap_id) == [("capture", 1, "timeout"), ("capture", 1, "approved")]
    # and a third try changes nothing
    again = capture(db, gateways, auth, 2000, key="cap-1")
    assert (again.status, again.settled_now) == ("succeeded", False)
    assert sim.stats()["requests"] == 2 + 2  # authorization (timeout, replay) + capture (timeout, replay)


def _payment_ids(db: Database) -> list[uuid.UUID]:
    with db.read() as s:
        return list(s.execute(select(Payment.id).order_by(Payment.id)).scalars())


def test_crash_before_the_gateway_call_is_resolved_by_the_periodic_job(db: Database, sim: Sim, gateways: G) -> None:
    # given a capture whose first step committed, then the process died before calling the gateway
    order = new_order()
    auth = authorize(db, gateways, order, 5000).payment_id
    intent = db.transaction(lambda s: service.begin_capture(s, gateways, auth, 1500, idempotency_key="k"))
    assert summary_amounts(db, order) == (5000, 0, 0, 1500, 0, 0)
    # when the job settles pending records
    settled = service.resolve_pending(db, gateways, older_than=timedelta(0))
    # then the capture was made once and recorded
    assert settled == 1
    assert payment(db, intent.payment_id).status == "succeeded"
    assert summary_amounts(db, order) == (5000, 1500, 0, 0, 0, 0)
    assert sim.performed("capture") == 1
    assert service.resolve_pending(db, gateways, older_than=timedelta(0)) == 0


def test_crash_after_the_gateway_call_is_resolved_without_a_second_capture(db: Database, sim: Sim, gateways: G) -> None:
    # given a capture the gateway made, whose answer was lost with the process before step 3
    order = new_order()
    auth = authorize(db, gateways, order, 5000).payment_id
    intent = db.transaction(lambda s: service.begin_capture(s, gateways, auth, 1500, idempotency_key="k"))
    service.call_gateway(gateways, intent)
    # when the record is resumed
    resumed = service.resume(db, gateways, intent.payment_id)
    # then the gateway replayed its answer: one capture
    assert (resumed.status, resumed.settled_now) == ("succeeded", True)
    assert sim.stats()["performed"] == {"authorize": 1, "capture": 1}
    assert sim.stats()["replays"] == 1
    assert summary_amounts(db, order) == (5000, 1500, 0, 0, 0, 0)
    assert count(db, Payment) == 2


def test_finishing_twice_settles_once(db: Database, sim: Sim, gateways: G) -> None:
    order = new_order()
    auth = authorize(db, gateways, order, 5000).payment_id
    intent = db.transaction(lambda s: service.begin_capture(s, gateways, auth, 1500, idempotency_key="k"))
    result = service.call_gateway(gateways, intent)
    first = db.transaction(lambda s: service.finish(s, intent, result))
    second = db.transaction(lambda s: service.finish(s, intent, result))
    assert (first.settled_now, second.settled_now) == (True, False)
    assert summary_amounts(db, order) == (5000, 1500, 0, 0, 0, 0)
