"""The order.created handler, delivered by kernel.worker.Dispatcher, authorizing at a simulator
served in process (ASGI, through Starlette's TestClient)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, select, update

from ordino.kernel.db import Database
from ordino.kernel.outbox import HandlerReceipt, OutboxEvent, emit
from ordino.kernel.worker import Dispatcher, Registration
from ordino.orders.models import OrderSummary
from ordino.payments.gateway import Gateways, HttpGateway
from ordino.payments.handlers import AUTHORIZATION_FAILED, make_order_created_handler
from ordino.payments.models import OrderPaymentSummary, Payment, PaymentMethod
from ordino.payments.simulator import SimulatorState, create_simulator
from tests import factories
from tests.payments.support import count, kinds

NAME = "payments.authorize_order"


@pytest.fixture
def in_process() -> Iterator[tuple[SimulatorState, dict[str, Gateways]]]:
    state = SimulatorState()
    with TestClient(create_simulator(state), base_url="http://simulator") as client:
        holder: dict[str, Gateways] = {"now": {"simulator": HttpGateway("simulator", client=client, backoff=0.01)}}
        yield state, holder


def _dispatcher(db: Database, holder: dict[str, Gateways]) -> Dispatcher:
    handler = make_order_created_handler(lambda: holder["now"])
    return Dispatcher(db, {"order.created": [Registration(NAME, handler)]})


def _order_created(db: Database, grand_total: str, payments: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    data = {
        "id": str(uuid.uuid4()), "number": "SO-000001", "account": "ACME", "account_id": str(uuid.uuid4()),
        "channel": "web", "currency": "EUR", "grand_total": grand_total, "payments": payments, **extra,
    }
    db.transaction(lambda s: emit(s, "order.created", f"order/{data['id']}", data))
    return data


def _failures(db: Database) -> list[dict[str, Any]]:
    with db.read() as s:
        rows = s.execute(
            select(OutboxEvent.data).where(OutboxEvent.type == AUTHORIZATION_FAILED).order_by(OutboxEvent.position)
        ).scalars().all()
    return [dict(r) for r in rows]


def _summaries(db: Database) -> list[tuple[str, int, str | None]]:
    with db.read() as s:
        rows = s.execute(
            select(PaymentMethod.method, OrderPaymentSummary.authorized_amount, PaymentMethod.terms)
            .join(PaymentMethod, PaymentMethod.id == OrderPaymentSummary.payment_method_id)
            .order_by(PaymentMethod.method)
        ).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def test_card_order_is_authorized_for_its_grand_total(db: Database, in_process: Any) -> None:
    # given an order of 30.00 paid by card
    state, holder = in_process
    card = {"method": "card", "gateway": "simulator", "token": "tok_visa", "amount": None}
    order = _order_created(db, "30.00", [card])
    # when the worker delivers order.created
    assert _dispatcher(db, holder).drain() == 2  # order.created, then payment_authorization.authorized
    # then 30.00 is authorized on the order's card summary, once
    assert _summaries(db) == [("card", 3000, None)]
    assert kinds(db) == [("authorization", "authorized", 3000)]
    with db.read() as s:
        auth = s.execute(select(Payment.order_summary_id, Payment.account_id, Payment.created_by)).one()
    assert (str(auth.order_summary_id), str(auth.account_id), auth.created_by) == (
        order["id"], order["account_id"], "system:order.created"
    )
    assert state.stats()["performed"] == {"authorize": 1}
    assert _failures(db) == []


def test_invoice_terms_and_a_card_share_the_total(db: Database, in_process: Any) -> None:
    _, holder = in_process
    _order_created(db, "30.00", [
        {"method": "card", "gateway": "simulator", "token": "tok_visa", "amount": "10.00"},
        {"method": "invoice", "terms": "net_60"},
    ])
    _dispatcher(db, holder).drain()
    assert _summaries(db) == [("card", 1000, None), ("invoice", 0, "net_60")]
    assert kinds(db) == [("authorization", "authorized", 1000)]
    assert _failures(db) == []


def test_invoice_without_terms_gets_net_30(db: Database, in_process: Any) -> None:
    state, holder = in_process
    _order_created(db, "30.00", [{"method": "invoice", "terms": None}])
    _dispatcher(db, holder).drain()
    assert _summaries(db) == [("invoice", 0, "net_30")]
    assert (count(db, Payment), state.stats()["requests"]) == (0, 0)


def test_declined_card_produces_authorization_failed(db: Database, in_process: Any) -> None:
    _, holder = in_process
    order = _order_created(db, "30.00", [{"method": "card", "gateway": "simulator", "token": "tok_insufficient"}])
    _dispatcher(db, holder).drain()
    (payment_id,) = [p for p in _ids(db)]
    assert _failures(db) == [{
        "order_summary_id": order["id"], "account_id": order["account_id"], "payment_index": 0, "method": "card",
        "gateway": "simulator", "amount": "30.00", "currency": "EUR", "code": "insufficient_funds",
        "message": "The card has insufficient funds.", "payment_id": str(payment_id),
    }]
    assert _summaries(db) == [("card", 0, None)]


def _ids(db: Database) -> list[uuid.UUID]:
    with db.read() as s:
        return list(s.execute(select(Payment.id).order_by(Payment.id)).scalars())


def test_redelivered_event_authorizes_once_and_announces_once(db: Database, in_process: Any) -> None:
    # given an order whose card was declined and another card authorized, all handled
    state, holder = in_process
    _order_created(db, "30.00", [
        {"method": "card", "gateway": "simulator", "token": "tok_decline", "amount": "10.00"},
        {"method": "wallet", "gateway": "simulator", "token": "tok_visa"},
    ])
    dispatcher = _dispatcher(db, holder)
    dispatcher.drain()
    # when the event is delivered again without its receipt, as after a crash before the receipt
    db.transaction(lambda s: s.execute(delete(HandlerReceipt)))
    db.transaction(lambda s: s.execute(
        update(OutboxEvent).where(OutboxEvent.type == "order.created").values(dispatched_at=None)
    ))
    dispatcher.drain()
    # then nothing was authorized twice and the decline was announced once
    assert state.stats()["performed"] == {"authorize": 2}
    assert sorted(kinds(db)) == [("authorization", "authorized", 2000), ("authorization", "declined", 1000)]
    assert [f["code"] for f in _failures(db)] == ["card_declined"]


@pytest.mark.parametrize(
    ("payments", "code", "message"),
    [
        ([{"method": "card", "gateway": "simulator", "token": "4111 1111 1111 1111"}], "invalid_token",
         "the payment instruction has no usable gateway token"),
        ([{"method": "card", "gateway": "adyen", "token": "tok_visa"}], "unknown_gateway",
         "no payment gateway named 'adyen' is configured"),
        ([{"method": "card", "gateway": "simulator", "token": "tok_visa", "amount": "31.00"}], "amount_exceeds_total",
         "the payment amounts exceed the order total"),
        ([{"method": "invoice", "terms": "net_999"}], "invalid_terms", "unknown payment terms 'net_999'"),
        ([{"method": "card", "gateway": "simulator", "token": "tok_visa", "amount": "10.00"}], "not_covered",
         "the payment instructions do not cover the order total"),
    ],
)
def test_unusable_instructions_are_announced(
    db: Database, in_process: Any, payments: list[dict[str, Any]], code: str, message: str
) -> None:
    state, holder = in_process
    _order_created(db, "30.00", payments)
    _dispatcher(db, holder).drain()
    failures = _failures(db)
    assert [(f["code"], f["message"]) for f in failures] == [(code, message)]
    with db.read() as s:
        outbox = str(s.execute(select(OutboxEvent.data).where(OutboxEvent.type != "order.created")).scalars().all())
        assert "4111" not in outbox
        assert s.execute(select(OutboxEvent.failed_at, OutboxEvent.attempts)
                         .where(OutboxEvent.type == "order.created")).one() == (None, 0)
    if code != "not_covered":
        assert state.stats()["requests"] == 0


def test_gateway_down_retries_the_event_and_settles_the_pending_authorization(db: Database, in_process: Any) -> None:
    # given the gateway unreachable
    state, holder = in_process
    live = holder["now"]
    holder["now"] = {"simulator": HttpGateway("simulator", "http://127.0.0.1:9", timeout=0.2, attempts=2, backoff=0.01)}
    _order_created(db, "30.00", [{"method": "card", "gateway": "simulator", "token": "tok_visa"}])
    dispatcher = _dispatcher(db, holder)
    # when the event is delivered, the handler fails and the event waits for a retry
    assert dispatcher.run_once() == 1
    with db.read() as s:
        event = s.execute(select(OutboxEvent).where(OutboxEvent.type == "order.created")).scalar_one()
        assert (event.attempts, event.dispatched_at) == (1, None)
        error = f"{NAME}: GatewayUnavailable: gateway 'simulator' did not answer authorize"
        assert str(event.last_error).startswith(error)
    assert kinds(db) == [("authorization", "pending", 3000)]
    # when the gateway is back and the event is retried
    holder["now"] = live
    db.transaction(lambda s: s.execute(update(OutboxEvent).values(available_at=None)))
    dispatcher.drain()
    # then the same pending authorization is settled, and the gateway authorized once
    assert kinds(db) == [("authorization", "authorized", 3000)]
    assert state.stats()["performed"] == {"authorize": 1}
    assert _summaries(db) == [("card", 3000, None)]


def test_event_without_payment_instructions_is_ignored(db: Database, in_process: Any) -> None:
    state, holder = in_process
    data = {"id": str(uuid.uuid4()), "currency": "EUR", "grand_total": "30.00"}
    db.transaction(lambda s: emit(s, "order.created", "order/x", data))
    assert _dispatcher(db, holder).drain() == 1
    assert (count(db, Payment), count(db, PaymentMethod), state.stats()["requests"]) == (0, 0, 0)


def test_zero_total_makes_the_summary_without_a_gateway_call(db: Database, in_process: Any) -> None:
    state, holder = in_process
    _order_created(db, "0.00", [{"method": "card", "gateway": "simulator", "token": "tok_visa"}])
    _dispatcher(db, holder).drain()
    assert _summaries(db) == [("card", 0, None)]
    assert (count(db, Payment), state.stats()["requests"]) == (0, 0)


def test_handler_uses_the_service_keys(db: Database, in_process: Any) -> None:
    # the authorization's idempotency key names the order and the instruction
    _, holder = in_process
    order = _order_created(db, "30.00", [{"method": "card", "gateway": "simulator", "token": "tok_visa"}])
    _dispatcher(db, holder).drain()
    with db.read() as s:
        key = s.execute(select(Payment.idempotency_key)).scalar_one()
    assert key == f"order/{order['id']}/payments/0/authorize"


def test_order_placed_through_the_api_is_authorized(
    db: Database, client: TestClient, admin: dict[str, str], in_process: Any
) -> None:
    # given the DESIGN §6 order (30.00 net, paid by tok_visa) placed through the intake API; it sends
    # no tax lines, so the engine adds 19 % German VAT on 17.50 of bolts and 12.50 of shipping: 5.70
    # (the German seller sells to a German business)
    state, holder = in_process
    factories.intake_world(db)
    placed = client.post("/api/v1/orders", json=factories.order_payload(), headers={**admin, "Idempotency-Key": "o1"})
    assert placed.status_code == 201, placed.text
    with db.read() as s:
        data = s.execute(select(OutboxEvent.data).where(OutboxEvent.type == "order.created")).scalar_one()
        account_id = s.execute(select(OrderSummary.account_id)).scalar_one()
    # then order.created carries what payments needs (no skip: a missing field is a regression)
    assert (data["account_id"], data["payments"]) == (
        str(account_id), [{"method": "card", "gateway": "simulator", "token": "tok_visa", "amount": None}])
    # when the worker delivers order.created to the payments handler
    _dispatcher(db, holder).drain()
    # then the order's 35.70 (30.00 + 5.70 VAT) is authorized on its card summary
    assert placed.json()["totals"]["grand_total"] == "35.70"
    summaries = client.get(f"/api/v1/payment-summaries?order={placed.json()['id']}", headers=admin).json()["items"]
    assert [(x["method"], x["authorized"], x["available_to_capture"]) for x in summaries] == [
        ("card", "35.70", "35.70")
    ]
    assert state.stats()["performed"] == {"authorize": 1}
