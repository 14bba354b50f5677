"""Transactions recording at the same moment keep one chain: proven on PostgreSQL with real
threads and connections (SQLite serializes writers)."""

from __future__ import annotations

import threading
import uuid

import pytest
from sqlalchemy import select

from ordino.audit import service
from ordino.audit.domain import Action, Subject
from ordino.audit.models import AuditEvent
from ordino.kernel.db import Database

THREADS = 12
EACH = 5


@pytest.fixture
def pg(db: Database) -> Database:
    if db.dialect != "postgresql":
        pytest.skip("concurrency is proven on PostgreSQL")
    return db


def test_concurrent_recording_keeps_one_chain(pg: Database) -> None:
    barrier = threading.Barrier(THREADS)
    errors: list[BaseException] = []

    def run(n: int) -> None:
        barrier.wait()
        try:
            for i in range(EACH):
                pg.transaction(lambda s, i=i: service.record(
                    s, actor=f"system:thread {n}", action=Action.PRICE_CHANGED,
                    subject=Subject("price_book", uuid.UUID(int=n)), before={"i": None}, after={"i": i},
                ))
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    # when many threads record at once, from the very first entry (the head row does not exist yet)
    threads = [threading.Thread(target=run, args=(n,)) for n in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # then every entry is in one chain, numbered 1…N without gaps, and it verifies
    assert errors == []
    with pg.read() as s:
        sequences = s.execute(select(AuditEvent.sequence).order_by(AuditEvent.sequence)).scalars().all()
        result = service.verify(s)
    assert sequences == list(range(1, THREADS * EACH + 1))
    assert (result.intact, result.entries) == (True, THREADS * EACH)
