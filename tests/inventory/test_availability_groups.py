"""POST /api/v1/availability for groups: a group holding most locations and one holding few are
read by different statements (sums from the SKUs' positions, or per member); both are exact."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

from sqlalchemy import event, select, update

from ordino.catalog.models import Location
from ordino.inventory import availability
from ordino.inventory.models import InventoryFuture, InventoryPosition
from ordino.kernel.db import Database
from tests import factories

URL = "/api/v1/availability"


@contextmanager
def statements(db: Database) -> Iterator[list[str]]:
    sent: list[str] = []

    def on_execute(_conn: Any, _cur: Any, statement: str, *_: Any) -> None:
        sent.append(statement)

    event.listen(db.engine, "before_cursor_execute", on_execute)
    try:
        yield sent
    finally:
        event.remove(db.engine, "before_cursor_execute", on_execute)


def test_wide_and_narrow_groups_sum_their_members_exactly(world, client, admin) -> None:  # type: ignore[no-untyped-def]
    # given 12 locations (the world's 3 and 9 more), stock of BOLT-M8 at each, futures at two
    codes = ["WH-BER", "WH-HAM", "ST-MUC"] + [f"WH-{n:02d}" for n in range(9)]
    for code in codes[3:]:
        factories.location(world, code)
    for n, code in enumerate(codes):
        futures = [(date(2026, 12, 24), 5)] if code in ("WH-HAM", "WH-03") else None
        factories.position(world, "BOLT-M8", code, on_hand=10 + n, reserved=n % 3, safety_stock=1, futures=futures)
    # and a group of all of them, and one of a single location (1 × 8 < 12: read per member)
    factories.location_group(world, "ALL", codes)
    factories.location_group(world, "ONE", ["WH-HAM"])
    factories.location_group(world, "EMPTY", [])
    # when the wide group and the narrow ones are asked, with a SKU that has no stock at all
    with statements(world) as sent:
        wide = client.post(URL, json={"skus": ["BOLT-M8", "NUT-M8"], "location_groups": ["ALL"]}, headers=admin)
    assert any("OFFSET" in s for s in sent)  # read from the SKUs' positions
    with statements(world) as sent:
        narrow = client.post(URL, json={"skus": ["BOLT-M8", "NUT-M8"], "location_groups": ["ONE", "EMPTY"]},
                             headers=admin)
    assert any("location_group_member" in s for s in sent) and not any("OFFSET" in s for s in sent)
    # then each group's figures are its members' sums, futures merged per date
    assert (wide.status_code, narrow.status_code) == (200, 200), (wide.text, narrow.text)
    answered = wide.json()["location_groups"] + narrow.json()["location_groups"]
    rows = {(x["sku"], x["location_group"]): x for x in answered}
    on_hand, reserved = sum(10 + n for n in range(12)), sum(n % 3 for n in range(12))
    assert {k: v for k, v in rows[("BOLT-M8", "ALL")].items() if k not in ("sku", "location_group")} == {
        "on_hand": on_hand, "reserved": reserved, "safety_stock": 12, "backordered": 0, "futures_total": 10,
        "available_to_fulfill": on_hand - reserved - 12, "available_to_order": on_hand - reserved - 12 + 10,
        "futures": [{"quantity": 10, "expected_on": "2026-12-24"}],
    }
    assert {k: v for k, v in rows[("BOLT-M8", "ONE")].items() if k not in ("sku", "location_group")} == {
        "on_hand": 11, "reserved": 1, "safety_stock": 1, "backordered": 0, "futures_total": 5,
        "available_to_fulfill": 9, "available_to_order": 14, "futures": [{"quantity": 5, "expected_on": "2026-12-24"}],
    }
    zero = {"on_hand": 0, "reserved": 0, "safety_stock": 0, "backordered": 0, "futures_total": 0,
            "available_to_fulfill": 0, "available_to_order": 0, "futures": []}
    assert list(rows) == [("BOLT-M8", "ALL"), ("NUT-M8", "ALL"), ("BOLT-M8", "ONE"), ("BOLT-M8", "EMPTY"),
                          ("NUT-M8", "ONE"), ("NUT-M8", "EMPTY")]
    for key in [("BOLT-M8", "EMPTY"), ("NUT-M8", "ALL"), ("NUT-M8", "ONE"), ("NUT-M8", "EMPTY")]:
        assert {k: v for k, v in rows[key].items() if k not in ("sku", "location_group")} == zero


def test_one_statement_reads_without_a_transaction_and_moved_futures_are_read_again(world) -> None:  # type: ignore[no-untyped-def]
    # given BOLT-M8 at WH-HAM with 5 expected on Christmas eve
    factories.position(world, "BOLT-M8", "WH-HAM", on_hand=3, futures=[(date(2026, 12, 24), 5)])
    original = availability._futures
    moved: list[bool] = []

    def announce(s: Any) -> None:
        ham = s.execute(select(Location.id).where(Location.code == "WH-HAM")).scalar_one()
        s.add(InventoryFuture(sku="BOLT-M8", location_id=ham, expected_on=date(2027, 1, 8), quantity=7))
        s.execute(update(InventoryPosition).where(InventoryPosition.sku == "BOLT-M8").values(futures=12))

    def futures_after_a_delivery_is_announced(*args: Any) -> Any:
        if not moved:  # between the positions and their futures, another transaction adds 7
            moved.append(True)
            world.transaction(announce)
        return original(*args)

    availability._futures = futures_after_a_delivery_is_announced  # type: ignore[assignment]
    try:
        with statements(world) as sent:
            answer = availability.read(world, ["BOLT-M8"], ["WH-HAM"], [])
    finally:
        availability._futures = original  # type: ignore[assignment]
    # then the answer describes one moment: its dated futures add up to its total
    [row] = answer["locations"]
    positions_read = sum(1 for s in sent if "FROM inventory_position" in s)
    if world.dialect == "postgresql":
        # read without a transaction first; the futures had moved, so it asked again in a snapshot
        assert (row["futures_total"], [f["quantity"] for f in row["futures"]], positions_read) == (12, [5, 7], 2)
    else:  # SQLite reads in one transaction: the moment before the announcement
        assert (row["futures_total"], [f["quantity"] for f in row["futures"]], positions_read) == (5, [5], 1)
