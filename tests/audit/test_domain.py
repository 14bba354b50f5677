"""The audit log's pure rules: canonical form, changed fields, hash chain and its verification."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from ordino.audit.domain import (
    GENESIS,
    Action,
    Actor,
    Entry,
    Head,
    Subject,
    canonical,
    changes,
    verify_chain,
)

AT = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
ADMIN = Actor("admin", uuid.UUID("01900000-0000-7000-8000-000000000001"), "ops")


def test_canonical_form_sorts_keys_keeps_strings_exact_and_has_no_whitespace() -> None:
    value = {"b": [1, "Größe ü"], "a": {"z": None, "y": True}, "d": Decimal("0.0350"), "t": AT,
             "day": date(2026, 1, 2), "id": uuid.UUID(int=1)}
    assert canonical(value) == (
        '{"a":{"y":true,"z":null},"b":[1,"Größe ü"],"d":"0.0350","day":"2026-01-02",'
        '"id":"00000000-0000-0000-0000-000000000001","t":"2026-11-26T10:00:00+00:00"}'
    ).encode()


def test_floats_and_naive_times_are_refused() -> None:
    with pytest.raises(TypeError, match="floats"):
        canonical({"amount": 12.5})
    with pytest.raises(TypeError, match="naive"):
        canonical({"at": datetime(2026, 1, 1).replace(tzinfo=None)})  # noqa: DTZ001


def test_changes_keep_only_the_fields_that_differ() -> None:
    before = {"name": "A", "limit": "100.00", "roles": ["buyer"]}
    after = {"name": "A", "limit": "200.00", "roles": ["buyer"], "new": 1}
    assert changes(before, after) == ({"limit": "100.00", "new": None}, {"limit": "200.00", "new": 1})
    assert changes(before, before) == ({}, {})
    assert changes(None, {"name": "A"}) == (None, {"name": "A"})
    assert changes(None, None) == (None, None)


def _chain(n: int) -> list[Entry]:
    entries: list[Entry] = []
    previous = GENESIS
    for sequence in range(1, n + 1):
        entry = Entry(uuid.UUID(int=sequence), sequence, AT, Action.API_KEY_CREATED.value, ADMIN,
                      Subject("api_key", uuid.UUID(int=100 + sequence)), None, {"n": sequence}, previous)
        entry = replace(entry, hash=entry.computed_hash())
        entries.append(entry)
        previous = entry.hash
    return entries


def test_the_hash_is_sha256_over_the_canonical_content_with_the_previous_hash() -> None:
    first = _chain(1)[0]
    assert first.hash == hashlib.sha256(canonical(first.content())).hexdigest()
    assert first.content()["previous_hash"] == GENESIS
    assert first.content()["recorded_at"] == "2026-11-26T10:00:00.000000Z"


def test_an_intact_chain_verifies() -> None:
    entries = _chain(4)
    result = verify_chain(entries, Head(4, entries[-1].hash))
    assert (result.intact, result.entries, result.head) == (True, 4, Head(4, entries[-1].hash))
    assert verify_chain([], None).intact


def test_a_changed_field_breaks_the_chain_at_that_entry() -> None:
    entries = _chain(4)
    entries[2] = replace(entries[2], after={"n": 99})
    broken = verify_chain(entries, Head(4, entries[-1].hash)).broken
    assert broken is not None
    assert (broken.sequence, broken.entry_id) == (3, entries[2].id)
    assert "changed" in broken.reason


def test_a_deleted_entry_is_a_gap() -> None:
    entries = _chain(4)
    broken = verify_chain(entries[:1] + entries[2:], Head(4, entries[-1].hash)).broken
    assert broken is not None
    assert (broken.sequence, broken.entry_id) == (2, None)
    assert broken.message() == "entry 2: missing: the log jumps from entry 1 to entry 3 (an entry was deleted)"


def test_a_removed_tail_is_seen_against_the_head() -> None:
    entries = _chain(4)
    broken = verify_chain(entries[:3], Head(4, entries[-1].hash)).broken
    assert broken is not None and broken.sequence == 4
    assert "removed from the end" in broken.reason


def test_an_entry_rehashed_onto_another_previous_hash_breaks_the_link() -> None:
    entries = _chain(3)
    forged = replace(entries[1], previous_hash="f" * 64)
    entries[1] = replace(forged, hash=forged.computed_hash())
    broken = verify_chain(entries, Head(3, entries[-1].hash)).broken
    assert broken is not None and broken.sequence == 2
    assert "previous hash" in broken.reason
