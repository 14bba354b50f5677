"""Order to cash with nothing but the ship call made by hand: the flows do the rest (both databases)."""

# ruff: noqa: F811 (fixtures imported from tests.invoicing.support)

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest
from fastapi.testclient import TestClient

from ordino.app import create_app
from ordino.kernel.db import Database
from ordino.payments.gateway import Gateways
from ordino.settings import Settings
from tests.invoicing.support import (  # noqa: F401
    CARD,
    Sim,
    fo_ids,
    frozen,
    gateways,
    invoices,
    order_payload,
    ship,
    sim,
    sim_server,
    world,
)

T = TypeVar("T")
PATIENCE = 30.0  # seconds the in-process worker gets to reach each state


def eventually(probe: Callable[[], T], done: Callable[[T], bool]) -> T:
    deadline = time.monotonic() + PATIENCE
    while True:
        value = probe()
        if done(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


@pytest.fixture
def running(world: Database, gateways: Gateways) -> Iterator[TestClient]:
    """The API with its event worker running in-process, as `ordino serve` runs it on SQLite."""
    app = create_app(Settings(database_url=world.url, run_worker=True), db=world, gateways=gateways)
    with TestClient(app) as client:
        yield client


def test_an_order_reaches_shipped_and_paid_with_only_the_ship_call(
    running: TestClient, world: Database, admin: dict[str, str], sim: Sim
) -> None:
    # given an order with a card payment, placed through the API
    placed = running.post("/api/v1/orders", json=order_payload(CARD), headers=admin)
    assert placed.status_code == 201, placed.text
    order = placed.json()

    # when the worker has routed it, and the warehouse ships its fulfilment order
    [fo] = eventually(lambda: fo_ids(world, order["id"]), lambda ids: len(ids) == 1)
    assert eventually(lambda: sim.performed("authorize"), lambda n: n >= 1) == 1  # after routing, same event
    ship(running, admin, fo)

    # then it is invoiced and the invoice is paid from the authorization, with no other call
    def settled() -> list[Any]:
        return invoices(world, order["id"])

    [invoice] = eventually(settled, lambda rows: len(rows) == 1 and rows[0][1] == "paid")
    assert (invoice[0], invoice[1]) == ("INV-2026-000001", "paid")
    assert sim.performed("capture") == 1
    got = running.get(f"/api/v1/orders/{order['id']}", headers=admin).json()
    assert got["status"] == "fulfilled"
