"""Helpers for the payments tests: the simulator handle and short ways to read the records."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from ordino.accounts.models import Account
from ordino.catalog.models import SalesChannel
from ordino.kernel.auth import Role
from ordino.kernel.db import Database
from ordino.payments import service
from ordino.payments.gateway import Gateways
from ordino.payments.models import OrderPaymentSummary, Payment
from ordino.payments.service import MethodSpec, Settlement
from ordino.payments.simulator import SimulatorState
from tests import factories
from tests.conftest import api_key

CLIENT_TIMEOUT = 0.4  # seconds the adapter waits for an answer
SLOW_ANSWER = 1.2  # seconds the simulator takes to answer a tok_timeout request the first time


@dataclass
class Sim:
    url: str
    state: SimulatorState

    def stats(self) -> dict[str, Any]:
        """GET /stats, as a client of the simulator would read it."""
        data: dict[str, Any] = httpx.get(f"{self.url}/stats").json()
        return data

    def performed(self, operation: str) -> int:
        return int(self.stats()["performed"].get(operation, 0))

    def authorization(self, auth_id: str) -> dict[str, Any]:
        data: dict[str, Any] = httpx.get(f"{self.url}/v1/authorizations/{auth_id}").json()
        return data


@dataclass(frozen=True)
class Order:
    id: uuid.UUID
    account_id: uuid.UUID


def new_order() -> Order:
    """An order id and an account id for the engine's use cases, which know nothing of orders."""
    return Order(uuid.uuid4(), uuid.uuid4())


def place_order(db: Database, client: TestClient, account: str = "ACME") -> Order:
    """An order of `account` placed through the API (seller, channel, product and account made on
    first use), with no payment instruction: the API's authorizations need an order that exists."""
    with db.read() as s:
        account_id = s.execute(select(Account.id).where(Account.number == account)).scalar_one_or_none()
        has_world = s.execute(select(SalesChannel.id).where(SalesChannel.code == "web")).first() is not None
    if not has_world:
        factories.legal_entity(db)
        factories.channel(db, "web")
        factories.product(db, "BOLT-M8")
    if account_id is None:
        account_id = factories.account(db, account)
    body = factories.order_payload(account=account, external_reference=f"WEB-{uuid.uuid4().hex[:12]}", payments=[])
    r = client.post("/api/v1/orders", json=body, headers=api_key(db, Role.ADMIN))
    assert r.status_code == 201, r.text
    return Order(uuid.UUID(r.json()["id"]), account_id)


def card(token: str = "tok_visa", method: str = "card") -> MethodSpec:
    return MethodSpec(method, "simulator", token)


def authorize(
    db: Database, gateways: Gateways, order: Order, amount: int = 5000, token: str = "tok_visa",
    key: str | None = None, currency: str = "EUR",
) -> Settlement:
    return service.authorize(
        db, gateways, order_summary_id=order.id, account_id=order.account_id, currency=currency,
        amount_minor=amount, method=card(token), idempotency_key=key or f"auth-{uuid.uuid4()}",
    )


def capture(
    db: Database, gateways: Gateways, auth_id: uuid.UUID, amount: int | None, key: str | None = None
) -> Settlement:
    return service.capture(db, gateways, auth_id, amount, idempotency_key=key or f"cap-{uuid.uuid4()}")


def refund(
    db: Database, gateways: Gateways, capture_id: uuid.UUID, amount: int | None, key: str | None = None
) -> Settlement:
    return service.refund(db, gateways, capture_id, amount, idempotency_key=key or f"ref-{uuid.uuid4()}")


def void(db: Database, gateways: Gateways, auth_id: uuid.UUID, amount: int | None = None) -> Settlement:
    return service.void(db, gateways, auth_id, amount, idempotency_key=f"void-{uuid.uuid4()}")


def summary_amounts(db: Database, order: Order) -> tuple[int, int, int, int, int, int]:
    """(authorized, captured, refunded, pending capture, pending refund, pending reverse auth)."""
    with db.read() as s:
        row = s.execute(
            select(
                OrderPaymentSummary.authorized_amount, OrderPaymentSummary.captured_amount,
                OrderPaymentSummary.refunded_amount, OrderPaymentSummary.pending_capture_amount,
                OrderPaymentSummary.pending_refund_amount, OrderPaymentSummary.pending_reverse_auth_amount,
            ).where(OrderPaymentSummary.order_summary_id == order.id)
        ).one()
    return (row[0], row[1], row[2], row[3], row[4], row[5])


def payment(db: Database, payment_id: uuid.UUID) -> Any:
    with db.read() as s:
        return s.execute(select(Payment.__table__).where(Payment.id == payment_id)).one()


def kinds(db: Database) -> list[tuple[str, str, int]]:
    """(kind, status, amount) of every payment record, oldest first."""
    with db.read() as s:
        rows = s.execute(select(Payment.kind, Payment.status, Payment.amount).order_by(Payment.id)).all()
    return [(r.kind, r.status, r.amount) for r in rows]


def count(db: Database, model: Any) -> int:
    with db.read() as s:
        return int(s.execute(select(func.count()).select_from(model)).scalar_one())
