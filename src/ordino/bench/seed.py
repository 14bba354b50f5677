"""The reference data every intake run starts from: one channel, accounts, products, an API key."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass

from sqlalchemy import insert
from sqlalchemy.orm import Session

from ordino.accounts.models import Account
from ordino.catalog.models import Product, SalesChannel
from ordino.kernel import clock
from ordino.kernel.auth import Role, create_key
from ordino.kernel.db import Database
from ordino.kernel.ids import new_id
from ordino.migrate import upgrade

CHANNEL = "web"


@dataclass(frozen=True, slots=True)
class World:
    """What the load generators need to know about the seeded database."""

    channel: str
    accounts: tuple[str, ...]
    skus: tuple[str, ...]
    api_key_id: uuid.UUID
    api_key: str


def account_numbers(count: int) -> tuple[str, ...]:
    return tuple(f"ACC-{i:04d}" for i in range(1, count + 1))


def skus(count: int) -> tuple[str, ...]:
    return tuple(f"SKU-{i:05d}" for i in range(1, count + 1))


def seed(db: Database, *, accounts: int = 50, products: int = 1000, api_key: str | None = None) -> World:
    """Write the channel, accounts, products and an admin key in one transaction."""
    numbers = account_numbers(accounts)
    product_skus = skus(products)
    secret = api_key or "ordino_bench_" + secrets.token_urlsafe(24)
    now = clock.now()

    def work(session: Session) -> uuid.UUID:
        session.execute(
            insert(SalesChannel),
            [{"id": new_id(), "code": CHANNEL, "name": "Web shop", "kind": "web", "active": True,
              "version": 1, "created_at": now, "updated_at": now}],
        )
        session.execute(
            insert(Account),
            [{"id": new_id(), "number": n, "name": f"{n} GmbH", "currency": "EUR", "locale": "de",
              "country": "DE", "status": "active", "version": 1, "created_at": now, "updated_at": now}
             for n in numbers],
        )
        session.execute(
            insert(Product),
            [{"id": new_id(), "sku": s, "name": f"Bench product {s}", "unit_of_measure": "EA",
              "minimum_quantity": 1, "order_multiple": 1, "tax_class": "standard", "active": True,
              "version": 1, "created_at": now, "updated_at": now}
             for s in product_skus],
        )
        row, _ = create_key(session, name="bench admin", role=Role.ADMIN, secret=secret)
        return row.id

    key_id = db.transaction(work)
    return World(CHANNEL, numbers, product_skus, key_id, secret)


def prepare(url: str, *, accounts: int = 50, products: int = 1000, api_key: str | None = None) -> World:
    """Migrate an empty database to the head revision and seed it."""
    upgrade(url)
    db = Database(url, pool_size=1)
    try:
        return seed(db, accounts=accounts, products=products, api_key=api_key)
    finally:
        db.dispose()
