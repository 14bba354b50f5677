"""The raw baseline of `ordino bench order-to-cash`: the rows the run left, written by hand.

The raw database is a copy of the seeded one (`CREATE DATABASE … TEMPLATE`), so the seed's ids
match. Every row the run inserted, and the final value of every row it changed, is written again
with bare Core statements, one transaction per order (an order's rows: those naming it by
`order_summary_id`, and their children by foreign key; rows that name no order, such as outbox
events and receipts, are dealt out over the orders in turn), by C threads. Foreign-key triggers are
off in the raw sessions (rows dealt out may precede their parents), and a row changed several
times in the run is written once: the baseline is a floor the run cannot beat.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import MetaData, Table, and_, bindparam, create_engine, select, text
from sqlalchemy.engine import Connection, make_url

from ordino.bench.common import percentile_ms

Unit = list[tuple[Table, list[dict[str, Any]], list[dict[str, Any]]]]  # (table, inserts, updates)


def copy_database(server_url: str, app_url: str, suffix: str) -> str:
    """A copy of the (idle) app database; returns its URL."""
    source = make_url(app_url).database
    name = f"{source}_{suffix}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{source}"'))
    finally:
        admin.dispose()
    return make_url(app_url).set(database=name).render_as_string(hide_password=False)


def drop_database(server_url: str, url: str) -> None:
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    finally:
        admin.dispose()


def _rows(conn: Connection, table: Table) -> dict[tuple[Any, ...], dict[str, Any]]:
    pk = [c.name for c in table.primary_key.columns]
    return {tuple(r[k] for k in pk): dict(r) for r in conn.execute(select(table)).mappings()}


def _owner(table: Table, row: dict[str, Any], owners: dict[str, dict[Any, Any]]) -> Any:
    """The order a row belongs to: its order_summary_id, or its parent's by foreign key."""
    if table.name == "order_summary":
        return row["id"]
    if "order_summary_id" in row and row["order_summary_id"] is not None:
        return row["order_summary_id"]
    for fk in table.foreign_keys:
        parent = owners.get(fk.column.table.name)
        if parent is not None and row.get(fk.parent.name) in parent:
            return parent[row[fk.parent.name]]
    return None


def plan_units(app_url: str, raw_url: str, orders: int) -> tuple[list[Unit], int]:
    """One unit of work per order (rows inserted and rows changed); the number of rows."""
    app, raw = create_engine(app_url), create_engine(raw_url)
    meta = MetaData()
    meta.reflect(app)
    units: dict[Any, dict[str, tuple[list[dict[str, Any]], list[dict[str, Any]]]]] = defaultdict(dict)
    owners: dict[str, dict[Any, Any]] = {}
    loose: list[tuple[str, bool, dict[str, Any]]] = []
    rows = 0
    try:
        with app.connect() as a, raw.connect() as r:
            for table in meta.sorted_tables:
                if not table.primary_key.columns or table.name == "alembic_version":
                    continue
                after, before = _rows(a, table), _rows(r, table)
                owned: dict[Any, Any] = {}
                for key, row in after.items():
                    new = key not in before
                    if not new and before[key] == row:
                        continue
                    rows += 1
                    order = _owner(table, row, owners)
                    if len(key) == 1 and order is not None:
                        owned[key[0]] = order
                    if order is None:
                        loose.append((table.name, new, row))
                        continue
                    ins, upd = units[order].setdefault(table.name, ([], []))
                    (ins if new else upd).append(row)
                owners[table.name] = owned
    finally:
        app.dispose()
        raw.dispose()
    keys = list(units) or [None]
    for i, (name, new, row) in enumerate(loose):
        ins, upd = units[keys[i % len(keys)]].setdefault(name, ([], []))
        (ins if new else upd).append(row)
    order_of = {t.name: t for t in meta.sorted_tables}
    out = [[(order_of[n], ins, upd) for n, (ins, upd) in sorted(u.items(), key=lambda kv: _rank(meta, kv[0]))]
           for u in units.values()]
    return out, rows


def _rank(meta: MetaData, name: str) -> int:
    return [t.name for t in meta.sorted_tables].index(name)


def _write(conn: Connection, unit: Unit) -> None:
    for table, inserts, updates in unit:
        if inserts:
            conn.execute(table.insert(), inserts)
        if updates:
            pk = list(table.primary_key.columns)
            stmt = table.update().where(and_(*[c == bindparam(f"pk_{c.name}") for c in pk])).values(
                {c.name: bindparam(f"v_{c.name}") for c in table.columns if c not in pk}
            )
            conn.execute(stmt, [{**{f"pk_{c.name}": u[c.name] for c in pk},
                                 **{f"v_{c.name}": u[c.name] for c in table.columns if c not in pk}}
                                for u in updates])


def run_raw_replay(app_url: str, raw_url: str, *, threads: int, orders: int) -> dict[str, Any]:
    """Write every unit in a transaction of its own from `threads` threads; orders/s and latencies."""
    units, rows = plan_units(app_url, raw_url, orders)
    work: queue.Queue[Unit] = queue.Queue()
    for u in units:
        work.put(u)
    engine = create_engine(raw_url, pool_size=threads)
    latencies: list[int] = []
    errors: list[str] = []
    lock = threading.Lock()

    def run() -> None:
        with engine.connect() as conn:
            conn.execute(text("SET session_replication_role = replica"))
            conn.commit()
            while True:
                try:
                    unit = work.get_nowait()
                except queue.Empty:
                    return
                t0 = time.perf_counter_ns()
                try:
                    with conn.begin():
                        _write(conn, unit)
                except Exception as exc:  # a row the plan got wrong: counted, not fatal
                    with lock:
                        errors.append(repr(exc)[:300])
                    continue
                with lock:
                    latencies.append(time.perf_counter_ns() - t0)

    started = time.perf_counter()
    pool = [threading.Thread(target=run) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    elapsed = time.perf_counter() - started
    engine.dispose()
    return {
        "orders_per_s": round(len(latencies) / elapsed, 1) if elapsed else 0.0,
        "p50_ms": percentile_ms(latencies, 50),
        "p99_ms": percentile_ms(latencies, 99),
        "errors": len(errors),
        "error_samples": errors[:3],
        "rows": rows,
        "units": len(units),
    }


__all__: Sequence[str] = ("copy_database", "drop_database", "plan_units", "run_raw_replay")
