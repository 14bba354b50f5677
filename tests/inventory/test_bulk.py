"""inventory.bulk: batches of rows reach the database intact (PostgreSQL: one JSON parameter)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import BigInteger, Date, String, Uuid, select

from ordino.inventory.bulk import rows_source
from ordino.kernel.db import Database

COLUMNS: list[tuple[str, Any]] = [("sku", String(8)), ("location_id", Uuid()), ("n", BigInteger()), ("d", Date())]


def test_rows_come_back_as_they_were_sent(db: Database) -> None:
    # given rows with characters that need quoting, a value longer than the column's declared
    # length, the largest counters, no value at all, and dates
    rows = [
        ('a"b,c}{\\', uuid.UUID(int=1), 10**12, date(2026, 12, 24)),
        ("LONGER-THAN-EIGHT", uuid.UUID(int=2**128 - 1), -(10**12), None),
        ("ünïcödé ✓", None, 0, date(2000, 1, 1)),
    ]
    # when they are read back through the FROM item
    with db.read() as s:
        src = rows_source(s, "v", COLUMNS, rows)
        got = s.execute(select(src.c.sku, src.c.location_id, src.c.n, src.c.d)).all()
    # then every value is exact (nothing cut short, nothing re-typed)
    assert sorted(map(tuple, got), key=lambda r: r[0]) == sorted(rows, key=lambda r: r[0])
