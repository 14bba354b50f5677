"""Outbox delivery: at least once, each handler once in effect, backoff, dead letters."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from ordino.kernel import clock
from ordino.kernel.db import Database
from ordino.kernel.outbox import HandlerReceipt, OutboxEvent, emit
from ordino.kernel.worker import Dispatcher, Event, Periodic, Registration, retry_failed


def _emit(db: Database, n: int, type_: str = "thing.happened") -> list[uuid.UUID]:
    return db.transaction(lambda s: [emit(s, type_, f"thing/{i}", {"i": i}) for i in range(n)])


def _recorder() -> tuple[list[Event], Registration]:
    seen: list[Event] = []
    return seen, Registration("test.recorder", lambda _s, e: seen.append(e))


def _pending(db: Database) -> int:
    with db.read() as s:
        return int(s.execute(select(func.count()).where(OutboxEvent.dispatched_at.is_(None))).scalar_one())


def test_each_event_reaches_its_handler_once_in_order(db: Database) -> None:
    # given three events of a handled type and one of another type
    ids = _emit(db, 3)
    _emit(db, 1, "other.happened")
    seen, reg = _recorder()
    # when the worker drains the outbox
    claimed = Dispatcher(db, {"thing.happened": [reg]}).drain()
    # then every event was claimed, the handler saw its three in order, and all are dispatched
    assert claimed == 4
    assert [e.id for e in seen] == ids
    assert [e.data for e in seen] == [{"i": 0}, {"i": 1}, {"i": 2}]
    assert _pending(db) == 0
    with db.read() as s:
        assert s.execute(select(func.count()).select_from(HandlerReceipt)).scalar_one() == 3


def test_redelivered_event_does_not_run_a_handler_twice(db: Database) -> None:
    # given an event already handled, then put back as if the worker died before settling it
    _emit(db, 1)
    seen, reg = _recorder()
    dispatcher = Dispatcher(db, {"thing.happened": [reg]})
    dispatcher.drain()
    db.transaction(lambda s: s.execute(update(OutboxEvent).values(dispatched_at=None)))
    # when it is delivered again
    dispatcher.drain()
    # then the receipt keeps the handler from running a second time
    assert len(seen) == 1
    assert _pending(db) == 0


def test_failing_handler_backs_off_then_dead_letters_and_can_be_retried(db: Database) -> None:
    # given a handler that always fails and a clock we control
    t0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    now = [t0]
    clock.set_clock(lambda: now[0])
    try:
        (event_id,) = _emit(db, 1)

        def boom(_s, _e):  # type: ignore[no-untyped-def]
            raise RuntimeError("carrier API down")

        dispatcher = Dispatcher(db, {"thing.happened": [Registration("test.boom", boom)]}, max_attempts=3)
        # when it is tried, the event waits for its backoff before the next try
        assert dispatcher.run_once() == 1
        with db.read() as s:
            row = s.execute(select(OutboxEvent).where(OutboxEvent.id == event_id)).scalar_one()
            assert (row.attempts, row.dispatched_at, row.failed_at) == (1, None, None)
            assert row.last_error == "test.boom: RuntimeError: carrier API down"
            assert row.available_at is not None and t0 <= row.available_at <= t0 + timedelta(seconds=2)
        # and after max_attempts tries it is dead-lettered
        for _ in range(2):
            now[0] += timedelta(hours=2)
            assert dispatcher.run_once() == 1
        now[0] += timedelta(hours=2)
        assert dispatcher.run_once() == 0
        with db.read() as s:
            row = s.execute(select(OutboxEvent).where(OutboxEvent.id == event_id)).scalar_one()
            assert (row.attempts, row.failed_at, row.dispatched_at) == (3, now[0] - timedelta(hours=2), None)
        # then an operator's retry puts it back in the queue
        assert db.transaction(lambda s: retry_failed(s, event_id)) is True
        seen, reg = _recorder()
        assert Dispatcher(db, {"thing.happened": [reg]}).drain() == 1
        assert [e.id for e in seen] == [event_id]
    finally:
        clock.set_clock(None)


def _dead_after_two_tries(db: Database, hook, now: list[datetime]) -> tuple[uuid.UUID, Dispatcher]:  # type: ignore[no-untyped-def]
    (event_id,) = _emit(db, 1)

    def boom(_s, _e):  # type: ignore[no-untyped-def]
        raise RuntimeError("carrier API down")

    dispatcher = Dispatcher(db, {"thing.happened": [Registration("test.boom", boom)]}, max_attempts=2,
                            on_dead_letter=hook)
    assert dispatcher.run_once() == 1
    now[0] += timedelta(hours=2)
    return event_id, dispatcher


def test_dead_letter_hook_runs_once_with_the_last_error_in_the_dead_lettering_transaction(db: Database) -> None:
    # given a handler that always fails, two attempts, and a hook that records a row of its own
    t0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    now = [t0]
    clock.set_clock(lambda: now[0])
    calls: list[tuple[uuid.UUID, str, str]] = []

    def hook(session, event, handler, error):  # type: ignore[no-untyped-def]
        calls.append((event.id, handler, error))
        emit(session, "thing.dead", f"thing/{event.id}", {"error": error})

    try:
        event_id, dispatcher = _dead_after_two_tries(db, hook, now)
        # then the first failure calls nothing
        assert calls == []
        # when the last attempt fails
        assert dispatcher.run_once() == 1
        # then the hook ran once, and its row was committed with the dead letter
        assert calls == [(event_id, "test.boom", "test.boom: RuntimeError: carrier API down")]
        with db.read() as s:
            assert s.execute(select(OutboxEvent.failed_at).where(OutboxEvent.id == event_id)).scalar_one() == now[0]
            dead = s.execute(select(OutboxEvent.data).where(OutboxEvent.type == "thing.dead")).scalars().all()
        assert dead == [{"error": "test.boom: RuntimeError: carrier API down"}]
    finally:
        clock.set_clock(None)


def test_a_failing_dead_letter_hook_does_not_keep_the_event_from_dead_lettering(db: Database) -> None:
    now = [datetime(2026, 11, 26, 12, 0, tzinfo=UTC)]
    clock.set_clock(lambda: now[0])

    def hook(session, event, handler, error):  # type: ignore[no-untyped-def]
        emit(session, "thing.dead", f"thing/{event.id}", {})
        raise RuntimeError("hook broken")

    try:
        event_id, dispatcher = _dead_after_two_tries(db, hook, now)
        # when the last attempt fails and the hook fails too
        assert dispatcher.run_once() == 1
        # then the event is dead-lettered with the handler's error, and nothing of the hook is kept
        with db.read() as s:
            row = s.execute(select(OutboxEvent.attempts, OutboxEvent.failed_at, OutboxEvent.last_error)
                            .where(OutboxEvent.id == event_id)).one()
            hooked = s.execute(select(func.count()).where(OutboxEvent.type == "thing.dead")).scalar_one()
        assert (*row, hooked) == (2, now[0], "test.boom: RuntimeError: carrier API down", 0)
    finally:
        clock.set_clock(None)


def test_concurrent_workers_share_events_without_duplicates(db: Database) -> None:
    if db.dialect != "postgresql":
        pytest.skip("concurrency is proven on PostgreSQL")
    # given 300 events and four workers in parallel
    _emit(db, 300)
    calls: Counter[uuid.UUID] = Counter()
    lock = threading.Lock()

    def count(_s, e):  # type: ignore[no-untyped-def]
        with lock:
            calls[e.id] += 1

    reg = Registration("test.counter", count)
    workers = [Dispatcher(db, {"thing.happened": [reg]}) for _ in range(4)]
    threads = [threading.Thread(target=w.drain, args=(10,)) for w in workers]
    # when they all drain at once
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # then every event was handled exactly once
    assert len(calls) == 300
    assert set(calls.values()) == {1}
    assert _pending(db) == 0


def test_periodic_jobs_run_when_due_in_their_own_transaction(db: Database) -> None:
    # given a job that emits an event each time it runs, every 10 seconds
    job = Periodic("test.tick", 10.0, lambda s: emit(s, "tick.happened", None, {}))
    dispatcher = Dispatcher(db, {}, periodic=[job])
    # when the worker looks at t=0, t=5 and t=10
    ran = [dispatcher.run_due_jobs(now=t) for t in (0.0, 5.0, 10.0)]
    # then the job ran at 0 and 10 only, and each run committed its event
    assert ran == [["test.tick"], [], ["test.tick"]]
    with db.read() as s:
        assert s.execute(select(func.count()).where(OutboxEvent.type == "tick.happened")).scalar_one() == 2


def test_handlers_under_star_run_for_every_event_after_the_types_own(db: Database) -> None:
    # given a handler of one type and one registered under "*"
    _emit(db, 1, "thing.happened")
    _emit(db, 1, "other.happened")
    order: list[tuple[str, str]] = []
    own = Registration("test.own", lambda _s, e: order.append(("own", e.type)))
    every = Registration("test.every", lambda _s, e: order.append(("every", e.type)))
    # when the worker drains the outbox
    Dispatcher(db, {"thing.happened": [own], "*": [every]}).drain()
    # then the type's handler ran first, and the "*" one for both events
    assert order == [("own", "thing.happened"), ("every", "thing.happened"), ("every", "other.happened")]
    assert _pending(db) == 0
