"""Writing change orders: the change order, its items, its own adjustment and tax lines, and an
`order_item_summary_change` row per item and fulfilment stage."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, insert
from sqlalchemy.orm import Session

from ordino.kernel import clock
from ordino.kernel.ids import new_id
from ordino.kernel.numbering import CHANGE_ORDER, next_number
from ordino.orders.models import (
    ChangeOrder,
    ChangeOrderItem,
    OrderItemAdjustmentLine,
    OrderItemSummaryChange,
    OrderItemTaxLine,
)
from ordino.servicing import domain

CO = cast(Table, ChangeOrder.__table__)
CO_ITEM = cast(Table, ChangeOrderItem.__table__)
CHANGE = cast(Table, OrderItemSummaryChange.__table__)
ADJ = cast(Table, OrderItemAdjustmentLine.__table__)
TAX = cast(Table, OrderItemTaxLine.__table__)


@dataclass(frozen=True, slots=True)
class Written:
    id: uuid.UUID
    number: str
    grand_total: int


def write_change_order(
    session: Session, order: Any, kind: str, reason: str, changes: Sequence[domain.ItemChange],
    stages: dict[object, list[tuple[str, int]]], actor: str, *, own_lines: bool = True,
) -> Written:
    """One change order with its items; `stages` gives an item's units per fulfilment stage when
    they are not all in the change's own stage. Without `own_lines` the changes' adjustment and tax
    lines are not written (items the change order adds carry them as their own original lines)."""
    now = clock.now()
    co_id = new_id()
    number = next_number(session, CHANGE_ORDER, now)
    t = domain.totals(changes, prices_include_tax=bool(order.prices_include_tax))
    session.execute(insert(CO), [{
        "id": co_id, "order_summary_id": order.id, "number": number, "kind": kind, "status": "submitted",
        "reason": reason, "total_product_amount": t.product, "total_adjustment_amount": t.adjustment,
        "total_delivery_amount": t.delivery, "total_tax_amount": t.tax, "grand_total_amount": t.grand_total,
        "created_by": actor, "created_at": now,
    }])
    items: list[dict[str, Any]] = []
    adjustments: list[dict[str, Any]] = []
    taxes: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    for c in changes:
        item_id = cast(uuid.UUID, c.item.id)
        ci_id = new_id()
        items.append({"id": ci_id, "change_order_id": co_id, "order_item_summary_id": item_id,
                      "quantity": c.quantity, "line_amount": c.line_amount,
                      "adjustment_amount": c.adjustment_amount, "tax_amount": c.tax_amount})
        if not own_lines:
            c = domain.ItemChange(c.item, c.stage, c.quantity, c.line_amount)  # amounts kept in the item row above
        adj_ids = [new_id() for _ in c.adjustments]
        adjustments += [
            {"id": a_id, "order_item_summary_id": item_id, "change_order_id": co_id, "name": a.name,
             "source": a.source, "reference": a.reference, "amount": a.amount}
            for a_id, a in zip(adj_ids, c.adjustments, strict=True) if a.amount or a.reference == domain.APPEASEMENT
        ]
        written = {row["id"] for row in adjustments}
        taxes += [
            {"id": new_id(), "order_item_summary_id": item_id,
             "adjustment_line_id": adj_ids[x.of_adjustment] if x.of_adjustment is not None
             and adj_ids[x.of_adjustment] in written else None,
             "change_order_id": co_id, "name": x.source.name, "rate": x.source.rate, "amount": x.amount,
             "taxable_amount": x.taxable_amount, "jurisdiction": x.source.jurisdiction,
             "category": x.source.category, "exemption_reason_code": x.source.exemption_reason_code}
            for x in c.taxes if x.amount
        ]
        for stage, units in stages.get(c.item.id, [(c.stage, c.quantity)]):
            rows.append({"id": new_id(), "order_summary_id": order.id, "order_item_summary_id": item_id,
                         "change_order_item_id": ci_id, "change_type": kind, "stage": stage, "reason": reason,
                         "quantity": units, "created_at": now})
    for table, values in ((CO_ITEM, items), (ADJ, adjustments), (TAX, taxes), (CHANGE, rows)):
        if values:
            session.execute(insert(table), values)
    return Written(co_id, number, t.grand_total)
