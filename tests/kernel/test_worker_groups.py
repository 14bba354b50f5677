"""Shared transactions of the worker: a group of events' handlers commits together, a savepoint
per handler; a failing handler costs only its own event, which is then retried on its own."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import Column, MetaData, String, Table, func, insert, select
from sqlalchemy.orm import Session

from ordino.kernel.db import Database
from ordino.kernel.outbox import HandlerReceipt, OutboxEvent, emit
from ordino.kernel.worker import AfterCommit, Dispatcher, Event, Registration

EFFECTS = Table("test_worker_effect", MetaData(), Column("handler", String(40)), Column("event_id", String(40)))


@pytest.fixture
def effects(db: Database) -> Iterator[Table]:
    EFFECTS.drop(db.engine, checkfirst=True)
    EFFECTS.create(db.engine)
    yield EFFECTS
    EFFECTS.drop(db.engine)


def _emit(db: Database, n: int) -> list[uuid.UUID]:
    def work(session: Session) -> list[uuid.UUID]:
        return [emit(session, "thing.happened", f"thing/{i}", {"i": i}) for i in range(n)]

    return db.transaction(work)


def _writer(name: str, fails: Callable[[Event], bool] = lambda _e: False) -> Registration:
    """A handler whose effect is a row; it writes the row, then raises when `fails(event)`."""

    def handle(session: Session, event: Event) -> None:
        session.execute(insert(EFFECTS).values(handler=name, event_id=str(event.id)))
        if fails(event):
            raise RuntimeError(f"{name} refused {event.data['i']}")

    return Registration(name, handle)


def _effects(db: Database) -> list[tuple[str, int]]:
    """(handler, i) of every effect row, sorted."""
    with db.read() as s:
        data = {i: d for i, d in s.execute(select(OutboxEvent.id, OutboxEvent.data))}
        rows = s.execute(select(EFFECTS.c.handler, EFFECTS.c.event_id)).all()
    return sorted((h, int(data[uuid.UUID(e)]["i"])) for h, e in rows)


def _states(db: Database) -> list[tuple[int, int, bool]]:
    """(i, attempts, dispatched) of every event, in order."""
    with db.read() as s:
        rows = s.execute(select(OutboxEvent.data, OutboxEvent.attempts, OutboxEvent.dispatched_at)).all()
    return sorted((int(d["i"]), a, at is not None) for d, a, at in rows)


def _receipts(db: Database) -> list[str]:
    with db.read() as s:
        return sorted(s.execute(select(HandlerReceipt.handler)).scalars().all())


def test_a_failing_handler_keeps_the_groups_other_work_and_its_event_is_retried(
    db: Database, effects: Table
) -> None:
    # given four events in one group; b refuses event 2 every time
    _emit(db, 4)
    regs = [_writer("a"), _writer("b", lambda e: e.data["i"] == 2), _writer("c")]
    dispatcher = Dispatcher(db, {"thing.happened": regs}, events_per_transaction=4)
    # when one round processes them
    assert dispatcher.run_once() == 4
    # then every handler's effect on the other events is committed once, a's on event 2 too (its
    # savepoint came before b's), and b's refused work on event 2 is nowhere: not from the group,
    # not from the retry on its own; c never ran on event 2
    assert _effects(db) == [("a", 0), ("a", 1), ("a", 2), ("a", 3), ("b", 0), ("b", 1), ("b", 3),
                            ("c", 0), ("c", 1), ("c", 3)]
    assert _receipts(db) == ["a"] * 4 + ["b"] * 3 + ["c"] * 3
    # and event 2 waits for its backoff with one failed attempt, the others are dispatched
    assert _states(db) == [(0, 0, True), (1, 0, True), (2, 1, False), (3, 0, True)]


def test_a_handler_that_fails_only_in_the_group_succeeds_on_its_own_once(db: Database, effects: Table) -> None:
    # given three events; b fails the first time it sees event 1 (a lock timeout, say)
    _emit(db, 3)
    seen: list[int] = []

    def first_time(event: Event) -> bool:
        seen.append(event.data["i"])
        return seen.count(1) == 1 and event.data["i"] == 1

    dispatcher = Dispatcher(db, {"thing.happened": [_writer("a"), _writer("b", first_time)]},
                            events_per_transaction=3)
    # when one round processes them
    dispatcher.run_once()
    # then event 1 was retried on its own at once (a skipped by its receipt) and every effect is there once
    assert seen == [0, 1, 2, 1]
    assert _effects(db) == [("a", 0), ("a", 1), ("a", 2), ("b", 0), ("b", 1), ("b", 2)]
    assert _receipts(db) == ["a"] * 3 + ["b"] * 3
    assert _states(db) == [(0, 0, True), (1, 0, True), (2, 0, True)]


def test_after_commit_work_runs_with_the_group_before_it_committed(db: Database, effects: Table) -> None:
    # given three events; for event 1 the handler leaves work for after the commit
    _emit(db, 3)
    committed_before: list[list[tuple[str, int]]] = []

    def handle(session: Session, event: Event) -> AfterCommit | None:
        session.execute(insert(EFFECTS).values(handler="begin", event_id=str(event.id)))
        if event.data["i"] != 1:
            return None

        def run(database: Database, last: Callable[[Session], None]) -> None:
            committed_before.append(_effects(database))

            def finish(s: Session) -> None:
                s.execute(insert(EFFECTS).values(handler="finish", event_id=str(event.id)))
                last(s)

            database.transaction(finish)

        return AfterCommit(run)

    dispatcher = Dispatcher(db, {"thing.happened": [Registration("pay", handle), _writer("z")]},
                            events_per_transaction=3)
    # when one round processes them
    dispatcher.run_once()
    # then the work after the commit saw the group's writes up to its own begin committed
    assert committed_before == [[("begin", 0), ("begin", 1), ("z", 0)]]
    # and every effect happened once, the later handler of event 1 ran after the after-commit work
    assert _effects(db) == [("begin", 0), ("begin", 1), ("begin", 2), ("finish", 1), ("z", 0), ("z", 1), ("z", 2)]
    assert _receipts(db) == ["pay"] * 3 + ["z"] * 3
    assert _states(db) == [(0, 0, True), (1, 0, True), (2, 0, True)]


def test_a_group_whose_commit_fails_is_processed_event_by_event(
    db: Database, effects: Table, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given two events and a group transaction that fails after its handlers ran
    _emit(db, 2)
    dispatcher = Dispatcher(db, {"thing.happened": [_writer("a")]}, events_per_transaction=2)
    shared = dispatcher._shared

    def failing(session: Session, step):  # type: ignore[no-untyped-def]
        shared(session, step)
        raise ConnectionError("server closed the connection")

    monkeypatch.setattr(dispatcher, "_shared", failing)
    # when one round processes them
    dispatcher.run_once()
    # then nothing of the group was kept and each event was handled once on its own
    assert _effects(db) == [("a", 0), ("a", 1)]
    assert _receipts(db) == ["a", "a"]
    assert _states(db) == [(0, 0, True), (1, 0, True)]


def test_four_workers_handle_ten_thousand_events_each_handler_once(db: Database, effects: Table) -> None:
    if db.dialect != "postgresql":
        pytest.skip("concurrency is proven on PostgreSQL")
    # given 10,000 events, two handlers each, and four workers in parallel
    ids = _emit(db, 10_000)
    regs = [_writer("a"), _writer("b")]
    workers = [Dispatcher(db, {"thing.happened": regs}) for _ in range(4)]
    threads = [threading.Thread(target=w.drain, args=(100,)) for w in workers]
    # when they all drain at once
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # then each handler's effect happened exactly once per event, with its receipt, and all are dispatched
    with db.read() as s:
        per_effect = s.execute(
            select(EFFECTS.c.handler, EFFECTS.c.event_id, func.count()).group_by(EFFECTS.c.handler, EFFECTS.c.event_id)
        ).all()
        receipts = s.execute(select(HandlerReceipt.handler, func.count()).group_by(HandlerReceipt.handler)).all()
        dispatched = s.execute(select(func.count()).where(OutboxEvent.dispatched_at.is_not(None))).scalar_one()
    assert len(per_effect) == 20_000
    assert {n for _, _, n in per_effect} == {1}
    assert {e for _, e, _ in per_effect} == {str(i) for i in ids}
    assert sorted(receipts) == [("a", 10_000), ("b", 10_000)]
    assert dispatched == 10_000
