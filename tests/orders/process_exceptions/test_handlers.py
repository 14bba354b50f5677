"""Process exceptions raised by the registered flows: a payment the gateway declined
(`payment.authorization_failed`) and an event whose handler kept failing (a dead letter)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, func, select, update

from ordino.flows.registry import build_dispatcher
from ordino.flows.registry import handlers as registered_handlers
from ordino.kernel import clock
from ordino.kernel.db import Database
from ordino.kernel.outbox import HandlerReceipt, OutboxEvent, emit
from ordino.kernel.worker import Registration
from ordino.orders.models import OrderSummary
from ordino.orders.process_exceptions.models import ProcessException
from ordino.payments.gateway import Gateways, HttpGateway
from ordino.payments.handlers import AUTHORIZATION_FAILED, make_order_created_handler
from ordino.payments.models import Payment
from ordino.payments.simulator import SimulatorState, create_simulator
from tests import factories

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)

NO_GATEWAYS: Gateways = {}  # handlers here call no gateway


@pytest.fixture
def now() -> Iterator[list[datetime]]:
    at = [T0]
    clock.set_clock(lambda: at[0])
    yield at
    clock.set_clock(None)


@pytest.fixture
def order_id(db: Database, client: TestClient, admin: dict[str, str], now: list[datetime]) -> uuid.UUID:
    """The DESIGN §6 order (35.70 EUR with VAT), paid by a card the simulator declines."""
    factories.intake_world(db)
    payload = factories.order_payload(payments=[{"method": "card", "gateway": "simulator", "token": "tok_decline"}])
    r = client.post("/api/v1/orders", json=payload, headers=admin)
    assert r.status_code == 201, r.text
    return uuid.UUID(r.json()["id"])


def _exceptions(db: Database) -> list[dict[str, Any]]:
    pe = ProcessException
    with db.read() as s:
        rows = s.execute(
            select(pe.category, pe.severity, pe.priority, pe.status, pe.message, pe.description, pe.attached_to_type,
                   pe.attached_to_id, pe.order_summary_id, pe.created_by).order_by(pe.id)
        ).all()
    return [dict(r._mapping) for r in rows]


def _active(db: Database, order_id: uuid.UUID) -> int:
    with db.read() as s:
        return int(s.execute(select(OrderSummary.active_process_exception_count)
                             .where(OrderSummary.id == order_id)).scalar_one())


def _events(db: Database, type_: str) -> int:
    with db.read() as s:
        return int(s.execute(select(func.count()).where(OutboxEvent.type == type_)).scalar_one())


def test_a_declined_authorization_becomes_a_payment_exception_with_the_gateways_error(
    db: Database, order_id: uuid.UUID
) -> None:
    # given the order's order.created, delivered to payments (the simulator declines the card) and
    # the failure delivered to the registered flows
    state = SimulatorState()
    with TestClient(create_simulator(state), base_url="http://simulator") as sim:
        gateways = {"simulator": HttpGateway("simulator", client=sim, backoff=0.01)}
        handlers = {"order.created": [Registration("payments.authorize_order", make_order_created_handler(gateways))],
                    AUTHORIZATION_FAILED: registered_handlers(NO_GATEWAYS)[AUTHORIZATION_FAILED]}
        # when the worker drains the outbox
        build_dispatcher(db, gateways, handlers).drain()
    # then the declined authorization is a New payment exception on the order, attached to the payment
    with db.read() as s:
        payment_id = s.execute(select(Payment.id).where(Payment.status == "declined")).scalar_one()
    assert _exceptions(db) == [{
        "category": "payment", "severity": "high", "priority": 2, "status": "new",
        "message": "Payment 1 (card, simulator) of 35.70 EUR was not authorized: card_declined: The card was declined.",
        "description": "gateway error code: card_declined\ngateway error message: The card was declined.",
        "attached_to_type": "payment", "attached_to_id": payment_id, "order_summary_id": order_id,
        "created_by": "system:flows",
    }]
    assert _active(db, order_id) == 1
    assert _events(db, "process_exception.created") == 1


def test_a_failure_delivered_twice_raises_one_exception(db: Database, order_id: uuid.UUID) -> None:
    # given a payment.authorization_failed event found before any gateway call (no payment record)
    data = {"order_summary_id": str(order_id), "account_id": None, "payment_index": 0, "method": "card",
            "gateway": "nowhere", "amount": "30.00", "currency": "EUR", "code": "unknown_gateway",
            "message": "no payment gateway named 'nowhere' is configured"}
    db.transaction(lambda s: emit(s, AUTHORIZATION_FAILED, f"order/{order_id}", data))
    handlers = {AUTHORIZATION_FAILED: registered_handlers(NO_GATEWAYS)[AUTHORIZATION_FAILED]}
    # order.created, the failure, process_exception.created
    assert build_dispatcher(db, NO_GATEWAYS, handlers).drain() == 3
    # when it is delivered again, as if its receipt had been lost
    db.transaction(lambda s: (s.execute(delete(HandlerReceipt)),
                              s.execute(update(OutboxEvent).values(dispatched_at=None))))
    build_dispatcher(db, NO_GATEWAYS, handlers).drain()
    # then the order still has one exception, attached to the order, and one event announced it
    assert [(e["category"], e["message"], e["attached_to_type"], e["attached_to_id"]) for e in _exceptions(db)] == [(
        "payment",
        "Payment 1 (card, nowhere) of 30.00 EUR was not authorized: unknown_gateway: "
        "no payment gateway named 'nowhere' is configured",
        "order_summary", order_id,
    )]
    assert _active(db, order_id) == 1
    assert _events(db, "process_exception.created") == 1


def test_an_event_whose_handler_keeps_failing_becomes_an_exception_with_the_error(
    db: Database, order_id: uuid.UUID, now: list[datetime]
) -> None:
    # given an event about the order and a routing handler that always fails
    def boom(_s, _e):  # type: ignore[no-untyped-def]
        raise RuntimeError("carrier API down")

    (event_id,) = db.transaction(lambda s: [emit(s, "thing.happened", f"order/{order_id}", {"id": str(order_id)})])
    dispatcher = build_dispatcher(db, NO_GATEWAYS, {"thing.happened": [Registration("fulfillment.boom", boom)]})
    dispatcher.max_attempts = 2
    db.transaction(lambda s: s.execute(update(OutboxEvent).where(OutboxEvent.id != event_id)
                                        .values(dispatched_at=T0)))
    # when it is tried once, nothing is raised yet
    assert dispatcher.run_once() == 1
    assert (_exceptions(db), _active(db, order_id)) == ([], 0)
    # when the last attempt fails too
    now[0] += timedelta(hours=2)
    assert dispatcher.run_once() == 1
    # then the event is dead-lettered and a fulfilment exception on the order keeps the error
    error = "fulfillment.boom: RuntimeError: carrier API down"
    with db.read() as s:
        failed_at = s.execute(select(OutboxEvent.failed_at).where(OutboxEvent.id == event_id)).scalar_one()
    assert failed_at == now[0]
    assert _exceptions(db) == [{
        "category": "fulfillment", "severity": "high", "priority": 2, "status": "new",
        "message": f"Event thing.happened failed on every attempt: {error}",
        "description": error, "attached_to_type": "outbox_event", "attached_to_id": event_id,
        "order_summary_id": order_id, "created_by": "system:flows",
    }]
    assert _active(db, order_id) == 1


def test_a_dead_letter_about_no_order_is_an_exception_of_its_own(db: Database, now: list[datetime]) -> None:
    # given an event about no order, whose handler always fails, on its last attempt
    def boom(_s, _e):  # type: ignore[no-untyped-def]
        raise ValueError("no such thing")

    (event_id,) = db.transaction(lambda s: [emit(s, "thing.happened", "thing/1", {})])
    dispatcher = build_dispatcher(db, NO_GATEWAYS, {"thing.happened": [Registration("webhooks.deliver", boom)]})
    dispatcher.max_attempts = 1
    # when it fails
    assert dispatcher.run_once() == 1
    # then the exception is of category other, on no order
    assert [(e["category"], e["message"], e["attached_to_type"], e["attached_to_id"], e["order_summary_id"])
            for e in _exceptions(db)] == [(
        "other", "Event thing.happened failed on every attempt: webhooks.deliver: ValueError: no such thing",
        "outbox_event", event_id, None,
    )]
