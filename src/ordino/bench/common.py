"""What every benchmark scenario needs: throw-away databases, percentiles, CPU accounting."""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


@dataclass(frozen=True, slots=True)
class BenchDatabase:
    """A database created for one run: its SQLAlchemy URL and what the raw driver needs."""

    url: str  # SQLAlchemy URL (sqlite:///… or postgresql+psycopg://…)
    dialect: str  # "sqlite" | "postgresql"

    @property
    def sqlite_path(self) -> str:
        assert self.dialect == "sqlite"
        path = make_url(self.url).database
        assert path
        return path

    @property
    def libpq_conninfo(self) -> str:
        """The URL for psycopg.connect (libpq does not know the '+psycopg' driver suffix)."""
        assert self.dialect == "postgresql"
        return make_url(self.url).set(drivername="postgresql").render_as_string(hide_password=False)

    @property
    def pg_name(self) -> str | None:
        """The PostgreSQL database's name (whose backends CpuMeter counts); None on SQLite."""
        return make_url(self.url).database if self.dialect == "postgresql" else None


def dialect_of(url: str | None) -> str:
    if url is None or url.startswith("sqlite"):
        return "sqlite"
    if url.startswith("postgresql"):
        return "postgresql"
    raise ValueError(f"unsupported database URL '{url}': use sqlite:// or postgresql+psycopg://")


@contextmanager
def scratch_databases(server_url: str | None, names: Sequence[str]) -> Iterator[dict[str, BenchDatabase]]:
    """Fresh, empty databases, one per name, removed afterwards.

    Without a URL they are SQLite files in a temporary directory; with a PostgreSQL URL they are
    `CREATE DATABASE ordino_bench_<random>_<name>` on that server, dropped (WITH FORCE) at the end.
    """
    dialect = dialect_of(server_url)
    run_id = secrets.token_hex(4)
    if dialect == "sqlite":
        directory = Path(tempfile.mkdtemp(prefix="ordino-bench-"))
        try:
            yield {n: BenchDatabase(f"sqlite:///{directory / f'{n}.db'}", "sqlite") for n in names}
        finally:
            shutil.rmtree(directory, ignore_errors=True)
        return
    assert server_url is not None
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    created: list[str] = []
    try:
        made: dict[str, BenchDatabase] = {}
        for n in names:
            db_name = f"ordino_bench_{run_id}_{n}"
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{db_name}"'))
            created.append(db_name)
            url = make_url(server_url).set(database=db_name).render_as_string(hide_password=False)
            made[n] = BenchDatabase(url, "postgresql")
        yield made
    finally:
        with admin.connect() as conn:
            for db_name in created:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)'))
        admin.dispose()


def checkpoint(db: BenchDatabase) -> None:
    """Flush dirty pages before a timed phase so that one phase's writes do not slow the next."""
    engine = create_engine(db.url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            if db.dialect == "postgresql":
                conn.execute(text("CHECKPOINT"))
            else:
                conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
    except Exception:  # CHECKPOINT needs superuser; the benchmark runs without it
        return
    finally:
        engine.dispose()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def percentile_ms(latencies_ns: Sequence[int], pct: float) -> float:
    """Nearest-rank percentile of nanosecond latencies, in milliseconds (0.0 when empty)."""
    if not latencies_ns:
        return 0.0
    ordered = sorted(latencies_ns)
    rank = max(1, min(len(ordered), int(-(-pct * len(ordered) // 100))))
    return round(ordered[rank - 1] / 1e6, 3)


_TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(pid: int) -> float:
    """user + system CPU seconds of one process (0.0 once it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime


def process_tree(pid: int) -> list[int]:
    """`pid` and all of its descendants (uvicorn's supervisor spawns the worker processes)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(children.get(current, []))
    return tree


def machine_busy_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, from /proc/stat."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    total = sum(values[:8])  # without guest time, which is already counted in user
    return (total - idle) / _TICKS, total / _TICKS


_PG_AUXILIARY = ("walwriter", "checkpointer", "background writer", "autovacuum", "logical replication")


def postgres_pids(database: str) -> list[int]:
    """The PostgreSQL backends serving `database`, and the server's shared writer processes."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmd = f.read().decode(errors="replace")
        except OSError:
            continue
        if cmd.startswith("postgres:") and (f" {database} " in cmd or any(a in cmd for a in _PG_AUXILIARY)):
            found.append(int(entry))
    return found


class CpuMeter:
    """CPU used between start() and stop(), in percent of one core (100 = one core busy the whole
    time; the machine has nproc × 100): by this process (the load generator), by the server's
    process tree, by the PostgreSQL processes of the database, and by everything else."""

    def __init__(self, server_pids: Sequence[int] = (), database: str | None = None) -> None:
        self.server_pids = list(server_pids)
        self.database = database

    def _db(self) -> dict[int, float]:
        if not self.database:
            return {}
        return {pid: process_cpu_seconds(pid) for pid in postgres_pids(self.database)}

    def start(self) -> None:
        self._wall = time.perf_counter()
        self._own = time.process_time()
        self._server = {p: process_cpu_seconds(p) for p in self.server_pids}
        self._db_start = self._db()
        self._busy, _ = machine_busy_seconds()

    def stop(self) -> dict[str, Any]:
        wall = time.perf_counter() - self._wall
        own = time.process_time() - self._own
        per_process = {p: process_cpu_seconds(p) - self._server[p] for p in self.server_pids}
        server = sum(per_process.values())
        db = sum(cpu - self._db_start.get(pid, 0.0) for pid, cpu in self._db().items())
        busy = machine_busy_seconds()[0] - self._busy

        def pct(seconds: float) -> float:
            return round(100 * seconds / wall, 1) if wall > 0 else 0.0

        return {
            "client_cpu_pct": pct(own),
            "server_cpu_pct": pct(server),
            "db_cpu_pct": pct(db),
            "machine_cpu_pct": pct(busy),
            "other_cpu_pct": pct(max(0.0, busy - own - server - db)),
            # each server process that did work: an idle one means the load was not spread
            "server_process_cpu_pct": sorted((pct(v) for v in per_process.values() if v > 0), reverse=True),
        }
