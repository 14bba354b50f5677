"""Human document numbers (SO-000123, INV-2026-000001) from per-series counters.

Gap-free series (invoices, credit memos) take their number from a counter row updated in the
caller's transaction: a rolled-back transaction gives its number back, so no number is skipped.
The row lock serializes writers of that series, which is what gap-free requires.

Series where gaps are harmless (orders, fulfilment orders) use a PostgreSQL sequence instead, so
concurrent order placement does not queue on one row; on SQLite (one writer at a time) they use
the counter row as well.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import BigInteger, String, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from ordino.kernel import clock
from ordino.kernel.db import Base


class NumberSeries(Base):
    __tablename__ = "number_series"

    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    last_value: Mapped[int] = mapped_column(BigInteger, default=0)


@dataclass(frozen=True, slots=True)
class Series:
    name: str
    prefix: str
    width: int = 6
    gap_free: bool = False
    yearly: bool = False  # a new counter per calendar year: INV-2026-000001

    def counter_name(self, at: datetime) -> str:
        return f"{self.name}:{at.year}" if self.yearly else self.name

    def sequence_name(self) -> str:
        return f"seq_{self.name}"

    def format(self, value: int, at: datetime) -> str:
        year = f"{at.year}-" if self.yearly else ""
        return f"{self.prefix}{year}{value:0{self.width}d}"


ORDER = Series("order", "SO-")
FULFILLMENT_ORDER = Series("fulfillment_order", "FO-")
CHANGE_ORDER = Series("change_order", "CO-")
QUOTE = Series("quote", "QT-")
INVOICE = Series("invoice", "INV-", gap_free=True, yearly=True)
CREDIT_MEMO = Series("credit_memo", "CM-", gap_free=True, yearly=True)
RETURN_ORDER = Series("return_order", "RMA-", gap_free=True, yearly=True)

SEQUENCE_SERIES = (ORDER, FULFILLMENT_ORDER, CHANGE_ORDER, QUOTE)


def next_number(session: Session, series: Series, at: datetime | None = None) -> str:
    at = at or clock.now()
    bind = session.get_bind()
    if not series.gap_free and bind.dialect.name == "postgresql":
        value = session.execute(text(f"SELECT nextval('{series.sequence_name()}')")).scalar_one()
        return series.format(int(value), at)
    name = series.counter_name(at)
    # One atomic upsert: the first number of a counter and every later one alike.
    ins = pg_insert(NumberSeries) if bind.dialect.name == "postgresql" else sqlite_insert(NumberSeries)
    stmt = ins.values(name=name, last_value=1).on_conflict_do_update(
        index_elements=[NumberSeries.name], set_={"last_value": NumberSeries.last_value + 1}
    ).returning(NumberSeries.last_value)
    value = session.execute(stmt).scalar_one()
    return series.format(int(value), at)


def next_numbers(session: Session, series: Series, count: int, at: datetime | None = None) -> list[str]:
    """`count` numbers of a series, in one statement (a batch of documents)."""
    at = at or clock.now()
    if count == 1:
        return [next_number(session, series, at)]
    if count < 1:
        return []
    bind = session.get_bind()
    if not series.gap_free and bind.dialect.name == "postgresql":
        values = session.execute(_NEXT_VALUES, {"sequence": series.sequence_name(), "n": count}).scalars()
        return [series.format(int(v), at) for v in sorted(values)]
    ins = pg_insert(NumberSeries) if bind.dialect.name == "postgresql" else sqlite_insert(NumberSeries)
    stmt = ins.values(name=series.counter_name(at), last_value=count).on_conflict_do_update(
        index_elements=[NumberSeries.name], set_={"last_value": NumberSeries.last_value + count}
    ).returning(NumberSeries.last_value)
    last = int(session.execute(stmt).scalar_one())
    return [series.format(v, at) for v in range(last - count + 1, last + 1)]


_NEXT_VALUES = text("SELECT nextval(CAST(:sequence AS regclass)) FROM generate_series(1, :n)")
