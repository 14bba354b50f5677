"""Retrying process exceptions end to end: a declined card holds the order until a retry with a
fixed card authorizes it; a dead letter put back is resolved once delivered; a closed exception
is not retried."""

# ruff: noqa: F811 (fixtures imported from tests.invoicing.support)

from __future__ import annotations

import uuid
from typing import Any, cast

from sqlalchemy import func, select, update

from ordino.flows.registry import build_dispatcher
from ordino.inventory.models import InventoryPosition
from ordino.invoicing.models import Invoice
from ordino.kernel.db import Database
from ordino.kernel.outbox import OutboxEvent, emit
from ordino.kernel.worker import Event, Registration
from ordino.orders.models import OrderSummary
from ordino.orders.process_exceptions.service import RETRYABLE_STEPS
from ordino.payments.gateway import GatewayResult, Gateways
from ordino.payments.handlers import AUTHORIZATION_FAILED
from ordino.payments.models import Payment
from tests.invoicing.support import (  # noqa: F401
    CARD,
    Sim,
    api,
    fo_id,
    frozen,
    gateways,
    order_payload,
    place,
    sim,
    sim_server,
    world,
)

PES = "/api/v1/process-exceptions"
DECLINED = [{"method": "card", "gateway": "simulator", "token": "tok_decline"}]
FIXED = {"method": "card", "gateway": "simulator", "token": "tok_visa", "card_brand": "visa", "card_last4": "4242"}
SHIP = {"carrier": "DHL", "tracking_numbers": ["00340434161094042557"]}


def _drain(db: Database, gateways: Gateways) -> int:
    return build_dispatcher(db, gateways).drain()


def _hold(db: Database, order_id: str) -> tuple[bool, int]:
    with db.read() as s:
        row = s.execute(select(OrderSummary.payment_hold, OrderSummary.active_process_exception_count)
                        .where(OrderSummary.id == uuid.UUID(order_id))).one()
    return bool(row.payment_hold), int(row.active_process_exception_count)


def _authorizations(db: Database, order_id: str) -> list[tuple[str, int, str]]:
    with db.read() as s:
        rows = s.execute(select(Payment.status, Payment.amount, Payment.idempotency_key)
                         .where(Payment.order_summary_id == uuid.UUID(order_id), Payment.kind == "authorization")
                         .order_by(Payment.created_at, Payment.id)).all()
    return [(r.status, r.amount, r.idempotency_key) for r in rows]


def _declined_order(db: Database, api: Any, gateways: Gateways, admin: dict[str, str]) -> tuple[str, dict[str, Any]]:
    order = place(db, order_payload(payments=DECLINED))
    _drain(db, gateways)
    r = api.get(PES, params={"order": order["id"]}, headers=admin)
    assert r.status_code == 200, r.text
    (pe,) = r.json()["items"]
    return order["id"], pe


