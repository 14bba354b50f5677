"""What other capabilities read of the inventory engine's tables.

Orders, approvals and routing never import `inventory.models`: they call these functions, which
run the statements they used to build themselves (same columns, same filters, same chunking), so
the SQL and its cost stay as they were. References are opaque to the engine (callers use order
item ids).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import NamedTuple, cast

from sqlalchemy import String, Table, func, select
from sqlalchemy.orm import Session

from ordino.inventory.bulk import any_in, is_pg
from ordino.inventory.domain import capacity_remaining
from ordino.inventory.models import InventoryReservation, LocationCapacity, LocationCapacityDay
from ordino.inventory.stock import POSITION, chunks

RES = cast(Table, InventoryReservation.__table__)
DAY = cast(Table, LocationCapacityDay.__table__)
P = POSITION.c


class Held(NamedTuple):
    """Units a reference holds at a location in active reservations: on stock and backordered."""

    reference: str
    sku: str
    location_id: uuid.UUID
    open: int
    backordered: int


def available_to_fulfill(session: Session, skus: Iterable[str]) -> dict[tuple[str, uuid.UUID], int]:
    """Available to fulfil (on hand − reserved − safety stock) per (sku, location) wherever a
    position exists."""
    out: dict[tuple[str, uuid.UUID], int] = {}
    atf = P.on_hand - P.reserved - P.safety_stock
    for part in chunks(sorted(set(skus)), 5000 if is_pg(session) else 1000):
        stmt = select(P.sku, P.location_id, atf.label("atf")).where(any_in(session, P.sku, part, String()))
        rows = session.execute(stmt)
        out.update(((r.sku, r.location_id), int(r.atf)) for r in rows)
    return out


def held_by(session: Session, references: Sequence[str]) -> list[Held]:
    """What each reference holds, per (reference, sku, location), in its active reservations."""
    out: list[Held] = []
    for part in chunks(references, 5000 if is_pg(session) else 1000):
        rows = session.execute(
            select(RES.c.reference, RES.c.sku, RES.c.location_id,
                   func.sum(RES.c.open_quantity).label("open"), func.sum(RES.c.backordered_quantity).label("back"))
            .where(any_in(session, RES.c.reference, part, String()), RES.c.status == "active")
            .group_by(RES.c.reference, RES.c.sku, RES.c.location_id)
        ).all()
        out.extend(Held(r.reference, r.sku, r.location_id, int(r.open), int(r.back)) for r in rows)
    return out


def open_at(session: Session, references: Sequence[str], location_id: uuid.UUID) -> dict[tuple[str, str], int]:
    """Open units (reserved, not yet fulfilled) per (reference, sku) at one location."""
    return {
        (r.reference, r.sku): int(r.units)
        for r in session.execute(
            select(RES.c.reference, RES.c.sku, func.sum(RES.c.open_quantity).label("units"))
            .where(RES.c.reference.in_(references), RES.c.location_id == location_id, RES.c.status == "active")
            .group_by(RES.c.reference, RES.c.sku)
        )
    }


def holding(session: Session, references: Sequence[str]) -> list[str]:
    """The references among `references` that hold an active reservation, sorted."""
    held = session.execute(
        select(RES.c.reference).where(RES.c.reference.in_(references), RES.c.status == "active").distinct()
    ).scalars()
    return sorted(held)


def capacity_left(session: Session, days: Mapping[uuid.UUID, date]) -> dict[uuid.UUID, tuple[date, int | None]]:
    """Per location, on the day given for it: the capacity units still free that day (None: no
    limit)."""
    limits = select(LocationCapacity.location_id, LocationCapacity.units_per_day)
    defaults = dict(session.execute(limits).all())
    used = {
        (r.location_id, r.day): r
        for r in session.execute(
            select(DAY.c.location_id, DAY.c.day, DAY.c.capacity, DAY.c.held, DAY.c.confirmed).where(
                DAY.c.day.in_(sorted(set(days.values())))
            )
        )
    }
    out: dict[uuid.UUID, tuple[date, int | None]] = {}
    for location_id, day in days.items():
        row = used.get((location_id, day))
        limit = row.capacity if row is not None and row.capacity is not None else defaults.get(location_id)
        out[location_id] = (day, capacity_remaining(limit, row.held if row else 0, row.confirmed if row else 0))
    return out
