"""Reservation semantics (inventory.service): all-or-nothing, sorted, summed per position;
transfer, release, fulfil and expiry with exact counters."""

from __future__ import annotations

import contextlib
import uuid
from datetime import timedelta
from typing import Any

import pytest

from ordino.flows.registry import build_dispatcher, periodic
from ordino.inventory import reserving, service
from ordino.inventory.domain import StockRecord
from ordino.inventory.models import InventoryReservation
from ordino.inventory.stock import apply_records
from ordino.kernel import clock
from ordino.kernel.errors import Conflict, FieldError, NotFound, ValidationFailed
from tests import factories
from tests.inventory.conftest import NOW, count, events, location_id, positions, reservations


def reserve(db, reference: str, *lines: tuple[str, str, int], expires_at: Any = None) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    return db.transaction(lambda s: service.reserve(s, reference, list(lines), expires_at))  # type: ignore[no-any-return]


def refused(db, fn: Any) -> Any:  # type: ignore[no-untyped-def]
    with pytest.raises((Conflict, ValidationFailed, NotFound)) as caught:
        db.transaction(fn)
    return caught.value


def row(reference: str, sku: str, location: str, status: str, quantity: int, open_: int, backordered: int = 0,
        fulfilled: int = 0, released: int = 0, transferred: int = 0) -> dict[str, Any]:
    return {"reference": reference, "sku": sku, "location": location, "status": status, "quantity": quantity,
            "open": open_, "backordered": backordered, "fulfilled": fulfilled, "released": released,
            "transferred": transferred}


@pytest.fixture
def stock(world, frozen):  # type: ignore[no-untyped-def]
    """BOLT-M8: 10 at WH-BER (safety stock 2), 4 at WH-HAM; NUT-M8: 5 at WH-HAM."""
    factories.position(world, "BOLT-M8", "WH-BER", on_hand=10, safety_stock=2)
    factories.position(world, "BOLT-M8", "WH-HAM", on_hand=4)
    factories.position(world, "NUT-M8", "WH-HAM", on_hand=5)
    return world


def test_reserve_takes_stock_and_writes_a_row_per_position(stock) -> None:  # type: ignore[no-untyped-def]
    # when two lines are reserved for an order item
    docs = reserve(stock, "item-1", ("BOLT-M8", "WH-BER", 3), ("NUT-M8", "WH-HAM", 2))
    # then the positions hold them, one reservation row each, and one event says so
    assert positions(stock) == {
        ("BOLT-M8", "WH-BER"): (10, 3, 2, 0, 0), ("BOLT-M8", "WH-HAM"): (4, 0, 0, 0, 0),
        ("NUT-M8", "WH-HAM"): (5, 2, 0, 0, 0),
    }
    assert reservations(stock) == [row("item-1", "BOLT-M8", "WH-BER", "active", 3, 3),
                                   row("item-1", "NUT-M8", "WH-HAM", "active", 2, 2)]
    assert [(d["sku"], d["location"], d["quantity"], d["status"], d["backordered"], d["expires_at"]) for d in docs] == [
        ("BOLT-M8", "WH-BER", 3, "active", False, None), ("NUT-M8", "WH-HAM", 2, "active", False, None)
    ]
    assert events(stock) == [("inventory.reserved", {"reference": "item-1", "expires_at": None, "lines": [
        {"reservation_id": str(docs[0]["id"]), "sku": "BOLT-M8", "location": "WH-BER", "quantity": 3,
         "backordered_quantity": 0},
        {"reservation_id": str(docs[1]["id"]), "sku": "NUT-M8", "location": "WH-HAM", "quantity": 2,
         "backordered_quantity": 0},
    ]})]


