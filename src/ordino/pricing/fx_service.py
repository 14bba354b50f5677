"""FX rates: record and import them (the only code that writes them), read the rates in force,
and convert money on a date.

Recording is an upsert by (base, quote, effective date, source): a new key is inserted, a key
with another rate is updated (a correction), a key with the same rate is left alone. So a
re-import changes nothing. Rows are written set by set: a chunk of rates is staged in a
temporary table (COPY on PostgreSQL), then one INSERT … ON CONFLICT DO NOTHING adds the new keys
and one UPDATE … FROM corrects the changed ones; their row counts are the counts reported.
"""

from __future__ import annotations

import base64
import io
import uuid
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, Table, and_, bindparam, func, or_, select, text, tuple_
from sqlalchemy.orm import Session

from ordino.kernel import clock
from ordino.kernel.errors import FieldError, ValidationFailed
from ordino.kernel.http import check_limit
from ordino.kernel.ids import new_id
from ordino.kernel.money import Money, is_currency
from ordino.kernel.outbox import emit
from ordino.pricing import fx
from ordino.pricing.errors import RateNotFound
from ordino.pricing.fx import Leg, Pair, Rate
from ordino.pricing.models import FxRate

Doc = dict[str, Any]
CHUNK = 50_000  # rates staged and written per round of statements
TABLE = cast(Table, FxRate.__table__)


@dataclass(slots=True)
class Counts:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    first_day: date | None = None
    last_day: date | None = None
    sources: set[str] = field(default_factory=set)

    def add(self, other: Counts) -> None:
        self.inserted += other.inserted
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.sources |= other.sources
        days = [d for d in (self.first_day, self.last_day, other.first_day, other.last_day) if d is not None]
        self.first_day, self.last_day = (min(days), max(days)) if days else (None, None)

    def as_doc(self) -> Doc:
        return {"inserted": self.inserted, "updated": self.updated, "unchanged": self.unchanged}


def rate_doc(row: Any) -> Doc:
    return {
        "id": row.id,
        "base": row.base,
        "quote": row.quote,
        "rate": fx.rate_text(row.rate),
        "effective_on": row.effective_on,
        "source": row.source,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }


# ----------------------------------------------------------------------------------------------
# Writing


def _key(rate: Rate) -> tuple[str, str, date, str]:
    return rate.base, rate.quote, rate.effective_on, rate.source


# The chunk is staged in a temporary table, then written with two set-based statements.
_PG_STAGE = (
    "CREATE TEMPORARY TABLE IF NOT EXISTS fx_rate_incoming (id uuid, base varchar(3), quote varchar(3),"
    " rate numeric(30, 18), effective_on date, source varchar(20)) ON COMMIT DROP"
)
_PG_COPY = "COPY fx_rate_incoming (id, base, quote, rate, effective_on, source) FROM STDIN"
_SQLITE_STAGE = "CREATE TEMPORARY TABLE IF NOT EXISTS fx_rate_incoming (id, base, quote, rate, effective_on, source)"
_SQLITE_FILL = "INSERT INTO fx_rate_incoming (id, base, quote, rate, effective_on, source) VALUES (?, ?, ?, ?, ?, ?)"
_INSERT = text(
    "INSERT INTO fx_rate (id, base, quote, rate, effective_on, source, created_at, updated_at)"
    " SELECT id, base, quote, rate, effective_on, source, :now, :now FROM fx_rate_incoming"
    " WHERE true ON CONFLICT (base, quote, effective_on, source) DO NOTHING"  # WHERE: SQLite's parser needs it
).bindparams(bindparam("now", type_=TABLE.c.created_at.type))
# The stored text (SQLite) or number (PostgreSQL) of equal rates is equal.
_CORRECT = text(
    "UPDATE fx_rate SET rate = i.rate, updated_at = :now FROM fx_rate_incoming AS i"
    " WHERE fx_rate.base = i.base AND fx_rate.quote = i.quote AND fx_rate.effective_on = i.effective_on"
    " AND fx_rate.source = i.source AND fx_rate.rate <> i.rate"
).bindparams(bindparam("now", type_=TABLE.c.updated_at.type))


