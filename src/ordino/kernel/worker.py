"""Delivering outbox events to handlers, at least once, each handler exactly once in effect.

A round claims a batch of pending events by giving them a lease (PostgreSQL: `FOR UPDATE SKIP
LOCKED`, so any number of workers on any number of machines share the work; SQLite: one writer at
a time). The claimed events are handled in groups of `events_per_transaction` that share one
transaction: each handler registered for an event's type runs in its own savepoint, which also
writes the (handler, event) receipt, so a redelivered event never runs a handler twice; the events
whose handlers all succeeded are marked dispatched in that same transaction. A handler that raises
rolls back only its savepoint: the others' work commits with the group, and the failing event (and
every event of a group whose commit failed) is then processed on its own, each handler in its own
transaction as before (`process`), skipping the handlers whose receipts are written. There a
handler that raises puts the event back with exponential backoff and jitter; after `max_attempts`
the event is dead-lettered (failed_at, last_error) for an operator to retry, and the dispatcher's
`on_dead_letter` hook (the composition root gives one that raises a process exception) runs in the
same transaction, so a dead letter is never left unannounced. Each handler starts from an empty
identity map, as it would in a transaction of its own.

A handler that must call another system (a payment gateway) cannot hold its transaction open
meanwhile: it returns `AfterCommit`. The worker commits what the handler (and the group before it)
wrote, without the receipt, then runs it; its last transaction writes the receipt together with the
final effects (payments.orchestrator). When it raises, the event is retried as for any failure.
"""

from __future__ import annotations

import logging
import random
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.orm import Session

from ordino.kernel import clock, faults, logs
from ordino.kernel.db import Database, describe_error, redact_database_errors
from ordino.kernel.metrics import HANDLER_DELIVERIES, HANDLER_FAILURES
from ordino.kernel.outbox import HandlerReceipt, OutboxEvent

log = logging.getLogger("ordino.worker")
redact_database_errors(log.name)


@dataclass(frozen=True, slots=True)
class Event:
    id: uuid.UUID
    type: str
    subject: str | None
    time: datetime
    data: dict[str, Any]
    last_error: str | None = None  # the error of its last failed delivery, if any


@dataclass(frozen=True, slots=True)
class AfterCommit:
    """Work left for after the handler's transaction commits. `run(db, last)` owns its
    transactions and calls `last(session)` in the one that completes the work (it writes the
    handler's receipt); it raises when the work could not be completed."""

    run: Callable[[Database, Callable[[Session], None]], None]


Handler = Callable[[Session, Event], AfterCommit | None]
# Called with the dead-lettered event, the name of the handler that failed and its last error, in
# the transaction that dead-letters the event.
DeadLetterHook = Callable[[Session, Event, str, str], None]
# Called with an event that failed before (a dead letter put back by `retry_failed`, or a retried
# failure) once every handler succeeded, in the transaction that marks it dispatched.
RecoveredHook = Callable[[Session, Event], None]


@dataclass(frozen=True, slots=True)
class Registration:
    name: str  # stable: it keys the receipts
    handle: Handler


@dataclass(frozen=True, slots=True)
class Periodic:
    """A job the worker runs every `seconds` in its own transaction (e.g. expiring cart holds).

    Every worker runs it; jobs must be idempotent and cheap when there is nothing to do.
    """

    name: str
    seconds: float
    run: Callable[[Session], object]  # may return AfterCommit, run once the job's transaction commits


def backoff(attempt: int, base: float = 2.0, cap: float = 3600.0) -> timedelta:
    """Full-jitter exponential backoff for the given (1-based) failed attempt."""
    return timedelta(seconds=random.uniform(0, min(cap, base * 2 ** (attempt - 1))))


def _receipt_writer(reg: Registration, event: Event) -> Callable[[Session], None]:
    def receipt(session: Session) -> None:
        session.execute(
            insert(HandlerReceipt), [{"handler": reg.name, "event_id": event.id, "processed_at": clock.now()}]
        )

    return receipt