def test_all_or_nothing_names_each_failing_sku_and_changes_nothing(stock) -> None:  # type: ignore[no-untyped-def]
    # when the first line fits but the second and third do not
    problem = refused(stock, lambda s: service.reserve(
        s, "item-1", [("BOLT-M8", "WH-BER", 8), ("NUT-M8", "WH-HAM", 6), ("BOLT-M8", "WH-HAM", 5)]
    ))
    # then the problem names each failing SKU with what is available
    assert (problem.status, problem.slug) == (409, "out-of-stock")
    assert problem.detail == "not enough stock (BOLT-M8 at WH-HAM: 4 of 5; NUT-M8 at WH-HAM: 5 of 6)"
    assert problem.errors == [FieldError("lines[2].quantity", "5 requested, 4 available at WH-HAM"),
                              FieldError("lines[1].quantity", "6 requested, 5 available at WH-HAM")]
    assert problem.extra["unavailable"] == [
        {"sku": "BOLT-M8", "location": "WH-HAM", "requested": 5, "available": 4, "available_to_fulfill": 4,
         "available_to_order": 4},
        {"sku": "NUT-M8", "location": "WH-HAM", "requested": 6, "available": 5, "available_to_fulfill": 5,
         "available_to_order": 5},
    ]
    # and nothing is reserved, not even the line that fitted
    assert positions(stock)[("BOLT-M8", "WH-BER")] == (10, 0, 2, 0, 0)
    assert (count(stock, InventoryReservation), events(stock)) == (0, [])


def test_a_caller_that_catches_the_refusal_keeps_nothing_reserved(stock) -> None:  # type: ignore[no-untyped-def]
    def work(s: Any) -> None:
        with contextlib.suppress(Conflict):  # the caller goes on and commits
            service.reserve(s, "item-1", [("BOLT-M8", "WH-BER", 8), ("NUT-M8", "WH-HAM", 6)])

    stock.transaction(work)
    assert positions(stock)[("BOLT-M8", "WH-BER")] == (10, 0, 2, 0, 0)
    assert count(stock, InventoryReservation) == 0


def test_two_lines_of_one_sku_are_summed_before_the_check(stock) -> None:  # type: ignore[no-untyped-def]
    # given 8 available at WH-BER; two lines of 5 each would each fit alone, but not together
    problem = refused(stock, lambda s: service.reserve(s, "item-1", [("BOLT-M8", "WH-BER", 5),
                                                                      ("BOLT-M8", "WH-BER", 5)]))
    assert problem.errors == [FieldError("lines[0].quantity", "10 requested, 8 available at WH-BER")]
    assert positions(stock)[("BOLT-M8", "WH-BER")] == (10, 0, 2, 0, 0)
    # and lines that fit together make one row
    reserve(stock, "item-1", ("BOLT-M8", "WH-BER", 5), ("BOLT-M8", "WH-BER", 3))
    assert reservations(stock) == [row("item-1", "BOLT-M8", "WH-BER", "active", 8, 8)]
    assert positions(stock)[("BOLT-M8", "WH-BER")] == (10, 8, 2, 0, 0)


