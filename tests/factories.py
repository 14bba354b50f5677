"""Records for tests, written straight through the models (not through the API under test)."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from ordino.accounts.models import Account
from ordino.catalog.models import LegalEntity, Location, Product, SalesChannel
from ordino.inventory.models import InventoryFuture, InventoryPosition, LocationGroup, LocationGroupMember
from ordino.kernel import clock
from ordino.kernel.db import Database


def _add(db: Database, row: Any) -> uuid.UUID:
    def work(session: Any) -> uuid.UUID:
        session.add(row)
        session.flush()
        return uuid.UUID(str(row.id))

    return db.transaction(work)


def account(db: Database, number: str = "ACME", **kw: Any) -> uuid.UUID:
    now = clock.now()
    fields = {"name": f"{number} GmbH", "currency": "EUR", "locale": "de", "country": "DE", **kw}
    return _add(db, Account(number=number, created_at=now, updated_at=now, **fields))


def product(db: Database, sku: str = "BOLT-M8", **kw: Any) -> uuid.UUID:
    now = clock.now()
    fields = {"name": f"Product {sku}", **kw}
    return _add(db, Product(sku=sku, created_at=now, updated_at=now, **fields))


def channel(db: Database, code: str = "web", kind: str = "web", **kw: Any) -> uuid.UUID:
    now = clock.now()
    return _add(db, SalesChannel(code=code, name=code.title(), kind=kind, created_at=now, updated_at=now, **kw))


def location(db: Database, code: str = "WH-BER", **kw: Any) -> uuid.UUID:
    now = clock.now()
    fields = {"name": code, "country": "DE", "latitude": Decimal("52.520008"), "longitude": Decimal("13.404954"), **kw}
    return _add(db, Location(code=code, created_at=now, updated_at=now, **fields))


def legal_entity(db: Database, code: str = "ORDINO-DE", **kw: Any) -> uuid.UUID:
    """A German seller in Berlin (the default entity unless told otherwise)."""
    now = clock.now()
    fields = {
        "name": "Ordino Supply GmbH", "line1": "Friedrichstraße 100", "city": "Berlin", "postal_code": "10117",
        "country": "DE", "vat_id": "DE136695976", "iban": "DE89370400440532013000", "bic": "COBADEFFXXX",
        "bank_name": "Commerzbank", "email": "billing@ordino.example", "is_default": True,
        "contact_name": "Jana Dvořáková", "phone": "+49 30 1234567", **kw,
    }
    return _add(db, LegalEntity(code=code, created_at=now, updated_at=now, **fields))


def order_payload(**overrides: Any) -> dict[str, Any]:
    """The order of DESIGN §6 with 'pricing': 'order'."""
    body: dict[str, Any] = {
        "channel": "web",
        "external_reference": "WEB-10001",
        "account": "ACME",
        "currency": "EUR",
        "po_number": "PO-4711",
        "ordered_at": "2026-11-26T10:00:00Z",
        "pricing": "order",
        "prices_include_tax": False,
        "delivery_groups": [
            {
                "ship_to": {
                    "name": "ACME Receiving",
                    "line1": "Invalidenstraße 1",
                    "city": "Berlin",
                    "postal_code": "10115",
                    "country": "DE",
                    "region": None,
                },
                "delivery_method": "standard",
                "shipping_charge": "12.50",
                "lines": [{"sku": "BOLT-M8", "quantity": 500, "unit_price": "0.0350"}],
            }
        ],
        "payments": [{"method": "card", "gateway": "simulator", "token": "tok_visa"}],
    }
    body.update(overrides)
    return body


def intake_world(db: Database) -> None:
    """The seller, account, channel and product that the DESIGN §6 example refers to."""
    legal_entity(db)
    account(db, "ACME")
    channel(db, "web")
    product(db, "BOLT-M8", name="Hex bolt M8x40, zinc plated")


def position(
    db: Database,
    sku: str = "BOLT-M8",
    location: str = "WH-BER",
    *,
    on_hand: int = 0,
    safety_stock: int = 0,
    reserved: int = 0,
    backordered: int = 0,
    futures: list[tuple[date, int]] | None = None,
) -> None:
    """An inventory position (and its futures), written straight to the tables."""

    def work(session: Any) -> None:
        location_id = session.execute(select(Location.id).where(Location.code == location)).scalar_one()
        session.add(
            InventoryPosition(
                sku=sku, location_id=location_id, on_hand=on_hand, safety_stock=safety_stock, reserved=reserved,
                backordered=backordered, futures=sum(q for _, q in futures or ()), version=1, updated_at=clock.now(),
            )
        )
        session.flush()
        for day, quantity in futures or ():
            session.add(InventoryFuture(sku=sku, location_id=location_id, expected_on=day, quantity=quantity))
        session.flush()

    db.transaction(work)


def location_group(db: Database, code: str, locations: list[str], name: str | None = None) -> uuid.UUID:
    def work(session: Any) -> uuid.UUID:
        now = clock.now()
        group = LocationGroup(code=code, name=name or code, version=1, created_at=now, updated_at=now)
        session.add(group)
        session.flush()
        for location_id in session.execute(select(Location.id).where(Location.code.in_(locations))).scalars():
            session.add(LocationGroupMember(group_id=group.id, location_id=location_id))
        session.flush()
        return uuid.UUID(str(group.id))

    return db.transaction(work)
