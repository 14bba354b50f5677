"""Tables of the inventory engine: location groups, daily capacity, positions, futures,
reservations, applied stock records and file imports.

The engine knows nothing of orders: a reservation carries an opaque `reference` (an order item
id, a cart id) chosen by the caller, and the account it is held for (the order's; the scoped
key's for a cart hold), so that a key scoped to an account sees that account's reservations only.

Counters are changed only by conditional statements (DESIGN §5); CHECK constraints are the last
line of defence against a negative counter. `on_hand` may fall below `reserved` (a stock count
is never refused), so `available_to_fulfill` may be negative; it is derived, never stored.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from ordino.kernel.db import Base, IdMixin
from ordino.kernel.types import UTCDateTime

RESERVATION_STATUSES = ("active", "fulfilled", "released", "expired", "transferred")
IMPORT_STATUSES = ("running", "completed", "failed")


class LocationGroup(IdMixin, Base):
    """A named set of locations (a location may be in several), e.g. EU, STORES-BERLIN."""

    __tablename__ = "location_group"

    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class LocationGroupMember(Base):
    __tablename__ = "location_group_member"

    group_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("location_group.id", ondelete="CASCADE"), primary_key=True
    )
    location_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("location.id"), primary_key=True, index=True)


class LocationCapacity(Base):
    """How many capacity units (e.g. orders picked) a location handles per day."""

    __tablename__ = "location_capacity"

    location_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("location.id"), primary_key=True)
    units_per_day: Mapped[int] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (CheckConstraint("units_per_day >= 0", name="units_per_day"),)


class LocationCapacityDay(Base):
    """Capacity used on one day: units held (tentative) and confirmed.

    `capacity` overrides the location's units per day for this day; NULL means the default.
    """

    __tablename__ = "location_capacity_day"

    location_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("location.id"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    capacity: Mapped[int | None] = mapped_column(Integer)
    held: Mapped[int] = mapped_column(Integer, default=0)
    confirmed: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (
        CheckConstraint("held >= 0", name="held"),
        CheckConstraint("confirmed >= 0", name="confirmed"),
        CheckConstraint("capacity IS NULL OR capacity >= 0", name="capacity"),
    )


class InventoryPosition(Base):
    """Stock of one SKU at one location.

    - `reserved`: units promised from physical stock;
    - `backordered`: units promised against futures (backorder policy), not yet in stock;
    - `futures`: the sum of this position's `inventory_future` quantities (kept in step with them).

    available_to_fulfill = on_hand - reserved - safety_stock;
    available_to_order = available_to_fulfill + futures - backordered.
    """

    __tablename__ = "inventory_position"

    sku: Mapped[str] = mapped_column(String(64), ForeignKey("product.sku"), primary_key=True)
    location_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("location.id"), primary_key=True, index=True)
    on_hand: Mapped[int] = mapped_column(BigInteger, default=0)
    reserved: Mapped[int] = mapped_column(BigInteger, default=0)
    safety_stock: Mapped[int] = mapped_column(BigInteger, default=0)
    futures: Mapped[int] = mapped_column(BigInteger, default=0)
    backordered: Mapped[int] = mapped_column(BigInteger, default=0)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        CheckConstraint("on_hand >= 0", name="on_hand"),
        CheckConstraint("reserved >= 0", name="reserved"),
        CheckConstraint("safety_stock >= 0", name="safety_stock"),
        CheckConstraint("futures >= 0", name="futures"),
        CheckConstraint("backordered >= 0", name="backordered"),
        # Positions whose backorders may be allocated from stock (allocate_backorders).
        Index(
            "ix_inventory_position_backordered",
            "sku",
            "location_id",
            postgresql_where=text("backordered > 0"),
            sqlite_where=text("backordered > 0"),
        ),
    )


class InventoryFuture(IdMixin, Base):
    """Expected stock (a purchase order, a transfer in transit): quantity and expected date."""

    __tablename__ = "inventory_future"

    sku: Mapped[str] = mapped_column(String(64))
    location_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    expected_on: Mapped[date] = mapped_column(Date)
    quantity: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (
        UniqueConstraint("sku", "location_id", "expected_on"),
        ForeignKeyConstraint(
            ["sku", "location_id"], ["inventory_position.sku", "inventory_position.location_id"],
            name="fk_inventory_future_position",
        ),
        CheckConstraint("quantity > 0", name="quantity"),
    )


class InventoryRecord(Base):
    """A stock record (PUT /inventory, imports) already applied, by its client-given id."""

    __tablename__ = "inventory_record"

    record_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    applied_at: Mapped[datetime] = mapped_column(UTCDateTime())


class InventoryReservation(IdMixin, Base):
    """Units of one SKU at one location held for a reference (an order item, a cart).

    quantity = open + fulfilled + released + transferred, where `open` units are still held and
    `backordered_quantity` of them are promised against futures rather than stock on hand.
    """

    __tablename__ = "inventory_reservation"

    reference: Mapped[str] = mapped_column(String(100))
    sku: Mapped[str] = mapped_column(String(64))
    location_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("location.id"))
    quantity: Mapped[int] = mapped_column(BigInteger)
    open_quantity: Mapped[int] = mapped_column(BigInteger)
    backordered_quantity: Mapped[int] = mapped_column(BigInteger, default=0)
    fulfilled_quantity: Mapped[int] = mapped_column(BigInteger, default=0)
    released_quantity: Mapped[int] = mapped_column(BigInteger, default=0)
    transferred_quantity: Mapped[int] = mapped_column(BigInteger, default=0)
    status: Mapped[str] = mapped_column(String(20))
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    transferred_from_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    # The account the units are held for; none for a hold an unscoped key made outside any order
    # (such a reservation is invisible to account-scoped keys).
    account_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("ix_inventory_reservation_reference", "reference", "sku"),
        Index("ix_inventory_reservation_account", "account_id", "id"),
        Index("ix_inventory_reservation_position", "sku", "location_id", "status"),
        Index(
            "ix_inventory_reservation_expiry",
            "expires_at",
            postgresql_where=text("status = 'active' AND expires_at IS NOT NULL"),
            sqlite_where=text("status = 'active' AND expires_at IS NOT NULL"),
        ),
        CheckConstraint(
            "status IN ('active', 'fulfilled', 'released', 'expired', 'transferred')", name="status"
        ),
        CheckConstraint("quantity > 0", name="quantity"),
        CheckConstraint(
            "open_quantity >= 0 AND fulfilled_quantity >= 0 AND released_quantity >= 0"
            " AND transferred_quantity >= 0",
            name="buckets",
        ),
        CheckConstraint(
            "quantity = open_quantity + fulfilled_quantity + released_quantity + transferred_quantity",
            name="balance",
        ),
        CheckConstraint(
            "backordered_quantity >= 0 AND backordered_quantity <= open_quantity", name="backordered"
        ),
        CheckConstraint("(status = 'active') = (open_quantity > 0)", name="open_when_active"),
    )


class InventoryImport(IdMixin, Base):
    """One file import: its progress while it runs and its outcome."""

    __tablename__ = "inventory_import"

    format: Mapped[str] = mapped_column(String(10))
    mode: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(20))
    rows_total: Mapped[int] = mapped_column(Integer, default=0)
    rows_applied: Mapped[int] = mapped_column(Integer, default=0)
    rows_duplicate: Mapped[int] = mapped_column(Integer, default=0)
    rows_failed: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(String(2000))
    created_by: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        CheckConstraint("status IN ('running', 'completed', 'failed')", name="status"),
        CheckConstraint("format IN ('csv', 'ndjson')", name="format"),
    )


class InventoryImportError(IdMixin, Base):
    """Why one row of an import was not applied."""

    __tablename__ = "inventory_import_error"

    import_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("inventory_import.id", ondelete="CASCADE"))
    row_number: Mapped[int] = mapped_column(Integer)
    field: Mapped[str] = mapped_column(String(100))
    message: Mapped[str] = mapped_column(String(500))

    __table_args__ = (Index("ix_inventory_import_error_import", "import_id", "row_number"),)


class ChannelSourcing(Base):
    """Where a sales channel's orders are reserved at intake (inventory.sourcing)."""

    __tablename__ = "channel_sourcing"

    channel_code: Mapped[str] = mapped_column(String(40), ForeignKey("sales_channel.code"), primary_key=True)
    mode: Mapped[str] = mapped_column(String(20))
    target_code: Mapped[str | None] = mapped_column(String(40))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (CheckConstraint("mode IN ('none', 'location', 'location_group')", name="mode"),)
