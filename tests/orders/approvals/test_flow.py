"""The registered flows with approvals: a held order is neither routed nor authorized until it is
approved; then it goes on as a new order does. Payments run against the gateway simulator served
in process."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from ordino.flows.registry import build_dispatcher
from ordino.fulfillment.models import FulfillmentOrder
from ordino.kernel import clock
from ordino.kernel.db import Database
from ordino.kernel.errors import InvalidTransition
from ordino.orders.approvals import service as approvals
from ordino.orders.approvals.domain import Reason
from ordino.orders.models import OrderSummary
from ordino.payments.gateway import Gateways, HttpGateway
from ordino.payments.models import OrderPaymentSummary, Payment
from ordino.payments.simulator import SimulatorState, create_simulator
from tests.orders.support import NOW, World, build, count, events, order

THRESHOLD = {"account": "ACME", "kind": "order_total", "name": "Large orders", "amount": "1000.00",
             "currency": "EUR"}


@pytest.fixture
def w(db: Database) -> Iterator[World]:
    clock.set_clock(lambda: NOW)
    yield build(db)
    clock.set_clock(None)


@pytest.fixture
def gateway() -> Iterator[Gateways]:
    """The payments handler talks to an in-process simulator."""
    with TestClient(create_simulator(SimulatorState()), base_url="http://simulator") as sim:
        yield {"simulator": HttpGateway("simulator", client=sim, backoff=0.01)}


def _flow(db: Database, gateways: Gateways) -> None:
    build_dispatcher(db, gateways).drain()


def _money(db: Database, order_id: str) -> list[tuple[str, str, int]]:
    """(kind, status, amount) of the order's payments."""
    with db.read() as s:
        rows = s.execute(select(Payment.kind, Payment.status, Payment.amount)
                         .where(Payment.order_summary_id == uuid.UUID(order_id)).order_by(Payment.id)).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def _status(db: Database, order_id: str) -> str:
    with db.read() as s:
        return str(s.execute(select(OrderSummary.status).where(OrderSummary.id == uuid.UUID(order_id))).scalar_one())


def test_a_held_order_waits_then_approval_routes_and_authorizes_it(db, client, w, gateway) -> None:  # type: ignore[no-untyped-def]
    assert client.post("/api/v1/approval-rules", json=THRESHOLD, headers=w.keys["dora"]).status_code == 201
    doc = client.post("/api/v1/orders", json=order("WEB-1", ("BOLT-M8", 2000, "0.525")), headers=w.keys["bob"]).json()
    assert doc["status"] == "pending_approval"
    # when the worker delivers order.created
    _flow(db, gateway)
    # then the order is neither routed nor authorized
    assert (_status(db, doc["id"]), count(db, FulfillmentOrder), _money(db, doc["id"])) == ("pending_approval", 0, [])
    # when alice approves it and the worker delivers order.approved
    r = client.post(f"/api/v1/orders/{doc['id']}/approve", headers=w.keys["alice"])
    assert r.status_code == 200, r.text
    _flow(db, gateway)
    # then it is routed to WH-BER and its grand total is authorized, once
    assert _status(db, doc["id"]) == "approved"
    with db.read() as s:
        fos = s.execute(select(FulfillmentOrder.number, FulfillmentOrder.status)).all()
        authorized = s.execute(select(OrderPaymentSummary.authorized_amount)).scalars().all()
    assert [tuple(f) for f in fos] == [("FO-000001", "allocated")]
    assert _money(db, doc["id"]) == [("authorization", "authorized", 126438)]
    assert authorized == [126438]
    # and delivering everything again changes nothing
    _flow(db, gateway)
    assert (count(db, FulfillmentOrder), _money(db, doc["id"])) == (1, [("authorization", "authorized", 126438)])