def _stage(session: Session, chunk: Sequence[Rate]) -> None:
    """Put the chunk into the temporary table in the database's own formats (the column types'
    bind processors), without building a statement per row: COPY on PostgreSQL, one
    executemany on SQLite."""
    conn = session.connection()
    dialect = conn.dialect
    raw: Any = conn.connection.dbapi_connection

    def processor(name: str) -> Callable[[Any], Any]:
        return TABLE.c[name].type.dialect_impl(dialect).bind_processor(dialect) or (lambda value: value)

    as_id, as_rate, as_day = processor("id"), processor("rate"), processor("effective_on")
    days = {day: as_day(day) for day in {r.effective_on for r in chunk}}
    rows = [(as_id(new_id()), r.base, r.quote, as_rate(r.rate), days[r.effective_on], r.source) for r in chunk]
    cur = raw.cursor()
    try:
        if dialect.name == "postgresql":
            cur.execute(_PG_STAGE)
            cur.execute("TRUNCATE fx_rate_incoming")
            with cur.copy(_PG_COPY) as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            cur.execute(_SQLITE_STAGE)
            cur.execute("DELETE FROM fx_rate_incoming")
            cur.executemany(_SQLITE_FILL, rows)
    finally:
        cur.close()


def _write_chunk(session: Session, chunk: Sequence[Rate]) -> Counts:
    """Insert the new keys, then correct the keys whose rate differs; count both."""
    _stage(session, chunk)
    stamp = {"now": clock.now()}
    inserted = _rowcount(session.execute(_INSERT, stamp))
    updated = _rowcount(session.execute(_CORRECT, stamp))
    days = [r.effective_on for r in chunk]
    return Counts(
        inserted=inserted,
        updated=updated,
        unchanged=len(chunk) - inserted - updated,
        first_day=min(days),
        last_day=max(days),
        sources={r.source for r in chunk},
    )


def _rowcount(result: Any) -> int:
    return int(cast(CursorResult[Any], result).rowcount)


def _emit(session: Session, counts: Counts) -> None:
    if counts.inserted or counts.updated:
        emit(
            session,
            "fx_rates.recorded",
            "fx_rates",
            {
                "sources": sorted(counts.sources),
                **counts.as_doc(),
                "first_effective_on": counts.first_day.isoformat() if counts.first_day else None,
                "last_effective_on": counts.last_day.isoformat() if counts.last_day else None,
            },
        )


def write_rates(session: Session, rates: Iterable[Rate]) -> Counts:
    """Upsert rates (unique keys) chunk by chunk; one `fx_rates.recorded` event for the call."""
    total = Counts()
    chunk: list[Rate] = []
    for rate in rates:
        chunk.append(rate)
        if len(chunk) >= CHUNK:
            total.add(_write_chunk(session, chunk))
            chunk = []
    if chunk:
        total.add(_write_chunk(session, chunk))
    _emit(session, total)
    return total


def record_rates(session: Session, rates: Sequence[Rate]) -> Doc:
    """POST /fx-rates: check every rate, refuse the batch if any is wrong, else upsert."""
    errors: list[FieldError] = []
    seen: dict[tuple[str, str, date, str], int] = {}
    for i, rate in enumerate(rates):
        path = f"rates[{i}]"
        for name in ("base", "quote"):
            code = getattr(rate, name)
            if not is_currency(code):
                errors.append(FieldError(f"{path}.{name}", f"'{code}' is not an active ISO 4217 currency"))
        if rate.base == rate.quote:
            errors.append(FieldError(f"{path}.quote", "must differ from base"))
        if _key(rate) in seen:
            errors.append(FieldError(path, f"the same base, quote, date and source as rates[{seen[_key(rate)]}]"))
        seen.setdefault(_key(rate), i)
    if errors:
        raise ValidationFailed(errors)
    counts = write_rates(session, rates)
    stored = session.execute(
        select(*TABLE.c).where(tuple_(FxRate.base, FxRate.quote, FxRate.effective_on, FxRate.source).in_(list(seen)))
    ).all()
    by_key = {(r.base, r.quote, r.effective_on, r.source): r for r in stored}
    return {**counts.as_doc(), "items": [rate_doc(by_key[_key(r)]) for r in rates]}


