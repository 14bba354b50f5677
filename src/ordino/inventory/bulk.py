"""Set-based statements over many rows, shaped for each database.

PostgreSQL receives a batch as one array per column (`unnest(:skus, :locations, …)`): one
statement with a handful of parameters, whatever the number of rows, so neither the driver nor
the server parses thousands of placeholders. SQLite, in process, takes multi-row VALUES.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Result, Table, any_, bindparam, column, func, literal, select, tuple_, values
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeEngine

Columns = Sequence[tuple[str, TypeEngine[Any]]]
SQLITE_IN = 1000  # values per IN list on SQLite (its limit on parameters is 32,766)


def is_pg(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def dialect_insert(session: Session, table: Table) -> Any:
    """The dialect's INSERT, which knows ON CONFLICT."""
    return (pg_insert if is_pg(session) else sqlite_insert)(table)


def any_in(session: Session, col: Any, items: Sequence[Any], type_: TypeEngine[Any]) -> ColumnElement[bool]:
    """`col IN (…)`; on PostgreSQL `col = ANY(:array)`, one parameter."""
    if is_pg(session):
        return col == any_(bindparam(None, list(items), type_=ARRAY(type_)))  # type: ignore[no-any-return]
    return col.in_(list(items))  # type: ignore[no-any-return]


def rows_source(session: Session, name: str, columns: Columns, rows: Sequence[Sequence[Any]]) -> Any:
    """A FROM item yielding `rows`, with the given column names (`.c.<name>`)."""
    if is_pg(session):
        arrays = list(zip(*rows, strict=True)) if rows else [() for _ in columns]
        params = [bindparam(None, list(a), type_=ARRAY(t)) for (_, t), a in zip(columns, arrays, strict=True)]
        return func.unnest(*params).table_valued(*[column(n, t) for n, t in columns]).render_derived(name=name)
    return values(*[column(n, t) for n, t in columns], name=name).data([tuple(r) for r in rows]).cte(name)


def keys_in(session: Session, cols: Sequence[Any], columns: Columns, keys: Sequence[Sequence[Any]]) -> Any:
    """`(a, b) IN (…keys)`."""
    if is_pg(session):
        src = rows_source(session, "k", columns, keys)
        return tuple_(*cols).in_(select(*src.c))
    return tuple_(*cols).in_([tuple(k) for k in keys])


@dataclass(frozen=True, slots=True)
class BulkInsert:
    """An INSERT of many rows: `insert` takes ON CONFLICT and RETURNING; run it with `execute`."""

    insert: Any
    params: list[dict[str, Any]] | None

    def execute(self, session: Session, stmt: Any) -> Result[Any]:
        return session.execute(stmt) if self.params is None else session.execute(stmt, self.params)


def bulk_insert(
    session: Session, table: Table, columns: Columns, rows: Sequence[Sequence[Any]], constants: Mapping[str, Any]
) -> BulkInsert:
    """Rows of `columns` plus the same `constants` in every row."""
    names = [n for n, _ in columns]
    if is_pg(session):
        src = rows_source(session, "r", columns, rows)
        consts = [literal(v, table.c[k].type).label(k) for k, v in constants.items()]
        stmt = pg_insert(table).from_select([*names, *constants], select(*src.c, *consts))
        return BulkInsert(stmt, None)
    return BulkInsert(sqlite_insert(table), [{**dict(zip(names, r, strict=True)), **constants} for r in rows])
