"""A reservation writes its rows, its event and its stored answer first and takes the position
last, so the position row is locked only from its conditional UPDATE to COMMIT; refusals and
backorders still end exactly as before."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

from sqlalchemy import event, func, select

from ordino.inventory import service
from ordino.inventory.models import InventoryReservation
from ordino.kernel.db import Database
from ordino.kernel.idempotency import IdempotencyRecord
from tests import factories
from tests.inventory.conftest import count, events, positions, reservations

URL = "/api/v1/reservations"


@contextmanager
def statements(db: Database) -> Iterator[list[str]]:
    """The first words of every statement sent, COMMIT included."""
    sent: list[str] = []

    def on_execute(_conn: Any, _cur: Any, statement: str, *_: Any) -> None:
        sent.append(" ".join(statement.split()[:3]).upper())

    def on_commit(_conn: Any) -> None:
        sent.append("COMMIT")

    event.listen(db.engine, "before_cursor_execute", on_execute)
    event.listen(db.engine, "commit", on_commit)
    try:
        yield sent
    finally:
        event.remove(db.engine, "before_cursor_execute", on_execute)
        event.remove(db.engine, "commit", on_commit)


def written(sent: list[str]) -> list[str]:
    return [s for s in sent if s.split()[0] in ("INSERT", "UPDATE", "DELETE", "COMMIT")]


def test_through_the_api_the_position_is_the_last_statement_before_commit(world, client, admin) -> None:  # type: ignore[no-untyped-def]
    # given stock and a warmed-up client (the API key is cached)
    factories.position(world, on_hand=10)
    client.post(URL, json={"reference": "warm", "lines": [{"sku": "BOLT-M8", "location": "WH-BER", "quantity": 1}]},
                headers={**admin, "Idempotency-Key": "warm"})
    # when a hold is placed under an Idempotency-Key
    with statements(world) as sent:
        r = client.post(URL, json={"reference": "cart-1", "lines": [{"sku": "BOLT-M8", "location": "WH-BER",
                                                                     "quantity": 2}]},
                        headers={**admin, "Idempotency-Key": "k-1"})
    # then the rows, the event and the stored answer come first, the position last, then COMMIT
    assert r.status_code == 201, r.text
    assert written(sent) == [
        "INSERT INTO INVENTORY_RESERVATION", "INSERT INTO OUTBOX_EVENT", "INSERT INTO IDEMPOTENCY_KEY",
        "UPDATE INVENTORY_POSITION SET", "COMMIT",
    ]
    assert positions(world)[("BOLT-M8", "WH-BER")] == (10, 3, 0, 0, 0)


def test_in_process_the_positions_are_taken_last_in_sorted_order(world) -> None:  # type: ignore[no-untyped-def]
    factories.position(world, "BOLT-M8", "WH-BER", on_hand=10)
    factories.position(world, "NUT-M8", "WH-BER", on_hand=10)
    with statements(world) as sent:
        world.transaction(lambda s: service.reserve(s, "item-1", [("NUT-M8", "WH-BER", 1), ("BOLT-M8", "WH-BER", 2)]))
    assert written(sent) == [
        "INSERT INTO INVENTORY_RESERVATION", "INSERT INTO OUTBOX_EVENT", "UPDATE INVENTORY_POSITION SET",
        "UPDATE INVENTORY_POSITION SET", "COMMIT",
    ]
    assert [(r["sku"], r["open"]) for r in reservations(world)] == [("BOLT-M8", 2), ("NUT-M8", 1)]


def test_a_backordered_hold_answers_and_replays_its_final_document(world, client, admin) -> None:  # type: ignore[no-untyped-def]
    # given a backorder product with 2 on hand and 10 expected
    factories.position(world, "WASHER-M8", "WH-BER", on_hand=2, futures=[(date(2026, 12, 24), 10)])
    body = {"reference": "cart-2", "lines": [{"sku": "WASHER-M8", "location": "WH-BER", "quantity": 7}]}
    headers = {**admin, "Idempotency-Key": "k-2"}
    # when 7 are held: stock cannot cover them, the futures can
    first = client.post(URL, json=body, headers=headers)
    again = client.post(URL, json=body, headers=headers)
    # then the answer says they are backordered, and so do the row, the event and the replay
    assert first.status_code == 201, first.text
    [doc] = first.json()["reservations"]
    assert (doc["backordered"], doc["backordered_quantity"], doc["open_quantity"]) == (True, 7, 7)
    assert (again.status_code, again.headers["Idempotent-Replayed"], again.content) == (201, "true", first.content)
    assert [(r["reference"], r["backordered"]) for r in reservations(world)] == [("cart-2", 7)]
    assert events(world)[-1][1]["lines"][0]["backordered_quantity"] == 7
    assert positions(world)[("WASHER-M8", "WH-BER")] == (2, 0, 0, 10, 7)


def test_a_refused_hold_leaves_nothing_not_even_its_key(world, client, admin) -> None:  # type: ignore[no-untyped-def]
    # given 2 available
    factories.position(world, on_hand=2)
    headers = {**admin, "Idempotency-Key": "k-3"}
    # when 3 are asked under a key
    r = client.post(URL, json={"reference": "cart-3", "lines": [{"sku": "BOLT-M8", "location": "WH-BER",
                                                                 "quantity": 3}]}, headers=headers)
    # then 409, and no row, event or stored answer was kept
    assert (r.status_code, r.json()["type"].rsplit("/", 1)[1]) == (409, "out-of-stock")
    with world.read() as s:
        keys = s.execute(select(func.count()).select_from(IdempotencyRecord)).scalar_one()
    assert (keys, count(world, InventoryReservation), events(world)) == (0, 0, [])
    assert positions(world)[("BOLT-M8", "WH-BER")] == (2, 0, 0, 0, 0)
    # and the key serves the corrected request
    ok = client.post(URL, json={"reference": "cart-3", "lines": [{"sku": "BOLT-M8", "location": "WH-BER",
                                                                  "quantity": 2}]}, headers=headers)
    assert ok.status_code == 201, ok.text
    assert positions(world)[("BOLT-M8", "WH-BER")] == (2, 2, 0, 0, 0)