@dataclass(slots=True)
class ImportResult:
    source: str
    file: fx.EcbFile
    counts: Counts

    def as_doc(self) -> Doc:
        return {
            "source": self.source,
            "days": self.file.days,
            "currencies": self.file.currencies,
            "skipped_currencies": self.file.skipped_currencies,
            "missing_cells": self.file.missing_cells,
            **self.counts.as_doc(),
        }


def import_ecb(session: Session, lines: Iterable[str], source: str = "ecb") -> ImportResult:
    """Load an ECB reference-rate CSV (history or the latest day) as EUR-based rates."""
    fx.check_source(source)
    summary = fx.EcbFile()
    rates = (
        Rate(fx.ECB_BASE, code, value, row.effective_on, source)
        for row in fx.parse_ecb(lines, summary)
        for code, value in row.rates
    )
    counts = write_rates(session, rates)
    return ImportResult(source, summary, counts)


def import_ecb_file(session: Session, path: Path, source: str = "ecb") -> ImportResult:
    """`import_ecb` from a CSV file, or from the ZIP the ECB publishes it in (one CSV inside)."""
    with path.open("rb") as raw:
        zipped = raw.read(4) == b"PK\x03\x04"
    if not zipped:
        with path.open(encoding="utf-8-sig", newline="") as text_file:
            return import_ecb(session, text_file, source)
    with zipfile.ZipFile(path) as archive:
        members = [m for m in archive.namelist() if m.lower().endswith(".csv")]
        if len(members) != 1:
            raise fx.EcbFormatError(f"the ZIP file holds {len(members)} CSV files; one was expected")
        with archive.open(members[0]) as member:
            return import_ecb(session, io.TextIOWrapper(member, encoding="utf-8-sig", newline=""), source)


# ----------------------------------------------------------------------------------------------
# Reading


def rate_in_force(session: Session, base: str, quote: str, on: date, source: str | None = None) -> Rate | None:
    """The latest rate of the pair on or before `on` (of `source`, or of any source: the newest
    date wins, then the most recently recorded)."""
    stmt = select(FxRate.base, FxRate.quote, FxRate.rate, FxRate.effective_on, FxRate.source).where(
        FxRate.base == base, FxRate.quote == quote, FxRate.effective_on <= on
    )
    if source is not None:
        stmt = stmt.where(FxRate.source == source)
    row = session.execute(
        stmt.order_by(FxRate.effective_on.desc(), FxRate.updated_at.desc(), FxRate.id.desc()).limit(1)
    ).first()
    return None if row is None else Rate(row.base, row.quote, row.rate, row.effective_on, row.source)


def rates_in_force(
    session: Session, on: date, base: str | None = None, quote: str | None = None, source: str | None = None
) -> list[Doc]:
    """GET /fx-rates?on=…: for each pair that matches, the rate in force on that day."""
    where: list[ColumnElement[bool]] = [FxRate.effective_on <= on]
    if base:
        where.append(FxRate.base == base)
    if quote:
        where.append(FxRate.quote == quote)
    if source:
        where.append(FxRate.source == source)
    rank = func.row_number().over(
        partition_by=(FxRate.base, FxRate.quote),
        order_by=(FxRate.effective_on.desc(), FxRate.updated_at.desc(), FxRate.id.desc()),
    )
    ranked = select(*TABLE.c, rank.label("n")).where(*where).subquery()
    rows = session.execute(
        select(ranked).where(ranked.c.n == 1).order_by(ranked.c.base, ranked.c.quote)
    ).all()
    return [rate_doc(r) for r in rows]


