"""Lifecycles as data.

Each capability declares a `Lifecycle`: its states and the actions that move a record from some
states to another, each with the event it emits. `apply` checks the table, changes the status,
writes a status-history row and appends the event, all in the caller's transaction. The console's
"available actions" are `lifecycle.actions_from(status)`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Index, String, Uuid, insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from ordino.kernel import clock
from ordino.kernel.db import Base, IdMixin
from ordino.kernel.errors import InvalidTransition
from ordino.kernel.ids import new_id
from ordino.kernel.outbox import emit
from ordino.kernel.types import UTCDateTime


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


@dataclass(frozen=True, slots=True)
class Transition:
    action: str
    sources: frozenset[str]
    target: str
    event: str | None = None  # defaults to "<entity>.<target>"


@dataclass(frozen=True)
class Lifecycle:
    entity: str  # e.g. "order_summary"; also the event prefix
    states: frozenset[str]
    initial: str
    transitions: Mapping[str, Transition] = field(default_factory=dict)
    terminal: frozenset[str] = frozenset()

    @classmethod
    def build(
        cls,
        entity: str,
        states: Iterable[str],
        initial: str,
        table: Iterable[tuple[str, Iterable[str], str]],
        terminal: Iterable[str] = (),
    ) -> Lifecycle:
        states = frozenset(states)
        transitions: dict[str, Transition] = {}
        for action, sources, target in table:
            if action in transitions:
                raise ValueError(f"{entity}: action '{action}' is declared twice")
            src = frozenset(sources)
            unknown = (src | {target}) - states
            if unknown:
                raise ValueError(f"{entity}: unknown states {sorted(unknown)} in '{action}'")
            transitions[action] = Transition(action, src, target)
        if initial not in states:
            raise ValueError(f"{entity}: initial state '{initial}' is not a state")
        terminal = frozenset(terminal)
        if terminal - states:
            raise ValueError(f"{entity}: unknown terminal states {sorted(terminal - states)}")
        return cls(entity, states, initial, transitions, terminal)

    def actions_from(self, status: str) -> list[str]:
        return [t.action for t in self.transitions.values() if status in t.sources]

    def target(self, status: str, action: str) -> str:
        t = self.transitions.get(action)
        if t is None:
            raise ValueError(f"{self.entity}: no action '{action}'")
        if status not in t.sources:
            entity = self.entity.replace("_", " ")
            article = "an" if entity[:1] in ("a", "e", "i", "o", "u") else "a"
            raise InvalidTransition(
                f"cannot {action.replace('_', ' ')} {article} {entity} that is {status.replace('_', ' ')}",
                extra={"current_status": status, "available_actions": self.actions_from(status)},
            )
        return t.target

    def event_type(self, action: str) -> str:
        t = self.transitions[action]
        return t.event or f"{self.entity}.{t.target}"


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