def test_positions_are_taken_in_sorted_order(stock, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    taken = []
    original = reserving.reserve_stock

    def spy(session: Any, key: Any, quantity: int, now: Any) -> bool:
        taken.append((key[0], key[1]))
        return original(session, key, quantity, now)

    monkeypatch.setattr(reserving, "reserve_stock", spy)
    ber, ham = location_id(stock, "WH-BER"), location_id(stock, "WH-HAM")
    reserve(stock, "item-1", ("NUT-M8", "WH-HAM", 1), ("BOLT-M8", "WH-HAM", 1), ("BOLT-M8", str(ber), 1))
    assert taken == sorted(taken) == [("BOLT-M8", ber), ("BOLT-M8", ham), ("NUT-M8", ham)]


def test_unknown_or_inactive_references_are_named(stock) -> None:  # type: ignore[no-untyped-def]
    factories.location(stock, "WH-OLD", active=False)
    factories.product(stock, "OLD-1", active=False)
    problem = refused(stock, lambda s: service.reserve(s, "item-1", [
        ("NOPE", "WH-BER", 1), ("BOLT-M8", "WH-XX", 1), ("BOLT-M8", "WH-OLD", 1), ("OLD-1", "WH-BER", 1),
        ("BOLT-M8", "WH-BER", 0),
    ]))
    assert problem.errors == [
        FieldError("lines[0].sku", "no product 'NOPE'"),
        FieldError("lines[1].location", "no location 'WH-XX'"),
        FieldError("lines[2].location", "location 'WH-OLD' is not active"),
        FieldError("lines[3].sku", "product 'OLD-1' is not active"),
        FieldError("lines[4].quantity", "must be a positive whole number"),
    ]
    past = refused(stock, lambda s: service.reserve(s, "c", [("BOLT-M8", "WH-BER", 1)], NOW - timedelta(seconds=1)))
    assert past.errors == [FieldError("expires_at", "must be in the future")]
    assert (count(stock, InventoryReservation), positions(stock)[("BOLT-M8", "WH-BER")]) == (0, (10, 0, 2, 0, 0))


def test_transfer_moves_units_to_another_location(stock) -> None:  # type: ignore[no-untyped-def]
    [source] = reserve(stock, "item-1", ("BOLT-M8", "WH-BER", 5))
    # when routing moves 3 of them to WH-HAM
    doc = stock.transaction(lambda s: service.transfer(s, "item-1", "WH-HAM", 3, sku="BOLT-M8"))
    # then WH-BER holds 2 and WH-HAM 3, and the new row says where it came from
    assert positions(stock)[("BOLT-M8", "WH-BER")] == (10, 2, 2, 0, 0)
    assert positions(stock)[("BOLT-M8", "WH-HAM")] == (4, 3, 0, 0, 0)
    assert reservations(stock) == [row("item-1", "BOLT-M8", "WH-BER", "active", 5, 2, transferred=3),
                                   row("item-1", "BOLT-M8", "WH-HAM", "active", 3, 3)]
    assert doc["reservations"][1]["transferred_from_id"] == source["id"]
    assert events(stock)[-1] == ("inventory.transferred", {
        "reference": "item-1", "sku": "BOLT-M8", "to_location": "WH-HAM", "quantity": 3,
        "from": [{"reservation_id": str(source["id"]), "sku": "BOLT-M8", "location": "WH-BER", "quantity": 3,
                  "backordered_quantity": 0}],
    })
    # and moving the rest by reservation id closes the source row
    stock.transaction(lambda s: service.transfer(s, "item-1", "WH-HAM", 1, reservation_id=source["id"]))
    assert reservations(stock)[0] == row("item-1", "BOLT-M8", "WH-BER", "active", 5, 1, transferred=4)
    factories.position(stock, "BOLT-M8", "ST-MUC", on_hand=1)
    stock.transaction(lambda s: service.transfer(s, "item-1", "ST-MUC", 1, sku="BOLT-M8", from_location="WH-BER"))
    assert reservations(stock)[0]["status"] == "transferred"
    assert positions(stock)[("BOLT-M8", "WH-BER")] == (10, 0, 2, 0, 0)
    assert positions(stock)[("BOLT-M8", "WH-HAM")] == (4, 4, 0, 0, 0)
    assert positions(stock)[("BOLT-M8", "ST-MUC")] == (1, 1, 0, 0, 0)


def test_transfer_by_reservation_id_alone(stock) -> None:  # type: ignore[no-untyped-def]
    [source] = reserve(stock, "item-1", ("BOLT-M8", "WH-BER", 2))
    doc = stock.transaction(lambda s: service.transfer(s, None, "WH-HAM", 2, reservation_id=source["id"]))
    assert (doc["reference"], doc["to_location"]) == ("item-1", "WH-HAM")
    assert positions(stock)[("BOLT-M8", "WH-HAM")] == (4, 2, 0, 0, 0)
    closed = refused(stock, lambda s: service.transfer(s, None, "ST-MUC", 1, reservation_id=source["id"]))
    assert (closed.status, closed.slug) == (409, "insufficient-reservation")
    unknown = refused(stock, lambda s: service.transfer(s, None, "WH-HAM", 1, reservation_id=uuid.UUID(int=5)))
    assert unknown.status == 404
    foreign = refused(stock, lambda s: service.transfer(s, "item-2", "ST-MUC", 1, reservation_id=source["id"]))
    assert foreign.status == 404
    vague = refused(stock, lambda s: service.transfer(s, "item-1", "WH-HAM", 1))
    assert vague.errors == [FieldError("sku", "name the reference and sku, or the reservation_id")]


def test_a_transfer_the_target_cannot_take_changes_nothing(stock) -> None:  # type: ignore[no-untyped-def]
    reserve(stock, "item-1", ("BOLT-M8", "WH-BER", 5))
    reserve(stock, "item-2", ("BOLT-M8", "WH-HAM", 3))
    before = (positions(stock), reservations(stock), events(stock))
    problem = refused(stock, lambda s: service.transfer(s, "item-1", "WH-HAM", 2, sku="BOLT-M8"))
    assert problem.slug == "out-of-stock"
    assert problem.errors == [FieldError("quantity", "2 requested, 1 available at WH-HAM")]
    too_many = refused(stock, lambda s: service.transfer(s, "item-1", "WH-HAM", 6, sku="BOLT-M8"))
    assert (too_many.slug, too_many.errors) == ("insufficient-reservation", [FieldError("quantity", "at most 5")])
    same = refused(stock, lambda s: service.transfer(s, "item-1", "WH-BER", 1, sku="BOLT-M8", from_location="WH-BER"))
    assert same.errors == [FieldError("to_location", "is the location the units are reserved at")]
    assert (positions(stock), reservations(stock), events(stock)) == before


def test_release_all_some_or_a_quantity(stock) -> None:  # type: ignore[no-untyped-def]
    reserve(stock, "item-1", ("BOLT-M8", "WH-BER", 2), ("NUT-M8", "WH-HAM", 3))
    reserve(stock, "item-1", ("BOLT-M8", "WH-BER", 4))
    # when 5 units of BOLT-M8 are released: the newest row first
    doc = stock.transaction(lambda s: service.release(s, "item-1", "BOLT-M8", 5))
    assert [(x["sku"], x["quantity"]) for x in doc["released"]] == [("BOLT-M8", 4), ("BOLT-M8", 1)]
    assert reservations(stock) == [
        row("item-1", "BOLT-M8", "WH-BER", "active", 2, 1, released=1),
        row("item-1", "NUT-M8", "WH-HAM", "active", 3, 3),
        row("item-1", "BOLT-M8", "WH-BER", "released", 4, 0, released=4),
    ]
    assert positions(stock)[("BOLT-M8", "WH-BER")] == (10, 1, 2, 0, 0)
    # when everything left is released
    stock.transaction(lambda s: service.release(s, "item-1"))
    assert positions(stock)[("BOLT-M8", "WH-BER")] == (10, 0, 2, 0, 0)
    assert positions(stock)[("NUT-M8", "WH-HAM")] == (5, 0, 0, 0, 0)
    assert [r["status"] for r in reservations(stock)] == ["released", "released", "released"]
    assert [t for t, _ in events(stock)] == ["inventory.reserved", "inventory.reserved", "inventory.released",
                                             "inventory.released"]
    # and releasing again releases nothing and says nothing
    again = stock.transaction(lambda s: service.release(s, "item-1"))
    assert again["released"] == []
    assert len(events(stock)) == 4


def test_release_refusals_change_nothing(stock) -> None:  # type: ignore[no-untyped-def]
    reserve(stock, "item-1", ("BOLT-M8", "WH-BER", 2))
    before = (positions(stock), reservations(stock), events(stock))
    too_many = refused(stock, lambda s: service.release(s, "item-1", "BOLT-M8", 3))
    assert (too_many.status, too_many.slug) == (409, "insufficient-reservation")
    no_sku = refused(stock, lambda s: service.release(s, "item-1", None, 1))
    assert no_sku.errors == [FieldError("sku", "is required when a quantity is given")]
    unknown = refused(stock, lambda s: service.release(s, "item-9"))
    assert (unknown.status, unknown.detail) == (404, "no reservations for reference 'item-9'")
    assert (positions(stock), reservations(stock), events(stock)) == before


def test_fulfil_lowers_on_hand_and_reserved_together(stock) -> None:  # type: ignore[no-untyped-def]
    [doc] = reserve(stock, "item-1", ("BOLT-M8", "WH-BER", 5))
    stock.transaction(lambda s: service.fulfil(s, "item-1", "BOLT-M8", "WH-BER", 3))
    assert positions(stock)[("BOLT-M8", "WH-BER")] == (7, 2, 2, 0, 0)
    assert reservations(stock) == [row("item-1", "BOLT-M8", "WH-BER", "active", 5, 2, fulfilled=3)]
    stock.transaction(lambda s: service.fulfil(s, "item-1", "BOLT-M8", "WH-BER", 2))
    assert positions(stock)[("BOLT-M8", "WH-BER")] == (5, 0, 2, 0, 0)
    assert reservations(stock) == [row("item-1", "BOLT-M8", "WH-BER", "fulfilled", 5, 0, fulfilled=5)]
    assert events(stock)[-1] == ("inventory.fulfilled", {"reference": "item-1", "lines": [
        {"reservation_id": str(doc["id"]), "sku": "BOLT-M8", "location": "WH-BER", "quantity": 2,
         "backordered_quantity": 0}]})


def test_fulfil_refusals_change_nothing(stock) -> None:  # type: ignore[no-untyped-def]
    reserve(stock, "item-1", ("BOLT-M8", "WH-BER", 5))
    # a stock count finds only 2
    count_2 = StockRecord(0, None, "BOLT-M8", "WH-BER", "absolute", on_hand=2)
    stock.transaction(lambda s: apply_records(s, [count_2]))
    before = (positions(stock), reservations(stock), events(stock))
    more = refused(stock, lambda s: service.fulfil(s, "item-1", "BOLT-M8", "WH-BER", 6))
    assert (more.slug, more.errors) == ("insufficient-reservation", [FieldError(
        "lines[0].quantity", "5 units of BOLT-M8 reserved from stock at WH-BER; cannot ship 6")])
    short = refused(stock, lambda s: service.fulfil(s, "item-1", "BOLT-M8", "WH-BER", 3))
    assert short.slug == "insufficient-stock"
    assert short.detail == "only 2 units of BOLT-M8 are on hand at WH-BER; cannot ship 3. Count the stock, then ship."
    assert (positions(stock), reservations(stock), events(stock)) == before


def test_expired_holds_are_released(stock) -> None:  # type: ignore[no-untyped-def]
    [soon] = reserve(stock, "cart-1", ("BOLT-M8", "WH-BER", 2), expires_at=NOW + timedelta(seconds=60))
    reserve(stock, "cart-2", ("BOLT-M8", "WH-BER", 3), expires_at=NOW + timedelta(seconds=600))
    reserve(stock, "item-1", ("NUT-M8", "WH-HAM", 1))
    # when the clock passes the first expiry
    later = NOW + timedelta(seconds=120)
    assert stock.transaction(lambda s: service.expire_holds(s, later)) == 1
    # then only that hold is released
    assert positions(stock)[("BOLT-M8", "WH-BER")] == (10, 3, 2, 0, 0)
    assert [r["status"] for r in reservations(stock)] == ["expired", "active", "active"]
    assert reservations(stock)[0] == row("cart-1", "BOLT-M8", "WH-BER", "expired", 2, 0, released=2)
    assert events(stock)[-1] == ("inventory.expired", {"reservations": [
        {"reservation_id": str(soon["id"]), "sku": "BOLT-M8", "location": "WH-BER", "quantity": 2,
         "backordered_quantity": 0, "reference": "cart-1"}]})
    # and a second run finds nothing to do
    assert stock.transaction(lambda s: service.expire_holds(s, later)) == 0
    assert len(events(stock)) == 4


def test_the_worker_expires_holds_every_few_seconds(stock) -> None:  # type: ignore[no-untyped-def]
    reserve(stock, "cart-1", ("BOLT-M8", "WH-BER", 2), expires_at=NOW + timedelta(seconds=5))
    clock.set_clock(lambda: NOW + timedelta(seconds=6))
    ran = build_dispatcher(stock, {}).run_due_jobs(now=0.0)
    assert ran == [job.name for job in periodic({})]  # every job is due on the first round
    assert ran[:2] == ["inventory.expire_holds", "inventory.allocate_backorders"]
    assert positions(stock)[("BOLT-M8", "WH-BER")] == (10, 0, 2, 0, 0)
    assert reservations(stock)[0]["status"] == "expired"
