"""The access matrix: every operation of the application, called with every role (unscoped and
scoped to account A) on a record of A, on one of account B and on lists, answers as the role
matrix in docs/api.md declares. An operation without a row fails, so none is added without
declaring who may call it.

It runs on PostgreSQL when ORDINO_TEST_DATABASE_URL is set (else on SQLite), in one world built
once for the module."""

# ruff: noqa: F811 (fixtures imported from tests.invoicing.support)

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from ordino.app import create_app
from ordino.kernel.db import Database
from ordino.payments.gateway import HttpGateway
from ordino.payments.simulator import RunningServer, SimulatorState
from ordino.settings import Settings
from tests.access import world as access_world
from tests.access.matrix import check, declared, live, stale, undeclared
from tests.access.world import World
from tests.conftest import BACKENDS, empty_tables
from tests.declared import check_every_answer
from tests.invoicing.support import sim_server  # noqa: F401

APP = create_app(Settings(database_url="sqlite://", run_worker=False))
OPERATIONS = live(APP)
APP.state.db.dispose()
ROWS = declared()


def test_every_operation_has_a_row_in_the_matrix() -> None:
    # given the live route table and the matrix of docs/api.md
    # then every operation has its row, and every row its operation
    assert len(OPERATIONS) > 136
    assert undeclared(OPERATIONS, ROWS) == []
    assert stale(OPERATIONS, ROWS) == []


def test_an_operation_without_a_row_is_found() -> None:
    # given a matrix that lacks a row
    rows = declared("\n".join([
        "| method | path | admin | agent | fulfillment | finance | integration | buyer | scope |",
        "| --- | --- | :-: | :-: | :-: | :-: | :-: | :-: | --- |",
        "| `GET` | `/orders` | ✓ | ✓ | ✓ | ✓ | ✓ | ✓ | account |",
    ]))
    # then the other operations are named
    assert undeclared(["GET /orders", "POST /orders"], rows) == ["POST /orders"]
    assert stale(["POST /orders"], rows) == ["GET /orders"]


@pytest.fixture(scope="module")
def world(databases: dict[str, Database],
          sim_server: tuple[RunningServer, SimulatorState]) -> Iterator[World]:
    db = databases["postgresql" if "postgresql" in BACKENDS else "sqlite"]
    empty_tables(db)
    server, state = sim_server
    state.reset()
    gateway = HttpGateway("simulator", server.url, timeout=2.0, attempts=2, backoff=0.02, max_backoff=0.1)
    app = create_app(Settings(database_url=db.url, run_worker=False), db=db, gateways={"simulator": gateway})
    with TestClient(app) as api:
        check_every_answer(app, api)
        yield access_world.build(db, api)
    gateway.close()
    empty_tables(db)


@pytest.mark.parametrize("operation", OPERATIONS)
def test_the_operation_answers_as_the_matrix_declares(world: World, operation: str) -> None:
    # given the operation's row
    row = ROWS.get(operation)
    assert row is not None, f"{operation} has no row in the role matrix of docs/api.md"
    # when every role calls it, unscoped and scoped to A, on A's records, B's records and lists
    # then refused roles get 403, B's records stay out of a scoped key's reach, and nothing else is refused
    assert check(world, operation, row) == []
