"""The order model (DESIGN §3), after Salesforce Order Management.

An OrderSummary is the original order plus every change order. Item quantities live in buckets;
the derived ones (quantity, available to fulfil / cancel / return) are computed, never stored, and
CHECK constraints keep every bucket and every derived quantity non-negative.
Amounts are integer minor units of the order's currency.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    Uuid,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from ordino.kernel.db import Base, IdMixin
from ordino.kernel.types import ExactDecimal, UTCDateTime


class OrderSummary(IdMixin, Base):
    __tablename__ = "order_summary"

    number: Mapped[str] = mapped_column(String(40), unique=True)
    account_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("account.id"))
    channel_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("sales_channel.id"))
    external_reference: Mapped[str] = mapped_column(String(100))
    po_number: Mapped[str | None] = mapped_column(String(100))
    buyer_contact_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("contact.id"))
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(30))
    pricing: Mapped[str] = mapped_column(String(10))
    prices_include_tax: Mapped[bool] = mapped_column(Boolean, default=False)
    # calculate: Ordino's tax engine taxed the order; given: the channel sent the tax lines.
    tax_mode: Mapped[str] = mapped_column(String(10), default="given", server_default="given")
    # Legal mentions and reasons from the tax engine ({"code", "text"}), e.g. the reverse-charge note.
    tax_notes: Mapped[list[dict[str, str]] | None] = mapped_column(JSON)
    ordered_at: Mapped[datetime] = mapped_column(UTCDateTime())
    bill_to: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    payment_instructions: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    # Totals are derived from the items by orders.domain and rewritten whenever they change.
    total_product_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    total_adjustment_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    total_delivery_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    total_tax_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    grand_total_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    active_process_exception_count: Mapped[int] = mapped_column(Integer, default=0)
    # A declined authorization holds the order: its fulfilment orders do not ship until a retry
    # authorizes (orders.process_exceptions.retries).
    payment_hold: Mapped[bool] = mapped_column(Boolean, server_default=false())  # not in intake's insert
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_by: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("channel_id", "external_reference"),
        Index("ix_order_summary_account", "account_id", "id"),
        Index("ix_order_summary_ordered_at", "ordered_at"),
        Index("ix_order_summary_status", "status", "id"),
        CheckConstraint("pricing IN ('catalog', 'order')", name="pricing"),
        CheckConstraint("tax_mode IN ('calculate', 'given')", name="tax_mode"),
        CheckConstraint("active_process_exception_count >= 0", name="pe_count"),
    )


class OrderDeliveryGroupSummary(IdMixin, Base):
    __tablename__ = "order_delivery_group_summary"

    order_summary_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("order_summary.id"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    delivery_method: Mapped[str] = mapped_column(String(40))
    ship_to_name: Mapped[str] = mapped_column(String(200))
    ship_to_line1: Mapped[str] = mapped_column(String(200))
    ship_to_line2: Mapped[str | None] = mapped_column(String(200))
    ship_to_city: Mapped[str] = mapped_column(String(100))
    ship_to_postal_code: Mapped[str | None] = mapped_column(String(20))
    ship_to_region: Mapped[str | None] = mapped_column(String(100))
    ship_to_county: Mapped[str | None] = mapped_column(String(100))  # US county, for local sales tax
    ship_to_country: Mapped[str] = mapped_column(String(2))
    ship_to_phone: Mapped[str | None] = mapped_column(String(40))
    ship_to_email: Mapped[str | None] = mapped_column(String(254))
    ship_to_address_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("address.id"))


ITEM_TYPES = ("product", "delivery_charge", "fee")


class OrderItemSummary(IdMixin, Base):
    __tablename__ = "order_item_summary"

    order_summary_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("order_summary.id"), index=True
    )
    delivery_group_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("order_delivery_group_summary.id")
    )
    line_number: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(20))
    product_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("product.id"))
    sku: Mapped[str | None] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(30))
    unit_price: Mapped[Decimal] = mapped_column(ExactDecimal())
    quantity_ordered: Mapped[int] = mapped_column(Integer)
    quantity_canceled: Mapped[int] = mapped_column(Integer, default=0)
    quantity_allocated: Mapped[int] = mapped_column(Integer, default=0)
    quantity_fulfilled: Mapped[int] = mapped_column(Integer, default=0)
    quantity_return_initiated: Mapped[int] = mapped_column(Integer, default=0)
    quantity_returned: Mapped[int] = mapped_column(Integer, default=0)
    # Amounts of the original order line (change orders carry their own deltas).
    line_amount: Mapped[int] = mapped_column(BigInteger)
    adjustment_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    tax_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __table_args__ = (
        UniqueConstraint("order_summary_id", "line_number"),
        CheckConstraint("type IN ('product', 'delivery_charge', 'fee')", name="type"),
        CheckConstraint("quantity_ordered > 0", name="ordered_positive"),
        CheckConstraint(
            "quantity_canceled >= 0 AND quantity_allocated >= 0 AND quantity_fulfilled >= 0"
            " AND quantity_return_initiated >= 0 AND quantity_returned >= 0",
            name="buckets_non_negative",
        ),
        CheckConstraint(
            "quantity_ordered - quantity_canceled - quantity_allocated >= 0",
            name="available_to_fulfill",
        ),
        CheckConstraint("quantity_fulfilled <= quantity_allocated", name="fulfilled_allocated"),
        CheckConstraint(
            "quantity_fulfilled - quantity_return_initiated >= 0", name="available_to_return"
        ),
        CheckConstraint("quantity_returned <= quantity_return_initiated", name="returned_initiated"),
        CheckConstraint(
            "quantity_ordered - quantity_canceled - quantity_returned >= 0", name="quantity"
        ),
    )


class OrderItemAdjustmentLine(IdMixin, Base):
    __tablename__ = "order_item_adjustment_line"

    order_item_summary_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("order_item_summary.id"), index=True
    )
    change_order_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("change_order.id"))
    name: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(20), default="order")  # order | promotion | manual
    reference: Mapped[str | None] = mapped_column(String(100))  # promotion or coupon code
    amount: Mapped[int] = mapped_column(BigInteger)


class OrderItemTaxLine(IdMixin, Base):
    __tablename__ = "order_item_tax_line"

    order_item_summary_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("order_item_summary.id"), index=True
    )
    adjustment_line_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("order_item_adjustment_line.id")
    )
    change_order_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("change_order.id"))
    name: Mapped[str] = mapped_column(String(200))
    rate: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    amount: Mapped[int] = mapped_column(BigInteger)
    taxable_amount: Mapped[int | None] = mapped_column(BigInteger)  # the net base, when known
    jurisdiction: Mapped[str | None] = mapped_column(String(100))
    category: Mapped[str | None] = mapped_column(String(10))  # EN 16931 VAT category (S, AE, G…)
    exemption_reason_code: Mapped[str | None] = mapped_column(String(30))  # VATEX code (EN 16931 BT-121)


class ChangeOrder(IdMixin, Base):
    __tablename__ = "change_order"

    order_summary_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("order_summary.id"), index=True
    )
    number: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(String(200))
    total_product_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    total_adjustment_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    total_delivery_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    total_tax_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    grand_total_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    created_by: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        CheckConstraint(
            "kind IN ('cancel', 'return', 'appeasement', 'addition', 'return_fee', 'exchange',"
            " 'reship')",
            name="kind",
        ),
    )


class ChangeOrderItem(IdMixin, Base):
    __tablename__ = "change_order_item"

    change_order_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("change_order.id"), index=True
    )
    order_item_summary_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("order_item_summary.id")
    )
    quantity: Mapped[int] = mapped_column(Integer)
    line_amount: Mapped[int] = mapped_column(BigInteger)
    adjustment_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    tax_amount: Mapped[int] = mapped_column(BigInteger, default=0)


class OrderItemSummaryChange(IdMixin, Base):
    __tablename__ = "order_item_summary_change"

    order_summary_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("order_summary.id"), index=True
    )
    order_item_summary_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("order_item_summary.id")
    )
    change_order_item_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("change_order_item.id")
    )
    change_type: Mapped[str] = mapped_column(String(20))
    stage: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(String(200))
    quantity: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        CheckConstraint(
            "stage IN ('pre_fulfillment', 'in_fulfillment', 'post_fulfillment')", name="stage"
        ),
    )
