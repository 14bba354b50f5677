"""Reservation requests combined in one transaction (inventory.holds): each call gets the answer it
would have got alone, and nothing is kept for a refused one."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import orjson
import pytest
from sqlalchemy import select

from ordino.inventory import holds, reserving
from ordino.inventory.ledger import Line
from ordino.inventory.models import InventoryReservation
from ordino.kernel.db import Database
from ordino.kernel.errors import Conflict, FieldError, Problem, ValidationFailed
from ordino.kernel.idempotency import Command, IdempotencyRecord, Outcome
from tests import factories
from tests.inventory.conftest import count, events, positions

API_KEY = uuid.UUID("0192f3c4-0000-7000-8000-0000000000aa")
PATH = "/api/v1/reservations"
XMAS = date(2026, 12, 24)


@pytest.fixture
def shelf(world, frozen):  # type: ignore[no-untyped-def]
    """BOLT-M8: 10 at WH-BER (safety stock 2: 8 available); NUT-M8: 5 at WH-HAM; WASHER-M8
    (backorder): 2 at WH-BER and 10 expected."""
    factories.position(world, "BOLT-M8", "WH-BER", on_hand=10, safety_stock=2)
    factories.position(world, "NUT-M8", "WH-HAM", on_hand=5)
    factories.position(world, "WASHER-M8", "WH-BER", on_hand=2, futures=[(XMAS, 10)])
    return world


def call(reference: str, *lines: tuple[str, str, int], key: str | None = None) -> holds.ReserveCall:
    body = orjson.dumps({"reference": reference, "lines": [{"sku": s, "location": c, "quantity": q}
                                                           for s, c, q in lines]})
    return holds.ReserveCall(Command(API_KEY, key, "POST", PATH, body), reference, [Line(*x) for x in lines])


def body(result: Any) -> dict[str, Any]:
    assert isinstance(result, Outcome), result
    return orjson.loads(result.body)  # type: ignore[no-any-return]


def stored_keys(db: Database) -> list[str]:
    with db.read() as s:
        return sorted(s.execute(select(IdempotencyRecord.key)).scalars())


def test_a_batch_answers_each_call_as_if_it_ran_alone(shelf: Database) -> None:
    # when five calls arrive together: two that fit, one that the first leaves short, one with an
    # unknown SKU, and a backorder product beyond its stock
    results = holds.run_calls(shelf, [
        call("a", ("BOLT-M8", "WH-BER", 3), key="k-a"),
        call("b", ("BOLT-M8", "WH-BER", 6), key="k-b"),
        call("c", ("BOLT-M8", "WH-BER", 2), ("NUT-M8", "WH-HAM", 5)),
        call("d", ("NOPE", "WH-BER", 1), key="k-d"),
        call("e", ("WASHER-M8", "WH-BER", 5), key="k-e"),
    ])
    # then the first comes first: a and c hold stock, b is refused with what a left
    a, b, c, d, e = results
    assert [(r["sku"], r["quantity"], r["backordered"]) for r in body(a)["reservations"]] == [("BOLT-M8", 3, False)]
    assert isinstance(b, Conflict) and b.slug == "out-of-stock"
    assert b.errors == [FieldError("lines[0].quantity", "6 requested, 5 available at WH-BER")]
    assert [(r["sku"], r["quantity"]) for r in body(c)["reservations"]] == [("BOLT-M8", 2), ("NUT-M8", 5)]
    assert isinstance(d, ValidationFailed) and d.errors == [FieldError("lines[0].sku", "no product 'NOPE'")]
    assert [(r["quantity"], r["backordered_quantity"], r["backordered"]) for r in body(e)["reservations"]] == [
        (5, 5, True)
    ]
    # and the positions, rows, events and stored answers are those of a, c and e only
    assert positions(shelf) == {
        ("BOLT-M8", "WH-BER"): (10, 5, 2, 0, 0), ("NUT-M8", "WH-HAM"): (5, 5, 0, 0, 0),
        ("WASHER-M8", "WH-BER"): (2, 0, 0, 10, 5),
    }
    with shelf.read() as s:
        assert sorted(s.execute(select(InventoryReservation.reference)).scalars()) == ["a", "c", "c", "e"]
    assert sorted(data["reference"] for _, data in events(shelf)) == ["a", "c", "e"]
    assert stored_keys(shelf) == ["k-a", "k-e"]


def test_stored_answers_replay_and_a_refused_key_may_be_used_again(shelf: Database) -> None:
    first = holds.run_calls(shelf, [call("a", ("BOLT-M8", "WH-BER", 3), key="k-a"),
                                    call("b", ("BOLT-M8", "WH-BER", 9), key="k-b"),
                                    call("e", ("WASHER-M8", "WH-BER", 5), key="k-e")])
    # when the same requests come again, with b now small enough, and k-a with another body
    again = holds.run_calls(shelf, [call("a", ("BOLT-M8", "WH-BER", 3), key="k-a"),
                                    call("b", ("BOLT-M8", "WH-BER", 1), key="k-b"),
                                    call("e", ("WASHER-M8", "WH-BER", 5), key="k-e"),
                                    call("x", ("BOLT-M8", "WH-BER", 1), key="k-a")])
    # then a and e replay their stored answers (e's says backordered), and b runs afresh
    assert isinstance(again[0], Outcome) and again[0].replayed and again[0].body == first[0].body  # type: ignore[union-attr]
    assert isinstance(again[2], Outcome) and again[2].replayed and again[2].body == first[2].body  # type: ignore[union-attr]
    assert body(again[2])["reservations"][0]["backordered"] is True
    assert isinstance(again[1], Outcome) and not again[1].replayed
    # and a key used with another body is refused, and not as "in progress"
    assert isinstance(again[3], ValidationFailed)
    assert again[3].errors == [FieldError("Idempotency-Key", "was already used with a different request")]
    assert positions(shelf)[("BOLT-M8", "WH-BER")] == (10, 4, 2, 0, 0)
    assert count(shelf, InventoryReservation) == 3


def test_the_same_key_twice_in_one_batch_runs_once(shelf: Database) -> None:
    # when a client's retry arrives in the same batch as its first attempt
    same = call("a", ("BOLT-M8", "WH-BER", 1), key="k-a")
    first, second, other = holds.run_calls(shelf, [same, same, call("b", ("BOLT-M8", "WH-BER", 1))])
    # then the retry replays the first answer, once that has committed
    assert isinstance(first, Outcome) and (first.status_code, first.replayed) == (201, False)
    assert isinstance(second, Outcome) and (second.body, second.replayed) == (first.body, True)
    assert isinstance(other, Outcome) and other.status_code == 201
    assert positions(shelf)[("BOLT-M8", "WH-BER")] == (10, 2, 2, 0, 0)
    assert count(shelf, InventoryReservation) == 2


def test_a_retry_with_another_body_in_the_same_batch_is_refused(shelf: Database) -> None:
    first, second = holds.run_calls(shelf, [call("a", ("BOLT-M8", "WH-BER", 1), key="k-a"),
                                            call("a", ("BOLT-M8", "WH-BER", 2), key="k-a")])
    assert isinstance(first, Outcome) and first.status_code == 201
    assert isinstance(second, ValidationFailed)
    assert positions(shelf)[("BOLT-M8", "WH-BER")] == (10, 1, 2, 0, 0)
    assert count(shelf, InventoryReservation) == 1


def test_sums_that_fit_take_each_position_once(shelf: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    taken: list[tuple[str, int]] = []
    original = reserving.reserve_stock

    def spy(session: Any, key: Any, quantity: int, now: Any) -> bool:
        taken.append((key[0], quantity))
        return original(session, key, quantity, now)

    monkeypatch.setattr(reserving, "reserve_stock", spy)
    results = holds.run_calls(shelf, [call(f"r{i}", ("NUT-M8", "WH-HAM", 1), ("BOLT-M8", "WH-BER", 2))
                                      for i in range(3)])
    # then one statement per position, for the sum of the three
    assert taken == [("BOLT-M8", 6), ("NUT-M8", 3)]
    assert [r.status_code for r in results if isinstance(r, Outcome)] == [201, 201, 201]
    assert positions(shelf)[("BOLT-M8", "WH-BER")] == (10, 6, 2, 0, 0)


def test_a_batch_that_breaks_runs_each_call_alone(shelf: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    original = reserving.prepare_many

    def breaks_in_batches(session: Any, wanted: Any) -> Any:
        if len(wanted) > 1:
            raise RuntimeError("boom")
        return original(session, wanted)

    monkeypatch.setattr(reserving, "prepare_many", breaks_in_batches)
    results = holds.run_calls(shelf, [call("a", ("BOLT-M8", "WH-BER", 1), key="k-a"),
                                      call("b", ("BOLT-M8", "WH-BER", 99), key="k-b")])
    # then each got its own answer, with nothing left of the broken attempt
    assert isinstance(results[0], Outcome) and results[0].status_code == 201
    assert isinstance(results[1], Problem) and results[1].slug == "out-of-stock"
    assert positions(shelf)[("BOLT-M8", "WH-BER")] == (10, 1, 2, 0, 0)
    assert (count(shelf, InventoryReservation), stored_keys(shelf)) == (1, ["k-a"])
