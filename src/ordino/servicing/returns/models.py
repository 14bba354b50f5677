"""Return orders (RMA): goods a customer sends back, expected line by line, received in receipts.

A return order expects units of shipped order items (it holds them as `return_initiated` on the
items); each receipt says, per line, how many units came back good (`received`, which become
`returned` on the item and are credited) and how many were refused (`rejected`, given back to
the item's available to return), and what became of the received ones (disposition).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Integer, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from ordino.kernel.db import Base, IdMixin
from ordino.kernel.types import UTCDateTime

STATUSES = ("requested", "approved", "partially_received", "received", "closed", "cancelled")
DISPOSITIONS = ("restock", "scrap", "repair", "return_to_vendor")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class ReturnOrder(IdMixin, Base):
    __tablename__ = "return_order"

    number: Mapped[str] = mapped_column(String(40), unique=True)
    order_summary_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("order_summary.id"))
    account_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("account.id"))
    status: Mapped[str] = mapped_column(String(20))
    return_location_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("location.id"))
    label_carrier: Mapped[str] = mapped_column(String(100))
    label_tracking_reference: Mapped[str] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_by: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("ix_return_order_order", "order_summary_id", "id"),
        Index("ix_return_order_account", "account_id", "id"),
        CheckConstraint(_in("status", STATUSES), name="status"),
    )


class ReturnOrderLine(IdMixin, Base):
    __tablename__ = "return_order_line"

    return_order_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("return_order.id"))
    line_number: Mapped[int] = mapped_column(Integer)  # the order item's line number
    order_item_summary_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("order_item_summary.id"))
    sku: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(200))
    quantity_expected: Mapped[int] = mapped_column(Integer)
    quantity_received: Mapped[int] = mapped_column(Integer, default=0)
    quantity_rejected: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (
        UniqueConstraint("return_order_id", "line_number", name="uq_return_order_line_number"),
        CheckConstraint("quantity_received + quantity_rejected <= quantity_expected", name="quantities"),
    )


class ReturnReceipt(IdMixin, Base):
    __tablename__ = "return_receipt"

    return_order_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("return_order.id"), index=True)
    location_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("location.id"))
    change_order_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("change_order.id"))
    fee_change_order_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("change_order.id"))
    credit_memo_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("credit_memo.id"))
    restocking_fee_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    return_shipping_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    created_by: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ReturnReceiptLine(IdMixin, Base):
    __tablename__ = "return_receipt_line"

    return_receipt_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("return_receipt.id"), index=True)
    return_order_line_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("return_order_line.id"))
    received: Mapped[int] = mapped_column(Integer)
    rejected: Mapped[int] = mapped_column(Integer)
    reason_for_rejection: Mapped[str | None] = mapped_column(String(200))
    disposition: Mapped[str] = mapped_column(String(20))

    __table_args__ = (CheckConstraint(_in("disposition", DISPOSITIONS), name="disposition"),)
