"""Fixtures and helpers of the invoicing tests: a gateway simulator served over HTTP, a small world
(account, channel, products, a stocked warehouse), orders placed through intake, the real flows
(routing, authorization, invoicing, ensure funds and refunds) delivered by the worker, change
orders written straight to the tables as servicing would, and readers of the money trail.

Test modules import the fixtures they use from here (the package's conftest belongs to the
document renderer tests).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import func, insert, select, update

from ordino.fulfillment.handlers import ROUTE_NEW_ORDERS
from ordino.fulfillment.models import FulfillmentOrder, FulfillmentOrderItem
from ordino.invoicing import handlers as invoicing_handlers
from ordino.invoicing.models import CreditMemo, Invoice, PaymentApplication, RefundApplication
from ordino.kernel import clock
from ordino.kernel.auth import Principal, Role
from ordino.kernel.db import Database
from ordino.kernel.http import dumps
from ordino.kernel.ids import new_id
from ordino.kernel.numbering import CHANGE_ORDER, next_number
from ordino.kernel.outbox import OutboxEvent
from ordino.kernel.worker import Dispatcher, Registration
from ordino.orders import intake
from ordino.orders.models import (
    ChangeOrder,
    ChangeOrderItem,
    OrderItemSummary,
    OrderItemTaxLine,
)
from ordino.orders.schemas import OrderIn
from ordino.payments.gateway import Gateways, HttpGateway
from ordino.payments.handlers import make_order_created_handler
from ordino.payments.models import OrderPaymentSummary, Payment
from ordino.payments.simulator import RunningServer, SimulatorConfig, SimulatorState, create_simulator, serve_in_thread
from tests import factories

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
STAFF = Principal(uuid.UUID(int=1), "tests", Role.ADMIN)
CLIENT_TIMEOUT = 0.4  # seconds the adapter waits for an answer
SLOW_ANSWER = 1.2  # seconds the simulator takes to answer a tok_timeout request the first time


# ------------------------------------------------------------------------------------------------
# Fixtures


@pytest.fixture
def frozen() -> Iterator[datetime]:
    """Ordino's clock stands at NOW (the simulator keeps real time, ahead of it)."""
    clock.set_clock(lambda: NOW)
    yield NOW
    clock.set_clock(None)


@pytest.fixture(scope="session")
def sim_server() -> Iterator[tuple[RunningServer, SimulatorState]]:
    state = SimulatorState()
    server = serve_in_thread(create_simulator(state))
    yield server, state
    server.stop()


class Sim:
    def __init__(self, url: str, state: SimulatorState) -> None:
        self.url, self.state = url, state

    def stats(self) -> dict[str, Any]:
        data: dict[str, Any] = httpx.get(f"{self.url}/stats").json()
        return data

    def performed(self, operation: str) -> int:
        return int(self.stats()["performed"].get(operation, 0))

    def authorization(self, reference: str) -> dict[str, Any]:
        data: dict[str, Any] = httpx.get(f"{self.url}/v1/authorizations/{reference}").json()
        return data


@pytest.fixture
def sim(sim_server: tuple[RunningServer, SimulatorState]) -> Sim:
    server, state = sim_server
    state.reset(SimulatorConfig(timeout_delay=SLOW_ANSWER, expired_after=0.0))
    return Sim(server.url, state)


@pytest.fixture
def gateways(sim: Sim) -> Iterator[dict[str, HttpGateway]]:
    gateway = HttpGateway("simulator", sim.url, timeout=CLIENT_TIMEOUT, attempts=4, backoff=0.02, max_backoff=0.1)
    yield {"simulator": gateway}
    gateway.close()


@pytest.fixture
def world(db: Database, frozen: datetime) -> Database:
    """Account ACME (EUR, DE), channel web, products BOLT-M8 and NUT-M8, 10,000 of each at WH-BER."""
    factories.account(db, "ACME")
    factories.channel(db, "web")
    factories.product(db, "BOLT-M8", name="Hex bolt M8x40, zinc plated")
    factories.product(db, "NUT-M8", name="Hex nut M8, zinc plated")
    factories.location(db, "WH-BER")
    factories.position(db, "BOLT-M8", "WH-BER", on_hand=10_000)
    factories.position(db, "NUT-M8", "WH-BER", on_hand=10_000)
    return db


