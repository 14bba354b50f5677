"""Writing prepared orders (`intake.prepare`): their numbers, rows, review, stock and events.

Orders placed together (`intake.place_orders`, a batch of `POST /orders`) are written with one
statement per table: one takes every number, one inserts every header, one every delivery group,
one every item, and so on, and one appends every event. Then, order by order, the approval
rules review each and its stock is reserved (stock last: position rows stay locked from there
to COMMIT). An order whose (channel, external_reference) another order took first (a concurrent
request, or an earlier order of the batch) is answered with that order, as it would be alone; it
writes nothing, and takes no coupon use: coupons are counted only for the orders written.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, bindparam, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from ordino.inventory import sourcing
from ordino.kernel.auth import Principal
from ordino.kernel.numbering import ORDER, next_numbers
from ordino.kernel.outbox import emit_many, event_row
from ordino.kernel.statemachine import StatusHistory, initial_history
from ordino.orders import domain
from ordino.orders.approvals.service import review_new_order
from ordino.orders.models import (
    OrderDeliveryGroupSummary,
    OrderItemAdjustmentLine,
    OrderItemSummary,
    OrderItemTaxLine,
    OrderSummary,
)
from ordino.orders.reads import load_order
from ordino.orders.serialize import order_document
from ordino.pricing import service as pricing


@dataclass(frozen=True, slots=True)
class Placed:
    created: bool  # False when (channel, external_reference) named an existing order
    document: dict[str, Any]


@dataclass(slots=True)
class Prepared:
    """An order validated, priced and taxed, its rows built and not written yet."""

    header: dict[str, Any]
    groups: list[dict[str, Any]]
    items: list[dict[str, Any]]
    adjustments: list[dict[str, Any]]
    taxes: list[dict[str, Any]]
    demands: list[sourcing.Demand]
    principal: Principal
    account_number: str
    channel_code: str
    coupons: tuple[str, ...]  # applied by the price books; their uses are counted once it is written


def existing_id(session: Session, channel_id: uuid.UUID, external_reference: str) -> uuid.UUID | None:
    found = session.execute(_FIND_EXISTING, {"channel_id": channel_id, "reference": external_reference})
    return found.scalar_one_or_none()


def record(
    session: Session, orders: Sequence[Prepared | Placed], sourcings: Mapping[str, sourcing.Sourcing] | None = None
) -> list[Placed]:
    """Write the prepared orders (those already placed stay as they are), in the order given.
    `sourcings`: the sourcing of channels the caller has read already."""
    fresh = [o for o in orders if isinstance(o, Prepared)]
    if not fresh:
        return [cast(Placed, o) for o in orders]
    now = fresh[0].header["created_at"]
    for order, number in zip(fresh, next_numbers(session, ORDER, len(fresh), now), strict=True):
        order.header["number"] = number
    written = _insert_headers(session, [o.header for o in fresh])
    new = [o for o in fresh if o.header["id"] in written]
    for o in new:  # only an order that is written takes its coupons' uses
        pricing.consume_coupons(session, o.coupons)
    if new:
        session.execute(_INSERT_GROUPS, [g for o in new for g in o.groups])
        session.execute(_INSERT_ITEMS, [i for o in new for i in o.items])
        adjustments = [{**a, "change_order_id": None} for o in new for a in o.adjustments]
        if adjustments:
            session.execute(_INSERT_ADJUSTMENTS, adjustments)
        taxes = [{**x, "adjustment_line_id": None, "change_order_id": None} for o in new for x in o.taxes]
        if taxes:
            session.execute(_INSERT_TAXES, taxes)
        session.execute(_INSERT_HISTORY, [
            initial_history(domain.ORDER_LIFECYCLE, o.header["id"], actor=o.principal.actor, at=o.header["created_at"])
            for o in new
        ])
    for n, o in enumerate(new):  # the approval rules may hold it; the batch's later orders do not count
        later = [p.header["id"] for p in new[n + 1:]]
        o.header["status"] = review_new_order(session, o.header, o.items, o.principal, later=later)
    by_channel = dict(sourcings or {})
    for o in new:
        if o.channel_code not in by_channel:
            by_channel[o.channel_code] = sourcing.sourcing_for(session, o.channel_code)
        # Stock last: position rows stay locked from here to commit, so keep that stretch short.
        sourcing.reserve_items(
            session, by_channel[o.channel_code], o.demands, o.header["created_at"], account_id=o.header["account_id"]
        )
    documents = {
        o.header["id"]: order_document(o.header, o.groups, o.items, o.adjustments, o.taxes, o.account_number,
                                       o.channel_code)
        for o in new
    }
    emit_many(session, [_created_event(o, documents[o.header["id"]]) for o in new])
    out: list[Placed] = []
    for entry in orders:
        if isinstance(entry, Placed):
            out.append(entry)
        elif entry.header["id"] in written:
            out.append(Placed(True, documents[entry.header["id"]]))
        else:  # another order placed the same (channel, external_reference) first
            found = existing_id(session, entry.header["channel_id"], entry.header["external_reference"])
            assert found is not None
            out.append(Placed(False, load_order(session, found, entry.principal)))
    return out


def _created_event(o: Prepared, document: dict[str, Any]) -> dict[str, Any]:
    header = o.header
    return event_row("order.created", f"order/{header['id']}", {
        "id": str(header["id"]),
        "number": header["number"],
        "status": header["status"],
        "account": o.account_number,
        "account_id": str(header["account_id"]),
        "payments": header["payment_instructions"],
        "channel": o.channel_code,
        "currency": header["currency"],
        "grand_total": document["totals"]["grand_total"],
    })


def _insert_headers(session: Session, headers: list[dict[str, Any]]) -> set[uuid.UUID]:
    """Insert the order rows whose (channel, external_reference) is free; the ids inserted."""
    stmt = _INSERT_HEADER[session.get_bind().dialect.name]
    if len(headers) == 1:
        return {headers[0]["id"]} if session.execute(stmt, headers[0]).first() is not None else set()
    return {row[0] for row in session.execute(stmt, headers)}


# Built once: building and hashing statements cost more than running them. Rows are written with
# Core inserts of the tables (executemany), not the ORM's bulk path.
def _table(model: Any) -> Table:
    return cast(Table, model.__table__)


_ORDER = _table(OrderSummary)
_FIND_EXISTING = select(_ORDER.c.id).where(
    _ORDER.c.channel_id == bindparam("channel_id"), _ORDER.c.external_reference == bindparam("reference")
)
_INSERT_HEADER = {
    name: ins(_ORDER)
    .on_conflict_do_nothing(index_elements=["channel_id", "external_reference"])
    .returning(_ORDER.c.id)
    for name, ins in (("postgresql", pg_insert), ("sqlite", sqlite_insert))
}
_INSERT_GROUPS = _table(OrderDeliveryGroupSummary).insert()
_INSERT_ITEMS = _table(OrderItemSummary).insert()
_INSERT_ADJUSTMENTS = _table(OrderItemAdjustmentLine).insert()
_INSERT_TAXES = _table(OrderItemTaxLine).insert()
_INSERT_HISTORY = _table(StatusHistory).insert()
