"""The reference data every intake run starts from: the seller, one channel, accounts, products, an
API key; for catalog pricing also price books with tiers and a promotion (`seed_catalog`)."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import insert
from sqlalchemy.orm import Session

from ordino.accounts.models import Account
from ordino.catalog.models import LegalEntity, Product, SalesChannel
from ordino.kernel import clock
from ordino.kernel.auth import Role, create_key
from ordino.kernel.db import Database
from ordino.kernel.ids import new_id
from ordino.migrate import upgrade
from ordino.pricing.models import (
    PriceBook,
    PriceBookAccount,
    PriceBookEntry,
    PriceBookTier,
    Promotion,
    PromotionChannel,
)

CHANNEL = "web"
PRICINGS = ("order", "catalog")
# Catalog pricing: every product has a list price with a quantity break; every other account has a
# contract book for every fourth product; one automatic promotion of the web channel takes 5 % off
# every line; the German seller charges German B2B buyers 19 % VAT on goods and shipping.
TIER_FROM = 50
TIER_FACTOR = Decimal("0.90")
CONTRACT_FACTOR = Decimal("0.85")
CONTRACT_EVERY = 4
PROMOTION_PERCENT = Decimal(5)
PROMOTION_CODE = "WEB-5"


@dataclass(frozen=True, slots=True)
class World:
    """What the load generators need to know about the seeded database."""

    channel: str
    accounts: tuple[str, ...]
    skus: tuple[str, ...]
    api_key_id: uuid.UUID
    api_key: str
    pricing: str = "order"  # "order": the sender prices the lines; "catalog": the price books do


def account_numbers(count: int) -> tuple[str, ...]:
    return tuple(f"ACC-{i:04d}" for i in range(1, count + 1))


def skus(count: int) -> tuple[str, ...]:
    return tuple(f"SKU-{i:05d}" for i in range(1, count + 1))


def list_price(index: int) -> Decimal:
    """The list price of the index-th product (1-based): 1.00 to 999.99, spread over the range (at
    least 1.00, so that the promotion takes something off every line: one adjustment per line)."""
    return Decimal((index * 7_919) % 99_900 + 100) / 100


def _cents(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), ROUND_HALF_UP)


def seed_seller(session: Session, now: datetime) -> None:
    """The German seller, the default legal entity: whoever taxes the orders, every order has one."""
    session.execute(insert(LegalEntity), [{
        "id": new_id(), "code": "ORDINO-DE", "name": "Ordino Supply GmbH", "line1": "Friedrichstraße 100",
        "city": "Berlin", "postal_code": "10117", "country": "DE", "vat_id": "DE136695976",
        "invalid_vat_id": "refuse", "is_default": True, "active": True, "version": 1, "created_at": now,
        "updated_at": now}])


def seed_catalog(session: Session, now: datetime, channel_id: uuid.UUID, account_ids: list[uuid.UUID],
                 product_skus: tuple[str, ...]) -> None:
    """The standard list book with a tier per entry, a contract book, a promotion."""
    books = {"EUR-LIST": new_id(), "EUR-CONTRACT": new_id()}
    session.execute(insert(PriceBook), [
        {"id": books["EUR-LIST"], "code": "EUR-LIST", "name": "List EUR", "currency": "EUR", "kind": "list",
         "is_standard": True, "active": True, "version": 1, "created_at": now, "updated_at": now},
        {"id": books["EUR-CONTRACT"], "code": "EUR-CONTRACT", "name": "Contract EUR", "currency": "EUR",
         "kind": "contract", "is_standard": False, "active": True, "version": 1, "created_at": now,
         "updated_at": now},
    ])
    session.execute(insert(PriceBookAccount), [
        {"price_book_id": books["EUR-CONTRACT"], "account_id": a, "assigned_at": now} for a in account_ids[::2]
    ])
    entries, tiers = [], []
    for i, sku in enumerate(product_skus, start=1):
        price = list_price(i)
        entry_id = new_id()
        entries.append({"id": entry_id, "price_book_id": books["EUR-LIST"], "sku": sku, "unit_price": price,
                        "updated_at": now})
        tiers.append({"entry_id": entry_id, "from_quantity": TIER_FROM, "unit_price": _cents(price * TIER_FACTOR)})
        if i % CONTRACT_EVERY == 0:
            entries.append({"id": new_id(), "price_book_id": books["EUR-CONTRACT"], "sku": sku,
                            "unit_price": _cents(price * CONTRACT_FACTOR), "updated_at": now})
    session.execute(insert(PriceBookEntry), entries)
    session.execute(insert(PriceBookTier), tiers)
    promotion_id = new_id()
    session.execute(insert(Promotion), [{
        "id": promotion_id, "code": PROMOTION_CODE, "name": "5 % off web orders", "level": "line",
        "kind": "percentage", "percentage": PROMOTION_PERCENT, "priority": 0, "stackable": True,
        "requires_coupon": False, "active": True, "version": 1, "created_at": now, "updated_at": now}])
    session.execute(insert(PromotionChannel), [{"promotion_id": promotion_id, "channel_id": channel_id}])


def seed(
    db: Database, *, accounts: int = 50, products: int = 1000, api_key: str | None = None, pricing: str = "order"
) -> World:
    """Write the seller, channel, accounts, products and an admin key in one transaction (and the
    price books and promotion when `pricing` is "catalog")."""
    if pricing not in PRICINGS:
        raise ValueError(f"pricing must be one of {PRICINGS}, not {pricing!r}")
    numbers = account_numbers(accounts)
    product_skus = skus(products)
    secret = api_key or "ordino_bench_" + secrets.token_urlsafe(24)
    now = clock.now()

    channel_id = new_id()
    account_ids = [new_id() for _ in numbers]

    def work(session: Session) -> uuid.UUID:
        seed_seller(session, now)
        session.execute(
            insert(SalesChannel),
            [{"id": channel_id, "code": CHANNEL, "name": "Web shop", "kind": "web", "active": True,
              "version": 1, "created_at": now, "updated_at": now}],
        )
        session.execute(
            insert(Account),
            [{"id": account_id, "number": n, "name": f"{n} GmbH", "currency": "EUR", "locale": "de",
              "country": "DE", "status": "active", "version": 1, "created_at": now, "updated_at": now}
             for account_id, n in zip(account_ids, numbers, strict=True)],
        )
        session.execute(
            insert(Product),
            [{"id": new_id(), "sku": s, "name": f"Bench product {s}", "unit_of_measure": "EA",
              "minimum_quantity": 1, "order_multiple": 1, "tax_class": "standard", "active": True,
              "version": 1, "created_at": now, "updated_at": now}
             for s in product_skus],
        )
        if pricing == "catalog":
            seed_catalog(session, now, channel_id, account_ids, product_skus)
        row, _ = create_key(session, name="bench admin", role=Role.ADMIN, secret=secret)
        return row.id

    key_id = db.transaction(work)
    return World(CHANNEL, numbers, product_skus, key_id, secret, pricing)


def prepare(
    url: str, *, accounts: int = 50, products: int = 1000, api_key: str | None = None, pricing: str = "order"
) -> World:
    """Migrate an empty database to the head revision and seed it."""
    upgrade(url)
    db = Database(url, pool_size=1)
    try:
        return seed(db, accounts=accounts, products=products, api_key=api_key, pricing=pricing)
    finally:
        db.dispose()
