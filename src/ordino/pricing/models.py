"""Tables of the pricing engine: price books with dated entries and volume tiers, their
assignment to accounts, promotions with their limits, and coupons.

The engine knows nothing of orders. Order intake asks `pricing.service.price_lines` for prices
and adjustments and calls `consume_coupons` in its own transaction.

Validity windows are half-open, `[valid_from, valid_to)`, in UTC; NULL means open-ended.
Unit prices and per-unit amounts are `ExactDecimal` (6 places, exact on both databases); amounts
of a currency (a promotion's minimum subtotal) are integer minor units.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeDecorator, TypeEngine

from ordino.kernel.db import Base, IdMixin
from ordino.kernel.types import ExactDecimal, UTCDateTime

BOOK_KINDS = ("list", "contract")
PROMOTION_LEVELS = ("line", "order")
PROMOTION_KINDS = ("percentage", "amount", "buy_x_get_y")

_VALIDITY = "valid_from IS NULL OR valid_to IS NULL OR valid_to > valid_from"


class PriceBook(IdMixin, Base):
    """Prices in one currency: a list book (one per currency is the standard one) or a contract
    book that applies to the accounts it is assigned to and to their descendants."""

    __tablename__ = "price_book"

    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    currency: Mapped[str] = mapped_column(String(3))
    kind: Mapped[str] = mapped_column(String(10))
    is_standard: Mapped[bool] = mapped_column(Boolean, default=False)
    valid_from: Mapped[datetime | None] = mapped_column(UTCDateTime())
    valid_to: Mapped[datetime | None] = mapped_column(UTCDateTime())
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        CheckConstraint("kind IN ('list', 'contract')", name="kind"),
        CheckConstraint("kind = 'list' OR NOT is_standard", name="standard_is_list"),
        CheckConstraint(_VALIDITY, name="validity"),
        # At most one standard list book per currency.
        Index(
            "uq_price_book_standard", "currency", unique=True,
            postgresql_where=text("is_standard"), sqlite_where=text("is_standard"),
        ),
    )


class PriceBookAccount(Base):
    """A contract book assigned to an account (its descendants inherit it)."""

    __tablename__ = "price_book_account"

    price_book_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("price_book.id", ondelete="CASCADE"), primary_key=True
    )
    account_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("account.id"), primary_key=True, index=True)
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime())


class PriceBookEntry(IdMixin, Base):
    """The price of one SKU in one book for a period; a SKU's periods in a book never overlap."""

    __tablename__ = "price_book_entry"

    price_book_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("price_book.id", ondelete="CASCADE"))
    sku: Mapped[str] = mapped_column(String(64), ForeignKey("product.sku"))
    unit_price: Mapped[Decimal] = mapped_column(ExactDecimal())
    valid_from: Mapped[datetime | None] = mapped_column(UTCDateTime())
    valid_to: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        CheckConstraint("unit_price >= 0", name="unit_price"),
        CheckConstraint(_VALIDITY, name="validity"),
        Index("ix_price_book_entry_lookup", "price_book_id", "sku"),
    )


class PriceBookTier(Base):
    """A quantity break of an entry: from `from_quantity` units on, this unit price."""

    __tablename__ = "price_book_tier"

    entry_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("price_book_entry.id", ondelete="CASCADE"), primary_key=True
    )
    from_quantity: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_price: Mapped[Decimal] = mapped_column(ExactDecimal())

    __table_args__ = (
        CheckConstraint("from_quantity >= 2", name="from_quantity"),
        CheckConstraint("unit_price >= 0", name="unit_price"),
    )


