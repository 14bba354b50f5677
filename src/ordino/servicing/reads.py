"""The change orders of an order, as the API shows them."""

from __future__ import annotations

from collections import defaultdict
from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from ordino.invoicing.credit_memos import CM, CM_CO
from ordino.kernel.auth import Principal
from ordino.kernel.money import format_minor
from ordino.orders.models import OrderItemSummaryChange
from ordino.servicing.service import TOTALS, find_order
from ordino.servicing.state import ITEM
from ordino.servicing.writing import CO, CO_ITEM

CHANGE = cast(Table, OrderItemSummaryChange.__table__)


def change_orders(session: Session, ref: str, principal: Principal) -> dict[str, Any]:
    order = find_order(session, ref, principal, lock=False)
    cur = order.currency
    cos = session.execute(
        select(*CO.c, CM.c.number.label("credit_memo"))
        .outerjoin(CM_CO, CM_CO.c.change_order_id == CO.c.id).outerjoin(CM, CM.c.id == CM_CO.c.credit_memo_id)
        .where(CO.c.order_summary_id == order.id).order_by(CO.c.created_at, CO.c.number)
    ).all()
    items: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    rows = session.execute(
        select(CO_ITEM, ITEM.c.line_number, ITEM.c.type, ITEM.c.sku, CHANGE.c.stage, CHANGE.c.quantity.label("units"))
        .join(ITEM, ITEM.c.id == CO_ITEM.c.order_item_summary_id)
        .join(CHANGE, CHANGE.c.change_order_item_id == CO_ITEM.c.id)
        .join(CO, CO.c.id == CO_ITEM.c.change_order_id)
        .where(CO.c.order_summary_id == order.id).order_by(ITEM.c.line_number, CHANGE.c.id)
    ).all()
    gross = bool(order.prices_include_tax)
    seen = set()
    for r in rows:
        if r.id in seen:  # one item split over two stages: shown once, at its first stage
            continue
        seen.add(r.id)
        net = r.line_amount + r.adjustment_amount
        items[r.change_order_id].append({
            "order_item_id": str(r.order_item_summary_id), "line_number": r.line_number, "type": r.type,
            "sku": r.sku, "quantity": r.quantity, "stage": r.stage,
            "line_amount": format_minor(r.line_amount, cur),
            "adjustment_amount": format_minor(r.adjustment_amount, cur),
            "tax_amount": format_minor(r.tax_amount, cur),
            "total": format_minor(net if gross else net + r.tax_amount, cur),
        })
    return {
        "order": order.number, "currency": cur,
        "items": [{
            "id": str(c.id), "number": c.number, "kind": c.kind, "reason": c.reason, "credit_memo": c.credit_memo,
            "created_at": c.created_at, "items": items[c.id],
            "totals": {k: format_minor(getattr(c, f"{k}_amount" if k == "grand_total" else f"total_{k}_amount"), cur)
                       for k in TOTALS},
        } for c in cos],
    }
