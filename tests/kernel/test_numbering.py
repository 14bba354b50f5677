"""kernel.numbering: human document numbers; invoice and credit memo series are gap-free."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from ordino.kernel.db import Database
from ordino.kernel.numbering import CREDIT_MEMO, INVOICE, ORDER, NumberSeries, Series, next_number, next_numbers

AT_2026 = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
AT_2027 = datetime(2027, 1, 1, 0, 0, tzinfo=UTC)


class Boom(Exception):
    pass


def _take(db: Database, series: Series, at: datetime = AT_2026) -> str:
    return db.transaction(lambda s: next_number(s, series, at))


def _counters(db: Database) -> dict[str, int]:
    with db.read() as s:
        return {r.name: r.last_value for r in s.execute(select(NumberSeries.name, NumberSeries.last_value))}


def test_gap_free_series_gives_consecutive_numbers_with_a_yearly_prefix(db: Database) -> None:
    # when three invoices are numbered in 2026
    numbers = [_take(db, INVOICE) for _ in range(3)]
    # then they are consecutive, from 1, with the year in the prefix
    assert numbers == ["INV-2026-000001", "INV-2026-000002", "INV-2026-000003"]
    assert _counters(db) == {"invoice:2026": 3}


def test_a_rolled_back_transaction_gives_its_number_back(db: Database) -> None:
    # given one invoice numbered
    assert _take(db, INVOICE) == "INV-2026-000001"

    # when a transaction takes the next number and then fails
    def fail(session: Session) -> None:
        assert next_number(session, INVOICE, AT_2026) == "INV-2026-000002"
        raise Boom

    with pytest.raises(Boom):
        db.transaction(fail)
    # then the counter is where it was, and the next invoice gets that number: no gap
    assert _counters(db) == {"invoice:2026": 1}
    assert _take(db, INVOICE) == "INV-2026-000002"


def test_a_rolled_back_first_number_leaves_no_counter(db: Database) -> None:
    def fail(session: Session) -> None:
        next_number(session, INVOICE, AT_2026)
        raise Boom

    with pytest.raises(Boom):
        db.transaction(fail)
    assert _counters(db) == {}
    assert _take(db, INVOICE) == "INV-2026-000001"


def test_each_year_and_each_series_counts_on_its_own(db: Database) -> None:
    assert _take(db, INVOICE, AT_2026) == "INV-2026-000001"
    assert _take(db, INVOICE, AT_2026) == "INV-2026-000002"
    assert _take(db, INVOICE, AT_2027) == "INV-2027-000001"
    assert _take(db, CREDIT_MEMO, AT_2026) == "CM-2026-000001"
    assert _take(db, INVOICE, AT_2026) == "INV-2026-000003"
    assert _counters(db) == {"invoice:2026": 3, "invoice:2027": 1, "credit_memo:2026": 1}


def test_order_series_has_no_year(db: Database) -> None:
    # orders use a PostgreSQL sequence (gaps allowed) or, on SQLite, a counter row
    assert [_take(db, ORDER, AT_2026), _take(db, ORDER, AT_2027)] == ["SO-000001", "SO-000002"]


def test_series_format() -> None:
    assert ORDER.format(123, AT_2026) == "SO-000123"
    assert INVOICE.format(1, AT_2026) == "INV-2026-000001"
    assert Series("x", "X-", width=3).format(1234, AT_2026) == "X-1234"  # wider numbers are not cut
    assert INVOICE.counter_name(AT_2027) == "invoice:2027"
    assert ORDER.counter_name(AT_2027) == "order"


def _in_parallel(n: int, task) -> list:  # type: ignore[no-untyped-def]
    """Run task(i) in n threads that start together; results in thread order, errors re-raised."""
    barrier = threading.Barrier(n)
    results: list = [None] * n
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = task(i)
        except BaseException as exc:  # collected and re-raised below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert [t.is_alive() for t in threads] == [False] * n
    if errors:
        raise errors[0]
    return results


def test_concurrent_gap_free_numbers_are_1_to_20_on_postgresql(db: Database) -> None:
    if db.dialect != "postgresql":
        pytest.skip("concurrency is proven on PostgreSQL with real parallel connections")

    # when 20 transactions on 20 connections each take an invoice number at the same moment
    # (each holds its transaction open a little, so that they really overlap)
    def take(_: int) -> str:
        def work(session: Session) -> str:
            number = next_number(session, INVOICE, AT_2026)
            session.execute(text("SELECT pg_sleep(0.01)"))
            return number

        return db.transaction(work)

    numbers = _in_parallel(20, take)
    # then they got exactly 1..20, no duplicates, no gaps
    assert sorted(numbers) == [f"INV-2026-{i:06d}" for i in range(1, 21)]
    assert _counters(db) == {"invoice:2026": 20}


def test_concurrent_rollbacks_leave_no_gap_on_postgresql(db: Database) -> None:
    if db.dialect != "postgresql":
        pytest.skip("concurrency is proven on PostgreSQL with real parallel connections")

    # when 20 concurrent transactions take a number and every odd one rolls back
    def take(i: int) -> str | None:
        def work(session: Session) -> str:
            number = next_number(session, INVOICE, AT_2026)
            session.execute(text("SELECT pg_sleep(0.005)"))
            if i % 2:
                raise Boom
            return number

        try:
            return db.transaction(work)
        except Boom:
            return None

    numbers = [n for n in _in_parallel(20, take) if n is not None]
    # then the ten that committed hold exactly 1..10
    assert sorted(numbers) == [f"INV-2026-{i:06d}" for i in range(1, 11)]
    assert _counters(db) == {"invoice:2026": 10}


def test_concurrent_order_numbers_are_distinct_on_postgresql(db: Database) -> None:
    if db.dialect != "postgresql":
        pytest.skip("concurrency is proven on PostgreSQL with real parallel connections")
    numbers = _in_parallel(20, lambda _: _take(db, ORDER))
    assert sorted(numbers) == [f"SO-{i:06d}" for i in range(1, 21)]


@pytest.mark.parametrize("series", [ORDER, INVOICE], ids=["sequence", "counter"])
def test_a_batch_takes_consecutive_numbers_in_one_go(db: Database, series: Series) -> None:
    # given one number taken alone
    first = _take(db, series)
    # when a batch of three and then one more are taken
    batch = db.transaction(lambda s: next_numbers(s, series, 3, AT_2026))
    last = _take(db, series)
    # then they follow each other, none skipped, none twice
    prefix = "SO-" if series is ORDER else "INV-2026-"
    assert [first, *batch, last] == [f"{prefix}{n:06d}" for n in range(1, 6)]
    assert db.transaction(lambda s: next_numbers(s, series, 0, AT_2026)) == []