class Promotion(IdMixin, Base):
    """A discount rule: line or order level; percentage, amount or buy X get Y.

    - `percentage`: percent off (0 < p ≤ 100);
    - `amount`: off each unit (line level) or off the order (order level), in `currency`;
    - `buy_x_get_y` (line level): for every `buy_quantity` units bought, `get_quantity` units of
      `get_sku` (NULL: the same SKU) are free;
    - `min_subtotal` (order level, minor units of `currency`): the qualifying subtotal needed.
    """

    __tablename__ = "promotion"

    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(String(2000))
    level: Mapped[str] = mapped_column(String(10))
    kind: Mapped[str] = mapped_column(String(20))
    percentage: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    amount: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    currency: Mapped[str | None] = mapped_column(String(3))
    min_subtotal: Mapped[int | None] = mapped_column(BigInteger)
    buy_quantity: Mapped[int | None] = mapped_column(Integer)
    get_quantity: Mapped[int | None] = mapped_column(Integer)
    get_sku: Mapped[str | None] = mapped_column(String(64), ForeignKey("product.sku"))
    priority: Mapped[int] = mapped_column(Integer, default=0)
    stackable: Mapped[bool] = mapped_column(Boolean, default=True)
    requires_coupon: Mapped[bool] = mapped_column(Boolean, default=False)
    valid_from: Mapped[datetime | None] = mapped_column(UTCDateTime())
    valid_to: Mapped[datetime | None] = mapped_column(UTCDateTime())
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        CheckConstraint("level IN ('line', 'order')", name="level"),
        CheckConstraint("kind IN ('percentage', 'amount', 'buy_x_get_y')", name="kind"),
        # Only signs are checked here: ExactDecimal is a count of micro-units on SQLite, so a
        # bound such as 100 would mean different things on the two databases (the API checks it).
        CheckConstraint("kind <> 'percentage' OR percentage > 0", name="percentage"),
        CheckConstraint("kind <> 'amount' OR (amount > 0 AND currency IS NOT NULL)", name="amount"),
        CheckConstraint(
            "kind <> 'buy_x_get_y' OR (level = 'line' AND buy_quantity >= 1 AND get_quantity >= 1)",
            name="buy_x_get_y",
        ),
        CheckConstraint("min_subtotal IS NULL OR (min_subtotal >= 0 AND currency IS NOT NULL)", name="min_subtotal"),
        CheckConstraint(_VALIDITY, name="validity"),
    )


class PromotionAccount(Base):
    """Limits a promotion to these accounts and their descendants."""

    __tablename__ = "promotion_account"

    promotion_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("promotion.id", ondelete="CASCADE"), primary_key=True
    )
    account_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("account.id"), primary_key=True, index=True)


class PromotionChannel(Base):
    """Limits a promotion to orders of these sales channels."""

    __tablename__ = "promotion_channel"

    promotion_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("promotion.id", ondelete="CASCADE"), primary_key=True
    )
    channel_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("sales_channel.id"), primary_key=True)


class PromotionSku(Base):
    """The SKUs a promotion is about: the lines it discounts (line level), the lines whose
    subtotal counts and receives the discount (order level), the units bought (buy X get Y)."""

    __tablename__ = "promotion_sku"

    promotion_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("promotion.id", ondelete="CASCADE"), primary_key=True
    )
    sku: Mapped[str] = mapped_column(String(64), ForeignKey("product.sku"), primary_key=True)


class Coupon(IdMixin, Base):
    """A code that activates a promotion; stored in upper case, matched case-insensitively.

    `times_used` only grows by one conditional UPDATE (`consume_coupons`), never past the limit."""

    __tablename__ = "coupon"

    promotion_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("promotion.id"), index=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    usage_limit: Mapped[int | None] = mapped_column(Integer)
    times_used: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        CheckConstraint("times_used >= 0", name="times_used"),
        CheckConstraint("usage_limit IS NULL OR times_used <= usage_limit", name="usage_limit"),
    )


# ----------------------------------------------------------------------------------------------
# Foreign exchange rates


class FxRateDecimal(TypeDecorator[Decimal]):
    """An exchange rate, exact: at most 12 digits before the point and 18 after (`pricing.fx`
    checks the range, so both databases hold the same values).

    PostgreSQL keeps NUMERIC(30, 18). SQLite has no exact decimal type, and 18 places do not fit
    a scaled 64-bit integer, so the rate is stored as its canonical text ("1.1684")."""

    impl = Numeric
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(40))
        return dialect.type_descriptor(Numeric(30, 18, asdecimal=True))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, Decimal):
            raise TypeError("FxRateDecimal takes Decimal values, never floats")
        if dialect.name == "sqlite":
            return format(value.normalize(), "f")
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return Decimal(str(value)).normalize()


class FxRate(IdMixin, Base):
    """How many units of `quote` one unit of `base` buys from `effective_on` on, as published by
    `source` (`ecb` for the ECB reference rates, `manual` by default through the API). The rate
    in force on a day is the latest one on or before it."""

    __tablename__ = "fx_rate"

    base: Mapped[str] = mapped_column(String(3))
    quote: Mapped[str] = mapped_column(String(3))
    rate: Mapped[Decimal] = mapped_column(FxRateDecimal())
    effective_on: Mapped[date] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("base", "quote", "effective_on", "source"),
        CheckConstraint("base <> quote", name="distinct_currencies"),
        # Canonical texts of positive rates compare above '0' on SQLite too.
        CheckConstraint("rate > 0", name="rate"),
        # Pivot search: which bases quote a currency.
        Index("ix_fx_rate_quote", "quote", "base", "effective_on"),
    )
