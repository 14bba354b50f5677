"""The payments API: summaries, payments, captures / refunds / voids under Idempotency-Key, roles."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from ordino.kernel.auth import Role
from ordino.kernel.db import Database
from ordino.payments.gateway import HttpGateway
from ordino.payments.models import GatewayCall, OrderPaymentSummary, Payment, PaymentMethod
from tests import factories
from tests.conftest import api_key
from tests.payments.support import Sim, count, kinds, place_order

G = dict[str, HttpGateway]


@pytest.fixture
def api(app: Any, client: TestClient, gateways: G) -> TestClient:
    app.state.payment_gateways = gateways
    return client


@pytest.fixture
def finance(db: Database) -> dict[str, str]:
    return api_key(db, Role.FINANCE)


def _key() -> str:
    return str(uuid.uuid4())


def _authorize(
    db: Database, api: TestClient, headers: dict[str, str], amount: str = "50.00", token: str = "tok_visa"
) -> dict[str, Any]:
    order = place_order(db, api)
    r = api.post(
        "/api/v1/payments/authorizations",
        json={"order_summary_id": str(order.id), "account_id": str(order.account_id), "currency": "EUR",
              "amount": amount, "payment_method": {"method": "card", "gateway": "simulator", "token": token}},
        headers={**headers, "Idempotency-Key": _key()},
    )
    assert r.status_code == 201, r.text
    doc: dict[str, Any] = r.json()
    return doc


def test_authorize_and_read_the_summary(db: Database, api: TestClient, finance: dict[str, str], sim: Sim) -> None:
    # when 50.00 is authorized through the API
    auth = _authorize(db, api, finance)
    # then the authorization document shows it, with what can be done next
    assert {k: auth[k] for k in ("kind", "status", "source", "currency", "amount", "captured", "available_to_capture",
                                 "gateway", "failure", "available_actions")} == {
        "kind": "authorization", "status": "authorized", "source": "gateway", "currency": "EUR", "amount": "50.00",
        "captured": "0.00", "available_to_capture": "50.00", "gateway": "simulator", "failure": None,
        "available_actions": ["capture", "void", "reauthorize"],
    }
    # and the order's payment summary has the amounts of DESIGN §3
    r = api.get(f"/api/v1/payment-summaries?order={auth['order_summary_id']}", headers=finance)
    assert r.status_code == 200
    (summary,) = r.json()["items"]
    assert {k: summary[k] for k in ("authorized", "captured", "refunded", "pending_capture", "pending_refund",
                                    "pending_reverse_auth", "available_to_capture", "available_to_refund", "method")} \
        == {"authorized": "50.00", "captured": "0.00", "refunded": "0.00", "pending_capture": "0.00",
            "pending_refund": "0.00", "pending_reverse_auth": "0.00", "available_to_capture": "50.00",
            "available_to_refund": "0.00", "method": "card"}
    assert summary["payment_method"]["token"] == "tok_visa"
    assert api.get(f"/api/v1/payment-summaries/{summary['id']}", headers=finance).json() == summary


def test_capture_with_idempotency_key_replays_without_a_second_capture(
    db: Database, api: TestClient, finance: dict[str, str], sim: Sim
) -> None:
    auth = _authorize(db, api, finance)
    headers = {**finance, "Idempotency-Key": _key()}
    # when 20.00 is captured, and the same request is sent again
    first = api.post(f"/api/v1/payments/{auth['id']}/capture", json={"amount": "20.00"}, headers=headers)
    again = api.post(f"/api/v1/payments/{auth['id']}/capture", json={"amount": "20.00"}, headers=headers)
    # then the capture is answered once and replayed byte for byte
    assert first.status_code == 201, first.text
    cap = first.json()
    assert (cap["kind"], cap["status"], cap["amount"], cap["parent_id"], cap["available_actions"]) == (
        "capture", "succeeded", "20.00", auth["id"], ["refund"]
    )
    assert (again.status_code, again.headers["Idempotent-Replayed"], again.content) == (201, "true", first.content)
    assert sim.performed("capture") == 1
    assert kinds(db) == [("authorization", "authorized", 5000), ("capture", "succeeded", 2000)]
    # and the same key with another amount is refused, writing nothing
    other = api.post(f"/api/v1/payments/{auth['id']}/capture", json={"amount": "25.00"}, headers=headers)
    assert other.status_code == 422
    assert other.json()["errors"] == [
        {"field": "Idempotency-Key", "message": "was already used with a different request"}
    ]
    assert (sim.performed("capture"), count(db, Payment)) == (1, 2)


def test_capture_that_times_out_is_captured_once(
    db: Database, api: TestClient, finance: dict[str, str], sim: Sim
) -> None:
    auth = _authorize(db, api, finance, token="tok_timeout")
    r = api.post(f"/api/v1/payments/{auth['id']}/capture", json={"amount": "50.00"},
                 headers={**finance, "Idempotency-Key": _key()})
    assert (r.status_code, r.json()["status"]) == (201, "succeeded")
    assert sim.stats()["performed"] == {"authorize": 1, "capture": 1}
    assert count(db, GatewayCall) == 4  # authorize: timeout + replay; capture: timeout + replay


def test_gateway_down_answers_502_and_the_retry_settles_the_capture(
    db: Database, app: Any, api: TestClient, finance: dict[str, str], sim: Sim, gateways: G
) -> None:
    # given an authorization, then the gateway unreachable
    auth = _authorize(db, api, finance)
    app.state.payment_gateways = {
        "simulator": HttpGateway("simulator", "http://127.0.0.1:9", timeout=0.2, attempts=2, backoff=0.01)
    }
    headers = {**finance, "Idempotency-Key": _key()}
    # when a capture is sent, the gateway does not answer: 502, the capture stays pending
    down = api.post(f"/api/v1/payments/{auth['id']}/capture", json={"amount": "10.00"}, headers=headers)
    assert down.status_code == 502
    problem = down.json()
    assert (problem["type"], problem["status"]) == ("https://ordino.dev/problems/gateway-unavailable", 502)
    assert kinds(db) == [("authorization", "authorized", 5000), ("capture", "pending", 1000)]
    summary = api.get(f"/api/v1/payment-summaries?order={auth['order_summary_id']}", headers=finance).json()["items"][0]
    assert (summary["pending_capture"], summary["available_to_capture"]) == ("10.00", "40.00")
    # when the gateway is back and the same request is sent again
    app.state.payment_gateways = gateways
    retry = api.post(f"/api/v1/payments/{auth['id']}/capture", json={"amount": "10.00"}, headers=headers)
    # then the same capture is settled
    assert retry.status_code == 201
    assert (retry.json()["id"], retry.json()["status"]) == (problem["payment_id"], "succeeded")
    assert kinds(db) == [("authorization", "authorized", 5000), ("capture", "succeeded", 1000)]
    assert sim.performed("capture") == 1


def test_over_capture_is_409_and_writes_nothing(
    db: Database, api: TestClient, finance: dict[str, str], sim: Sim
) -> None:
    auth = _authorize(db, api, finance)
    r = api.post(f"/api/v1/payments/{auth['id']}/capture", json={"amount": "50.01"},
                 headers={**finance, "Idempotency-Key": _key()})
    assert r.status_code == 409
    assert (r.json()["type"], r.json()["detail"]) == (
        "https://ordino.dev/problems/amount-not-available", "50.01 is more than the 50.00 available to capture")
    assert (count(db, Payment), sim.performed("capture")) == (1, 0)
    with db.read() as s:
        assert s.execute(text("SELECT count(*) FROM idempotency_key")).scalar_one() == 1  # the authorization's


def test_amount_with_too_many_decimals_is_422(db: Database, api: TestClient, finance: dict[str, str], sim: Sim) -> None:
    auth = _authorize(db, api, finance)
    r = api.post(f"/api/v1/payments/{auth['id']}/capture", json={"amount": "1.001"}, headers=finance)
    assert r.status_code == 422
    assert r.json()["errors"] == [{"field": "amount", "message": "EUR allows at most 2 decimal places"}]
    assert count(db, Payment) == 1


def test_authorization_in_an_unknown_currency_is_422_naming_the_currency(
    db: Database, api: TestClient, finance: dict[str, str], sim: Sim
) -> None:
    # given an order
    order = place_order(db, api)
    # when an authorization in a currency ISO 4217 does not know is asked for
    r = api.post(
        "/api/v1/payments/authorizations",
        json={"order_summary_id": str(order.id), "account_id": str(order.account_id), "currency": "AAA",
              "amount": "12.50", "payment_method": {"method": "card", "gateway": "simulator", "token": "tok_visa"}},
        headers={**finance, "Idempotency-Key": _key()},
    )
    # then it is refused naming the field, and nothing is recorded nor sent to the gateway
    assert r.status_code == 422
    assert r.json()["errors"] == [{"field": "currency", "message": "'AAA' is not an active ISO 4217 currency"}]
    assert count(db, Payment) == 0
    assert sim.performed("authorize") == 0


def test_refund_and_void_through_the_api(db: Database, api: TestClient, finance: dict[str, str], sim: Sim) -> None:
    auth = _authorize(db, api, finance)
    cap = api.post(f"/api/v1/payments/{auth['id']}/capture", json={"amount": "30.00"}, headers=finance).json()
    refund = api.post(f"/api/v1/payments/{cap['id']}/refund", json={"amount": "12.50", "reason": "damaged"},
                      headers=finance)
    assert refund.status_code == 201
    assert [refund.json()[k] for k in ("kind", "status", "reason")] == ["refund", "succeeded", "damaged"]
    too_much = api.post(f"/api/v1/payments/{cap['id']}/refund", json={"amount": "17.51"}, headers=finance)
    assert too_much.status_code == 409
    assert (too_much.json()["type"], too_much.json()["detail"]) == (
        "https://ordino.dev/problems/amount-not-available", "17.51 is more than the 17.50 available to refund")
    void = api.post(f"/api/v1/payments/{auth['id']}/void", json={}, headers=finance)
    assert (void.status_code, void.json()["amount"]) == (201, "20.00")
    after = api.get(f"/api/v1/payments/{auth['id']}", headers=finance).json()
    assert (after["status"], after["captured"], after["reversed"], after["available_actions"]) == (
        "closed", "30.00", "20.00", []
    )
    summary = api.get(f"/api/v1/payment-summaries?order={auth['order_summary_id']}", headers=finance).json()["items"][0]
    assert (summary["authorized"], summary["captured"], summary["refunded"], summary["available_to_refund"]) == (
        "30.00", "30.00", "12.50", "17.50"
    )
    listed = api.get(f"/api/v1/payments?order={auth['order_summary_id']}", headers=finance).json()
    assert [(p["kind"], p["amount"]) for p in listed["items"]] == [
        ("void", "20.00"), ("refund", "12.50"), ("capture", "30.00"), ("authorization", "50.00")
    ]
    page = api.get(f"/api/v1/payments?order={auth['order_summary_id']}&limit=3", headers=finance).json()
    rest = api.get(f"/api/v1/payments?order={auth['order_summary_id']}&limit=3&cursor={page['next_cursor']}",
                   headers=finance).json()
    assert [p["kind"] for p in rest["items"]] == ["authorization"] and rest["next_cursor"] is None
    captures = api.get("/api/v1/payments?kind=capture&status=succeeded", headers=finance).json()["items"]
    assert [c["id"] for c in captures] == [cap["id"]]


def test_imported_authorization(db: Database, api: TestClient, finance: dict[str, str], sim: Sim) -> None:
    order = place_order(db, api)
    r = api.post(
        "/api/v1/payments/authorizations",
        json={"order_summary_id": str(order.id), "account_id": str(order.account_id), "currency": "EUR",
              "amount": "25.00", "payment_method": {"method": "wallet", "gateway": "simulator", "token": "tok_mkt"},
              "imported": {"gateway_reference": "auth_from_marketplace", "expires_at": "2099-01-01T00:00:00Z"}},
        headers={**finance, "Idempotency-Key": _key()},
    )
    assert r.status_code == 201, r.text
    assert (r.json()["status"], r.json()["source"], r.json()["gateway_reference"]) == (
        "authorized", "imported", "auth_from_marketplace"
    )
    assert sim.stats()["requests"] == 0


def test_roles_and_account_scope(db: Database, api: TestClient, finance: dict[str, str], sim: Sim) -> None:
    auth = _authorize(db, api, finance)
    agent = api_key(db, Role.AGENT)
    # agents read, but do not move money
    assert api.get(f"/api/v1/payments/{auth['id']}", headers=agent).status_code == 200
    assert api.post(f"/api/v1/payments/{auth['id']}/capture", json={}, headers=agent).status_code == 403
    assert api.get("/api/v1/payments", headers=api_key(db, Role.FULFILLMENT)).status_code == 403
    assert api.get("/api/v1/payments").status_code == 401
    # a key scoped to another account sees nothing of this one
    other = factories.account(db, "OTHER")
    scoped = api_key(db, Role.FINANCE, account_id=other)
    assert api.get(f"/api/v1/payments/{auth['id']}", headers=scoped).status_code == 404
    assert api.post(f"/api/v1/payments/{auth['id']}/capture", json={}, headers=scoped).status_code == 404
    assert api.get("/api/v1/payments", headers=scoped).json()["items"] == []
    assert api.get(f"/api/v1/payment-summaries?order={auth['order_summary_id']}", headers=scoped).json()["items"] == []
    assert api.get(f"/api/v1/payments/{uuid.uuid4()}", headers=finance).status_code == 404
    assert api.get("/api/v1/payments/not-an-id", headers=finance).status_code == 404
    assert sim.performed("capture") == 0


def test_payment_methods_refuse_card_numbers_and_store_terms(
    db: Database, api: TestClient, finance: dict[str, str], sim: Sim
) -> None:
    account = str(uuid.uuid4())
    for token in ("4111 1111 1111 1111", "4111111111111111", "737"):
        r = api.post("/api/v1/payment-methods", json={"account_id": account, "method": "card",
                                                      "gateway": "simulator", "token": token}, headers=finance)
        assert r.status_code == 422
        message = "must be a gateway token; card data is never accepted"
        assert r.json()["errors"] == [{"field": "token", "message": message}]
        assert token not in r.text
    assert count(db, PaymentMethod) == 0
    # invoice terms are a payment method too; the same one again is the same record
    terms = {"account_id": account, "method": "invoice", "terms": "net_30_eom"}
    first = api.post("/api/v1/payment-methods", json=terms, headers=finance)
    again = api.post("/api/v1/payment-methods", json=terms, headers=finance)
    assert (first.status_code, again.status_code, again.json()["id"]) == (201, 200, first.json()["id"])
    assert {k: first.json()[k] for k in ("method", "terms", "terms_days", "terms_end_of_month", "token")} == {
        "method": "invoice", "terms": "net_30_eom", "terms_days": 30, "terms_end_of_month": True, "token": None
    }
    bad = api.post("/api/v1/payment-methods", json={"account_id": account, "method": "invoice", "terms": "net_0"},
                   headers=finance)
    assert bad.status_code == 422
    listed = api.get(f"/api/v1/payment-methods?account={account}", headers=finance).json()["items"]
    assert [m["id"] for m in listed] == [first.json()["id"]]
    assert (count(db, PaymentMethod), count(db, OrderPaymentSummary)) == (1, 0)
