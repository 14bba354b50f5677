"""`ordino audit verify` and the service behind it: an intact log verifies; a changed, deleted,
inserted or reordered entry (edited straight in the table) is found and named."""

from __future__ import annotations

import uuid
from dataclasses import replace

from sqlalchemy import select, text, update
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from ordino.audit import service
from ordino.audit.domain import Action, Entry, Subject
from ordino.audit.models import AuditEvent
from ordino.cli import app
from ordino.kernel.db import Database


def _record(db: Database, n: int) -> None:
    for i in range(1, n + 1):
        db.transaction(lambda s, i=i: service.record(
            s, actor="system:test", action=Action.API_KEY_CREATED, subject=Subject("api_key", uuid.UUID(int=i)),
            after={"name": f"key {i}"},
        ))


def _verify(db: Database) -> tuple[bool, str]:
    with db.read() as s:
        result = service.verify(s, batch=2)  # small batches: the walk crosses batch boundaries
    return result.intact, "" if result.broken is None else result.broken.message()


def _sql(db: Database, statement: str) -> None:
    with db.engine.begin() as conn:
        conn.execute(text(statement))


def _cli(db: Database) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["audit", "verify", "--database-url", db.url])
    return result.exit_code, " ".join(result.output.split())


def test_an_empty_and_an_intact_log_verify(db: Database) -> None:
    assert _verify(db) == (True, "")
    _record(db, 5)
    assert _verify(db) == (True, "")
    code, output = _cli(db)
    with db.read() as s:
        head = s.execute(select(AuditEvent.hash).where(AuditEvent.sequence == 5)).scalar_one()
    assert (code, output) == (0, f"Audit log intact: 5 entries, head 5 {head}")


def test_a_changed_field_is_found(db: Database) -> None:
    _record(db, 4)
    # when an entry's actor is changed in the table
    _sql(db, "UPDATE audit_event SET actor_name = 'someone else' WHERE sequence = 3")
    # then verification names it, and the command exits with 1
    with db.read() as s:
        entry_id = s.execute(select(AuditEvent.id).where(AuditEvent.sequence == 3)).scalar_one()
    reason = f"entry 3 ({entry_id}): its hash does not match its content (the entry was changed)"
    assert _verify(db) == (False, reason)
    assert _cli(db) == (1, f"Audit log broken at {reason} 2 entries before it are intact.")


def test_a_changed_before_or_after_is_found(db: Database) -> None:
    _record(db, 3)
    with db.engine.begin() as conn:
        conn.execute(update(AuditEvent).where(AuditEvent.sequence == 2).values(after={"name": "key 9"}))
    intact, reason = _verify(db)
    assert not intact and reason.startswith("entry 2 (") and reason.endswith("(the entry was changed)")


def test_a_deleted_entry_is_found(db: Database) -> None:
    _record(db, 4)
    _sql(db, "DELETE FROM audit_event WHERE sequence = 2")
    reason = "entry 2: missing: the log jumps from entry 1 to entry 3 (an entry was deleted)"
    assert _verify(db) == (False, reason)
    assert _cli(db)[0] == 1


def test_a_deleted_last_entry_is_found(db: Database) -> None:
    _record(db, 3)
    _sql(db, "DELETE FROM audit_event WHERE sequence = 3")
    intact, reason = _verify(db)
    assert not intact and reason.startswith("entry 3: the head names entry 3")
    # and so is a log emptied completely
    _sql(db, "DELETE FROM audit_event")
    assert _verify(db)[0] is False


def _forged(session: Session, sequence: int) -> None:
    """A well-formed entry, hashed onto the entry before it, inserted at `sequence`."""
    previous = session.execute(select(AuditEvent.hash).where(AuditEvent.sequence == sequence - 1)).scalar_one()
    entry = Entry(uuid.uuid4(), sequence, service.clock.now(), Action.REFUND_CREATED.value,
                  service.actor_of("system:forger"), Subject("payment", uuid.uuid4()), None, {"amount": "999.00"},
                  previous)
    entry = replace(entry, hash=entry.computed_hash())
    session.add(AuditEvent(
        id=entry.id, sequence=sequence, recorded_at=entry.recorded_at, action=entry.action, actor_role="system",
        actor_key_id=None, actor_name="forger", subject_type="payment", subject_id=str(entry.subject.id),
        account_id=None, before=None, after=entry.after, previous_hash=previous, hash=entry.hash,
    ))


def test_an_inserted_entry_is_found(db: Database) -> None:
    _record(db, 3)
    # when the entries from 2 on are moved up by one and a forged entry 2 is put between
    for sequence in (3, 2):
        _sql(db, f"UPDATE audit_event SET sequence = {sequence + 1} WHERE sequence = {sequence}")
    db.transaction(lambda s: _forged(s, 2))
    # then the forged entry chains, but the entry moved after it no longer matches its content
    with db.read() as s:
        moved = s.execute(select(AuditEvent.id).where(AuditEvent.sequence == 3)).scalar_one()
    assert _verify(db) == (False, f"entry 3 ({moved}): its hash does not match its content (the entry was changed)")


def test_an_entry_appended_past_the_head_is_found(db: Database) -> None:
    _record(db, 2)
    db.transaction(lambda s: _forged(s, 3))
    intact, reason = _verify(db)
    assert not intact and reason.startswith("entry 3: the head names entry 2")


def test_reordered_entries_are_found(db: Database) -> None:
    _record(db, 4)
    # when entries 2 and 3 swap places
    _sql(db, "UPDATE audit_event SET sequence = -1 WHERE sequence = 2")
    _sql(db, "UPDATE audit_event SET sequence = 2 WHERE sequence = 3")
    _sql(db, "UPDATE audit_event SET sequence = 3 WHERE sequence = -1")
    # then the first of them is named
    intact, reason = _verify(db)
    assert not intact and reason.startswith("entry 2 (") and reason.endswith("(the entry was changed)")
