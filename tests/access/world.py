"""The world the access matrix runs in: two accounts, A (ACME) and B (HANSA), each with a record of
every kind an account owns (contact, address, tax profile, payment method, orders with their
fulfilment order, reservations, authorization, capture, invoice, credit memo, remittance,
approval, approval rule, quote, process exception), shared records (catalog, network, stock,
prices, rates), and one API key per role, unscoped and scoped to A."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from ordino.kernel import clock
from ordino.kernel.auth import Role, create_key
from ordino.kernel.db import Database
from ordino.orders.models import OrderItemSummary
from ordino.orders.process_exceptions.service import raise_process_exception
from ordino.payments.models import OrderPaymentSummary, Payment
from tests import factories
from tests.invoicing.support import change_order, drain, fo_id, item_ids, order_payload, place, ship

SIDES = ("A", "B")
NUMBERS = {"A": "ACME", "B": "HANSA"}
DAY = (clock.now().date() + timedelta(days=30)).isoformat()  # a day of capacity, ahead


@dataclass(frozen=True)
class Caller:
    """An API key of `role`, scoped to account A or not."""

    role: Role
    scoped: bool
    headers: dict[str, str] = field(compare=False, repr=False)

    def __str__(self) -> str:
        return f"{self.role.value}{' scoped to A' if self.scoped else ''}"


@dataclass
class World:
    db: Database
    api: TestClient
    admin: dict[str, str]
    records: dict[str, dict[str, str]] = field(default_factory=lambda: {side: {} for side in SIDES})
    shared: dict[str, str] = field(default_factory=dict)
    callers: list[Caller] = field(default_factory=list)
    serial: int = 0

    def of(self, side: str, name: str) -> str:
        return self.records[side][name]

    def next(self, prefix: str) -> str:
        """A fresh code, for records a request creates."""
        self.serial += 1
        return f"{prefix}-{self.serial}"

    def markers(self, side: str) -> set[str]:
        """Every id of the side's records: none may appear in a list another account's key reads."""
        return {v for k, v in self.records[side].items() if k != "number"}

    def ok(self, method: str, path: str, body: Any = None, **kw: Any) -> dict[str, Any]:
        r = self.api.request(method, f"/api/v1{path}", json=body, headers=self.admin, **kw)
        assert r.status_code in (200, 201), (method, path, r.status_code, r.text)
        return dict(r.json())


def _key(db: Database, role: Role, account_id: uuid.UUID | None, contact_id: uuid.UUID | None = None) -> dict[str, str]:
    _, secret = db.transaction(lambda s: create_key(
        s, name=f"matrix {role}", role=role, account_id=account_id, contact_id=contact_id))
    return {"Authorization": f"Bearer {secret}"}


def _shared(w: World) -> None:
    db = w.db
    factories.legal_entity(db)
    factories.channel(db, "web")
    for sku in ("BOLT-M8", "NUT-M8"):
        factories.product(db, sku)
    factories.location(db, "WH-BER")
    factories.location(db, "WH-HAM")
    for sku in ("BOLT-M8", "NUT-M8"):
        factories.position(db, sku, "WH-BER", on_hand=100_000)
        factories.position(db, sku, "WH-HAM", on_hand=100_000)
    factories.location_group(db, "NORTH", ["WH-BER", "WH-HAM"])
    w.ok("PUT", "/channels/web/sourcing", {"mode": "location", "target": "WH-BER"})
    w.ok("PUT", "/locations/WH-BER/capacity", {"units_per_day": 1000})
    book = w.ok("POST", "/price-books", {"code": "LIST-EUR", "name": "List", "currency": "EUR", "kind": "list",
                                         "is_standard": True})
    w.ok("PUT", "/price-books/LIST-EUR/entries", {"entries": [{"sku": "BOLT-M8", "unit_price": "0.0350"},
                                                              {"sku": "NUT-M8", "unit_price": "0.3330"}]})
    promotion = w.ok("POST", "/promotions", {"code": "AUTUMN", "name": "Autumn", "level": "line",
                                             "kind": "percentage", "percentage": "5", "requires_coupon": True,
                                             "coupons": [{"code": "AUTUMN-1"}]})
    w.ok("POST", "/fx-rates", {"rates": [{"base": "EUR", "quote": "USD", "rate": "1.0823",
                                          "effective_on": "2026-01-02"}]})
    r = w.api.post("/api/v1/inventory/imports", content=b"sku,location,on_hand\nBOLT-M8,WH-HAM,100000\n",
                   headers={**w.admin, "Content-Type": "text/csv"})
    assert r.status_code == 201, r.text
    w.shared.update(price_book=book["id"], promotion=promotion["id"], inventory_import=r.json()["id"])


def _account(w: World, side: str) -> None:
    """The account's own records, created as admin (and by the flows, for what they create)."""
    rec, number = w.records[side], NUMBERS[side]
    rec["number"] = number
    rec["account"] = w.ok("POST", "/accounts", {"number": number, "name": f"{number} GmbH", "currency": "EUR",
                                                "country": "DE"})["id"]
    rec["contact"] = w.ok("POST", f"/accounts/{number}/contacts", {
        "first_name": "Dora", "last_name": number.title(), "roles": ["buyer", "approver", "account_admin"]})["id"]
    rec["address"] = w.ok("POST", f"/accounts/{number}/addresses", {
        "reference": f"{number}-SHIP", "kind": "shipping", "name": f"{number} Receiving", "line1": "Hafenstraße 1",
        "city": "Hamburg", "postal_code": "20457", "country": "DE"})["id"]
    w.ok("PUT", f"/accounts/{number}/tax-profile", {"business": True})
    rec["payment_method"] = w.ok("POST", "/payment-methods", {
        "account_id": rec["account"], "method": "card", "gateway": "simulator", "token": "tok_visa"})["id"]
    rec["rule"] = w.ok("POST", "/approval-rules", {"account": number, "kind": "order_total", "name": "Large orders",
                                                   "amount": "100.00", "currency": "EUR"})["id"]
    rec["quote"] = w.ok("POST", "/quotes", {"account": number, "channel": "web",
                                            "lines": [{"sku": "BOLT-M8", "quantity": 100}]})["id"]
    _orders(w, side)