class _Group:
    """One shared transaction's events and what became of them."""

    def __init__(self, events: list[Event]) -> None:
        self.events = events
        self.failed: list[Event] = []
        self.rest: list[Event] = []
        self.later: tuple[Event, Registration, AfterCommit] | None = None

    def reset_then(self, fn: Callable[[Session, _Group], None]) -> Callable[[Session], None]:
        def work(session: Session) -> None:
            self.failed, self.rest, self.later = [], [], None
            fn(session, self)

        return work


class Dispatcher:
    def __init__(
        self,
        db: Database,
        handlers: Mapping[str, Sequence[Registration]],
        *,
        lease_seconds: float = 60.0,
        max_attempts: int = 10,
        periodic: Sequence[Periodic] = (),
        on_dead_letter: DeadLetterHook | None = None,
        on_recovered: RecoveredHook | None = None,
        events_per_transaction: int = 20,
    ) -> None:
        self.db = db
        self.handlers = handlers
        self.periodic = tuple(periodic)
        self._next_run: dict[str, float] = {}
        self.lease = timedelta(seconds=lease_seconds)
        self.max_attempts = max_attempts
        self.on_dead_letter = on_dead_letter
        self.on_recovered = on_recovered
        # 1: every handler in a transaction of its own. More shares the commit (the round trips, the
        # WAL flush) but holds the group's row locks until it ends: keep it small.
        self.events_per_transaction = max(1, events_per_transaction)
        self._stop = threading.Event()
        self._crash_at = faults.CRASH_AT  # tests only: None in production

    def _claim(self, session: Session, limit: int) -> list[Event]:
        now = clock.now()
        pending = and_(
            OutboxEvent.dispatched_at.is_(None),
            OutboxEvent.failed_at.is_(None),
            or_(OutboxEvent.available_at.is_(None), OutboxEvent.available_at <= now),
            or_(OutboxEvent.lease_until.is_(None), OutboxEvent.lease_until < now),
        )
        pick = select(OutboxEvent.position).where(pending).order_by(OutboxEvent.position).limit(limit)
        if self.db.dialect == "postgresql":
            pick = pick.with_for_update(skip_locked=True)
        rows = session.execute(
            update(OutboxEvent)
            .where(OutboxEvent.position.in_(pick.scalar_subquery()))
            .values(lease_until=now + self.lease)
            .returning(
                OutboxEvent.position, OutboxEvent.id, OutboxEvent.type, OutboxEvent.subject,
                OutboxEvent.time, OutboxEvent.data, OutboxEvent.last_error,
            )
        ).all()
        return [Event(r.id, r.type, r.subject, r.time, r.data, r.last_error)
                for r in sorted(rows, key=lambda r: r.position)]

    def _run_handler(self, reg: Registration, event: Event) -> None:
        receipt = _receipt_writer(reg, event)

        def work(session: Session) -> AfterCommit | None:
            done = session.execute(
                select(HandlerReceipt.handler).where(
                    HandlerReceipt.handler == reg.name, HandlerReceipt.event_id == event.id
                )
            ).first()
            if done is not None:
                return None
            HANDLER_DELIVERIES.labels(reg.name).inc()
            later = reg.handle(session, event)
            if later is None:
                receipt(session)
            return later

        if self._crash_at:
            faults.crash_point(f"{reg.name}:before")
        later = self.db.transaction(work)
        if self._crash_at:
            faults.crash_point(f"{reg.name}:after_handler")
        if later is not None:
            later.run(self.db, receipt)

    def _settle(self, event: Event, error: str | None, handler: str = "") -> None:
        def work(session: Session) -> None:
            now = clock.now()
            if error is None:
                session.execute(
                    update(OutboxEvent)
                    .where(OutboxEvent.id == event.id)
                    .values(dispatched_at=now, lease_until=None, last_error=None)
                )
                if event.last_error is not None and self.on_recovered is not None:
                    self._announce_recovery(session, event)
                return
            attempts = session.execute(
                update(OutboxEvent)
                .where(OutboxEvent.id == event.id)
                .values(attempts=OutboxEvent.attempts + 1, last_error=error[:2000], lease_until=None)
                .returning(OutboxEvent.attempts)
            ).scalar_one()
            dead = attempts >= self.max_attempts
            values: dict[str, Any] = {"failed_at": now} if dead else {"available_at": now + backoff(attempts)}
            session.execute(update(OutboxEvent).where(OutboxEvent.id == event.id).values(**values))
            if dead and self.on_dead_letter is not None:
                self._announce_dead_letter(session, event, handler, error)

        self.db.transaction(work)

    def _announce_dead_letter(self, session: Session, event: Event, handler: str, error: str) -> None:
        assert self.on_dead_letter is not None
        try:
            with session.begin_nested():  # a failing hook must not keep the event from dead-lettering
                self.on_dead_letter(session, event, handler, error)
        except Exception:
            log.exception("dead letter hook failed on event %s", event.id)

    def _announce_recovery(self, session: Session, event: Event) -> None:
        assert self.on_recovered is not None
        try:
            with session.begin_nested():  # a failing hook must not keep the event undelivered
                self.on_recovered(session, event)
        except Exception:
            log.exception("recovery hook failed on event %s", event.id)

    def process(self, event: Event) -> bool:
        """Run every handler of the event; True when all succeeded."""
        with logs.event_context(event.type, event.subject, event.data):  # log lines name its order
            return self._process(event)

    def _process(self, event: Event) -> bool:
        error, failed = None, ""
        # Handlers under "*" (webhooks' fan-out) run for every event, after the type's own.
        for reg in (*self.handlers.get(event.type, ()), *self.handlers.get("*", ())):
            try:
                self._run_handler(reg, event)
            except Exception as exc:  # a failing handler must not stop the others' events
                HANDLER_FAILURES.labels(reg.name).inc()
                log.exception("handler %s failed on event %s", reg.name, event.id)
                error, failed = f"{reg.name}: {describe_error(exc)}", reg.name
                break
        if self._crash_at and error is None:
            for reg in self.handlers.get(event.type, ()):
                faults.crash_point(f"{reg.name}:before_settle")
        self._settle(event, error, failed)
        return error is None

    def run_once(self, limit: int = 100) -> int:
        """Claim and process one batch; returns how many events were claimed."""
        events = self.db.transaction(lambda s: self._claim(s, limit))
        group: list[Event] = []
        for event in events:
            # An event that failed before runs alone: its recovery is announced (on_recovered).
            if self.events_per_transaction == 1 or event.last_error is not None:
                self._flush(group)
                self.process(event)
                continue
            group.append(event)
            if len(group) == self.events_per_transaction:
                self._flush(group)
        self._flush(group)
        return len(events)

    def _flush(self, group: list[Event]) -> None:
        if group:
            self.process_group(list(group))
            group.clear()

    def process_group(self, events: Sequence[Event]) -> None:
        """Run the handlers of `events` in shared transactions (see the module docstring)."""
        todo = list(events)
        while todo:
            step = _Group(todo)
            try:
                self.db.transaction(step.reset_then(self._shared), attempts=1)
            except Exception:
                # the group's commit (or its bookkeeping) failed: nothing of it is kept
                log.warning("shared transaction of %d events failed; processing them one by one",
                            len(todo), exc_info=True)
                for event in todo:
                    self.process(event)
                return
            for event in step.failed:
                self.process(event)
            todo = step.rest
            if step.later is not None:
                event, reg, later = step.later
                if self._crash_at:
                    faults.crash_point(f"{reg.name}:after_handler")
                try:
                    later.run(self.db, _receipt_writer(reg, event))
                except Exception as exc:
                    log.exception("handler %s failed on event %s", reg.name, event.id)
                    self._settle(event, f"{reg.name}: {describe_error(exc)}", reg.name)
                    continue
                todo.insert(0, event)  # its other handlers (the receipts skip the ones done)

    def _shared(self, session: Session, step: _Group) -> None:
        ids = [e.id for e in step.events]
        done = {
            (r.handler, r.event_id)
            for r in session.execute(
                select(HandlerReceipt.handler, HandlerReceipt.event_id).where(HandlerReceipt.event_id.in_(ids))
            )
        }
        dispatched: list[uuid.UUID] = []
        for index, event in enumerate(step.events):
            outcome = self._run_in_savepoint(session, event, done)
            if outcome is None:
                dispatched.append(event.id)
            elif isinstance(outcome, tuple):
                step.later = outcome
                step.rest = step.events[index + 1 :]
                break
            else:
                step.failed.append(event)
        if dispatched:
            if self._crash_at:
                for event in step.events:
                    if event.id in dispatched:
                        for reg in self.handlers.get(event.type, ()):
                            faults.crash_point(f"{reg.name}:before_settle")
            session.execute(
                update(OutboxEvent)
                .where(OutboxEvent.id.in_(dispatched))
                .values(dispatched_at=clock.now(), lease_until=None, last_error=None)
            )

    def _run_in_savepoint(
        self, session: Session, event: Event, done: set[tuple[str, uuid.UUID]]
    ) -> bool | tuple[Event, Registration, AfterCommit] | None:
        """None: every handler ran; False: one raised (its savepoint rolled back); a tuple: one
        returned work for after the commit. Handlers under "*" run after the type's own."""
        with logs.event_context(event.type, event.subject, event.data):
            for reg in (*self.handlers.get(event.type, ()), *self.handlers.get("*", ())):
                if (reg.name, event.id) in done:
                    continue
                if self._crash_at:
                    faults.crash_point(f"{reg.name}:before")
                try:
                    with session.begin_nested():
                        later = reg.handle(session, event)
                        if later is None:
                            _receipt_writer(reg, event)(session)
                except Exception:  # counted when it runs again alone
                    log.info("handler %s failed on event %s in a shared transaction; retrying it alone",
                             reg.name, event.id, exc_info=True)
                    session.expunge_all()
                    return False
                session.expunge_all()  # the next handler starts from the database, as in its own transaction
                HANDLER_DELIVERIES.labels(reg.name).inc()
                if later is not None:
                    return (event, reg, later)
                if self._crash_at:  # not committed yet here: the group commits after its last event
                    faults.crash_point(f"{reg.name}:after_handler")
        return None

    def drain(self, limit: int = 100) -> int:
        total = 0
        while n := self.run_once(limit):
            total += n
        return total

    def run_due_jobs(self, now: float | None = None) -> list[str]:
        """Run the periodic jobs whose time has come; returns their names."""
        now = time.monotonic() if now is None else now
        ran = []
        for job in self.periodic:
            if self._next_run.get(job.name, 0.0) > now:
                continue
            self._next_run[job.name] = now + job.seconds
            try:
                later = self.db.transaction(job.run)
                if isinstance(later, AfterCommit):
                    later.run(self.db, lambda _session: None)
                ran.append(job.name)
            except Exception:
                log.exception("periodic job %s failed", job.name)
        return ran

    def run_forever(self, limit: int = 100, idle_seconds: float = 0.5) -> None:
        while not self._stop.is_set():
            try:
                self.run_due_jobs()
                claimed = self.run_once(limit)
            except Exception:
                log.exception("worker round failed")
                claimed = 0
            if not claimed:
                self._stop.wait(idle_seconds)

    def stop(self) -> None:
        self._stop.set()

    def start_thread(self, limit: int = 100) -> threading.Thread:
        thread = threading.Thread(target=self.run_forever, args=(limit,), name="ordino-worker", daemon=True)
        thread.start()
        return thread


def retry_failed(session: Session, event_id: uuid.UUID) -> bool:
    """Put a dead-lettered event back in the queue (the console's 'retry')."""
    result = session.execute(
        update(OutboxEvent)
        .where(OutboxEvent.id == event_id, OutboxEvent.failed_at.is_not(None))
        .values(failed_at=None, attempts=0, available_at=None, lease_until=None)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]
