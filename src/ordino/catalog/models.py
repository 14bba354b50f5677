"""Products, sales channels, locations and the legal entities that sell."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Index, Integer, LargeBinary, String, text
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
    # The legal entity selling through this channel; None: the default entity.
    legal_entity: Mapped[str | None] = mapped_column(String(40), ForeignKey("legal_entity.code"))
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


class LegalEntity(IdMixin, Base):
    """A company that sells: the seller on orders and invoices, and the origin for tax."""

    __tablename__ = "legal_entity"

    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    line1: Mapped[str] = mapped_column(String(200))
    line2: Mapped[str | None] = mapped_column(String(200))
    city: Mapped[str] = mapped_column(String(100))
    postal_code: Mapped[str | None] = mapped_column(String(20))
    region: Mapped[str | None] = mapped_column(String(100))
    country: Mapped[str] = mapped_column(String(2))
    vat_id: Mapped[str | None] = mapped_column(String(40))
    registration_number: Mapped[str | None] = mapped_column(String(60))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))
    iban: Mapped[str | None] = mapped_column(String(34))
    bic: Mapped[str | None] = mapped_column(String(11))
    bank_name: Mapped[str | None] = mapped_column(String(100))
    # Electronic address for e-invoices (EN 16931 BT-34): an ISO 6523 / EAS scheme ("0088" GLN,
    # "0208" Belgian enterprise number, "9930" German VAT ID) and the identifier under it.
    endpoint_scheme: Mapped[str | None] = mapped_column(String(4))
    endpoint_id: Mapped[str | None] = mapped_column(String(100))
    contact_name: Mapped[str | None] = mapped_column(String(200))  # seller contact (BT-41)
    tax_number: Mapped[str | None] = mapped_column(String(40))  # national tax number, not the VAT ID (BT-32)
    # Legal mentions printed on invoices: register court (German "Registergericht"), managing
    # directors, share capital.
    register_court: Mapped[str | None] = mapped_column(String(200))
    managing_directors: Mapped[str | None] = mapped_column(String(300))
    share_capital: Mapped[str | None] = mapped_column(String(100))
    sepa_creditor_id: Mapped[str | None] = mapped_column(String(35))  # for SEPA direct debits (BT-90)
    logo: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    logo_media_type: Mapped[str | None] = mapped_column(String(40))
    # US states where the entity collects sales tax; None: every state.
    us_nexus_states: Mapped[list[str] | None] = mapped_column(JSON)
    # What an EU B2B order with a VAT ID that fails validation gets: refused, or taxed as B2C.
    invalid_vat_id: Mapped[str] = mapped_column(String(20), default="refuse")
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        CheckConstraint("invalid_vat_id IN ('refuse', 'tax_as_b2c')", name="invalid_vat_id"),
        # At most one default entity.
        Index(
            "uq_legal_entity_default", "is_default", unique=True,
            postgresql_where=text("is_default"), sqlite_where=text("is_default"),
        ),
    )