@pytest.fixture
def api(app: Any, gateways: Gateways) -> Iterator[Any]:
    """An API client whose app uses the test gateways."""
    from fastapi.testclient import TestClient

    app.state.payment_gateways = gateways
    with TestClient(app) as client:
        yield client


# ------------------------------------------------------------------------------------------------
# Orders


def vat(amount: str, rate: str = "0.19") -> list[dict[str, Any]]:
    return [{"name": f"VAT {int(Decimal(rate) * 100)}%", "rate": rate, "amount": amount, "category": "S",
             "jurisdiction": "DE"}]


def order_payload(payments: list[dict[str, Any]] | None = None, reference: str = "WEB-1", **overrides: Any) -> dict[
    str, Any
]:
    """500 bolts at 0.0350 (17.50, VAT 3.33), 3 nuts at 0.333 (1.00, less 0.10, VAT 0.17) and
    shipping 12.50 (VAT 2.38): grand total 36.78 EUR."""
    body = factories.order_payload(external_reference=reference)
    group = body["delivery_groups"][0]
    group["lines"] = [
        {"sku": "BOLT-M8", "quantity": 500, "unit_price": "0.0350", "tax_lines": vat("3.33")},
        {"sku": "NUT-M8", "quantity": 3, "unit_price": "0.333", "tax_lines": vat("0.17"),
         "adjustments": [{"name": "Loyalty discount", "amount": "-0.10", "reference": "LOYAL10"}]},
    ]
    group["shipping_charge"] = "12.50"
    group["shipping_tax_lines"] = vat("2.38")
    body["payments"] = payments if payments is not None else [
        {"method": "card", "gateway": "simulator", "token": "tok_visa"}
    ]
    body.update(overrides)
    return body


CARD = [{"method": "card", "gateway": "simulator", "token": "tok_visa", "card_brand": "visa", "card_last4": "4242"}]
GRAND_TOTAL = 3678


def place(db: Database, payload: dict[str, Any]) -> dict[str, Any]:
    order = OrderIn.model_validate(payload)
    placed = db.transaction(lambda s: intake.place_order(s, order, STAFF))
    return dict(orjson.loads(dumps(placed.document)))


def item_ids(db: Database, order_id: Any) -> dict[str, uuid.UUID]:
    """sku (or 'shipping') → order item id."""
    with db.read() as s:
        rows = s.execute(select(OrderItemSummary.id, OrderItemSummary.sku, OrderItemSummary.type)
                         .where(OrderItemSummary.order_summary_id == uuid.UUID(str(order_id)))).all()
    return {r.sku or "shipping": r.id for r in rows}


def flows(gateways: Gateways | dict[str, Any]) -> dict[str, list[Registration]]:
    """The production flows that invoicing takes part in, with these gateway adapters."""
    return {
        "order.created": [ROUTE_NEW_ORDERS, Registration("payments.authorize_order",
                                                         make_order_created_handler(gateways))],
        "fulfillment_order.partially_shipped": [invoicing_handlers.INVOICE_SHIPMENTS],
        "fulfillment_order.fulfilled": [invoicing_handlers.INVOICE_SHIPMENTS],
        "invoice.created": [Registration("invoicing.ensure_funds",
                                         invoicing_handlers.make_ensure_funds_handler(gateways))],
        "credit_memo.created": [Registration("invoicing.ensure_refunds",
                                             invoicing_handlers.make_ensure_refunds_handler(gateways))],
        "order.items_added": [Registration("payments.authorize_added_items", make_order_created_handler(gateways))],
        "order.exchanged": [Registration("payments.authorize_added_items", make_order_created_handler(gateways))],
    }


def drain(db: Database, gateways: Gateways | dict[str, Any]) -> int:
    return Dispatcher(db, flows(gateways)).drain()


