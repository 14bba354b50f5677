"""Quotes: requested by buyers or agents, priced by agents, accepted into orders.

Amounts are integer minor units of the quote's currency; quoted unit prices are exact decimals.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, BigInteger, CheckConstraint, ForeignKey, Index, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from ordino.kernel.db import Base, IdMixin
from ordino.kernel.types import ExactDecimal, UTCDateTime
from ordino.orders.quotes.domain import QUOTE_STATUSES


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Quote(IdMixin, Base):
    """A quote request of an account, priced by an agent, accepted into an order."""

    __tablename__ = "quote"

    number: Mapped[str] = mapped_column(String(40), unique=True)
    account_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("account.id"))
    channel_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("sales_channel.id"))
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(20))
    notes: Mapped[str | None] = mapped_column(String(2000))  # the buyer's
    agent_note: Mapped[str | None] = mapped_column(String(2000))
    requested_by_contact_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("contact.id"))
    # Amounts as priced (zero until then); tax comes with the order.
    shipping_charge: Mapped[int] = mapped_column(BigInteger, default=0)
    total_product_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    total_adjustment_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    total_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    priced_by: Mapped[str | None] = mapped_column(String(120))
    priced_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    order_summary_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("order_summary.id"), unique=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_by: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("ix_quote_account", "account_id", "id"),
        Index("ix_quote_expiry", "status", "valid_until"),
        CheckConstraint(_in("status", QUOTE_STATUSES), name="status"),
        CheckConstraint("shipping_charge >= 0", name="shipping_charge"),
    )


class QuoteLine(IdMixin, Base):
    __tablename__ = "quote_line"

    quote_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("quote.id", ondelete="CASCADE"), index=True)
    line_number: Mapped[int] = mapped_column(Integer)
    product_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("product.id"))
    sku: Mapped[str] = mapped_column(String(64))
    quantity: Mapped[int] = mapped_column(Integer)
    # Set when priced: the unit price, where it came from (catalog | agent), the line amount and
    # its discounts ({"name", "source", "reference", "amount"}; amounts ≤ 0 in minor units).
    unit_price: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    price_source: Mapped[str | None] = mapped_column(String(10))
    line_amount: Mapped[int | None] = mapped_column(BigInteger)
    adjustment_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    adjustments: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)

    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity"),
        CheckConstraint("price_source IS NULL OR price_source IN ('catalog', 'agent')", name="price_source"),
        CheckConstraint("adjustment_amount <= 0", name="adjustment_amount"),
        Index("uq_quote_line_number", "quote_id", "line_number", unique=True),
    )
