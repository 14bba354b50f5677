"""idempotency.Deferred: a command answers first and takes its contended rows last, after the
key's row; a refusal there rolls everything back, a corrected answer is the one stored."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ordino.kernel import idempotency
from ordino.kernel.db import Database
from ordino.kernel.errors import Conflict
from ordino.kernel.idempotency import Deferred, IdempotencyRecord
from ordino.kernel.outbox import OutboxEvent, emit

PATH = "/api/v1/things"


def _stored(db: Database) -> list[tuple[str, bytes]]:
    with db.read() as s:
        return [(k, bytes(b)) for k, b in s.execute(select(IdempotencyRecord.key, IdempotencyRecord.response_body))]


def _events(db: Database) -> int:
    with db.read() as s:
        return int(s.execute(select(func.count()).select_from(OutboxEvent)).scalar_one())


def _run(db: Database, work: idempotency.Work, key: str | None = "k-1") -> idempotency.Outcome:
    return idempotency.run(db, work, api_key_id=uuid.UUID(int=7), key=key, method="POST", path=PATH, body=b"{}")


def test_the_last_step_runs_after_the_key_is_stored_and_the_answer_stands(db: Database) -> None:
    # given a command whose last step looks at what the transaction has written so far
    seen: list[int] = []

    def work(session: Session) -> Deferred:
        emit(session, "test.happened", None, {})

        def finish() -> bytes | None:
            seen.append(session.execute(select(func.count()).select_from(IdempotencyRecord)).scalar_one())
            return None

        return Deferred(201, b'{"n": 1}', finish)

    # when it runs under a key
    outcome = _run(db, work)
    # then the key's row was already written when the last step ran, and the first answer is stored
    assert seen == [1]
    assert (outcome.status_code, outcome.body, outcome.replayed) == (201, b'{"n": 1}', False)
    assert _stored(db) == [("k-1", b'{"n": 1}')]
    # and a replay answers it without running anything
    assert _run(db, work).replayed is True
    assert (seen, _events(db)) == ([1], 1)


def test_a_corrected_answer_is_the_one_answered_and_stored(db: Database) -> None:
    def work(session: Session) -> Deferred:
        return Deferred(201, b'{"backordered": false}', lambda: b'{"backordered": true}')

    outcome = _run(db, work)
    assert outcome.body == b'{"backordered": true}'
    assert _stored(db) == [("k-1", b'{"backordered": true}')]
    assert _run(db, work).body == b'{"backordered": true}'


def test_a_refusal_in_the_last_step_rolls_back_the_work_and_the_key(db: Database) -> None:
    def work(session: Session) -> Deferred:
        emit(session, "test.happened", None, {})

        def finish() -> bytes | None:
            raise Conflict("out of stock")

        return Deferred(201, b"{}", finish)

    with pytest.raises(Conflict):
        _run(db, work)
    # nothing is kept: the key may be used again
    assert (_stored(db), _events(db)) == ([], 0)


def test_without_a_key_the_last_step_runs_too(db: Database) -> None:
    def work(session: Session) -> Deferred:
        emit(session, "test.happened", None, {})
        return Deferred(201, b'{"v": 1}', lambda: b'{"v": 2}')

    outcome = _run(db, work, key=None)
    assert (outcome.body, _stored(db), _events(db)) == (b'{"v": 2}', [], 1)