def test_a_declined_card_holds_the_order_and_a_retry_with_a_fixed_card_completes_it(
    world: Database, api: Any, gateways: Gateways, sim: Sim, admin: dict[str, str],
) -> None:
    db = world
    # given an order paid by a card the simulator declines, routed and its flows run
    order_id, pe = _declined_order(db, api, gateways, admin)
    # then it is a payment exception with the failing step, the gateway's error and the event
    with db.read() as s:
        event_id = s.execute(select(OutboxEvent.id).where(OutboxEvent.type == AUTHORIZATION_FAILED)).scalar_one()
    assert (pe["category"], pe["status"], pe["step"], pe["error"], pe["event_id"], pe["retry_count"],
            pe["retryable"]) == (
        "payment", "new", "payments.authorize", "card_declined: The card was declined.", str(event_id), 0, True)
    # and the order is held, and shows it: its fulfilment order does not ship
    assert _hold(db, order_id) == (True, 1)
    shown = api.get(f"/api/v1/orders/{order_id}", headers=admin).json()
    assert (shown["payment_hold"], shown["active_process_exception_count"]) == (True, 1)
    fo = fo_id(db, order_id)
    r = api.post(f"/api/v1/fulfillment-orders/{fo}/ship", json=SHIP, headers=admin)
    assert (r.status_code, r.json()["type"].rsplit("/", 1)[1]) == (409, "payment-hold")
    authorized_before = sim.performed("authorize")
    # when it is retried with the buyer's new card
    r = api.post(f"{PES}/{pe['id']}/retry", json={"payment_method": FIXED},
                 headers={**admin, "Idempotency-Key": "retry-1"})
    # then the payment is authorized once, the exception resolved with a note and the hold released
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["status"], body["retry_count"], body["active"], body["retryable"]) == ("resolved", 1, False, False)
    assert body["resolution_note"].startswith("retry 1: payment ") and body["resolution_note"].endswith(" authorized")
    assert _hold(db, order_id) == (False, 0)
    assert api.get(f"/api/v1/orders/{order_id}", headers=admin).json()["payment_hold"] is False
    assert _authorizations(db, order_id)[1] == (
        "authorized", 3678, f"process_exception/{pe['id']}/retry/1/authorize")
    assert sim.performed("authorize") == authorized_before + 1
    # when the same request is sent again, nothing new is asked of the gateway
    again = api.post(f"{PES}/{pe['id']}/retry", json={"payment_method": FIXED},
                     headers={**admin, "Idempotency-Key": "retry-1"})
    assert (again.status_code, again.headers.get("Idempotent-Replayed")) == (200, "true")
    assert sim.performed("authorize") == authorized_before + 1
    # and the order continues to fulfilment: it ships, is invoiced and its invoice captured
    r = api.post(f"/api/v1/fulfillment-orders/{fo}/ship", json=SHIP, headers=admin)
    assert r.status_code == 200, r.text
    _drain(db, gateways)
    assert sim.performed("capture") == 1


def test_a_retry_declined_again_keeps_the_exception_with_the_new_error_and_the_hold(
    world: Database, api: Any, gateways: Gateways, sim: Sim, admin: dict[str, str],
) -> None:
    db = world
    order_id, pe = _declined_order(db, api, gateways, admin)
    # when it is retried with the same card (still declined), then with another declined card
    first = api.post(f"{PES}/{pe['id']}/retry", headers=admin)
    second = api.post(f"{PES}/{pe['id']}/retry", headers=admin,
                      json={"payment_method": {"method": "card", "gateway": "simulator", "token": "tok_insufficient"}})
    # then each retry asked the gateway once with its own key, and the exception stays active
    assert (first.status_code, first.json()["status"], first.json()["retry_count"], first.json()["error"]) == (
        200, "new", 1, "card_declined: The card was declined.")
    assert (second.status_code, second.json()["status"], second.json()["retry_count"], second.json()["error"]) == (
        200, "new", 2, "insufficient_funds: The card has insufficient funds.")
    assert [a[0] for a in _authorizations(db, order_id)] == ["declined", "declined", "declined"]
    assert [a[2] for a in _authorizations(db, order_id)][1:] == [
        f"process_exception/{pe['id']}/retry/1/authorize", f"process_exception/{pe['id']}/retry/2/authorize"]
    assert _hold(db, order_id) == (True, 1)


def test_a_resolved_exception_is_not_retried_and_nothing_changes(
    world: Database, api: Any, gateways: Gateways, sim: Sim, admin: dict[str, str],
) -> None:
    db = world
    order_id, pe = _declined_order(db, api, gateways, admin)
    r = api.post(f"{PES}/{pe['id']}/resolve", json={"note": "paid by bank transfer"}, headers=admin)
    assert (r.status_code, r.json()["resolution_note"], r.json()["status"]) == (
        200, "paid by bank transfer", "resolved")
    assert _hold(db, order_id) == (False, 0)
    before = (api.get(f"{PES}/{pe['id']}", headers=admin).json(), _authorizations(db, order_id),
              sim.performed("authorize"))
    # when it is retried
    r = api.post(f"{PES}/{pe['id']}/retry", json={"payment_method": FIXED}, headers=admin)
    # then 409, and the exception, the payments and the gateway are as they were
    assert (r.status_code, r.json()["type"].rsplit("/", 1)[1]) == (409, "process-exception-closed")
    assert (api.get(f"{PES}/{pe['id']}", headers=admin).json(), _authorizations(db, order_id),
            sim.performed("authorize")) == before


