"""Products, sales channels and locations."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Boolean, CheckConstraint, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ordino.kernel.db import Base, IdMixin
from ordino.kernel.types import ExactDecimal, UTCDateTime


class Product(IdMixin, Base):
    __tablename__ = "product"

    sku: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(String(2000))
    unit_of_measure: Mapped[str] = mapped_column(String(10), default="EA")
    minimum_quantity: Mapped[int] = mapped_column(Integer, default=1)
    order_multiple: Mapped[int] = mapped_column(Integer, default=1)
    tax_class: Mapped[str] = mapped_column(String(40), default="standard")
    weight_kg: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    # What the inventory engine does when stock on hand is short: refuse ('deny') or accept
    # against expected stock, the futures ('backorder').
    backorder_policy: Mapped[str] = mapped_column(String(10), default="deny", server_default="deny")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        CheckConstraint("minimum_quantity >= 1", name="minimum_quantity"),
        CheckConstraint("order_multiple >= 1", name="order_multiple"),
        CheckConstraint("backorder_policy IN ('deny', 'backorder')", name="backorder_policy"),
    )


class SalesChannel(IdMixin, Base):
    __tablename__ = "sales_channel"

    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20), default="web")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        CheckConstraint(
            "kind IN ('web', 'marketplace', 'pos', 'edi', 'phone', 'api', 'portal')", name="kind"
        ),
    )


class Location(IdMixin, Base):
    __tablename__ = "location"

    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20), default="warehouse")
    line1: Mapped[str | None] = mapped_column(String(200))
    city: Mapped[str | None] = mapped_column(String(100))
    postal_code: Mapped[str | None] = mapped_column(String(20))
    region: Mapped[str | None] = mapped_column(String(100))
    country: Mapped[str] = mapped_column(String(2))
    # Ranges are checked by the API schema: ExactDecimal is a scaled integer on SQLite.
    latitude: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    longitude: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    timezone: Mapped[str | None] = mapped_column(String(60))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        CheckConstraint("kind IN ('warehouse', 'store', 'drop_ship', 'digital')", name="kind"),
    )
