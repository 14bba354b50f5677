"""Audit use cases: record a privileged change, list the log, verify the chain.

`record` runs in the caller's transaction, beside the change it records: a change rolled back
leaves no entry, a committed change always has one. It locks the head row (SELECT … FOR UPDATE on
PostgreSQL; SQLite has one writer at a time anyway), so concurrent transactions append one after
the other and never chain onto the same entry. The lock is held until the caller commits, so call
`record` late in the use case, after the refusals.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from ordino.audit.domain import GENESIS, Action, Actor, Entry, Head, Subject, Verification, changes, verify_chain
from ordino.audit.models import AuditEvent, AuditHead
from ordino.kernel import clock
from ordino.kernel.auth import Principal
from ordino.kernel.errors import FieldError, ValidationFailed
from ordino.kernel.http import check_limit
from ordino.kernel.ids import new_id, parse_id

__all__ = ["Action", "Actor", "AuditFilter", "Subject", "actor_of", "list_events", "record", "verify"]

Doc = dict[str, Any]
HEAD_ID = 1
E = AuditEvent


def actor_of(who: Principal | Actor | str | None) -> Actor:
    """The actor of an entry: a request's principal, or a named actor without a key
    (`system:expiry`, `cli:alice`); None is the system."""
    if isinstance(who, Actor):
        return who
    if isinstance(who, Principal):
        return Actor(who.role.value, who.key_id, who.name)
    return Actor.named(who or "system")


def _head(session: Session) -> Head:
    """The head row, locked until the caller's transaction ends; created on first use."""
    stmt = select(AuditHead.sequence, AuditHead.hash).where(AuditHead.id == HEAD_ID).with_for_update()
    row = session.execute(stmt).first()
    if row is None:
        ins = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        session.execute(ins(AuditHead).values(id=HEAD_ID, sequence=0, hash=GENESIS).on_conflict_do_nothing())
        row = session.execute(stmt).one()
    return Head(row.sequence, row.hash)


def record(
    session: Session,
    *,
    actor: Principal | Actor | str | None,
    action: Action,
    subject: Subject,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
) -> uuid.UUID | None:
    """Append one entry for a privileged change, in the caller's transaction.

    `before` and `after` may be whole documents: only the fields that differ are kept. When both
    are given and nothing differs, nothing happened and nothing is recorded (None). Values are
    JSON data with exact text (ids, times and decimals become strings; floats are refused)."""
    old, new = changes(before, after)
    if old == {} and new == {}:
        return None
    head = _head(session)
    entry = Entry(
        id=new_id(), sequence=head.sequence + 1, recorded_at=clock.now(), action=Action(action).value,
        actor=actor_of(actor), subject=subject, before=old, after=new, previous_hash=head.hash,
    )
    entry = replace(entry, hash=entry.computed_hash())
    session.execute(insert(AuditEvent).values(
        id=entry.id, sequence=entry.sequence, recorded_at=entry.recorded_at, action=entry.action,
        actor_role=entry.actor.role, actor_key_id=entry.actor.key_id, actor_name=entry.actor.name,
        subject_type=subject.type, subject_id=str(subject.id), account_id=subject.account_id,
        before=old, after=new, previous_hash=entry.previous_hash, hash=entry.hash,
    ))
    session.execute(
        update(AuditHead).where(AuditHead.id == HEAD_ID).values(sequence=entry.sequence, hash=entry.hash)
    )
    return entry.id


# ----------------------------------------------------------------------------------------------
# Verify


def _entry(row: Any) -> Entry:
    return Entry(
        id=row.id, sequence=row.sequence, recorded_at=row.recorded_at, action=row.action,
        actor=Actor(row.actor_role, row.actor_key_id, row.actor_name),
        subject=Subject(row.subject_type, row.subject_id, row.account_id),
        before=row.before, after=row.after, previous_hash=row.previous_hash, hash=row.hash,
    )


def _entries(session: Session, batch: int) -> Iterator[Entry]:
    """Every entry in sequence order, a batch at a time (the log may be long)."""
    after = None
    while True:
        stmt = select(*E.__table__.c).order_by(E.sequence).limit(batch)
        rows = session.execute(stmt if after is None else stmt.where(E.sequence > after)).all()
        yield from (_entry(r) for r in rows)
        if len(rows) < batch:
            return
        after = rows[-1].sequence


def verify(session: Session, batch: int = 1000) -> Verification:
    """Recompute every hash and follow the chain; the first broken entry, if any, is named."""
    row = session.execute(select(AuditHead.sequence, AuditHead.hash).where(AuditHead.id == HEAD_ID)).first()
    return verify_chain(_entries(session, batch), None if row is None else Head(row.sequence, row.hash))


# ----------------------------------------------------------------------------------------------
# List


def event_doc(row: Any) -> Doc:
    return {
        "id": row.id,
        "sequence": row.sequence,
        "recorded_at": row.recorded_at,
        "action": row.action,
        "actor": {"role": row.actor_role, "key_id": row.actor_key_id, "name": row.actor_name},
        "subject": {"type": row.subject_type, "id": row.subject_id, "account_id": row.account_id},
        "before": row.before,
        "after": row.after,
        "previous_hash": row.previous_hash,
        "hash": row.hash,
    }


@dataclass(frozen=True, slots=True)
class AuditFilter:
    action: str | None = None
    subject_type: str | None = None
    subject_id: str | None = None
    actor: str | None = None  # a key id, or an actor's name
    account_id: uuid.UUID | None = None
    since: datetime | None = None


def _encode(sequence: int) -> str:
    return base64.urlsafe_b64encode(sequence.to_bytes(8, "big")).decode().rstrip("=")


def _decode(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except (ValueError, TypeError):
        raw = b""
    if len(raw) != 8:
        raise ValidationFailed([FieldError("cursor", "is not a cursor this API returned")])
    return int.from_bytes(raw, "big")


def _where(f: AuditFilter) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if f.action:
        where.append(E.action == f.action)
    if f.subject_type:
        where.append(E.subject_type == f.subject_type)
    if f.subject_id:
        where.append(E.subject_id == f.subject_id)
    if f.actor:
        key_id = parse_id(f.actor)
        where.append(or_(E.actor_name == f.actor, E.actor_key_id == key_id) if key_id else E.actor_name == f.actor)
    if f.account_id:
        where.append(E.account_id == f.account_id)
    if f.since:
        where.append(E.recorded_at >= f.since)
    return where


def list_events(session: Session, f: AuditFilter, limit: int, cursor: str | None) -> Doc:
    """Entries newest first (by sequence number), filtered; the cursor is the last sequence."""
    check_limit(limit)
    stmt: Select[Any] = select(*E.__table__.c).where(*_where(f))
    if cursor:
        stmt = stmt.where(E.sequence < _decode(cursor))
    rows = session.execute(stmt.order_by(E.sequence.desc()).limit(limit + 1)).all()
    more = len(rows) > limit
    return {
        "items": [event_doc(r) for r in rows[:limit]],
        "next_cursor": _encode(rows[limit - 1].sequence) if more else None,
    }
