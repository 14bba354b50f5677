"""A small B2B world for the approval and quote tests, written straight through the models:
accounts ACME (parent) ← ACME-BER (child) and OTHER, contacts with buyer roles and their keys,
stock at WH-BER that the web channel reserves at intake, and a EUR list price book."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from ordino.accounts.models import Contact
from ordino.inventory import sourcing
from ordino.inventory.models import InventoryPosition
from ordino.kernel import clock
from ordino.kernel.auth import Role, create_key
from ordino.kernel.db import Database
from ordino.kernel.ids import new_id
from ordino.kernel.outbox import OutboxEvent
from ordino.pricing.models import PriceBook, PriceBookEntry, Promotion, PromotionSku
from tests import factories

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
NOW_TEXT = "2026-11-26T10:00:00+00:00"


@dataclass
class World:
    db: Database
    accounts: dict[str, uuid.UUID] = field(default_factory=dict)
    contacts: dict[str, uuid.UUID] = field(default_factory=dict)
    keys: dict[str, dict[str, str]] = field(default_factory=dict)  # name → Authorization header


def contact(db: Database, account_id: uuid.UUID, first_name: str, roles: list[str]) -> uuid.UUID:
    def work(session: Any) -> uuid.UUID:
        now = clock.now()
        row = Contact(account_id=account_id, first_name=first_name, last_name="Tester", roles=roles, version=1,
                      created_at=now, updated_at=now)
        session.add(row)
        session.flush()
        return uuid.UUID(str(row.id))

    return db.transaction(work)


def key(db: Database, name: str, role: Role, account_id: uuid.UUID | None = None,
        contact_id: uuid.UUID | None = None) -> dict[str, str]:
    """Authorization headers of a new key; its actor is "<role>:<name>"."""
    _, secret = db.transaction(lambda s: create_key(
        s, name=name, role=role, account_id=account_id, contact_id=contact_id))
    return {"Authorization": f"Bearer {secret}"}


def build(db: Database) -> World:
    """The seller ORDINO-DE; ACME ← ACME-BER, OTHER; channel web reserving at WH-BER (10,000 of each product);
    BOLT-M8, NUT-M8, DRILL-X; contacts and their buyer keys:
    bob (ACME-BER buyer), carol (ACME-BER buyer + approver), alice (ACME approver),
    dora (ACME account admin), otto (OTHER approver), vic (ACME-BER, no roles); staff keys
    admin, agent and fulfillment."""
    w = World(db)
    factories.legal_entity(db)
    w.accounts["ACME"] = factories.account(db, "ACME")
    w.accounts["ACME-BER"] = factories.account(db, "ACME-BER", parent_id=w.accounts["ACME"])
    w.accounts["OTHER"] = factories.account(db, "OTHER")
    factories.channel(db, "web")
    for sku in ("BOLT-M8", "NUT-M8", "DRILL-X"):
        factories.product(db, sku)
    factories.location(db, "WH-BER")
    for sku in ("BOLT-M8", "NUT-M8", "DRILL-X"):
        factories.position(db, sku, "WH-BER", on_hand=10_000)
    db.transaction(lambda s: sourcing.set_sourcing(s, "web", "location", "WH-BER"))
    people = {
        "bob": ("ACME-BER", ["buyer"]),
        "carol": ("ACME-BER", ["approver", "buyer"]),
        "alice": ("ACME", ["approver"]),
        "dora": ("ACME", ["account_admin"]),
        "otto": ("OTHER", ["approver", "buyer"]),
        "vic": ("ACME-BER", []),
    }
    for name, (account, roles) in people.items():
        w.contacts[name] = contact(db, w.accounts[account], name.title(), roles)
        w.keys[name] = key(db, name, Role.BUYER, w.accounts[account], w.contacts[name])
    for role in (Role.ADMIN, Role.AGENT, Role.FULFILLMENT):
        w.keys[role.value] = key(db, role.value, role)
    return w


def order(reference: str, *lines: tuple[str, int, str], account: str = "ACME-BER",
          shipping: str = "12.50", **overrides: Any) -> dict[str, Any]:
    """An order payload ('pricing': 'order') with (sku, quantity, unit price) lines."""
    body = factories.order_payload(external_reference=reference, account=account, **overrides)
    group = body["delivery_groups"][0]
    group["shipping_charge"] = shipping
    group["lines"] = [{"sku": s, "quantity": q, "unit_price": p} for s, q, p in lines]
    return body


def price_book(db: Database, prices: dict[str, str], code: str = "LIST-EUR") -> None:
    """The standard EUR list book with these unit prices."""
    def work(session: Any) -> None:
        now = clock.now()
        book = PriceBook(id=new_id(), code=code, name=code, currency="EUR", kind="list", is_standard=True,
                         active=True, version=1, created_at=now, updated_at=now)
        session.add(book)
        session.flush()
        for sku, price in prices.items():
            session.add(PriceBookEntry(id=new_id(), price_book_id=book.id, sku=sku, unit_price=Decimal(price),
                                       updated_at=now))
        session.flush()

    db.transaction(work)


def line_promotion(db: Database, code: str, sku: str, percentage: str) -> None:
    """An automatic percentage promotion on one SKU's lines."""
    def work(session: Any) -> None:
        now = clock.now()
        row = Promotion(id=new_id(), code=code, name=code.title(), level="line", kind="percentage",
                        percentage=Decimal(percentage), priority=1, stackable=True, requires_coupon=False,
                        active=True, version=1, created_at=now, updated_at=now)
        session.add(row)
        session.flush()
        session.add(PromotionSku(promotion_id=row.id, sku=sku))
        session.flush()

    db.transaction(work)


def reserved(db: Database, sku: str = "BOLT-M8") -> int:
    with db.read() as s:
        return int(s.execute(select(func.sum(InventoryPosition.reserved)).where(InventoryPosition.sku == sku))
                   .scalar_one() or 0)


def count(db: Database, model: Any) -> int:
    with db.read() as s:
        return int(s.execute(select(func.count()).select_from(model)).scalar_one())


def events(db: Database, type_: str) -> list[dict[str, Any]]:
    with db.read() as s:
        return [dict(d) for d in s.execute(
            select(OutboxEvent.data).where(OutboxEvent.type == type_).order_by(OutboxEvent.position)
        ).scalars()]


def event_types(db: Database) -> list[str]:
    with db.read() as s:
        return list(s.execute(select(OutboxEvent.type).order_by(OutboxEvent.position)).scalars())
