"""Batches for a caller that moves many references at once (routing: one reference per order
item): each reservation or transfer as on its own, one event for the batch."""

from __future__ import annotations

from typing import Any

import pytest

from ordino.inventory import service
from ordino.inventory.models import InventoryReservation
from ordino.kernel.errors import Conflict
from tests import factories
from tests.inventory.conftest import count, events, positions, reservations
from tests.inventory.test_reservations import row


@pytest.fixture
def stock(world, frozen):  # type: ignore[no-untyped-def]
    """BOLT-M8: 10 at WH-BER (safety stock 2), 4 at WH-HAM; NUT-M8: 5 at WH-HAM."""
    factories.position(world, "BOLT-M8", "WH-BER", on_hand=10, safety_stock=2)
    factories.position(world, "BOLT-M8", "WH-HAM", on_hand=4)
    factories.position(world, "NUT-M8", "WH-HAM", on_hand=5)
    return world


def _batch(db: Any, *wanted: tuple[str, list[tuple[str, str, int]]]) -> list[list[dict[str, Any]]]:
    return db.transaction(  # type: ignore[no-any-return]
        lambda s: service.reserve_batch(s, [service.Wanted(ref, lines) for ref, lines in wanted]))


def test_reserve_batch_reserves_each_reference_with_one_event(stock) -> None:  # type: ignore[no-untyped-def]
    # when two order items are reserved in one batch
    docs = _batch(stock, ("item-1", [("BOLT-M8", "WH-BER", 3)]), ("item-2", [("NUT-M8", "WH-HAM", 2)]))
    # then each holds its units, one row each, and one event names both references and every line
    assert positions(stock)[("BOLT-M8", "WH-BER")] == (10, 3, 2, 0, 0)
    assert positions(stock)[("NUT-M8", "WH-HAM")] == (5, 2, 0, 0, 0)
    assert reservations(stock) == [row("item-1", "BOLT-M8", "WH-BER", "active", 3, 3),
                                   row("item-2", "NUT-M8", "WH-HAM", "active", 2, 2)]
    assert events(stock) == [("inventory.reserved", {"references": ["item-1", "item-2"], "lines": [
        {"reference": "item-1", "reservation_id": str(docs[0][0]["id"]), "sku": "BOLT-M8", "location": "WH-BER",
         "quantity": 3, "backordered_quantity": 0},
        {"reference": "item-2", "reservation_id": str(docs[1][0]["id"]), "sku": "NUT-M8", "location": "WH-HAM",
         "quantity": 2, "backordered_quantity": 0},
    ]})]


def test_reserve_batch_that_runs_short_writes_nothing(stock) -> None:  # type: ignore[no-untyped-def]
    # when the second reservation of a batch asks more than WH-HAM has
    with pytest.raises(Conflict):
        _batch(stock, ("item-1", [("BOLT-M8", "WH-BER", 3)]), ("item-2", [("NUT-M8", "WH-HAM", 6)]))
    # then nothing is reserved, no row and no event written
    assert (count(stock, InventoryReservation), events(stock)) == (0, [])
    assert positions(stock)[("BOLT-M8", "WH-BER")] == (10, 0, 2, 0, 0)


def test_transfer_many_moves_each_reference_with_one_event(stock) -> None:  # type: ignore[no-untyped-def]
    [a], [b] = _batch(stock, ("item-1", [("BOLT-M8", "WH-BER", 3)]), ("item-2", [("BOLT-M8", "WH-BER", 2)]))
    # when routing moves 2 of item-1's and both of item-2's units to WH-HAM in one call
    stock.transaction(lambda s: service.transfer_many(s, [
        service.Transfer("item-1", "BOLT-M8", "WH-BER", "WH-HAM", 2),
        service.Transfer("item-2", "BOLT-M8", "WH-BER", "WH-HAM", 2),
    ]))
    # then the positions and rows are as after two transfers, and one event carries both moves
    assert positions(stock)[("BOLT-M8", "WH-BER")] == (10, 1, 2, 0, 0)
    assert positions(stock)[("BOLT-M8", "WH-HAM")] == (4, 4, 0, 0, 0)
    assert [r for r in reservations(stock) if r["location"] == "WH-HAM"] == [
        row("item-1", "BOLT-M8", "WH-HAM", "active", 2, 2), row("item-2", "BOLT-M8", "WH-HAM", "active", 2, 2)]

    def moved(ref: str, source: dict[str, Any], units: int) -> dict[str, Any]:
        return {"reference": ref, "sku": "BOLT-M8", "to_location": "WH-HAM", "quantity": units, "from": [
            {"reservation_id": str(source["id"]), "sku": "BOLT-M8", "location": "WH-BER", "quantity": units,
             "backordered_quantity": 0}]}

    assert events(stock)[-1] == ("inventory.transferred", {
        "references": ["item-1", "item-2"], "transfers": [moved("item-1", a, 2), moved("item-2", b, 2)]})
    assert [t for t, _ in events(stock)] == ["inventory.reserved", "inventory.transferred"]
