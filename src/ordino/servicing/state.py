"""Reading an order's items as servicing sees them (`domain.Item`): buckets, original amounts,
what invoices billed of them, and what change orders took off so far."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Table, func, select
from sqlalchemy.orm import Session

from ordino.inventory.stock import chunks
from ordino.invoicing.invoices import invoiced_so_far
from ordino.orders.domain import ADDING_KINDS
from ordino.orders.models import (
    ChangeOrder,
    ChangeOrderItem,
    OrderItemAdjustmentLine,
    OrderItemSummary,
    OrderItemTaxLine,
    OrderSummary,
)
from ordino.servicing.domain import APPEASEMENT, Adjustment, Item, Tax

ORDER = cast(Table, OrderSummary.__table__)
ITEM = cast(Table, OrderItemSummary.__table__)
ADJ = cast(Table, OrderItemAdjustmentLine.__table__)
TAX = cast(Table, OrderItemTaxLine.__table__)
CO_ITEM = cast(Table, ChangeOrderItem.__table__)
CO = cast(Table, ChangeOrder.__table__)


def _tax(t: Any, invoiced: int = 0) -> Tax:
    return Tax(t.id, t.name, t.rate, t.category, t.jurisdiction, t.exemption_reason_code, int(t.amount), invoiced,
               t.taxable_amount, t.adjustment_line_id)


def items_of(session: Session, order_id: uuid.UUID, *, line_numbers: Sequence[int] | None = None,
             types: Sequence[str] | None = None, lock: bool = False) -> list[Item]:
    """The order's items (those with `line_numbers`, or of `types`), by line number."""
    stmt = select(*ITEM.c).where(ITEM.c.order_summary_id == order_id).order_by(ITEM.c.line_number)
    if types is not None:
        stmt = stmt.where(ITEM.c.type.in_(types))
    rows: list[Any] = []
    if line_numbers is None:
        rows = list(session.execute(stmt.with_for_update() if lock else stmt).all())
    else:
        for part in chunks(sorted(set(line_numbers)), 1000):
            s = stmt.where(ITEM.c.line_number.in_(part))
            rows += session.execute(s.with_for_update() if lock else s).all()
    return _assemble(session, rows)


def _assemble(session: Session, rows: list[Any]) -> list[Item]:
    ids = [r.id for r in rows]
    adjustments: dict[uuid.UUID, list[Any]] = defaultdict(list)
    taxes: dict[uuid.UUID, list[Any]] = defaultdict(list)
    changed: dict[uuid.UUID, int] = {}
    per_item: dict[uuid.UUID, tuple[int, int]] = {}
    per_adj: dict[uuid.UUID, int] = {}
    per_tax: dict[uuid.UUID, int] = {}
    for part in chunks(ids, 1000):
        for a in session.execute(select(*ADJ.c).where(ADJ.c.order_item_summary_id.in_(part)).order_by(ADJ.c.id)):
            adjustments[a.order_item_summary_id].append(a)
        for t in session.execute(select(*TAX.c).where(TAX.c.order_item_summary_id.in_(part)).order_by(TAX.c.id)):
            taxes[t.order_item_summary_id].append(t)
        changed.update(
            (r[0], int(r[1])) for r in session.execute(
                select(CO_ITEM.c.order_item_summary_id, func.sum(CO_ITEM.c.line_amount + CO_ITEM.c.adjustment_amount))
                .join(CO, CO.c.id == CO_ITEM.c.change_order_id)
                .where(CO_ITEM.c.order_item_summary_id.in_(part), CO.c.kind.not_in(ADDING_KINDS))
                .group_by(CO_ITEM.c.order_item_summary_id)
            )
        )
        units, adj, tax = invoiced_so_far(session, part)
        per_item.update(units)
        per_adj.update(adj)
        per_tax.update(tax)
    out = []
    for r in rows:
        own = adjustments[r.id]
        appeasement_ids = {a.id for a in own if a.change_order_id is not None and a.reference == APPEASEMENT}
        invoiced_units, invoiced_line = per_item.get(r.id, (0, 0))
        out.append(Item(
            r.id, r.line_number, r.type, r.sku, r.name, r.unit_price, r.quantity_ordered, r.quantity_canceled,
            r.quantity_allocated, r.quantity_fulfilled, r.quantity_return_initiated, r.quantity_returned,
            int(r.line_amount),
            tuple(Adjustment(a.id, a.name, a.source, a.reference, int(a.amount), per_adj.get(a.id, 0))
                  for a in own if a.change_order_id is None),
            tuple(_tax(t, per_tax.get(t.id, 0)) for t in taxes[r.id] if t.change_order_id is None),
            invoiced_units, invoiced_line,
            tuple(Adjustment(a.id, a.name, a.source, a.reference, int(a.amount)) for a in own
                  if a.id in appeasement_ids),
            tuple(_tax(t) for t in taxes[r.id] if t.adjustment_line_id in appeasement_ids),
            changed.get(r.id, 0),
        ))
    return out