def test_an_order_that_needs_no_approval_is_routed_and_authorized_once(db, client, w, gateway) -> None:  # type: ignore[no-untyped-def]
    doc = client.post("/api/v1/orders", json=order("WEB-1", ("BOLT-M8", 10, "1.00")), headers=w.keys["bob"]).json()
    _flow(db, gateway)
    # its automatic approval (order.approved from created) does not run the handlers again
    assert [e["from_status"] for e in events(db, "order.approved")] == ["created"]
    assert _status(db, doc["id"]) == "approved"
    assert count(db, FulfillmentOrder) == 1
    assert _money(db, doc["id"]) == [("authorization", "authorized", 2678)]


def test_a_rejected_order_is_never_routed_nor_authorized(db, client, w, gateway) -> None:  # type: ignore[no-untyped-def]
    assert client.post("/api/v1/approval-rules", json=THRESHOLD, headers=w.keys["dora"]).status_code == 201
    doc = client.post("/api/v1/orders", json=order("WEB-1", ("BOLT-M8", 2000, "0.525")), headers=w.keys["bob"]).json()
    client.post(f"/api/v1/orders/{doc['id']}/reject", json={"reason": "no budget"}, headers=w.keys["alice"])
    _flow(db, gateway)
    assert (_status(db, doc["id"]), count(db, FulfillmentOrder), _money(db, doc["id"])) == ("cancelled", 0, [])


def test_another_capability_holds_a_new_order_for_its_own_reason(db, client, w, gateway) -> None:  # type: ignore[no-untyped-def]
    # given a new order, not yet seen by the flows
    doc = client.post("/api/v1/orders", json=order("WEB-1", ("BOLT-M8", 10, "1.00")), headers=w.keys["bob"]).json()
    order_id = uuid.UUID(doc["id"])
    credit = Reason("credit_limit", "the account's open balance would exceed its credit limit",
                    {"credit_limit": "5000.00", "open_balance": "4990.00", "currency": "EUR"})
    # when invoicing holds it for the credit limit
    request_id = db.transaction(lambda s: approvals.hold_for_approval(s, order_id, [credit], "flow:invoicing"))
    # then it waits, and order.pending_approval names the reason
    assert _status(db, doc["id"]) == "pending_approval"
    [held] = events(db, "order.pending_approval")
    assert (held["from_status"], held["reasons"]) == ("created", [{
        "kind": "credit_limit", "rule_id": None, "message": credit.message, "detail": dict(credit.detail)}])
    # and holding it again for another reason adds it to the same request
    other = Reason("manual_review", "fraud screening")
    again = db.transaction(lambda s: approvals.hold_for_approval(s, order_id, [other], "flow:fraud"))
    assert again == request_id
    r = client.get(f"/api/v1/approvals/{request_id}", headers=w.keys["agent"])
    assert [x["kind"] for x in r.json()["reasons"]] == ["credit_limit", "manual_review"]
    assert r.json()["version"] == 2
    # and the flows leave it alone until an approver decides
    _flow(db, gateway)
    assert (count(db, FulfillmentOrder), _money(db, doc["id"])) == (0, [])


def test_holding_needs_a_new_order_and_a_reason_kind(db, client, w, gateway) -> None:  # type: ignore[no-untyped-def]
    doc = client.post("/api/v1/orders", json=order("WEB-1", ("BOLT-M8", 10, "1.00")), headers=w.keys["agent"]).json()
    order_id = uuid.UUID(doc["id"])
    with pytest.raises(ValueError, match="'Credit Limit' is not a reason kind"):
        db.transaction(lambda s: approvals.hold_for_approval(s, order_id, [Reason("Credit Limit", "x")], "t"))
    with pytest.raises(ValueError, match="at least one reason"):
        db.transaction(lambda s: approvals.hold_for_approval(s, order_id, [], "t"))
    _flow(db, gateway)  # routed and approved
    with pytest.raises(InvalidTransition):
        db.transaction(lambda s: approvals.hold_for_approval(s, order_id, [Reason("credit_limit", "x")], "t"))
    assert _status(db, doc["id"]) == "approved"
