"""Taking allocated, unshipped units back from fulfilment orders (for a cancellation).

The units are released at the fulfilment order's location through the inventory engine and
deallocated from the order items; a fulfilment order left with nothing to ship is cancelled (or
fulfilled, when it shipped something before). The caller holds the order's row lock.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import CursorResult, bindparam, select, update
from sqlalchemy.orm import Session

from ordino.fulfillment.documents import FO, FOI
from ordino.fulfillment.domain import OPEN
from ordino.fulfillment.fulfillment_orders import give_back_capacity, move, shipped_before
from ordino.fulfillment.items import change_buckets
from ordino.inventory import reads as inventory_reads
from ordino.inventory import service as inventory
from ordino.kernel.errors import ConcurrentChange

# A location that picked or packed the units must confirm before they are taken back.
NEEDS_CONFIRMATION = ("picked", "packed")


@dataclass(frozen=True, slots=True)
class OpenUnits:
    fulfillment_order_id: uuid.UUID
    number: str
    status: str
    location_id: uuid.UUID
    item_id: uuid.UUID
    fo_item_id: uuid.UUID
    sku: str
    remaining: int


def open_units(session: Session, item_ids: Sequence[uuid.UUID]) -> list[OpenUnits]:
    """Allocated units not shipped yet, per open fulfilment order item, newest fulfilment order first."""
    if not item_ids:
        return []
    remaining = FOI.c.quantity - FOI.c.quantity_fulfilled - FOI.c.quantity_canceled
    rows = session.execute(
        select(FO.c.id, FO.c.number, FO.c.status, FO.c.location_id, FOI.c.order_item_summary_id, FOI.c.id.label("foi"),
               FOI.c.sku, remaining.label("remaining"))
        .join(FOI, FOI.c.fulfillment_order_id == FO.c.id)
        .where(FOI.c.order_item_summary_id.in_(item_ids), FO.c.status.in_(OPEN), remaining > 0)
        .order_by(FO.c.id.desc(), FOI.c.id)
    ).all()
    return [OpenUnits(r.id, r.number, r.status, r.location_id, r.order_item_summary_id,
                      r.foi, r.sku, int(r.remaining)) for r in rows]


def plan(units: Sequence[OpenUnits], wanted: Mapping[uuid.UUID, int]) -> list[tuple[OpenUnits, int]]:
    """Which fulfilment order items give the wanted units of each order item."""
    left = dict(wanted)
    out = []
    for u in units:
        take = min(left.get(u.item_id, 0), u.remaining)
        if take > 0:
            out.append((u, take))
            left[u.item_id] -= take
    return out


def withdraw(session: Session, taken: Sequence[tuple[OpenUnits, int]], *, actor: str, reason: str | None) -> None:
    """Release and deallocate the planned units; close fulfilment orders left with nothing to ship."""
    if not taken:
        return
    held = {(h.reference, h.sku, h.location_id): h.open
            for h in inventory_reads.held_by(session, sorted({str(u.item_id) for u, _ in taken}))}
    inventory.release_many(session, [
        inventory.Release(str(u.item_id), u.sku, min(n, held.get((str(u.item_id), u.sku, u.location_id), 0)),
                          u.location_id)
        for u, n in taken
    ])
    changed = session.execute(
        update(FOI).where(FOI.c.id == bindparam("f_id"),
                          FOI.c.quantity - FOI.c.quantity_fulfilled - FOI.c.quantity_canceled >= bindparam("f_q"))
        .values(quantity_canceled=FOI.c.quantity_canceled + bindparam("f_q")),
        [{"f_id": u.fo_item_id, "f_q": n} for u, n in taken],
    )
    if cast(CursorResult[Any], changed).rowcount != len(taken):
        raise ConcurrentChange("the fulfillment order was changed at the same time; reload it")
    change_buckets(session, [(u.item_id, -n, 0) for u, n in taken])
    for fo_id in sorted({u.fulfillment_order_id for u, _ in taken}):
        fo = session.execute(select(*FO.c).where(FO.c.id == fo_id).with_for_update()).one()
        left = session.execute(
            select(FOI.c.quantity - FOI.c.quantity_fulfilled - FOI.c.quantity_canceled)
            .where(FOI.c.fulfillment_order_id == fo_id)
        ).scalars().all()
        if any(left):
            continue
        if shipped_before(session, fo_id):
            move(session, fo, "fulfill", actor, reason=reason)
        else:
            move(session, fo, "cancel", actor, reason=reason, status_reason=reason)
            give_back_capacity(session, fo)