def test_assigning_and_filtering_by_assignee(
    world: Database, api: Any, gateways: Gateways, sim: Sim, admin: dict[str, str],
) -> None:
    db = world
    _order_id, pe = _declined_order(db, api, gateways, admin)
    r = api.post(f"{PES}/{pe['id']}/assign", json={"assignee": "dana@example.com"}, headers=admin)
    assert (r.status_code, r.json()["assignee"]) == (200, "dana@example.com")
    assert [p["id"] for p in api.get(PES, params={"assignee": "dana@example.com"}, headers=admin).json()["items"]] == [
        pe["id"]]
    assert api.get(PES, params={"assignee": "sam@example.com"}, headers=admin).json()["items"] == []
    # a note is taken by resolve only
    r = api.post(f"{PES}/{pe['id']}/triage", json={"note": "x"}, headers=admin)
    assert (r.status_code, r.json()["errors"][0]["field"]) == (422, "note")


def test_a_dead_letter_retried_is_delivered_and_its_exception_resolved(
    world: Database, api: Any, gateways: Gateways, admin: dict[str, str],
) -> None:
    db = world
    order = place(db, order_payload())
    _drain(db, gateways)
    # given an event about the order whose handler failed on every attempt
    calls: list[int] = []

    def flaky(_s: Any, _e: Event) -> None:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("carrier API down")

    (event_id,) = db.transaction(lambda s: [emit(s, "thing.happened", f"order/{order['id']}", {})])
    dispatcher = build_dispatcher(db, gateways, {"thing.happened": [Registration("fulfillment.flaky", flaky)]})
    dispatcher.max_attempts = 1
    dispatcher.events_per_transaction = 1  # one attempt, one call (a shared transaction retries alone)
    dispatcher.drain()
    (pe,) = api.get(PES, params={"order": order["id"]}, headers=admin).json()["items"]
    assert (pe["step"], pe["error"], pe["event_id"], pe["attached_to"]["type"]) == (
        "fulfillment.flaky", "fulfillment.flaky: RuntimeError: carrier API down", str(event_id), "outbox_event")
    # when it is retried: the event is queued again, the exception still active
    r = api.post(f"{PES}/{pe['id']}/retry", headers=admin)
    assert (r.status_code, r.json()["status"], r.json()["retry_count"]) == (200, "new", 1)
    # and a second retry before the worker ran is refused, changing nothing
    r = api.post(f"{PES}/{pe['id']}/retry", headers=admin)
    assert (r.status_code, r.json()["type"].rsplit("/", 1)[1]) == (409, "process-exception-not-retryable")
    assert api.get(f"{PES}/{pe['id']}", headers=admin).json()["retry_count"] == 1
    # when the worker delivers it
    dispatcher.drain()
    # then the handler ran again and the exception is resolved
    got = api.get(f"{PES}/{pe['id']}", headers=admin).json()
    assert (len(calls), got["status"], got["resolution_note"]) == (2, "resolved", "retry 1: the event was delivered")
    with db.read() as s:
        assert s.execute(select(func.count()).where(OutboxEvent.id == event_id,
                                                    OutboxEvent.dispatched_at.is_not(None))).scalar_one() == 1


