"""A world in which one person, Jane Doe of ACME, is named across Ordino's records."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import update

from ordino.kernel import clock
from ordino.kernel.auth import Role, create_key
from ordino.kernel.db import Database
from ordino.kernel.ids import new_id
from ordino.orders.approvals.models import ApprovalRequest
from ordino.orders.models import OrderSummary
from ordino.orders.quotes.models import Quote
from tests import factories
from tests.invoicing.support import CARD, drain, fo_id, order_payload, place, ship

EMAIL = "jane.doe@acme.example"
PHONE = "+49 30 1234567"
JANE_SHIP_TO = {"name": "Jane Doe", "line1": "Invalidenstraße 1", "city": "Berlin", "postal_code": "10115",
                "country": "DE", "region": None, "phone": PHONE, "email": EMAIL}
KEY_NAME = "Jane Doe portal"


@dataclass
class Jane:
    contact: str
    address: str
    other_address: str
    invoiced: dict[str, Any]  # SO-000001: shipped and invoiced, ship-to "Jane Doe"
    cancelled: dict[str, Any]  # SO-000002: placed by Jane, cancelled, bill-to "Jane Doe"
    hansa: dict[str, Any]  # SO-000003: another account's order to a "Jane Doe"
    key_id: uuid.UUID
    quote: uuid.UUID
    approval: uuid.UUID


def _contact(api: Any, admin: dict[str, str]) -> str:
    r = api.post("/api/v1/accounts/ACME/contacts", headers={**admin, "Idempotency-Key": "jane-1"}, json={
        "first_name": "Jane", "last_name": "Doe", "email": EMAIL, "phone": PHONE, "title": "Purchasing",
        "roles": ["buyer", "approver"]})
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def _address(api: Any, admin: dict[str, str], name: str, reference: str, phone: str | None) -> str:
    r = api.post("/api/v1/accounts/ACME/addresses", headers=admin, json={
        "reference": reference, "kind": "shipping", "name": name, "line1": "Hauptstraße 5", "city": "Berlin",
        "postal_code": "10115", "country": "DE", "phone": phone})
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def set_order(db: Database, order_id: Any, **values: Any) -> None:
    db.transaction(lambda s: s.execute(update(OrderSummary).where(
        OrderSummary.id == uuid.UUID(str(order_id))).values(**values)))


def _quote_and_approval(db: Database, contact: uuid.UUID, order_id: uuid.UUID) -> tuple[uuid.UUID, uuid.UUID]:
    def work(s: Any) -> tuple[uuid.UUID, uuid.UUID]:
        order = s.get(OrderSummary, order_id)
        now = clock.now()
        quote = Quote(id=new_id(), number="Q-000001", account_id=order.account_id, channel_id=order.channel_id,
                      currency="EUR", status="rejected", notes=f"Call Jane on {PHONE}",
                      requested_by_contact_id=contact, created_by=f"buyer:{KEY_NAME}", created_at=now,
                      updated_at=now)
        approval = ApprovalRequest(id=new_id(), order_summary_id=order_id, account_id=order.account_id,
                                   status="approved", reasons=[], requested_at=now, decided_by=f"buyer:{KEY_NAME}",
                                   decided_by_contact_id=contact, decided_at=now, decision_note="ok, Jane",
                                   updated_at=now)
        s.add_all([quote, approval])
        s.flush()
        return quote.id, approval.id

    return db.transaction(work)


def jane_world(db: Database, api: Any, admin: dict[str, str], gateways: Any) -> Jane:
    """ACME (with Jane) and HANSA; three orders naming Jane, one of them invoiced; her key, a quote
    she asked for and an approval she decided."""
    factories.account(db, "HANSA")
    factories.legal_entity(db)
    contact = _contact(api, admin)
    address = _address(api, admin, "Jane Doe", "JANE", PHONE)
    other = _address(api, admin, "ACME Receiving", "DOCK", "+49 30 999999")
    invoiced = place(db, order_payload(CARD, reference="WEB-1", delivery_groups=[
        {**order_payload()["delivery_groups"][0], "ship_to": JANE_SHIP_TO}]))
    drain(db, gateways)
    ship(api, admin, fo_id(db, invoiced["id"]))
    drain(db, gateways)
    cancelled = place(db, order_payload(CARD, reference="WEB-2", bill_to={
        "name": "Jane Doe", "line1": "Hauptstraße 5", "city": "Berlin", "postal_code": "10115", "country": "DE",
        "email": EMAIL}))
    set_order(db, cancelled["id"], status="cancelled", buyer_contact_id=uuid.UUID(contact),
               created_by=f"buyer:{KEY_NAME}")
    hansa = place(db, order_payload(CARD, reference="WEB-3", account="HANSA", delivery_groups=[
        {**order_payload()["delivery_groups"][0], "ship_to": JANE_SHIP_TO}]))
    jane = uuid.UUID(contact)
    key, _ = db.transaction(lambda s: create_key(s, name=KEY_NAME, role=Role.BUYER,
                                                 account_id=account_of(db, invoiced), contact_id=jane))
    quote, approval = _quote_and_approval(db, jane, uuid.UUID(cancelled["id"]))
    return Jane(contact, address, other, invoiced, cancelled, hansa, key.id, quote, approval)


def account_of(db: Database, order: dict[str, Any]) -> uuid.UUID:
    with db.read() as s:
        found = s.get(OrderSummary, uuid.UUID(order["id"]))
        assert found is not None
        return found.account_id
