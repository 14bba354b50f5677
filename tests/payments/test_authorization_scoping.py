"""Authorizations belong to their order's account: a key scoped to one account cannot authorize
against another account's order (404, as an unknown order), and no key can attach an
authorization of one account to another account's order (422 naming `account_id`). A refusal
writes nothing and calls no gateway."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ordino.kernel.auth import Role
from ordino.kernel.db import Database
from ordino.payments.gateway import HttpGateway
from ordino.payments.models import GatewayCall, OrderPaymentSummary, Payment, PaymentMethod
from tests.conftest import api_key
from tests.payments.support import Order, Sim, count, place_order

URL = "/api/v1/payments/authorizations"
CARD = {"method": "card", "gateway": "simulator", "token": "tok_visa"}
NO_ORDER = {"type": "https://ordino.dev/problems/not-found", "title": "Not found", "status": 404,
            "detail": "order not found", "errors": [], "instance": URL}


@pytest.fixture
def api(app: Any, client: TestClient, gateways: dict[str, HttpGateway]) -> TestClient:
    app.state.payment_gateways = gateways
    return client


@pytest.fixture
def orders(db: Database, api: TestClient) -> dict[str, Order]:
    """One order of ACME and one of HANSA."""
    return {"ACME": place_order(db, api, "ACME"), "HANSA": place_order(db, api, "HANSA")}


def _body(order: Order, account_id: uuid.UUID, **extra: Any) -> dict[str, Any]:
    return {"order_summary_id": str(order.id), "account_id": str(account_id), "currency": "EUR", "amount": "30.00",
            "payment_method": CARD, **extra}


def _written(db: Database) -> tuple[int, int, int, int]:
    """Payments, order payment summaries, payment methods and gateway calls stored."""
    return count(db, Payment), count(db, OrderPaymentSummary), count(db, PaymentMethod), count(db, GatewayCall)


IMPORTED = {"imported": {"gateway_reference": "auth_mkt_1", "expires_at": "2099-01-01T00:00:00Z"}}


@pytest.mark.parametrize("role", [Role.FINANCE, Role.INTEGRATION])
@pytest.mark.parametrize("extra", [{}, IMPORTED], ids=["gateway", "imported"])
def test_a_scoped_key_cannot_authorize_against_another_accounts_order(
    db: Database, api: TestClient, orders: dict[str, Order], sim: Sim, role: Role, extra: dict[str, Any]
) -> None:
    # given a key scoped to ACME
    acme, hansa = orders["ACME"], orders["HANSA"]
    scoped = api_key(db, role, account_id=acme.account_id)
    # when it authorizes ACME's money against HANSA's order
    r = api.post(URL, json=_body(hansa, acme.account_id, **extra), headers={**scoped, "Idempotency-Key": "k1"})
    # then HANSA's order is not found, as an order that does not exist, and nothing is written
    assert (r.status_code, r.json()) == (404, NO_ORDER)
    assert _written(db) == (0, 0, 0, 0)
    assert sim.stats()["requests"] == 0
    unknown = api.post(URL, json=_body(Order(uuid.uuid4(), acme.account_id), acme.account_id, **extra),
                       headers={**scoped, "Idempotency-Key": "k2"})
    assert (unknown.status_code, unknown.json()["detail"]) == (404, "order not found")


@pytest.mark.parametrize("extra", [{}, IMPORTED], ids=["gateway", "imported"])
def test_no_key_attaches_one_accounts_authorization_to_another_accounts_order(
    db: Database, api: TestClient, orders: dict[str, Order], sim: Sim, extra: dict[str, Any]
) -> None:
    # given an unscoped finance key
    finance = api_key(db, Role.FINANCE)
    # when it authorizes with ACME's account against HANSA's order
    r = api.post(URL, json=_body(orders["HANSA"], orders["ACME"].account_id, **extra),
                 headers={**finance, "Idempotency-Key": "k1"})
    # then the account is refused, naming the field, and nothing is written
    assert r.status_code == 422, r.text
    assert r.json()["errors"] == [{"field": "account_id", "message": "is not the account of the order"}]
    assert _written(db) == (0, 0, 0, 0)
    assert sim.stats()["requests"] == 0


def test_a_scoped_key_authorizes_its_own_accounts_order(
    db: Database, api: TestClient, orders: dict[str, Order], sim: Sim
) -> None:
    # given a finance key scoped to ACME
    acme = orders["ACME"]
    scoped = api_key(db, Role.FINANCE, account_id=acme.account_id)
    # when it authorizes ACME's order
    r = api.post(URL, json=_body(acme, acme.account_id), headers={**scoped, "Idempotency-Key": "k1"})
    # then the authorization is ACME's and the order's
    assert r.status_code == 201, r.text
    assert (r.json()["order_summary_id"], r.json()["account_id"], r.json()["status"], r.json()["amount"]) == (
        str(acme.id), str(acme.account_id), "authorized", "30.00"
    )


def test_a_scoped_key_sees_and_moves_nothing_of_another_accounts_payments(
    db: Database, api: TestClient, orders: dict[str, Order], sim: Sim
) -> None:
    # given HANSA's order authorized by an unscoped key, and a finance key scoped to ACME
    hansa = orders["HANSA"]
    auth = api.post(URL, json=_body(hansa, hansa.account_id), headers={**api_key(db, Role.FINANCE),
                                                                        "Idempotency-Key": "k1"}).json()
    scoped = api_key(db, Role.FINANCE, account_id=orders["ACME"].account_id)
    before = _written(db)
    # when it reads HANSA's payments and summaries, and captures, voids and re-authorizes
    lists = [api.get(f"/api/v1/{what}?order={hansa.id}", headers=scoped).json()["items"]
             for what in ("payments", "payment-summaries")]
    reads = [api.get(f"/api/v1/payments/{auth['id']}", headers=scoped).status_code,
             api.get(f"/api/v1/payment-summaries/{auth['summary_id']}", headers=scoped).status_code]
    moves = [api.post(f"/api/v1/payments/{auth['id']}/{action}", json=body, headers=scoped).status_code
             for action, body in (("capture", {}), ("void", {}), ("reauthorize", {"amount": "10.00"}))]
    # then it sees nothing, every move answers 404, and nothing is written or sent to the gateway
    assert (lists, reads, moves) == ([[], []], [404, 404], [404, 404, 404])
    assert _written(db) == before
    assert sim.stats()["performed"] == {"authorize": 1}