def _cursor(day: date, row_id: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(day.isoformat().encode() + b"|" + row_id.bytes).decode().rstrip("=")


def _uncursor(cursor: str) -> tuple[date, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        day, row_id = raw[:10], raw[11:]
        return date.fromisoformat(day.decode()), uuid.UUID(bytes=row_id)
    except (ValueError, TypeError, UnicodeDecodeError):
        raise ValidationFailed([FieldError("cursor", "is not a cursor this API returned")]) from None


@dataclass(frozen=True, slots=True)
class RateFilter:
    base: str | None = None
    quote: str | None = None
    source: str | None = None
    from_day: date | None = None
    to_day: date | None = None


def list_rates(session: Session, f: RateFilter, limit: int, cursor: str | None) -> Doc:
    """The recorded rates, newest effective date first."""
    check_limit(limit)
    stmt = select(*TABLE.c)
    if f.base:
        stmt = stmt.where(FxRate.base == f.base)
    if f.quote:
        stmt = stmt.where(FxRate.quote == f.quote)
    if f.source:
        stmt = stmt.where(FxRate.source == f.source)
    if f.from_day:
        stmt = stmt.where(FxRate.effective_on >= f.from_day)
    if f.to_day:
        stmt = stmt.where(FxRate.effective_on <= f.to_day)
    if cursor:
        day, row_id = _uncursor(cursor)
        stmt = stmt.where(or_(FxRate.effective_on < day, and_(FxRate.effective_on == day, FxRate.id < row_id)))
    rows = session.execute(stmt.order_by(FxRate.effective_on.desc(), FxRate.id.desc()).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return {
        "items": [rate_doc(r) for r in rows],
        "next_cursor": _cursor(rows[-1].effective_on, rows[-1].id) if more else None,
    }


# ----------------------------------------------------------------------------------------------
# Conversion


def _pivots(session: Session, source: str, target: str, on: date, rate_source: str | None) -> list[str]:
    """Base currencies that quote both currencies on or before `on`, alphabetically."""
    stmt = (
        select(FxRate.base)
        .where(FxRate.quote.in_((source, target)), FxRate.effective_on <= on)
        .group_by(FxRate.base)
        .having(func.count(func.distinct(FxRate.quote)) == 2)
        .order_by(FxRate.base)
    )
    if rate_source is not None:
        stmt = stmt.where(FxRate.source == rate_source)
    return list(session.execute(stmt).scalars())


def find_legs(
    session: Session,
    source: str,
    target: str,
    on: date,
    *,
    corporate: str | None = None,
    rate_source: str | None = None,
) -> tuple[Leg, ...] | None:
    """The rates that convert `source` into `target` on `on` (see `fx.find_path`): direct,
    inverse, then through the corporate currency, then through another base quoting both."""
    if source == target:
        return ()
    rates: dict[Pair, Rate] = {}

    def load(*pairs: Pair) -> None:
        for a, b in pairs:
            if (a, b) not in rates and a != b:
                found = rate_in_force(session, a, b, on, rate_source)
                if found is not None:
                    rates[(a, b)] = found

    load((source, target), (target, source))
    path = fx.find_path(source, target, rates, ())
    if path is not None:
        return path
    for pivot in ([corporate] if corporate else []) + _pivots(session, source, target, on, rate_source):
        load((source, pivot), (pivot, source), (pivot, target), (target, pivot))
        path = fx.find_path(source, target, rates, [pivot])
        if path is not None:
            return path
    return None


def convert(
    session: Session, money: Money, to: str, on: date, *, corporate: str | None = None, rate_source: str | None = None
) -> fx.Conversion:
    """`money` in currency `to` at the rates in force on `on`; `RateNotFound` when there are none."""
    legs = find_legs(session, money.currency, to, on, corporate=corporate, rate_source=rate_source)
    if legs is None:
        message = f"no exchange rate from {money.currency} to {to} on or before {on.isoformat()}"
        raise RateNotFound(message, [FieldError("to", message)])
    return fx.convert_through(money, legs)


def conversion_doc(c: fx.Conversion, on: date) -> Doc:
    return {
        "amount": c.money.to_str(),
        "from": c.money.currency,
        "to": c.result.currency,
        "on": on,
        "result": {"amount": c.result.to_str(), "currency": c.result.currency},
        "rate": fx.decimal_text(c.rate),
        "rounding": "half up, once, to the minor unit of the target currency",
        "legs": [
            {
                "base": leg.rate.base,
                "quote": leg.rate.quote,
                "rate": fx.rate_text(leg.rate.rate),
                "effective_on": leg.rate.effective_on,
                "source": leg.rate.source,
                "inverted": leg.inverted,
            }
            for leg in c.legs
        ],
    }

