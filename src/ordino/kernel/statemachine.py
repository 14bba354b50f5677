"""Applying lifecycles: the status history and the transition with its writes.

Each capability declares a `Lifecycle` (`kernel.lifecycle`, pure): its states and the actions
that move a record from some states to another, each with the event it emits. `apply` checks the
table, changes the status, writes a status-history row and appends the event, all in the caller's
transaction. `Lifecycle` and `Transition` are importable from here too, for services.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Index, String, Uuid, insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from ordino.kernel import clock
from ordino.kernel.db import Base, IdMixin
from ordino.kernel.ids import new_id
from ordino.kernel.lifecycle import Lifecycle, Transition
from ordino.kernel.outbox import emit
from ordino.kernel.types import UTCDateTime

__all__ = ["HasStatus", "Lifecycle", "StatusHistory", "Transition", "apply", "initial_history"]


class StatusHistory(IdMixin, Base):
    __tablename__ = "status_history"

    entity_type: Mapped[str] = mapped_column(String(60))
    entity_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    from_status: Mapped[str | None] = mapped_column(String(40))
    to_status: Mapped[str] = mapped_column(String(40))
    action: Mapped[str] = mapped_column(String(60))
    reason: Mapped[str | None] = mapped_column(String(500))
    actor: Mapped[str | None] = mapped_column(String(120))
    at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_status_history_entity", "entity_type", "entity_id", "at"),)


class HasStatus(Protocol):
    id: Any
    status: Any


def initial_history(
    lifecycle: Lifecycle, entity_id: uuid.UUID, *, actor: str | None = None, at: datetime | None = None
) -> dict[str, Any]:
    """The history row of a record created in its initial state, for a bulk insert."""
    return {
        "id": new_id(),
        "entity_type": lifecycle.entity,
        "entity_id": entity_id,
        "from_status": None,
        "to_status": lifecycle.initial,
        "action": "create",
        "reason": None,
        "actor": actor,
        "at": at or clock.now(),
    }


def apply(
    session: Session,
    lifecycle: Lifecycle,
    record: HasStatus,
    action: str,
    *,
    actor: str | None = None,
    reason: str | None = None,
    data: dict[str, Any] | None = None,
) -> str:
    """Move `record` by `action`, write history and the event; returns the new status."""
    before = str(record.status)
    after = lifecycle.target(before, action)
    record.status = after
    at = clock.now()
    session.execute(
        insert(StatusHistory),
        [
            {
                "entity_type": lifecycle.entity,
                "entity_id": record.id,
                "from_status": before,
                "to_status": after,
                "action": action,
                "reason": reason,
                "actor": actor,
                "at": at,
            }
        ],
    )
    payload = {"id": str(record.id), "from_status": before, "status": after, "action": action}
    if reason:
        payload["reason"] = reason
    if data:
        payload.update(data)
    emit(session, lifecycle.event_type(action), f"{lifecycle.entity}/{record.id}", payload)
    return after
