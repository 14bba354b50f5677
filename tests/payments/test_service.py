"""Payment use cases on both databases against the real simulator: authorize, partial and multiple
captures, refund limits, voids, re-authorization, imported authorizations, expiry, the call log."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text, update

from ordino.kernel import clock
from ordino.kernel.db import Database
from ordino.kernel.errors import Conflict, InvalidTransition, NotFound, ValidationFailed
from ordino.kernel.outbox import OutboxEvent
from ordino.kernel.statemachine import StatusHistory
from ordino.payments import service
from ordino.payments.errors import NotRefundable, PaymentSummaryMismatch
from ordino.payments.gateway import HttpGateway
from ordino.payments.models import GatewayCall, OrderPaymentSummary, Payment, PaymentMethod
from ordino.payments.service import MethodSpec
from tests.payments.support import (
    Sim,
    authorize,
    capture,
    count,
    kinds,
    new_order,
    payment,
    refund,
    summary_amounts,
    void,
)

G = dict[str, HttpGateway]


def _events(db: Database) -> list[str]:
    with db.read() as s:
        return list(s.execute(select(OutboxEvent.type).order_by(OutboxEvent.position)).scalars())


def test_authorization_approved_fills_the_summary(db: Database, sim: Sim, gateways: G) -> None:
    # given an order
    order = new_order()
    # when 50.00 is authorized with tok_visa
    settled = authorize(db, gateways, order, 5000)
    # then the authorization is recorded with the gateway's reference and the summary shows it
    assert (settled.status, settled.settled_now) == ("authorized", True)
    auth = payment(db, settled.payment_id)
    assert (auth.kind, auth.status, auth.amount, auth.currency, auth.source) == (
        "authorization", "authorized", 5000, "EUR", "gateway"
    )
    assert auth.gateway_reference.startswith("auth_") and auth.expires_at is not None
    assert summary_amounts(db, order) == (5000, 0, 0, 0, 0, 0)
    assert sim.authorization(auth.gateway_reference)["amount_minor"] == 5000
    assert _events(db) == ["payment_authorization.authorized"]
    with db.read() as s:
        history = s.execute(
            select(StatusHistory.from_status, StatusHistory.to_status, StatusHistory.action)
            .where(StatusHistory.entity_id == auth.id).order_by(StatusHistory.at, StatusHistory.id)
        ).all()
    assert [tuple(h) for h in history] == [(None, "pending", "create"), ("pending", "authorized", "approve")]


@pytest.mark.parametrize(
    ("token", "code"), [("tok_decline", "card_declined"), ("tok_insufficient", "insufficient_funds")]
)
def test_declined_authorization_authorizes_nothing(db: Database, sim: Sim, gateways: G, token: str, code: str) -> None:
    order = new_order()
    settled = authorize(db, gateways, order, 5000, token=token)
    assert (settled.status, settled.code) == ("declined", code)
    assert (payment(db, settled.payment_id).status, payment(db, settled.payment_id).failure_code) == ("declined", code)
    assert summary_amounts(db, order) == (0, 0, 0, 0, 0, 0)
    assert _events(db) == ["payment_authorization.declined"]


def test_partial_and_multiple_captures(db: Database, sim: Sim, gateways: G) -> None:
    # given 50.00 authorized
    order = new_order()
    auth = authorize(db, gateways, order, 5000).payment_id
    # when 20.00 then 30.00 are captured
    first = capture(db, gateways, auth, 2000)
    assert summary_amounts(db, order) == (5000, 2000, 0, 0, 0, 0)
    assert payment(db, auth).status == "authorized"
    second = capture(db, gateways, auth, 3000)
    # then two captures succeeded, the authorization is closed and the summary has all of it
    assert (first.status, second.status) == ("succeeded", "succeeded")
    assert kinds(db) == [
        ("authorization", "closed", 5000), ("capture", "succeeded", 2000), ("capture", "succeeded", 3000)
    ]
    a = payment(db, auth)
    assert (a.captured_amount, a.pending_capture_amount) == (5000, 0)
    assert summary_amounts(db, order) == (5000, 5000, 0, 0, 0, 0)
    assert sim.performed("capture") == 2
    assert sim.authorization(a.gateway_reference)["captured_minor"] == 5000
    assert _events(db) == [
        "payment_authorization.authorized", "payment_capture.succeeded", "payment_capture.succeeded",
        "payment_authorization.closed",
    ]


def test_capture_above_what_is_available_is_refused_and_writes_nothing(db: Database, sim: Sim, gateways: G) -> None:
    # given 50.00 authorized and 30.00 captured
    order = new_order()
    auth = authorize(db, gateways, order, 5000).payment_id
    capture(db, gateways, auth, 3000)
    before = (kinds(db), _events(db), sim.stats())
    # when 20.01 is captured
    with pytest.raises(Conflict) as refused:
        capture(db, gateways, auth, 2001)
    # then it is refused, and nothing was written or sent to the gateway
    assert refused.value.detail == "20.01 is more than the 20.00 available to capture"
    assert refused.value.extra == {"available_to_capture": "20.00"}
    assert (kinds(db), _events(db), sim.stats()) == before
    assert summary_amounts(db, order) == (5000, 3000, 0, 0, 0, 0)


def test_capture_without_amount_takes_what_is_available(db: Database, sim: Sim, gateways: G) -> None:
    order = new_order()
    auth = authorize(db, gateways, order, 5000).payment_id
    capture(db, gateways, auth, 1250)
    rest = capture(db, gateways, auth, None)
    assert payment(db, rest.payment_id).amount == 3750
    assert summary_amounts(db, order) == (5000, 5000, 0, 0, 0, 0)


def test_declined_capture_releases_the_held_amount(db: Database, sim: Sim, gateways: G) -> None:
    order = new_order()
    auth = authorize(db, gateways, order, 5000, token="tok_capture_fails").payment_id
    failed = capture(db, gateways, auth, 2000)
    assert (failed.status, failed.code) == ("failed", "processor_declined")
    assert summary_amounts(db, order) == (5000, 0, 0, 0, 0, 0)
    a = payment(db, auth)
    assert (a.status, a.captured_amount, a.pending_capture_amount) == ("authorized", 0, 0)


def test_refunds_up_to_the_capture(db: Database, sim: Sim, gateways: G) -> None:
    # given 30.00 captured of 50.00
    order = new_order()
    auth = authorize(db, gateways, order, 5000).payment_id
    cap = capture(db, gateways, auth, 3000).payment_id
    # when 10.00 and 20.00 are refunded
    assert refund(db, gateways, cap, 1000).status == "succeeded"
    assert refund(db, gateways, cap, 2000).status == "succeeded"
    # then the summary shows it and nothing more can be refunded
    assert summary_amounts(db, order) == (5000, 3000, 3000, 0, 0, 0)
    before = (kinds(db), sim.stats())
    with pytest.raises(Conflict) as refused:
        refund(db, gateways, cap, 1)
    assert refused.value.detail == "0.01 is more than the 0.00 available to refund"
    assert (kinds(db), sim.stats()) == before
    c = payment(db, cap)
    assert (c.refunded_amount, c.pending_refund_amount) == (3000, 0)


def test_refund_needs_a_succeeded_capture(db: Database, sim: Sim, gateways: G) -> None:
    order = new_order()
    auth = authorize(db, gateways, order, 5000).payment_id
    with pytest.raises(NotRefundable):
        refund(db, gateways, auth, 100)
    failed = capture(db, gateways, authorize(db, gateways, new_order(), 100, token="tok_capture_fails").payment_id, 100)
    with pytest.raises(InvalidTransition) as not_succeeded:
        refund(db, gateways, failed.payment_id, 100)
    assert not_succeeded.value.extra["current_status"] == "failed"


def test_void_reverses_the_rest_of_an_authorization(db: Database, sim: Sim, gateways: G) -> None:
    # given 50.00 authorized and 20.00 captured
    order = new_order()
    auth = authorize(db, gateways, order, 5000).payment_id
    capture(db, gateways, auth, 2000)
    # when the authorization is voided
    voided = void(db, gateways, auth)
    # then 30.00 was reversed at the gateway and is no longer authorized
    assert voided.status == "succeeded"
    assert payment(db, voided.payment_id).amount == 3000
    a = payment(db, auth)
    assert (a.status, a.reversed_amount, a.captured_amount) == ("closed", 3000, 2000)
    assert summary_amounts(db, order) == (2000, 2000, 0, 0, 0, 0)
    assert sim.authorization(a.gateway_reference)["reversed_minor"] == 3000
    with pytest.raises(InvalidTransition) as refused:
        capture(db, gateways, auth, 1)
    assert refused.value.extra["current_status"] == "closed"


def test_partial_void_keeps_the_rest_capturable(db: Database, sim: Sim, gateways: G) -> None:
    order = new_order()
    auth = authorize(db, gateways, order, 5000).payment_id
    void(db, gateways, auth, 1500)
    assert summary_amounts(db, order) == (3500, 0, 0, 0, 0, 0)
    assert capture(db, gateways, auth, 3500).status == "succeeded"
    assert payment(db, auth).status == "closed"


def test_expired_authorization_is_released_and_can_be_reauthorized(db: Database, sim: Sim, gateways: G) -> None:
    # given an authorization of 50.00 whose hold lapses at once, 10.00 of it captured before
    order = new_order()
    t0 = datetime.now(UTC)
    clock.set_clock(lambda: t0 - timedelta(minutes=1))  # Ordino's clock runs behind the gateway's
    try:
        auth = authorize(db, gateways, order, 5000, token="tok_expires_in_3600").payment_id
        capture(db, gateways, auth, 1000)
    finally:
        clock.set_clock(None)
    db.transaction(lambda s: s.execute(
        update(Payment).where(Payment.id == auth).values(expires_at=t0 - timedelta(seconds=1))
    ))
    # when a capture is tried, it is refused before any gateway call
    with pytest.raises(Conflict) as refused:
        capture(db, gateways, auth, 1000)
    assert refused.value.slug == "authorization-expired"
    # and the expiry job releases the uncaptured 40.00
    assert db.transaction(service.expire_authorizations) == 1
    assert payment(db, auth).status == "expired"
    assert summary_amounts(db, order) == (1000, 1000, 0, 0, 0, 0)
    # when it is re-authorized for 40.00, the new authorization carries the amount
    new = service.reauthorize(db, gateways, auth, 4000, idempotency_key="reauth")
    assert new.status == "authorized"
    assert summary_amounts(db, order) == (5000, 1000, 0, 0, 0, 0)
    assert payment(db, new.payment_id).parent_id == auth
    assert capture(db, gateways, new.payment_id, 4000).status == "succeeded"
    assert summary_amounts(db, order) == (5000, 5000, 0, 0, 0, 0)


def test_gateway_side_expiry_fails_the_capture_and_expires_the_authorization(
    db: Database, sim: Sim, gateways: G
) -> None:
    # given tok_expired, whose authorization the gateway lets lapse at once, while Ordino's clock is behind
    order = new_order()
    clock.set_clock(lambda: datetime.now(UTC) - timedelta(hours=1))
    try:
        auth = authorize(db, gateways, order, 5000, token="tok_expired").payment_id
        # when a capture is sent
        failed = capture(db, gateways, auth, 2000)
    finally:
        clock.set_clock(None)
    # then it fails and the authorization is expired: nothing is authorized any more
    assert (failed.status, failed.code) == ("failed", "authorization_expired")
    assert payment(db, auth).status == "expired"
    assert summary_amounts(db, order) == (0, 0, 0, 0, 0, 0)


def test_reauthorization_for_a_new_amount_reverses_the_old_remainder(db: Database, sim: Sim, gateways: G) -> None:
    order = new_order()
    auth = authorize(db, gateways, order, 5000).payment_id
    capture(db, gateways, auth, 1000)
    new = service.reauthorize(db, gateways, auth, 6000, idempotency_key="re")
    old = payment(db, auth)
    assert (old.status, old.reversed_amount, old.pending_reverse_amount) == ("closed", 4000, 0)
    assert summary_amounts(db, order) == (7000, 1000, 0, 0, 0, 0)
    assert payment(db, new.payment_id).amount == 6000
    assert sim.performed("reauthorize") == 1


def test_imported_authorization_needs_no_gateway_call(db: Database, sim: Sim, gateways: G) -> None:
    # given an authorization a marketplace took, known by the gateway
    order = new_order()
    taken = gateways["simulator"].authorize(
        token="tok_visa", amount_minor=2500, currency="EUR", reference="mkt", idempotency_key="mkt-1"
    )
    requests_before = sim.stats()["requests"]
    # when it is imported
    auth = db.transaction(lambda s: service.import_authorization(
        s, order_summary_id=order.id, account_id=order.account_id, currency="EUR", amount_minor=2500,
        method=MethodSpec("wallet", "simulator", "tok_visa"), gateway_reference=taken.reference or "",
        expires_at=taken.expires_at, idempotency_key="import-1",
    ))
    # then it is authorized without a call, and captured through the gateway like any other
    assert sim.stats()["requests"] == requests_before
    assert (payment(db, auth).status, payment(db, auth).source) == ("authorized", "imported")
    assert summary_amounts(db, order) == (2500, 0, 0, 0, 0, 0)
    assert capture(db, gateways, auth, 2500).status == "succeeded"
    assert sim.authorization(taken.reference or "")["captured_minor"] == 2500
    # and importing it again with the same key finds the same record
    again = db.transaction(lambda s: service.import_authorization(
        s, order_summary_id=order.id, account_id=order.account_id, currency="EUR", amount_minor=2500,
        method=MethodSpec("wallet", "simulator", "tok_visa"), gateway_reference=taken.reference or "",
        expires_at=None, idempotency_key="import-1",
    ))
    assert again == auth
    assert count(db, Payment) == 2


def test_card_numbers_are_refused_and_never_stored_or_logged(db: Database, sim: Sim, gateways: G) -> None:
    order = new_order()
    pan = "4111 1111 1111 1111"
    for token in (pan, "4111111111111111", "123"):
        with pytest.raises(ValidationFailed) as refused:
            authorize(db, gateways, order, 5000, token=token)
        assert refused.value.errors[0].message == "must be a gateway token; card data is never accepted"
        assert token not in str(refused.value.body())
    # a real authorization writes its calls, none of which holds card data
    authorize(db, gateways, order, 5000)
    assert (count(db, PaymentMethod), count(db, OrderPaymentSummary), count(db, Payment)) == (1, 1, 1)
    assert sim.stats()["requests"] == 1
    with db.read() as s:
        dump = " ".join(
            str(row) for table in ("gateway_call", "payment", "payment_method", "outbox_event", "status_history")
            for row in s.execute(text(f"SELECT * FROM {table}")).all()
        )
    assert "4111" not in dump and "tok_visa" in dump


def test_every_gateway_call_is_logged_with_latency_and_outcome(db: Database, sim: Sim, gateways: G) -> None:
    order = new_order()
    auth = authorize(db, gateways, order, 5000).payment_id
    capture(db, gateways, auth, 1000)
    with db.read() as s:
        calls = s.execute(select(GatewayCall).order_by(GatewayCall.created_at, GatewayCall.id)).scalars().all()
        logged = [(c.operation, c.attempt, c.outcome, c.http_status, c.gateway) for c in calls]
        requests = [c.request for c in calls]
        assert all(c.latency_ms >= 0 for c in calls)
        assert calls[0].idempotency_key == str(auth)
        assert (calls[0].response or {})["result"] == "approved"
    assert logged == [("authorize", 1, "approved", 200, "simulator"), ("capture", 1, "approved", 200, "simulator")]
    assert requests == [
        {"token": "tok_visa", "amount_minor": 5000, "currency": "EUR", "reference": str(order.id)},
        {"amount_minor": 1000, "currency": "EUR"},
    ]


def test_same_key_with_another_amount_is_refused(db: Database, sim: Sim, gateways: G) -> None:
    order = new_order()
    auth = authorize(db, gateways, order, 5000).payment_id
    capture(db, gateways, auth, 1000, key="cap-1")
    with pytest.raises(ValidationFailed) as refused:
        capture(db, gateways, auth, 2000, key="cap-1")
    assert refused.value.errors[0].field == "Idempotency-Key"
    assert summary_amounts(db, order) == (5000, 1000, 0, 0, 0, 0)
    assert sim.performed("capture") == 1


def test_invoice_terms_cannot_be_authorized(db: Database, sim: Sim, gateways: G) -> None:
    order = new_order()
    with pytest.raises(Conflict) as refused:
        service.authorize(
            db, gateways, order_summary_id=order.id, account_id=order.account_id, currency="EUR", amount_minor=100,
            method=MethodSpec("invoice", terms="net_30"), idempotency_key="k",
        )
    assert refused.value.slug == "not-authorizable"
    assert (count(db, PaymentMethod), count(db, Payment)) == (0, 0)


def test_summary_currency_is_fixed(db: Database, sim: Sim, gateways: G) -> None:
    order = new_order()
    authorize(db, gateways, order, 5000)
    with pytest.raises(PaymentSummaryMismatch) as refused:
        authorize(db, gateways, order, 100, currency="USD")
    assert refused.value.detail == "the order's payments with this method are in EUR, not USD"
    assert count(db, Payment) == 1


def test_unknown_records_are_not_found(db: Database, sim: Sim, gateways: G) -> None:
    with pytest.raises(NotFound):
        capture(db, gateways, uuid.uuid4(), 100)
