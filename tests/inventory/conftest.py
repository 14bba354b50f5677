"""Fixtures of the inventory tests: a clock at NOW, a small world, readers of the tables."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from ordino.catalog.models import Location
from ordino.inventory.models import InventoryFuture, InventoryPosition, InventoryReservation
from ordino.kernel import clock
from ordino.kernel.db import Database
from ordino.kernel.outbox import OutboxEvent
from tests import factories

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
NOW_TEXT = "2026-11-26T10:00:00+00:00"


@pytest.fixture
def frozen() -> Iterator[datetime]:
    """The clock stands at NOW, so timestamps can be asserted exactly."""
    clock.set_clock(lambda: NOW)
    yield NOW
    clock.set_clock(None)


@pytest.fixture
def world(db: Database) -> Database:
    """Products BOLT-M8, NUT-M8 (deny) and WASHER-M8 (backorder); locations WH-BER, WH-HAM, ST-MUC."""
    factories.product(db, "BOLT-M8")
    factories.product(db, "NUT-M8")
    factories.product(db, "WASHER-M8", backorder_policy="backorder")
    factories.location(db, "WH-BER")
    factories.location(db, "WH-HAM")
    factories.location(db, "ST-MUC", kind="store")
    return db


def location_id(db: Database, code: str) -> uuid.UUID:
    with db.read() as s:
        return s.execute(select(Location.id).where(Location.code == code)).scalar_one()


def positions(db: Database) -> dict[tuple[str, str], tuple[int, int, int, int, int]]:
    """(sku, location code) -> (on_hand, reserved, safety_stock, futures, backordered)."""
    p = InventoryPosition
    with db.read() as s:
        rows = s.execute(
            select(p.sku, Location.code, p.on_hand, p.reserved, p.safety_stock, p.futures, p.backordered).join(
                Location, Location.id == p.location_id
            )
        ).all()
    return {(r[0], r[1]): tuple(r[2:]) for r in rows}  # type: ignore[misc]


def futures(db: Database) -> dict[tuple[str, str], list[tuple[str, int]]]:
    f = InventoryFuture
    with db.read() as s:
        rows = s.execute(
            select(f.sku, Location.code, f.expected_on, f.quantity)
            .join(Location, Location.id == f.location_id)
            .order_by(f.sku, Location.code, f.expected_on)
        ).all()
    out: dict[tuple[str, str], list[tuple[str, int]]] = {}
    for sku, code, day, quantity in rows:
        out.setdefault((sku, code), []).append((day.isoformat(), quantity))
    return out


def reservations(db: Database) -> list[dict[str, Any]]:
    r = InventoryReservation
    with db.read() as s:
        rows = s.execute(
            select(
                r.reference, r.sku, Location.code, r.status, r.quantity, r.open_quantity, r.backordered_quantity,
                r.fulfilled_quantity, r.released_quantity, r.transferred_quantity,
            )
            .join(Location, Location.id == r.location_id)
            .order_by(r.id)
        ).all()
    keys = ("reference", "sku", "location", "status", "quantity", "open", "backordered", "fulfilled", "released",
            "transferred")
    return [dict(zip(keys, row, strict=True)) for row in rows]


def events(db: Database) -> list[tuple[str, dict[str, Any]]]:
    with db.read() as s:
        return [(t, d) for t, d in s.execute(select(OutboxEvent.type, OutboxEvent.data).order_by(OutboxEvent.position))]


def count(db: Database, model: Any) -> int:
    with db.read() as s:
        return int(s.execute(select(func.count()).select_from(model)).scalar_one())
