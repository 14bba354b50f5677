"""The audit log's pure rules: what an entry holds, its canonical form, its hash, and the check
of a whole chain.

An entry's hash is SHA-256 over the canonical serialisation of its content, which includes the
previous entry's hash: JSON with sorted keys, no insignificant whitespace, UTF-8 (strings kept as
they are, not escaped), and no floats (a float has no exact text, so it is refused). Changing,
removing, inserting or reordering an entry breaks the chain at that entry; removing entries from
the end is seen against the head (the last sequence number and hash, kept beside the log).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum, StrEnum
from typing import Any

GENESIS = "0" * 64  # the "previous hash" of the first entry
FORMAT = 1  # the version of the hashed content's layout


class Action(StrEnum):
    """What a privileged change was; the past tense, as events."""

    REFUND_CREATED = "refund.created"
    APPEASEMENT_CREATED = "appeasement.created"
    PRICE_CHANGED = "price.changed"
    CREDIT_LIMIT_CHANGED = "credit_limit.changed"
    CONTACT_ROLES_CHANGED = "contact_roles.changed"
    API_KEY_CREATED = "api_key.created"
    API_KEY_REVOKED = "api_key.revoked"
    TAX_PROFILE_CHANGED = "tax_profile.changed"
    DATA_EXPORTED = "data.exported"
    DATA_ERASED = "data.erased"


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acted: an API key (role, key id, key name) or the system (role `system`, `cli`…)."""

    role: str
    key_id: uuid.UUID | None
    name: str

    @classmethod
    def named(cls, text: str) -> Actor:
        """An actor without a key, from `role:name` (`system:ensure_refunds`, `cli:alice`)."""
        role, _, name = text.partition(":")
        return cls(role or "system", None, name or role)


@dataclass(frozen=True, slots=True)
class Subject:
    """The record changed: its type, its id, and the account it belongs to (if any)."""

    type: str
    id: uuid.UUID | str
    account_id: uuid.UUID | None = None


def plain(value: Any) -> Any:
    """A value as JSON data with an exact text: ids, times and decimals become strings; floats
    are refused (they would hash differently depending on how they were printed)."""
    if value is None or isinstance(value, bool | int | str):
        return value.value if isinstance(value, Enum) else value
    if isinstance(value, float):
        raise TypeError("floats have no exact text; send a Decimal or a string")
    if isinstance(value, Enum):
        return plain(value.value)
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise TypeError("naive datetimes are ambiguous")
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, set | frozenset):
        return sorted(plain(v) for v in value)
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    raise TypeError(f"cannot record a {type(value).__name__}")


def canonical(value: Any) -> bytes:
    """The one serialisation the hash is taken over."""
    return json.dumps(
        plain(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def changes(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> tuple[
    dict[str, Any] | None, dict[str, Any] | None
]:
    """Only the fields that differ, on each side; a side that is None (nothing before a creation,
    nothing after an erasure) stays None."""
    old = plain(before) if before is not None else None
    new = plain(after) if after is not None else None
    if old is None or new is None:
        return old, new
    keys = [k for k in sorted(old.keys() | new.keys()) if old.get(k) != new.get(k)]
    return {k: old.get(k) for k in keys}, {k: new.get(k) for k in keys}


def timestamp(at: datetime) -> str:
    """A time as the hash sees it: UTC, always with microseconds, so it reads back identically."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True, slots=True)
class Entry:
    """One entry of the log, as stored."""

    id: uuid.UUID
    sequence: int
    recorded_at: datetime
    action: str
    actor: Actor
    subject: Subject
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    previous_hash: str
    hash: str = ""

    def content(self) -> dict[str, Any]:
        """Everything the hash covers: all fields but the hash itself."""
        return {
            "format": FORMAT,
            "id": str(self.id),
            "sequence": self.sequence,
            "recorded_at": timestamp(self.recorded_at),
            "action": self.action,
            "actor": {
                "role": self.actor.role,
                "key_id": None if self.actor.key_id is None else str(self.actor.key_id),
                "name": self.actor.name,
            },
            "subject": {
                "type": self.subject.type,
                "id": str(self.subject.id),
                "account_id": None if self.subject.account_id is None else str(self.subject.account_id),
            },
            "before": self.before,
            "after": self.after,
            "previous_hash": self.previous_hash,
        }

    def computed_hash(self) -> str:
        return hashlib.sha256(canonical(self.content())).hexdigest()


@dataclass(frozen=True, slots=True)
class Head:
    """The end of the chain: the last entry's sequence number and hash (0 and GENESIS: empty)."""

    sequence: int
    hash: str


EMPTY = Head(0, GENESIS)


@dataclass(frozen=True, slots=True)
class Break:
    """Where the chain is first broken, and how."""

    sequence: int
    entry_id: uuid.UUID | None
    reason: str

    def message(self) -> str:
        where = f"entry {self.sequence}" + (f" ({self.entry_id})" if self.entry_id else "")
        return f"{where}: {self.reason}"


@dataclass(frozen=True, slots=True)
class Verification:
    entries: int
    head: Head
    broken: Break | None

    @property
    def intact(self) -> bool:
        return self.broken is None


def _check(entry: Entry, expected: Head) -> Break | None:
    if entry.sequence != expected.sequence + 1:
        if entry.sequence > expected.sequence + 1:
            reason = (f"missing: the log jumps from entry {expected.sequence} to entry {entry.sequence} "
                      "(an entry was deleted)")
            return Break(expected.sequence + 1, None, reason)
        return Break(entry.sequence, entry.id, "out of order")
    if entry.computed_hash() != entry.hash:
        return Break(entry.sequence, entry.id, "its hash does not match its content (the entry was changed)")
    if entry.previous_hash != expected.hash:
        return Break(entry.sequence, entry.id, (
            f"its previous hash is not the hash of entry {expected.sequence} "
            "(an entry was inserted, removed or reordered)"
        ))
    return None


def verify_chain(entries: Iterable[Entry], head: Head | None) -> Verification:
    """Check the chain in sequence order, then its end against the head (None: no head kept)."""
    last = EMPTY
    count = 0
    for entry in entries:
        broken = _check(entry, last)
        if broken is not None:
            return Verification(count, last, broken)
        last, count = Head(entry.sequence, entry.hash), count + 1
    stored = head or EMPTY
    if stored != last:
        return Verification(count, last, _head_break(stored, last))
    return Verification(count, last, None)


def _head_break(stored: Head, last: Head) -> Break:
    if stored.sequence > last.sequence:
        how = "entries were removed from the end"
    elif stored.sequence < last.sequence:
        how = "entries were added past it without being recorded"
    else:
        how = "the head or the last entry was replaced"
    return Break(min(stored.sequence, last.sequence) + 1, None, (
        f"the head names entry {stored.sequence} with hash {stored.hash[:12]}…, but the log ends at entry "
        f"{last.sequence} with hash {last.hash[:12]}… ({how})"
    ))
