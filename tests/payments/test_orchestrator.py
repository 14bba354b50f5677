"""The payment orchestrator: step 1 commits, the gateway is called with no transaction open, and
step 3 commits the settlement together with what completes the work (a handler's receipt)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import select

from ordino.kernel.db import Database
from ordino.kernel.outbox import HandlerReceipt, emit
from ordino.kernel.worker import Dispatcher
from ordino.payments import orchestrator, service
from ordino.payments.gateway import GatewayResult, GatewayUnavailable, HttpGateway
from ordino.payments.handlers import NAME, authorize_order_payments
from ordino.payments.models import GatewayCall, Payment
from tests.payments.support import Sim, count, kinds, new_order, summary_amounts

G = dict[str, HttpGateway]


@dataclass
class Watching:
    """A gateway that approves, and looks at the database (from another connection) while it is
    being called: what had been committed by then."""

    db: Database
    name: str = "simulator"
    seen: list[tuple[int, list[tuple[str, str, int]]]] = field(default_factory=list)

    def authorize(self, *, token: str, amount_minor: int, currency: str, reference: str,
                  idempotency_key: str) -> GatewayResult:
        self.seen.append((count(self.db, HandlerReceipt), kinds(self.db)))
        return GatewayResult(True, f"auth_{idempotency_key}")

    def capture(self, **_: Any) -> GatewayResult:
        raise AssertionError("not called")

    refund = void = reauthorize = capture


def _order_created(db: Database) -> dict[str, Any]:
    data = {
        "id": str(uuid.uuid4()), "account_id": str(uuid.uuid4()), "currency": "EUR", "grand_total": "30.00",
        "payments": [{"method": "card", "gateway": "simulator", "token": "tok_visa"}],
    }
    db.transaction(lambda s: emit(s, "order.created", f"order/{data['id']}", data))
    return data


def test_a_handlers_receipt_is_committed_with_the_settlement_not_before_the_call(db: Database) -> None:
    # given an order.created event paid by card, and a gateway that watches the database
    gateway = Watching(db)
    _order_created(db)
    dispatcher = Dispatcher(db, {"order.created": [authorize_order_payments({"simulator": gateway})]})
    # when the worker delivers it
    dispatcher.drain()
    # then during the gateway call the pending authorization was committed, the receipt was not
    assert gateway.seen == [(0, [("authorization", "pending", 3000)])]
    # and afterwards both are there: the authorization settled, and the receipt
    assert kinds(db) == [("authorization", "authorized", 3000)]
    with db.read() as s:
        assert s.execute(select(HandlerReceipt.handler)).scalars().all() == [NAME]


def test_step_3_and_what_completes_the_work_commit_together(db: Database) -> None:
    # given an authorization begun (step 1 committed) and a gateway that approves it
    order = new_order()
    gateways = {"simulator": Watching(db)}
    intent = db.transaction(lambda s: service.begin_authorization(
        s, gateways, order_summary_id=order.id, account_id=order.account_id, currency="EUR", amount_minor=3000,
        method=service.MethodSpec("card", "simulator", "tok_visa"), idempotency_key="k",
    ))
    after = orchestrator.later(gateways, orchestrator.Begun([intent], lambda _s, _a: None))
    assert after is not None

    def receipt_fails(_session: Any) -> None:
        raise RuntimeError("the receipt could not be written")

    # when step 3 runs and what completes the work fails in its transaction
    with pytest.raises(RuntimeError):
        after.run(db, receipt_fails)
    # then the settlement was rolled back with it: the authorization is still pending, nothing authorized
    assert kinds(db) == [("authorization", "pending", 3000)]
    assert summary_amounts(db, order) == (0, 0, 0, 0, 0, 0)


def test_a_gateway_that_does_not_answer_leaves_the_capture_pending_and_a_retry_settles_it_once(
    db: Database, sim: Sim, gateways: G
) -> None:
    # given an authorization of 50.00, then a gateway that cannot be reached
    order = new_order()
    auth = service.authorize(db, gateways, order_summary_id=order.id, account_id=order.account_id, currency="EUR",
                             amount_minor=5000, method=service.MethodSpec("card", "simulator", "tok_visa"),
                             idempotency_key="auth").payment_id
    down = {"simulator": HttpGateway("simulator", "http://127.0.0.1:9", timeout=0.2, attempts=2, backoff=0.01)}
    # when a capture of 15.00 is asked
    with pytest.raises(GatewayUnavailable):
        service.capture(db, down, auth, 1500, idempotency_key="cap")
    # then it is pending with its amount held, and both attempts are logged
    assert kinds(db) == [("authorization", "authorized", 5000), ("capture", "pending", 1500)]
    assert summary_amounts(db, order) == (5000, 0, 0, 1500, 0, 0)
    with db.read() as s:
        capture_id = s.execute(select(Payment.id).where(Payment.kind == "capture")).scalar_one()
        calls = s.execute(select(GatewayCall.payment_id, GatewayCall.attempt, GatewayCall.outcome)
                          .where(GatewayCall.operation == "capture").order_by(GatewayCall.attempt)).all()
    assert [tuple(c) for c in calls] == [(capture_id, 1, "connection_error"), (capture_id, 2, "connection_error")]
    assert sim.performed("capture") == 0
    # when the same capture is asked again with the same key, the gateway back
    settled = service.capture(db, gateways, auth, 1500, idempotency_key="cap")
    again = service.capture(db, gateways, auth, 1500, idempotency_key="cap")
    # then the same record is settled, once, and the third ask finds it settled
    assert (settled.payment_id, settled.status, settled.settled_now) == (capture_id, "succeeded", True)
    assert (again.payment_id, again.status, again.settled_now) == (capture_id, "succeeded", False)
    assert kinds(db) == [("authorization", "authorized", 5000), ("capture", "succeeded", 1500)]
    assert summary_amounts(db, order) == (5000, 1500, 0, 0, 0, 0)
    assert sim.performed("capture") == 1
