"""Concurrent servicing, proven on PostgreSQL with parallel connections: cancels of the same line
never cancel more than it has, and a cancel racing a shipment of the same units lets one win."""

# ruff: noqa: F811 (fixtures imported from tests.invoicing.support)

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from ordino.fulfillment import service as fulfillment
from ordino.fulfillment.schemas import ShipIn
from ordino.inventory import reads as inventory_reads
from ordino.kernel.db import Database
from ordino.kernel.errors import Problem
from ordino.orders.models import ChangeOrder, OrderItemSummary
from ordino.servicing import service
from ordino.servicing.schemas import CancelIn
from tests.invoicing import support
from tests.invoicing.support import STAFF, frozen, gateways, sim, sim_server, world  # noqa: F401

THREADS = 20


@pytest.fixture
def pg(world: Database) -> Database:
    if world.dialect != "postgresql":
        pytest.skip("concurrency is proven on PostgreSQL")
    return world


def _race(db: Database, works: list[Callable[[Any], object]], delays: list[float] | None = None) -> list[str]:
    """Run each work in its own transaction and thread, released together (then each after its
    delay); the outcome of each."""
    barrier = threading.Barrier(len(works))
    outcomes: list[str] = [""] * len(works)

    def run(n: int, work: Callable[[Any], object]) -> None:
        barrier.wait()
        time.sleep(delays[n] if delays else 0)
        try:
            db.transaction(work)
            outcomes[n] = "ok"
        except Problem as exc:
            outcomes[n] = f"{exc.status} {exc.slug}"
        except Exception as exc:  # anything else would be a 500
            outcomes[n] = f"error {type(exc).__name__}: {exc}"

    threads = [threading.Thread(target=run, args=(n, w)) for n, w in enumerate(works)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes


def _bolts(db: Database, order_id: Any) -> Any:
    with db.read() as s:
        return s.execute(select(*OrderItemSummary.__table__.c).where(
            OrderItemSummary.order_summary_id == uuid.UUID(str(order_id)), OrderItemSummary.sku == "BOLT-M8",
        )).one()


def _held(db: Database, item_id: uuid.UUID) -> int:
    with db.read() as s:
        return sum(h.open + h.backordered for h in inventory_reads.held_by(s, [str(item_id)]))


def _cancel(number: str, quantity: int) -> Callable[[Any], object]:
    body = CancelIn(lines=[{"line_number": 1, "quantity": quantity}], reason="customer request")
    return lambda s: service.service(s, "cancel", number, body, STAFF, submit=True)


@pytest.mark.parametrize("routed", [False, True], ids=["unallocated", "allocated"])
def test_concurrent_cancels_of_a_line_never_cancel_more_than_it_has(pg: Database, gateways: Any,
                                                                   routed: bool) -> None:
    # given an order of 500 bolts (line 1), routed to a fulfilment order or not yet
    order = support.place(pg, support.order_payload(support.CARD))
    if routed:
        support.drain(pg, gateways)
    assert _bolts(pg, order["id"]).quantity_allocated == (500 if routed else 0)
    # when 20 cancels of 40 bolts each (800 in all) run at once
    outcomes = _race(pg, [_cancel(order["number"], 40)] * THREADS)
    # then 12 win (480 bolts), the 8 others get a 409, and what is cancelled is what the change orders say
    won = outcomes.count("ok")
    assert (won, sorted(set(outcomes) - {"ok"})) == (12, ["409 not-available"]), outcomes
    bolts = _bolts(pg, order["id"])
    with pg.read() as s:
        cos = s.execute(select(func.count()).select_from(ChangeOrder)).scalar_one()
    assert (bolts.quantity_canceled, cos) == (40 * won, won)
    assert bolts.quantity_allocated == (500 - 40 * won if routed else 0)
    # and nothing stays reserved for the cancelled bolts
    assert _held(pg, bolts.id) <= bolts.quantity_ordered - bolts.quantity_canceled - bolts.quantity_fulfilled


@pytest.mark.parametrize("round_", range(6))
def test_a_cancel_racing_a_shipment_of_the_same_units_lets_one_win(pg: Database, gateways: Any,
                                                                   round_: int) -> None:
    # given an order of 500 bolts and 3 nuts, routed to one fulfilment order
    order = support.place(pg, support.order_payload(support.CARD))
    support.drain(pg, gateways)
    fo = support.fo_id(pg, order["id"])
    ship_all = ShipIn(carrier="DHL", items=[{"sku": "BOLT-M8", "quantity": 500}])
    cancel = _cancel(order["number"], 500)

    def shipment(session: Any) -> object:
        return fulfillment.ship(session, fo, ship_all, STAFF)

    # when the cancel of the 500 bolts and the shipment of the same 500 bolts run at once
    # (the cancel takes its locks first when both start together: a head start lets the shipment win too)
    works = [cancel, shipment] if round_ % 2 else [shipment, cancel]
    late = 0.0 if round_ < 2 else 0.02 * (round_ - 1)  # how long the cancel waits
    outcomes = _race(pg, works, [late if w is cancel else 0.0 for w in works])
    # then one wins, the other gets a 409, and no bolt is both shipped and cancelled
    assert sorted(o[:3] for o in outcomes) == ["409", "ok"], outcomes
    bolts = _bolts(pg, order["id"])
    cancelled_won = outcomes[works.index(cancel)] == "ok"
    assert (bolts.quantity_canceled, bolts.quantity_fulfilled) == ((500, 0) if cancelled_won else (0, 500)), outcomes
    with pg.read() as s:
        cos = s.execute(select(func.count()).select_from(ChangeOrder)).scalar_one()
    assert cos == int(cancelled_won)
    assert _held(pg, bolts.id) == 0
