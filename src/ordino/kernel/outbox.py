"""Transactional outbox with CloudEvents 1.0 envelopes.

A use case calls `emit(session, ...)` before its transaction commits; the event row is written in
that same transaction, so an event exists if and only if the change it describes does. Workers
deliver events to handlers afterwards (at least once; handlers are idempotent).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, cast

from sqlalchemy import JSON, BigInteger, Identity, Index, Integer, String, Table
from sqlalchemy.orm import Mapped, Session, mapped_column

from ordino.kernel import clock
from ordino.kernel.db import Base
from ordino.kernel.ids import new_id
from ordino.kernel.types import UTCDateTime

SOURCE = "/ordino"
SPEC_VERSION = "1.0"


class OutboxEvent(Base):
    __tablename__ = "outbox_event"

    # `position` orders delivery; `id` is the CloudEvents id that consumers de-duplicate on.
    position: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), Identity(), primary_key=True
    )
    id: Mapped[uuid.UUID] = mapped_column(unique=True)
    type: Mapped[str] = mapped_column(String(100))
    source: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str | None] = mapped_column(String(200))
    time: Mapped[datetime] = mapped_column(UTCDateTime())
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    # Delivery bookkeeping (kernel.worker): a pending event has dispatched_at NULL; a worker
    # holds it while lease_until is in the future; failures push available_at back.
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    available_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(2000))
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_outbox_event_pending", "dispatched_at", "position"),)

    def envelope(self) -> dict[str, Any]:
        return {
            "specversion": SPEC_VERSION,
            "id": str(self.id),
            "source": self.source,
            "type": self.type,
            "subject": self.subject,
            "time": self.time.isoformat(),
            "datacontenttype": "application/json",
            "data": self.data,
        }


class HandlerReceipt(Base):
    """One row per (handler, event) processed: makes at-least-once delivery idempotent."""

    __tablename__ = "handler_receipt"

    handler: Mapped[str] = mapped_column(String(120), primary_key=True)
    event_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    processed_at: Mapped[datetime] = mapped_column(UTCDateTime())


def event_row(type_: str, subject: str | None, data: dict[str, Any], source: str = SOURCE) -> dict[str, Any]:
    return {
        "id": new_id(),
        "type": type_,
        "source": source,
        "subject": subject,
        "time": clock.now(),
        "data": data,
        "attempts": 0,
    }


def emit(
    session: Session, type_: str, subject: str | None, data: dict[str, Any], source: str = SOURCE
) -> uuid.UUID:
    """Append one event to the outbox inside the caller's transaction."""
    row = event_row(type_, subject, data, source)
    session.execute(_INSERT_EVENT, row)
    return uuid.UUID(str(row["id"]))


def emit_many(session: Session, rows: list[dict[str, Any]]) -> None:
    if rows:
        session.execute(_INSERT_EVENT, rows)


# A Core insert of the table, built once: every use case emits, so the ORM's bulk path is not worth it.
_INSERT_EVENT = cast(Table, OutboxEvent.__table__).insert()