def test_an_unroutable_group_is_one_exception_until_routing_succeeds(
    world: Database, api: Any, gateways: Gateways, admin: dict[str, str],
) -> None:
    db = world
    # given an order for bolts when no location has any, its flows run
    payload = order_payload()
    payload["delivery_groups"][0]["lines"] = payload["delivery_groups"][0]["lines"][:1]
    db.transaction(lambda s: s.execute(update(InventoryPosition).where(InventoryPosition.sku == "BOLT-M8")
                                        .values(on_hand=0)))
    order = place(db, payload)
    _drain(db, gateways)
    (pe,) = api.get(PES, params={"order": order["id"], "category": "fulfillment"}, headers=admin).json()["items"]
    assert (pe["step"], pe["status"], pe["attached_to"]["type"], bool(pe["error"]), pe["retryable"]) == (
        "fulfillment.route_order", "new", "order_delivery_group_summary", True, False)
    # a retry is refused (routing is re-run by POST /orders/{ref}/routing), changing nothing
    r = api.post(f"{PES}/{pe['id']}/retry", headers=admin)
    assert (r.status_code, r.json()["type"].rsplit("/", 1)[1]) == (409, "process-exception-not-retryable")
    assert api.get(f"{PES}/{pe['id']}", headers=admin).json()["retry_count"] == 0
    # when routing is tried again and fails again: still one exception
    assert api.post(f"/api/v1/orders/{order['id']}/routing", headers=admin).status_code == 200
    assert [p["id"] for p in api.get(PES, params={"order": order["id"], "category": "fulfillment"},
                                     headers=admin).json()["items"]] == [pe["id"]]
    # when stock arrives and routing succeeds
    db.transaction(lambda s: s.execute(update(InventoryPosition).where(InventoryPosition.sku == "BOLT-M8")
                                        .values(on_hand=10_000)))
    assert api.post(f"/api/v1/orders/{order['id']}/routing", headers=admin).status_code == 200
    # then the exception is resolved with a note, and the order has no active exception
    got = api.get(f"{PES}/{pe['id']}", headers=admin).json()
    assert (got["status"], got["resolution_note"].startswith("routed by routing decision ")) == ("resolved", True)
    assert _hold(db, order["id"]) == (False, 0)


class _CaptureDeclinedOnce:
    """The simulator, except that the first capture is declined (a processor hiccup)."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.declined = inner, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def capture(self, **kwargs: Any) -> GatewayResult:
        if not self.declined:
            self.declined += 1
            return GatewayResult(False, code="processor_declined", message="The processor declined the operation.")
        return cast(GatewayResult, self.inner.capture(**kwargs))


def test_a_failed_capture_retried_captures_once_and_resolves_the_invoices_exceptions(
    world: Database, app: Any, api: Any, gateways: Gateways, sim: Sim, admin: dict[str, str],
) -> None:
    db = world
    flaky = {"simulator": _CaptureDeclinedOnce(gateways["simulator"])}
    app.state.payment_gateways = flaky
    # given a card order shipped, whose invoice's capture was declined
    order = place(db, order_payload(CARD))
    _drain(db, flaky)
    assert api.post(f"/api/v1/fulfillment-orders/{fo_id(db, order['id'])}/ship", json=SHIP,
                    headers=admin).status_code == 200
    _drain(db, flaky)
    found = api.get(PES, params={"order": order["id"]}, headers=admin).json()["items"]
    assert sorted((p["attached_to"]["type"], p["step"], p["status"]) for p in found) == [
        ("invoice", "invoicing.ensure_funds", "new"), ("payment", "invoicing.ensure_funds", "new")]
    failed = next(p for p in found if p["attached_to"]["type"] == "payment")
    assert failed["error"] == "processor_declined: The processor declined the operation."
    assert sim.performed("capture") == 0
    # when the failed capture is retried
    r = api.post(f"{PES}/{failed['id']}/retry", headers=admin)
    # then the gateway captured once, the invoice is paid and both exceptions are resolved
    assert (r.status_code, r.json()["status"], r.json()["retry_count"]) == (200, "resolved", 1), r.text
    assert sim.performed("capture") == 1
    assert [p["status"] for p in api.get(PES, params={"order": order["id"]}, headers=admin).json()["items"]] == [
        "resolved", "resolved"]
    assert _hold(db, order["id"]) == (False, 0)
    with db.read() as s:
        assert s.execute(select(Invoice.status, Invoice.balance_amount)
                         .where(Invoice.order_summary_id == uuid.UUID(order["id"]))).one() == ("paid", 0)


def test_every_retryable_step_has_a_retrier_in_the_app(app: Any) -> None:
    assert set(app.state.process_exception_retriers) == RETRYABLE_STEPS
