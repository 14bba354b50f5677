"""Database access: declarative base, engines, and the unit of work.

A use case runs inside `Database.transaction(fn)`: one transaction, committed when `fn` returns,
rolled back when it raises, and retried a bounded number of times when the database reports a
serialization failure or a deadlock (PostgreSQL) or a busy lock (SQLite).

Bound parameters (personal data, key digests) never appear in exception messages or logs: the
engines hide them, and `redact_database_errors` keeps the driver's message (PostgreSQL's DETAIL
quotes the offending value) out of what a logger prints.

SQLite: WAL journal, a busy timeout, and `BEGIN IMMEDIATE` for write transactions so that two
writers never both read and then fail to upgrade their lock. Reads use a deferred `BEGIN`.
"""

from __future__ import annotations

import logging
import random
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import MetaData, Uuid, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker
from sqlalchemy.pool import NullPool

from ordino.kernel.ids import new_id

T = TypeVar("T")

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class IdMixin:
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)


_RETRYABLE_PG = {"40001", "40P01"}  # serialization_failure, deadlock_detected


def is_retryable(exc: BaseException) -> bool:
    if not isinstance(exc, DBAPIError):
        return False
    orig = exc.orig
    sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if sqlstate in _RETRYABLE_PG:
        return True
    return isinstance(exc, OperationalError) and "database is locked" in str(orig)


def describe_error(exc: BaseException) -> str:
    """An exception for logs and stored errors: a database error by its class, SQLSTATE and
    constraint only (the driver's message may quote the values); any other by its message."""
    if not isinstance(exc, DBAPIError):
        return f"{type(exc).__name__}: {exc}"
    orig = exc.orig
    sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    diag = getattr(orig, "diag", None)
    constraint = getattr(diag, "constraint_name", None)
    parts = [f"{type(exc).__name__} ({type(orig).__name__}"]
    if sqlstate:
        parts.append(f", SQLSTATE {sqlstate}")
    if constraint:
        parts.append(f", constraint {constraint}")
    elif sqlstate is None and orig is not None:
        parts.append(f": {_sqlite_reason(str(orig))}")
    return "".join(parts) + ")"


def _sqlite_reason(message: str) -> str:
    # SQLite's messages name the constraint or the condition, never a value
    return message.splitlines()[0][:200]


class _RedactDatabaseErrors(logging.Filter):
    """A record whose exception is a database error prints its traceback with `describe_error`
    in place of the messages of the error and its causes."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, DBAPIError) and not record.exc_text:
            frames = "".join(traceback.format_tb(exc.__traceback__))
            record.exc_text = f"Traceback (most recent call last):\n{frames}{describe_error(exc)}"
        return True


_REDACT = _RedactDatabaseErrors()


def redact_database_errors(*loggers: str) -> None:
    """Keep the values in database errors out of these loggers' records."""
    for name in loggers:
        logger = logging.getLogger(name)
        if _REDACT not in logger.filters:
            logger.addFilter(_REDACT)


# The database cannot be reached or cannot take the request: connection exceptions (08), server
# shutting down or starting (57P01-57P03), out of resources (53: too many connections, disk full).
_UNAVAILABLE_PG = ("08", "57P01", "57P02", "57P03", "53")
_UNAVAILABLE_SQLITE = ("unable to open database file", "database is locked", "disk i/o error")


def is_unavailable(exc: BaseException) -> bool:
    """The database is down or unreachable (the client may retry later), as opposed to a
    statement it refused, which is a bug of ours."""
    if isinstance(exc, PoolTimeout):
        return True  # every connection of the pool is busy
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True  # the connection was cut (a restart, a failover)
    if not isinstance(exc, OperationalError):
        return False
    sqlstate = getattr(exc.orig, "sqlstate", None)
    if sqlstate is not None:
        return str(sqlstate).startswith(_UNAVAILABLE_PG)
    message = str(exc.orig).lower()
    if "sqlite" in type(exc.orig).__module__:
        return message.startswith(_UNAVAILABLE_SQLITE)
    return True  # a PostgreSQL connection that failed on the client side: refused, timed out, reset


def is_nul_refusal(exc: BaseException) -> bool:
    """PostgreSQL refused text holding the NUL character (the API refuses it before; this is the
    net for input that reaches the database another way)."""
    return isinstance(exc, DBAPIError) and getattr(exc.orig, "sqlstate", None) == "22021" and "0x00" in str(exc.orig)


WRITER_WAIT = 30.0  # seconds, as SQLite's busy timeout


def _configure_sqlite(engine: Engine) -> None:
    # SQLite has one writer. The writers of this process queue on a lock instead of in SQLite's busy
    # handler, which sleeps up to 100 ms between tries while the database may long be free again.
    writer = threading.Lock()

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        if conn.get_execution_options().get("ordino_readonly"):
            conn.exec_driver_sql("BEGIN")
            return
        # Past the timeout (a writer nested in another on one thread), SQLite's own lock decides.
        if writer.acquire(timeout=WRITER_WAIT):
            conn.info["ordino_writer"] = True
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            _release(conn.info)
            raise

    def _release(info: dict[str, Any]) -> None:
        if info.pop("ordino_writer", False):
            writer.release()

    event.listen(engine, "commit", lambda conn: _release(conn.info))
    event.listen(engine, "rollback", lambda conn: _release(conn.info))
    # A connection handed back to the pool without either (an error) releases it too.
    def _on_reset(_dbapi: Any, record: Any, _state: Any) -> None:
        _release(record.info)

    def _on_checkin(_dbapi: Any, record: Any) -> None:
        _release(record.info)

    event.listen(engine.pool, "reset", _on_reset)
    event.listen(engine.pool, "checkin", _on_checkin)


def make_engine(url: str, *, pool_size: int = 10, echo: bool = False) -> Engine:
    if url.startswith("sqlite"):
        memory = url in ("sqlite://", "sqlite:///:memory:")
        engine = create_engine(
            url,
            echo=echo,
            hide_parameters=True,
            connect_args={"check_same_thread": False, "timeout": 30},
            poolclass=None if not memory else NullPool,
        )
        _configure_sqlite(engine)
        return engine
    return create_engine(
        url, echo=echo, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=False,
        hide_parameters=True,  # errors are logged: never with the values (personal data, key digests)
    )


class Database:
    def __init__(self, url: str, *, pool_size: int = 10, echo: bool = False) -> None:
        self.url = url
        self.engine = make_engine(url, pool_size=pool_size, echo=echo)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False, autoflush=False)
        self._read_sessions = sessionmaker(
            self.engine.execution_options(ordino_readonly=True),
            expire_on_commit=False,
            autoflush=False,
        )

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def transaction(self, fn: Callable[[Session], T], *, attempts: int = 5) -> T:
        """Run `fn` in one write transaction, retrying serialization failures and deadlocks."""
        for attempt in range(1, attempts + 1):
            session = self._sessions()
            try:
                result = fn(session)
                session.commit()
                return result
            except BaseException as exc:
                session.rollback()
                if attempt < attempts and is_retryable(exc):
                    time.sleep(random.uniform(0, 0.005 * 2**attempt))  # jittered backoff
                    continue
                raise
            finally:
                session.close()
        raise AssertionError("unreachable")

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only session (deferred BEGIN on SQLite); nothing is committed."""
        session = self._read_sessions()
        try:
            yield session
        finally:
            session.rollback()
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()
