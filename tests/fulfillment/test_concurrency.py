"""Routing and shipping under real concurrency (PostgreSQL, parallel connections): no oversell,
every unit accounted for."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest
from sqlalchemy import func, select

from ordino.fulfillment import service
from ordino.fulfillment.items import set_order_status
from ordino.fulfillment.models import FulfillmentOrder, FulfillmentOrderItem
from ordino.fulfillment.schemas import ShipIn
from ordino.kernel.db import Database
from ordino.kernel.errors import Conflict
from ordino.orders.process_exceptions.models import ProcessException
from tests.fulfillment.conftest import STAFF, place, positions, stock


def _parallel(jobs: list[Any]) -> list[str]:
    outcomes: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(len(jobs))

    def run(job: Any) -> None:
        barrier.wait()
        try:
            job()
            result = "ok"
        except Conflict as exc:
            result = exc.slug
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sorted(outcomes)


@pytest.fixture
def pg(world: Database) -> Database:
    if world.dialect != "postgresql":
        pytest.skip("concurrency is proven on PostgreSQL")
    return world


def test_twenty_orders_routed_at_once_never_take_more_than_there_is(pg: Database) -> None:
    # given 6 bolts in Berlin and 20 approved orders of one bolt each
    stock(pg, "WH-BER", BOLT_M8=6)
    orders = []
    for n in range(20):
        doc = place(pg, ("BOLT-M8", 1), reference=f"WEB-{n}")
        pg.transaction(lambda s, d=doc: set_order_status(s, uuid.UUID(d["id"]), "approve", actor="test"))
        orders.append(uuid.UUID(doc["id"]))
    # when all are routed at the same time
    outcomes = _parallel([lambda o=o: pg.transaction(lambda s: service.route_order(s, o)) for o in orders])
    # then each routing ended cleanly: 6 orders got a fulfilment order, 14 a process exception
    assert outcomes == ["ok"] * 20
    with pg.read() as s:
        fos = s.execute(select(func.count()).select_from(FulfillmentOrder)).scalar_one()
        units = s.execute(select(func.sum(FulfillmentOrderItem.quantity))).scalar_one()
        exceptions = s.execute(select(func.count()).select_from(ProcessException)).scalar_one()
    assert (fos, units, exceptions) == (6, 6, 14)
    assert positions(pg) == {("BOLT-M8", "WH-BER"): (6, 6)}


def test_shipping_one_fulfillment_order_twice_at_once_ships_it_once(pg: Database) -> None:
    stock(pg, "WH-BER", BOLT_M8=10)
    doc = place(pg, ("BOLT-M8", 5))
    pg.transaction(lambda s: set_order_status(s, uuid.UUID(doc["id"]), "approve", actor="test"))
    pg.transaction(lambda s: service.route_order(s, uuid.UUID(doc["id"])))
    # when two shipments of everything arrive together
    outcomes = _parallel([lambda: pg.transaction(lambda s: service.ship(s, "FO-000001", ShipIn(carrier="UPS"),
                                                                         STAFF))] * 2)
    # then one ships, the other finds nothing left
    assert outcomes == ["invalid-transition", "ok"]
    assert positions(pg) == {("BOLT-M8", "WH-BER"): (5, 0)}