def fo_ids(db: Database, order_id: Any) -> list[str]:
    """The order's fulfilment orders, oldest first."""
    with db.read() as s:
        return [str(i) for i in s.execute(select(FulfillmentOrder.id).where(
            FulfillmentOrder.order_summary_id == uuid.UUID(str(order_id))).order_by(FulfillmentOrder.id)).scalars()]


def fo_id(db: Database, order_id: Any) -> str:
    with db.read() as s:
        return str(s.execute(select(FulfillmentOrder.id).where(
            FulfillmentOrder.order_summary_id == uuid.UUID(str(order_id)))).scalar_one())


def fo_items(db: Database, fo: str) -> dict[str, str]:
    with db.read() as s:
        rows = s.execute(select(FulfillmentOrderItem.id, FulfillmentOrderItem.sku)
                         .where(FulfillmentOrderItem.fulfillment_order_id == uuid.UUID(fo))).all()
    return {r.sku: str(r.id) for r in rows}


def ship(client: Any, headers: dict[str, str], fo: str, **units: int) -> Any:
    """Ship units of a fulfilment order through the API: ship(client, h, fo, BOLT_M8=333)."""
    body: dict[str, Any] = {"carrier": "DHL", "tracking_numbers": ["00340434161094042557"]}
    if units:
        body["items"] = [{"sku": sku.replace("_", "-"), "quantity": q} for sku, q in units.items()]
    r = client.post(f"/api/v1/fulfillment-orders/{fo}/ship", json=body, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def place_and_ship(db: Database, gateways: Gateways | dict[str, Any], client: Any, headers: dict[str, str],
                   payload: dict[str, Any]) -> dict[str, Any]:
    """Place an order through intake, run its flows, ship all of it through the API and invoice it."""
    order = place(db, payload)
    drain(db, gateways)
    ship(client, headers, fo_id(db, order["id"]))
    drain(db, gateways)
    return order


def cancel_rest(client: Any, headers: dict[str, str], fo: str) -> None:
    """Cancel a fulfilment order's unshipped units (they are deallocated)."""
    r = client.post(f"/api/v1/fulfillment-orders/{fo}/cancel", json={"reason": "out of stock"}, headers=headers)
    assert r.status_code == 200, r.text


# ------------------------------------------------------------------------------------------------
# Change orders, as servicing will write them


def change_order(db: Database, order_id: Any, kind: str, items: list[tuple[uuid.UUID, int, int, int, int]],
                 *, tax_lines: bool = True) -> uuid.UUID:
    """A change order of `kind` with items (order item, quantity, line, adjustment, tax deltas in minor
    units, negative for what it takes off); a cancel also cancels the units. With `tax_lines`, the
    change order's own tax lines (the order item's rate and category) carry the tax deltas."""

    def work(session: Any) -> uuid.UUID:
        oid = uuid.UUID(str(order_id))
        co_id = new_id()
        product = sum(line for _, _, line, _, _ in items)
        adjustment = sum(adj for _, _, _, adj, _ in items)
        tax = sum(t for _, _, _, _, t in items)
        session.execute(insert(ChangeOrder), [{
            "id": co_id, "order_summary_id": oid, "number": next_number(session, CHANGE_ORDER), "kind": kind,
            "status": "submitted",
            "reason": "customer request", "total_product_amount": product, "total_adjustment_amount": adjustment,
            "total_delivery_amount": 0, "total_tax_amount": tax, "grand_total_amount": product + adjustment + tax,
            "created_by": "tests", "created_at": clock.now(),
        }])
        for item_id, quantity, line, adj, t in items:
            session.execute(insert(ChangeOrderItem), [{
                "id": new_id(), "change_order_id": co_id, "order_item_summary_id": item_id, "quantity": quantity,
                "line_amount": line, "adjustment_amount": adj, "tax_amount": t,
            }])
            original = session.execute(select(OrderItemTaxLine).where(
                OrderItemTaxLine.order_item_summary_id == item_id, OrderItemTaxLine.change_order_id.is_(None))
            ).scalars().first()
            if tax_lines and t and original is not None:
                session.execute(insert(OrderItemTaxLine), [{
                    "id": new_id(), "order_item_summary_id": item_id, "adjustment_line_id": None,
                    "change_order_id": co_id, "name": original.name, "rate": original.rate, "amount": t,
                    "jurisdiction": original.jurisdiction, "category": original.category,
                }])
            if kind == "cancel":
                session.execute(update(OrderItemSummary).where(OrderItemSummary.id == item_id).values(
                    quantity_canceled=OrderItemSummary.quantity_canceled + quantity))
        return co_id

    return db.transaction(work)


# ------------------------------------------------------------------------------------------------
# Readers


def invoices(db: Database, order_id: Any | None = None) -> list[tuple[str, str, int, int, int]]:
    """(number, status, total, applied, balance) of the invoices, by number."""
    i = Invoice
    stmt = select(i.number, i.status, i.total_amount, i.applied_amount, i.balance_amount).order_by(i.number)
    if order_id is not None:
        stmt = stmt.where(i.order_summary_id == uuid.UUID(str(order_id)))
    with db.read() as s:
        return [tuple(r) for r in s.execute(stmt).all()]  # type: ignore[misc]


def credit_memos(db: Database) -> list[tuple[str, str, int, int, int, int]]:
    """(number, status, total, refunded, not charged, balance) of the credit memos, by number."""
    c = CreditMemo
    with db.read() as s:
        rows = s.execute(select(c.number, c.status, c.total_amount, c.refunded_amount, c.not_charged_amount,
                                c.balance_amount).order_by(c.number)).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def payments(db: Database) -> list[tuple[str, str, int]]:
    """(kind, status, amount) of every payment record, oldest first."""
    with db.read() as s:
        rows = s.execute(select(Payment.kind, Payment.status, Payment.amount).order_by(Payment.id)).all()
    return [(r.kind, r.status, r.amount) for r in rows]


def summary(db: Database, order_id: Any) -> tuple[int, int, int]:
    """(authorized, captured, refunded) of the order's card summary."""
    with db.read() as s:
        row = s.execute(select(OrderPaymentSummary.authorized_amount, OrderPaymentSummary.captured_amount,
                               OrderPaymentSummary.refunded_amount)
                        .where(OrderPaymentSummary.order_summary_id == uuid.UUID(str(order_id)),
                               OrderPaymentSummary.authorized_amount > 0)).one()
    return row[0], row[1], row[2]


def count(db: Database, model: Any) -> int:
    with db.read() as s:
        return int(s.execute(select(func.count()).select_from(model)).scalar_one())


def pending_events(db: Database) -> list[tuple[str, int]]:
    """(type, attempts) of the events not delivered yet."""
    with db.read() as s:
        rows = s.execute(select(OutboxEvent.type, OutboxEvent.attempts)
                         .where(OutboxEvent.dispatched_at.is_(None)).order_by(OutboxEvent.position)).all()
    return [(r.type, r.attempts) for r in rows]


def money_trail(db: Database, order_id: Any) -> dict[str, int]:
    """The order's money, from the payments engine and from invoicing's applications."""
    oid = uuid.UUID(str(order_id))
    with db.read() as s:
        def total(stmt: Any) -> int:
            return int(s.execute(stmt).scalar_one() or 0)

        captured = total(select(func.sum(Payment.amount)).where(
            Payment.order_summary_id == oid, Payment.kind == "capture", Payment.status == "succeeded"))
        refunded = total(select(func.sum(Payment.amount)).where(
            Payment.order_summary_id == oid, Payment.kind == "refund", Payment.status == "succeeded"))
        applied = total(select(func.sum(PaymentApplication.amount)).where(
            PaymentApplication.order_summary_id == oid, PaymentApplication.payment_id.is_not(None),
            PaymentApplication.status == "applied"))
        given_back_applied = total(select(func.sum(RefundApplication.amount)).where(
            RefundApplication.order_summary_id == oid, RefundApplication.source == "applied",
            RefundApplication.status == "applied"))
    return {"captured": captured, "refunded": refunded, "applied": applied, "given_back_applied": given_back_applied,
            "unapplied": captured - refunded - applied + given_back_applied}


def later(hours: int = 2) -> None:
    """Move Ordino's clock on (failed events become due again)."""
    moved = NOW + timedelta(hours=hours)
    clock.set_clock(lambda: moved)
