"""Set-based statements over many rows, shaped for each database.

PostgreSQL receives a batch of rows as one JSON text parameter (an array of arrays, encoded by
orjson in C), read back with `jsonb_array_elements` and cast column by column: one statement
with a handful of parameters, whatever the number of rows, so neither the driver nor the server
parses thousands of placeholders (arrays per column would cost psycopg a Python call per
element). Short lists of one type are array parameters (`= ANY(:list)`). SQLite, in process,
takes multi-row VALUES.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import (
    ColumnElement,
    Result,
    Select,
    String,
    Table,
    any_,
    bindparam,
    column,
    func,
    literal,
    literal_column,
    select,
    tuple_,
    values,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
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


def among(postgres: bool, col: Any, name: str, type_: TypeEngine[Any]) -> ColumnElement[bool]:
    """`col IN (:name…)` for a statement built once: on PostgreSQL `col = ANY(:name)`, one array
    parameter (the same SQL text whatever the number of items); on SQLite an expanding IN list."""
    if postgres:
        return col == any_(bindparam(name, type_=ARRAY(type_)))  # type: ignore[no-any-return]
    return col.in_(bindparam(name, expanding=True))  # type: ignore[no-any-return]


def json_text(rows: Sequence[Sequence[Any]]) -> str:
    """Rows as the JSON text `json_rows` reads (uuids, dates and times as ISO text, decimals as text)."""
    return orjson.dumps(rows, default=str).decode()


def json_rows(name: str, columns: Columns, *, rows: Sequence[Sequence[Any]] | None = None,
              ordinal: str | None = None) -> Select[Any]:
    """PostgreSQL: a SELECT over the JSON text parameter `name` (`json_text`), with the given
    typed columns and, with `ordinal`, each row's place in the batch (from 1). With `rows`, an
    anonymous parameter carries them (a statement built for one call)."""
    param = bindparam(name, type_=String()) if rows is None else bindparam(None, json_text(rows), type_=String())
    elements = (
        func.jsonb_array_elements(sql_cast(param, JSONB))
        .table_valued("value", with_ordinality="n")
        .render_derived(name="e")
    )
    cols = [  # strings cast without their length: a cast would cut a longer value short
        sql_cast(elements.c.value.op("->>")(literal_column(str(i))), String() if isinstance(t, String) else t).label(n)
        for i, (n, t) in enumerate(columns)
    ]
    if ordinal:
        cols.append(elements.c.n.label(ordinal))
    return select(*cols)


def rows_source(session: Session, name: str, columns: Columns, rows: Sequence[Sequence[Any]]) -> Any:
    """A FROM item yielding `rows`, with the given column names (`.c.<name>`)."""
    if is_pg(session):
        return json_rows(name, columns, rows=rows).subquery(name)
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
