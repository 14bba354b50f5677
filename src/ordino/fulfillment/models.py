"""Tables of fulfilment: channel routing policies, routing decisions and attempts, fulfilment
orders with their items, shipments with theirs.

A fulfilment order ships one delivery group's units from one location. Its items carry the units
allocated to it and how many were shipped (`quantity_fulfilled`) or taken back by a cancel or a
rejection (`quantity_canceled`); what is left is still allocated and reserved at the location.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from ordino.fulfillment.domain import FO_STATUSES, SHIPMENT_STATUSES
from ordino.kernel.db import Base, IdMixin
from ordino.kernel.types import ExactDecimal, UTCDateTime


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class ChannelRoutingPolicy(Base):
    """A sales channel's routing rules (`RoutingPolicy`); a channel without a row routes by the
    defaults. Location lists and maps are keyed by location code."""

    __tablename__ = "channel_routing_policy"

    channel_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("sales_channel.id"), primary_key=True)
    max_splits: Mapped[int] = mapped_column(Integer)
    allow_partial: Mapped[bool] = mapped_column(Boolean)
    excluded_locations: Mapped[list[str]] = mapped_column(JSON)
    excluded_kinds: Mapped[list[str]] = mapped_column(JSON)
    priorities: Mapped[dict[str, int]] = mapped_column(JSON)
    location_costs: Mapped[dict[str, Any]] = mapped_column(JSON)  # code → {per_unit, per_shipment}
    respect_capacity: Mapped[bool] = mapped_column(Boolean)
    prefer_overstock: Mapped[bool] = mapped_column(Boolean)
    distance: Mapped[str] = mapped_column(String(10))
    distance_weight: Mapped[Decimal] = mapped_column(ExactDecimal())
    cost_weight: Mapped[Decimal] = mapped_column(ExactDecimal())
    priority_weight: Mapped[Decimal] = mapped_column(ExactDecimal())
    overstock_weight: Mapped[Decimal] = mapped_column(ExactDecimal())
    search_budget: Mapped[int] = mapped_column(Integer)
    max_routing_attempts: Mapped[int] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        CheckConstraint("max_splits >= 1", name="max_splits"),
        CheckConstraint("distance IN ('shipment', 'unit')", name="distance"),
        CheckConstraint("search_budget >= 1", name="search_budget"),
        CheckConstraint("max_routing_attempts >= 0", name="max_routing_attempts"),
    )


class DeliveryGroupRouting(Base):
    """Routing state of one delivery group: how many times it was routed again after a rejection."""

    __tablename__ = "delivery_group_routing"

    delivery_group_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("order_delivery_group_summary.id"), primary_key=True
    )
    order_summary_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("order_summary.id"), index=True)
    routing_attempts: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (CheckConstraint("routing_attempts >= 0", name="routing_attempts"),)


class RoutingDecision(IdMixin, Base):
    """One routing of one delivery group: the plan, its reason and what it was asked to avoid."""

    __tablename__ = "routing_decision"

    order_summary_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("order_summary.id"))
    delivery_group_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("order_delivery_group_summary.id"))
    attempt: Mapped[int] = mapped_column(Integer)  # 0: first routing; n: after the n-th rejection
    trigger: Mapped[str] = mapped_column(String(30))
    excluded_locations: Mapped[list[str]] = mapped_column(JSON)
    ship_to_point: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    plan: Mapped[dict[str, Any]] = mapped_column(JSON)
    reason: Mapped[str] = mapped_column(String(2000))
    routed_units: Mapped[int] = mapped_column(BigInteger)
    unroutable_units: Mapped[int] = mapped_column(BigInteger)
    optimal: Mapped[bool] = mapped_column(Boolean)
    actor: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("ix_routing_decision_order", "order_summary_id", "id"),
        CheckConstraint("trigger IN ('order_created', 'rejection', 'manual', 'stock_arrived')", name="trigger"),
    )


class FulfillmentOrder(IdMixin, Base):
    __tablename__ = "fulfillment_order"

    number: Mapped[str] = mapped_column(String(40), unique=True)
    order_summary_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("order_summary.id"))
    delivery_group_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("order_delivery_group_summary.id"))
    location_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("location.id"))
    routing_decision_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("routing_decision.id"))
    status: Mapped[str] = mapped_column(String(30))
    status_reason: Mapped[str | None] = mapped_column(String(500))  # why it was rejected or cancelled
    capacity_day: Mapped[date | None] = mapped_column(Date)  # the day whose capacity it holds
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("ix_fulfillment_order_order", "order_summary_id", "id"),
        Index("ix_fulfillment_order_location", "location_id", "status", "id"),
        Index("ix_fulfillment_order_status", "status", "id"),
        CheckConstraint(_in("status", FO_STATUSES), name="status"),
    )


class FulfillmentOrderItem(IdMixin, Base):
    __tablename__ = "fulfillment_order_item"

    fulfillment_order_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("fulfillment_order.id"))
    order_item_summary_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("order_item_summary.id"), index=True)
    sku: Mapped[str] = mapped_column(String(64))
    quantity: Mapped[int] = mapped_column(Integer)
    quantity_fulfilled: Mapped[int] = mapped_column(Integer, default=0)
    quantity_canceled: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (
        UniqueConstraint("fulfillment_order_id", "order_item_summary_id"),
        CheckConstraint("quantity > 0", name="quantity"),
        CheckConstraint("quantity_fulfilled >= 0 AND quantity_canceled >= 0", name="buckets_non_negative"),
        CheckConstraint("quantity_fulfilled + quantity_canceled <= quantity", name="remaining"),
    )


class Shipment(IdMixin, Base):
    __tablename__ = "shipment"

    number: Mapped[str] = mapped_column(String(50), unique=True)  # FO-000001-1
    fulfillment_order_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("fulfillment_order.id"))
    order_summary_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("order_summary.id"), index=True)
    sequence: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))
    carrier: Mapped[str] = mapped_column(String(60))
    service: Mapped[str | None] = mapped_column(String(60))
    tracking_numbers: Mapped[list[str]] = mapped_column(JSON)
    shipped_at: Mapped[datetime] = mapped_column(UTCDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_by: Mapped[str | None] = mapped_column(String(120))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("fulfillment_order_id", "sequence"),
        CheckConstraint(_in("status", SHIPMENT_STATUSES), name="status"),
    )


class ShipmentItem(IdMixin, Base):
    __tablename__ = "shipment_item"

    shipment_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("shipment.id"), index=True)
    fulfillment_order_item_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("fulfillment_order_item.id"))
    order_item_summary_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("order_item_summary.id"))
    sku: Mapped[str] = mapped_column(String(64))
    quantity: Mapped[int] = mapped_column(Integer)

    __table_args__ = (CheckConstraint("quantity > 0", name="quantity"),)
