"""Fixtures of the pricing tests: a clock at NOW, a small world, and builders that write price
books and promotions straight through the models (not through the API under test)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from ordino.accounts.models import Account
from ordino.catalog.models import SalesChannel
from ordino.kernel import clock
from ordino.kernel.db import Database
from ordino.kernel.ids import new_id
from ordino.kernel.outbox import OutboxEvent
from ordino.pricing.models import (
    Coupon,
    PriceBook,
    PriceBookAccount,
    PriceBookEntry,
    PriceBookTier,
    Promotion,
    PromotionAccount,
    PromotionChannel,
    PromotionSku,
)
from tests import factories

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
NOW_TEXT = "2026-11-26T10:00:00+00:00"
SKUS = ("BOLT-M8", "NUT-M8", "WASHER-M8", "SCREW-4x40")


@pytest.fixture
def frozen() -> Iterator[datetime]:
    """The clock stands at NOW, so timestamps can be asserted exactly."""
    clock.set_clock(lambda: NOW)
    yield NOW
    clock.set_clock(None)


@pytest.fixture
def world(db: Database) -> Database:
    """Accounts GROUP ← ACME ← ACME-BER (parent ← child) and OTHER; channels web and edi;
    products BOLT-M8, NUT-M8, WASHER-M8, SCREW-4x40."""
    group = factories.account(db, "GROUP")
    acme = factories.account(db, "ACME", parent_id=group)
    factories.account(db, "ACME-BER", parent_id=acme)
    factories.account(db, "OTHER")
    factories.channel(db, "web")
    factories.channel(db, "edi", kind="edi")
    for sku in SKUS:
        factories.product(db, sku)
    return db


def account_id(db: Database, number: str) -> uuid.UUID:
    with db.read() as s:
        return s.execute(select(Account.id).where(Account.number == number)).scalar_one()


def book(
    db: Database,
    code: str,
    currency: str = "EUR",
    kind: str = "list",
    *,
    standard: bool = False,
    accounts: Sequence[str] = (),
    valid_from: datetime | None = None,
    valid_to: datetime | None = None,
    active: bool = True,
) -> uuid.UUID:
    def work(session: Any) -> uuid.UUID:
        now = clock.now()
        row = PriceBook(
            id=new_id(), code=code, name=code, currency=currency, kind=kind, is_standard=standard,
            valid_from=valid_from, valid_to=valid_to, active=active, version=1, created_at=now, updated_at=now,
        )
        session.add(row)
        session.flush()
        for number in accounts:
            aid = session.execute(select(Account.id).where(Account.number == number)).scalar_one()
            session.add(PriceBookAccount(price_book_id=row.id, account_id=aid, assigned_at=now))
        session.flush()
        return uuid.UUID(str(row.id))

    return db.transaction(work)


def entry(
    db: Database,
    book_code: str,
    sku: str,
    price: str,
    tiers: dict[int, str] | None = None,
    *,
    valid_from: datetime | None = None,
    valid_to: datetime | None = None,
) -> None:
    def work(session: Any) -> None:
        book_id = session.execute(select(PriceBook.id).where(PriceBook.code == book_code)).scalar_one()
        row = PriceBookEntry(
            id=new_id(), price_book_id=book_id, sku=sku, unit_price=Decimal(price), valid_from=valid_from,
            valid_to=valid_to, updated_at=clock.now(),
        )
        session.add(row)
        session.flush()
        for from_quantity, tier_price in (tiers or {}).items():
            session.add(PriceBookTier(entry_id=row.id, from_quantity=from_quantity, unit_price=Decimal(tier_price)))
        session.flush()

    db.transaction(work)


def promotion(
    db: Database,
    code: str,
    level: str,
    kind: str,
    *,
    skus: Sequence[str] = (),
    accounts: Sequence[str] = (),
    channels: Sequence[str] = (),
    coupons: Sequence[tuple[str, int | None]] = (),
    **fields: Any,
) -> uuid.UUID:
    """A promotion; `fields` are model columns (percentage / amount as text become Decimals)."""

    def work(session: Any) -> uuid.UUID:
        now = clock.now()
        values = {k: Decimal(v) if k in ("percentage", "amount") else v for k, v in fields.items()}
        values.setdefault("name", code.replace("-", " ").title())
        row = Promotion(
            id=new_id(), code=code, level=level, kind=kind, version=1, created_at=now, updated_at=now, **values
        )
        session.add(row)
        session.flush()
        for sku in skus:
            session.add(PromotionSku(promotion_id=row.id, sku=sku))
        for number in accounts:
            aid = session.execute(select(Account.id).where(Account.number == number)).scalar_one()
            session.add(PromotionAccount(promotion_id=row.id, account_id=aid))
        for channel in channels:
            cid = session.execute(select(SalesChannel.id).where(SalesChannel.code == channel)).scalar_one()
            session.add(PromotionChannel(promotion_id=row.id, channel_id=cid))
        for coupon_code, limit in coupons:
            session.add(
                Coupon(
                    id=new_id(), promotion_id=row.id, code=coupon_code.upper(), usage_limit=limit, times_used=0,
                    active=True, version=1, created_at=now, updated_at=now,
                )
            )
        session.flush()
        return uuid.UUID(str(row.id))

    return db.transaction(work)


def times_used(db: Database, code: str) -> int:
    with db.read() as s:
        return int(s.execute(select(Coupon.times_used).where(Coupon.code == code)).scalar_one())


def count(db: Database, model: Any) -> int:
    with db.read() as s:
        return int(s.execute(select(func.count()).select_from(model)).scalar_one())


def event_types(db: Database) -> list[str]:
    with db.read() as s:
        return list(s.execute(select(OutboxEvent.type).order_by(OutboxEvent.position)).scalars())
