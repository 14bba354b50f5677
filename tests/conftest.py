"""Test harness: every database test runs on SQLite and, when ORDINO_TEST_DATABASE_URL names a
PostgreSQL server, on PostgreSQL too. Each backend gets its own database, created and migrated
once per run and dropped afterwards; tables are emptied after every test."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from ordino.app import create_app
from ordino.kernel import auth
from ordino.kernel.auth import Role, create_key, forget_cached_keys
from ordino.kernel.db import Database
from ordino.kernel.numbering import SEQUENCE_SERIES
from ordino.migrate import upgrade
from ordino.models import metadata
from ordino.settings import Settings
from tests.declared import check_every_answer

PG_URL = os.environ.get("ORDINO_TEST_DATABASE_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])
SHARED_DATA = Path(os.environ.get("ORDINO_SHARED_DATA") or Path(__file__).resolve().parents[2] / "shared" / "data")
# Every skip for missing shared data starts with this, so the summary can count what went unchecked.
SHARED_DATA_SKIP = "shared data absent"


def shared_data(*parts: str) -> Path:
    """A file under ../shared/data; the test is skipped when it is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{SHARED_DATA_SKIP}: {path}")
    return path


def _create_pg_database() -> tuple[str, str]:
    assert PG_URL
    name = f"ordino_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(PG_URL).set(database=name).render_as_string(hide_password=False), name


def _drop_pg_database(name: str) -> None:
    assert PG_URL
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Database]]:
    made: dict[str, Database] = {}
    pg_name = None
    for backend in BACKENDS:
        if backend == "sqlite":
            url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'ordino.db'}"
        else:
            url, pg_name = _create_pg_database()
        upgrade(url)
        made[backend] = Database(url, pool_size=15)
    yield made
    for database in made.values():
        database.dispose()
    if pg_name:
        _drop_pg_database(pg_name)


def empty_tables(database: Database) -> None:
    tables = [t.name for t in reversed(metadata.sorted_tables)]
    with database.engine.begin() as conn:
        if database.dialect == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
            for series in SEQUENCE_SERIES:
                conn.execute(text(f"ALTER SEQUENCE {series.sequence_name()} RESTART"))
        else:
            for table in tables:
                conn.execute(text(f"DELETE FROM {table}"))
    forget_cached_keys()


@pytest.fixture(autouse=True)
def _server_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    """A test that configures the server secret (create_app from the environment, the CLI) does
    not change it for the tests after it."""
    monkeypatch.setattr(auth, "_digests", auth.key_digests())


@pytest.fixture(params=BACKENDS)
def db(request: pytest.FixtureRequest, databases: dict[str, Database]) -> Iterator[Database]:
    database = databases[request.param]
    empty_tables(database)
    yield database
    empty_tables(database)


@pytest.fixture
def app(db: Database):  # type: ignore[no-untyped-def]
    return create_app(Settings(database_url=db.url, run_worker=False), db=db)


@pytest.fixture
def client(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(app) as c:
        check_every_answer(app, c)  # every answer matches what the OpenAPI document declares
        yield c


def api_key(db: Database, role: Role = Role.ADMIN, account_id: uuid.UUID | None = None) -> dict[str, str]:
    """Authorization headers for a new key of `role`."""
    _, secret = db.transaction(lambda s: create_key(s, name=f"test {role}", role=role, account_id=account_id))
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def admin(db: Database) -> dict[str, str]:
    return api_key(db, Role.ADMIN)


def pytest_report_header(config: pytest.Config) -> str:
    where = "SQLite" + (f" and PostgreSQL ({make_url(PG_URL).render_as_string()})" if PG_URL else " only")
    return f"ordino databases: {where}"


def _skip_reason(report: Any) -> str:
    longrepr = getattr(report, "longrepr", None)
    return str(longrepr[2]) if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr or "")


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    """Per database, how many tests passed, failed and were skipped (database tests only); and how
    many were skipped because ../shared/data is absent, so a green run that checked nothing of it
    says so."""
    counts: dict[str, dict[str, int]] = {b: {} for b in BACKENDS}
    for outcome in ("passed", "failed", "skipped", "error"):
        for report in terminalreporter.stats.get(outcome, []):
            nodeid = getattr(report, "nodeid", "")
            for backend in BACKENDS:
                if f"[{backend}" in nodeid or f"-{backend}]" in nodeid or f"-{backend}-" in nodeid:
                    counts[backend][outcome] = counts[backend].get(outcome, 0) + 1
    terminalreporter.section("tests per database")
    for backend, c in counts.items():
        terminalreporter.write_line(
            f"{backend}: {c.get('passed', 0)} passed, {c.get('failed', 0) + c.get('error', 0)} failed, "
            f"{c.get('skipped', 0)} skipped"
        )
    unchecked = {r.nodeid for r in terminalreporter.stats.get("skipped", []) if SHARED_DATA_SKIP in _skip_reason(r)}
    if unchecked:
        terminalreporter.write_line(
            f"shared data: {len(unchecked)} tests skipped because {SHARED_DATA} is absent "
            "(EN 16931 validation, tax tables against their sources, ISO 4217, ECB rates, places): "
            "this run did not check them",
            yellow=True, bold=True,
        )