def _orders(w: World, side: str) -> None:
    """A card order shipped (fulfilment order, authorization, capture, invoice) with a credited
    return and a process exception; a second one waiting for approval (its items reserved)."""
    db, rec, number = w.db, w.records[side], NUMBERS[side]
    gateways = w.api.app.state.payment_gateways  # type: ignore[attr-defined]
    shipped = place(db, order_payload(reference=f"{number}-1", account=number))
    rec["order"] = shipped["id"]
    drain(db, gateways)
    rec["fulfillment_order"] = fo_id(db, shipped["id"])
    ship(w.api, w.admin, rec["fulfillment_order"])
    drain(db, gateways)
    rec["invoice"] = w.ok("GET", f"/invoices?order={shipped['id']}")["items"][0]["id"]
    items = item_ids(db, shipped["id"])
    co = change_order(db, shipped["id"], "return", [(items["BOLT-M8"], 100, -350, 0, -67)])
    rec["change_order"] = str(co)
    rec["credit_memo"] = w.ok("POST", "/credit-memos", {"order": shipped["id"], "change_orders": [str(co)]})["id"]
    rec["return_order"] = w.ok("POST", "/return-orders", {"order": shipped["id"], "lines": [
        {"line_number": 1, "quantity": 50, "reason": "damaged"}]})["id"]
    w.ok("POST", f"/return-orders/{rec['return_order']}/approve")
    with db.read() as s:
        rec["summary"] = str(s.execute(select(OrderPaymentSummary.id).where(
            OrderPaymentSummary.order_summary_id == uuid.UUID(shipped["id"]))).scalars().first())
        payments = {p.kind: str(p.id) for p in s.execute(select(Payment).where(
            Payment.order_summary_id == uuid.UUID(shipped["id"]))).scalars()}
    rec["authorization"], rec["capture"] = payments["authorization"], payments["capture"]
    rec["fee_invoice"] = w.ok("POST", "/invoices", {"order": shipped["id"], "description": "Handling fee",
                                                    "amount": "50.00", "currency": "EUR"})["id"]
    rec["remittance"] = w.ok("POST", "/payments", {
        "account": number, "amount": "1.00", "currency": "EUR", "reference": f"{number}-BANK-1",
        "received_on": "2026-11-27", "applications": [{"invoice": rec["fee_invoice"], "amount": "1.00"}]})["id"]
    rec["exception"] = str(db.transaction(lambda s: raise_process_exception(
        s, category="fulfillment", message="Pallet damaged", attached_to_type="order_summary",
        attached_to_id=uuid.UUID(shipped["id"]), order_summary_id=uuid.UUID(shipped["id"]))))
    held = place(db, order_payload(reference=f"{number}-2", account=number, delivery_groups=[{
        **order_payload()["delivery_groups"][0],
        "lines": [{"sku": "BOLT-M8", "quantity": 20_000, "unit_price": "0.0350"}]}]))
    assert held["status"] == "pending_approval", held["status"]
    rec["held_order"] = held["id"]
    with db.read() as s:
        rec["held_item"] = str(s.execute(select(OrderItemSummary.id).where(
            OrderItemSummary.order_summary_id == uuid.UUID(held["id"]), OrderItemSummary.sku == "BOLT-M8",
        )).scalar_one())
    rec["approval"] = w.ok("GET", f"/approvals?order={held['id']}")["items"][0]["id"]


def _callers(w: World) -> None:
    a_account = uuid.UUID(w.of("A", "account"))
    a_contact = uuid.UUID(w.of("A", "contact"))
    for role in Role:
        if role is not Role.BUYER:  # a buyer key is always scoped
            w.callers.append(Caller(role, False, _key(w.db, role, None)))
        if role is not Role.ADMIN:  # an admin key never is
            contact = a_contact if role is Role.BUYER else None
            w.callers.append(Caller(role, True, _key(w.db, role, a_account, contact)))


def build(db: Database, api: TestClient) -> World:
    admin = _key(db, Role.ADMIN, None)
    w = World(db, api, admin)
    _shared(w)
    for side in SIDES:
        _account(w, side)
    _callers(w)
    return w
