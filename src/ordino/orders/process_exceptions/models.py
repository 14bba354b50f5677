"""The process exception table (DESIGN §3): something in an order's process needs a person.

A process exception is attached to one record (type and id: a fulfilment order, a delivery group,
a payment, an outbox event…) and usually to an order summary, whose
`active_process_exception_count` counts the ones that are New, Triaged or Paused.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from ordino.kernel.db import Base, IdMixin
from ordino.kernel.types import UTCDateTime

CATEGORIES = (
    "fulfillment", "payment", "invoicing", "order_activation", "order_approval", "inventory", "other",
)
SEVERITIES = ("low", "high")
STATUSES = ("new", "triaged", "paused", "ignored", "voided", "resolved")
ACTIVE_STATUSES = ("new", "triaged", "paused")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class ProcessException(IdMixin, Base):
    __tablename__ = "process_exception"

    category: Mapped[str] = mapped_column(String(30))
    severity: Mapped[str] = mapped_column(String(10))
    priority: Mapped[int] = mapped_column(Integer)  # 1 (most urgent) … 5
    status: Mapped[str] = mapped_column(String(20))
    message: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str | None] = mapped_column(String(4000))
    attached_to_type: Mapped[str] = mapped_column(String(60))
    attached_to_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    order_summary_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("order_summary.id"))
    # Raising again under the same key returns the existing exception (e.g. one per dead event).
    dedup_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    # What failed: the handler or step (e.g. payments.authorize_order), its last error and the
    # outbox event it concerns; a retry re-runs that step (orders.process_exceptions.retries).
    step: Mapped[str | None] = mapped_column(String(120))
    error: Mapped[str | None] = mapped_column(String(4000))
    event_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    assignee: Mapped[str | None] = mapped_column(String(120))
    resolution_note: Mapped[str | None] = mapped_column(String(2000))
    retry_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_retried_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_by: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("ix_process_exception_status", "status", "id"),
        Index("ix_process_exception_order", "order_summary_id", "id"),
        Index("ix_process_exception_attached", "attached_to_type", "attached_to_id"),
        Index("ix_process_exception_assignee", "assignee", "id"),
        CheckConstraint("retry_count >= 0", name="retry_count"),
        CheckConstraint(_in("category", CATEGORIES), name="category"),
        CheckConstraint(_in("severity", SEVERITIES), name="severity"),
        CheckConstraint(_in("status", STATUSES), name="status"),
        CheckConstraint("priority BETWEEN 1 AND 5", name="priority"),
    )
