"""A database that cannot be reached answers 503 with Retry-After (a problem), not 500; an error of
a statement (a bug of ours) stays 500."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from ordino.app import create_app
from ordino.kernel.db import Database
from ordino.kernel.errors import PROBLEM_BASE, PROBLEM_JSON
from ordino.settings import Settings
from tests.conftest import PG_URL, api_key

ORDERS = "/api/v1/orders"


def _unavailable(r: Any) -> None:
    assert r.status_code == 503, r.text
    assert r.headers["content-type"] == PROBLEM_JSON
    assert r.headers["retry-after"] == "5"
    problem = r.json()
    assert (problem["type"], problem["status"], problem["title"]) == (
        PROBLEM_BASE + "service-unavailable", 503, "Service unavailable")
    assert problem["detail"] == "the database cannot be reached; retry later"


def _client(database: Database) -> Iterator[TestClient]:
    app = create_app(Settings(database_url=database.url, run_worker=False), db=database)
    with TestClient(app) as client:
        yield client
    database.dispose()


def _unreachable(backend: str, tmp_path: Any) -> Database:
    if backend == "sqlite":
        return Database(f"sqlite:///{tmp_path / 'no-such-directory' / 'ordino.db'}")
    assert PG_URL
    return Database(make_url(PG_URL).set(host="127.0.0.1", port=1).render_as_string(hide_password=False))


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.skipif(
    not PG_URL, reason="ORDINO_TEST_DATABASE_URL is not set"))])
def test_a_database_that_cannot_be_reached_answers_503(backend: str, tmp_path: Any) -> None:
    # given an app whose database is not there (SQLite: its directory; PostgreSQL: a closed port)
    for client in _client(_unreachable(backend, tmp_path)):
        # when a key is checked (a read) and an order placed (a write)
        r = client.get(ORDERS, headers={"Authorization": "Bearer ordino_" + "x" * 43})
        # then each answers 503 with Retry-After
        _unavailable(r)
        _unavailable(client.post(ORDERS, json={}, headers={"Authorization": "Bearer ordino_" + "x" * 43}))
        _unavailable(client.get("/healthz"))


@pytest.mark.skipif(not PG_URL, reason="ORDINO_TEST_DATABASE_URL is not set")
def test_connections_cut_by_the_server_answer_503_then_the_app_recovers(databases: dict[str, Database]) -> None:
    # given an app on PostgreSQL that has answered, with connections in its pool
    name = f"ordino_outage_{uuid.uuid4().hex[:8]}"
    url = make_url(databases["postgresql"].url).update_query_dict({"application_name": name})
    database = Database(url.render_as_string(hide_password=False), pool_size=2)
    headers = api_key(database)
    for client in _client(database):
        assert client.get(ORDERS, headers=headers).status_code == 200
        # when the server ends every connection of the app (a restart, a failover)
        admin = create_engine(PG_URL or "", isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = :n"),
                         {"n": name})
        admin.dispose()
        # then the request that meets a cut connection answers 503, and the next ones reconnect
        statuses = [client.get(ORDERS, headers=headers).status_code for _ in range(3)]
        assert statuses[0] == 503 and statuses[-1] == 200, statuses


@pytest.fixture
def broken_app(app: FastAPI) -> FastAPI:
    @app.get("/broken", include_in_schema=False)
    def broken() -> None:
        with app.state.db.read() as session:
            session.execute(text("SELECT no_such_column FROM account"))

    return app


def test_a_statement_that_fails_is_a_bug_and_answers_500(broken_app: FastAPI) -> None:
    with TestClient(broken_app) as client:
        r = client.get("/broken")
    assert r.status_code == 500
    assert r.headers["content-type"] == PROBLEM_JSON
    assert "retry-after" not in r.headers
    assert r.json()["type"] == PROBLEM_BASE + "internal"
