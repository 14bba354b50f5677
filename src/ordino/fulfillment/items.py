"""Changing order items' allocated and fulfilled quantities, and the order's status after it.

Bucket changes are set-based and conditional: one `UPDATE … FROM (VALUES …)` per chunk whose
WHERE keeps every DESIGN §3 invariant (available to fulfil ≥ 0, fulfilled ≤ allocated, nothing
negative), so a concurrent change (e.g. a cancellation) makes it return fewer rows and the use case
answers 409 instead of breaking a CHECK. The items' derived status follows in the same transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import BigInteger, CursorResult, Table, Uuid, bindparam, select, update
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeEngine

from ordino.fulfillment.domain import ItemProgress, order_action
from ordino.inventory.bulk import rows_source
from ordino.inventory.stock import chunks
from ordino.kernel import clock
from ordino.kernel.errors import ConcurrentChange
from ordino.kernel.statemachine import apply
from ordino.orders.domain import ORDER_LIFECYCLE, Buckets
from ordino.orders.models import OrderItemSummary, OrderSummary

ITEM = cast(Table, OrderItemSummary.__table__)
ORDER = cast(Table, OrderSummary.__table__)
I = ITEM.c  # noqa: E741

_COLUMNS: list[tuple[str, TypeEngine[Any]]] = [
    ("id", Uuid()), ("d_allocated", BigInteger()), ("d_fulfilled", BigInteger())
]


def change_buckets(session: Session, changes: Iterable[tuple[uuid.UUID, int, int]]) -> None:
    """Add (allocated, fulfilled) deltas to order items; 409 if any change would break an
    invariant (nothing is then left half-done: the caller's transaction rolls back)."""
    summed: dict[uuid.UUID, list[int]] = {}
    for item_id, d_allocated, d_fulfilled in changes:
        acc = summed.setdefault(item_id, [0, 0])
        acc[0] += d_allocated
        acc[1] += d_fulfilled
    rows = [(k, a, f) for k, (a, f) in sorted(summed.items()) if a or f]
    statuses: list[dict[str, Any]] = []
    for part in chunks(rows, 1000):
        v = rows_source(session, "v", _COLUMNS, part)
        allocated = I.quantity_allocated + v.c.d_allocated
        fulfilled = I.quantity_fulfilled + v.c.d_fulfilled
        stmt = (
            update(ITEM)
            .values(quantity_allocated=allocated, quantity_fulfilled=fulfilled, version=I.version + 1)
            .where(
                I.id == v.c.id,
                allocated >= 0,
                fulfilled >= 0,
                I.quantity_ordered - I.quantity_canceled - allocated >= 0,
                fulfilled <= allocated,
                fulfilled - I.quantity_return_initiated >= 0,
            )
            .returning(I.id, I.status, I.quantity_ordered, I.quantity_canceled, I.quantity_allocated,
                       I.quantity_fulfilled, I.quantity_return_initiated, I.quantity_returned)
        )
        done = session.execute(stmt).all()
        if len(done) != len(part):
            raise ConcurrentChange(
                "the order's items were changed at the same time (e.g. cancelled); reload and try again",
            )
        for r in done:
            status = Buckets(r.quantity_ordered, r.quantity_canceled, r.quantity_allocated, r.quantity_fulfilled,
                             r.quantity_return_initiated, r.quantity_returned).status()
            if status != r.status:
                statuses.append({"s_id": r.id, "s_status": status})
    if statuses:
        session.execute(update(ITEM).where(I.id == bindparam("s_id")).values(status=bindparam("s_status")), statuses)


def touch_order(session: Session, order_id: uuid.UUID) -> None:
    """The order document changed (its items did): a new version."""
    session.execute(
        update(ORDER).where(ORDER.c.id == order_id).values(version=ORDER.c.version + 1, updated_at=clock.now())
    )


@dataclass(slots=True)
class _Record:
    id: uuid.UUID
    status: str


def set_order_status(session: Session, order_id: uuid.UUID, action: str, *, actor: str | None,
                     reason: str | None = None, data: dict[str, Any] | None = None) -> str:
    """Apply an order lifecycle action (history and event) and store the status conditionally."""
    before = session.execute(select(ORDER.c.status).where(ORDER.c.id == order_id)).scalar_one()
    record = _Record(order_id, before)
    after = apply(session, ORDER_LIFECYCLE, record, action, actor=actor, reason=reason, data=data)
    result = session.execute(
        update(ORDER)
        .where(ORDER.c.id == order_id, ORDER.c.status == before)
        .values(status=after, version=ORDER.c.version + 1, updated_at=clock.now())
    )
    if cast(CursorResult[Any], result).rowcount != 1:
        raise ConcurrentChange("the order was changed at the same time; try again")
    return after


def follow_shipments(session: Session, order_id: uuid.UUID, *, actor: str | None) -> str | None:
    """After a shipment: the order becomes partially fulfilled or fulfilled when its items say so."""
    status = session.execute(select(ORDER.c.status).where(ORDER.c.id == order_id)).scalar_one()
    items = [
        ItemProgress(r.quantity_ordered, r.quantity_canceled, r.quantity_fulfilled)
        for r in session.execute(
            select(I.quantity_ordered, I.quantity_canceled, I.quantity_fulfilled).where(
                I.order_summary_id == order_id, I.type == "product"
            )
        )
    ]
    action = order_action(status, items, ORDER_LIFECYCLE.actions_from(status))
    if action is None:
        return None
    return set_order_status(session, order_id, action, actor=actor)
