"""Credit memos: one per set of change orders of an order, never two for one change order.

Change orders carry the change as deltas in the order's sign (a cancel, a return or an
appeasement takes amounts off: negative); a credit memo line is the change order item negated,
so credit memos have positive amounts, as EN 16931 credit notes do. Tax and adjustment lines come
from the change order's own lines for the item; where it has none, the item's tax (or adjustment)
delta is spread over the order item's original lines in proportion to their amounts.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Table, insert, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ordino.invoicing import domain
from ordino.invoicing.errors import NotCreditable
from ordino.invoicing.invoices import ADJ, ITEM, TAX
from ordino.invoicing.models import (
    CreditMemo,
    CreditMemoChangeOrder,
    CreditMemoLine,
    CreditMemoLineAdjustment,
    CreditMemoLineTax,
)
from ordino.kernel import clock
from ordino.kernel.errors import FieldError, ValidationFailed
from ordino.kernel.ids import new_id, parse_id
from ordino.kernel.money import MAX_MINOR, allocate_minor, format_minor
from ordino.kernel.numbering import CREDIT_MEMO, next_number
from ordino.kernel.outbox import emit
from ordino.kernel.statemachine import StatusHistory, initial_history
from ordino.orders.models import ChangeOrder, ChangeOrderItem

CM = cast(Table, CreditMemo.__table__)
CM_CO = cast(Table, CreditMemoChangeOrder.__table__)
CM_LINE = cast(Table, CreditMemoLine.__table__)
CM_ADJ = cast(Table, CreditMemoLineAdjustment.__table__)
CM_TAX = cast(Table, CreditMemoLineTax.__table__)
CO = cast(Table, ChangeOrder.__table__)
CO_ITEM = cast(Table, ChangeOrderItem.__table__)
# Cancelled units were never shipped, so never invoiced: their credit is of money never charged
# unless it was captured ahead of shipment.
UNINVOICED_KINDS = ("cancel",)


def _change_orders(session: Session, order_id: uuid.UUID, refs: Sequence[str]) -> list[Any]:
    errors: list[FieldError] = []
    found: list[Any] = []
    seen: set[uuid.UUID] = set()
    for i, ref in enumerate(refs):
        field = f"change_orders[{i}]"
        ident = parse_id(ref)
        where = or_(CO.c.id == ident, CO.c.number == ref) if ident else CO.c.number == ref
        row = session.execute(select(*CO.c).where(where, CO.c.order_summary_id == order_id).limit(1)).first()
        if row is None:
            errors.append(FieldError(field, f"no change order '{ref}' on this order"))
        elif row.id in seen:
            errors.append(FieldError(field, "is named twice"))
        else:
            seen.add(row.id)
            found.append((field, row))
    if errors:
        raise ValidationFailed(errors)
    credited = set(session.execute(
        select(CM_CO.c.change_order_id).where(CM_CO.c.change_order_id.in_(seen))
    ).scalars())
    conflicts = [FieldError(f, f"change order {r.number} has a credit memo already")
                 for f, r in found if r.id in credited]
    conflicts += [FieldError(f, f"change order {r.number} takes nothing off the order ({r.kind})")
                  for f, r in found if r.id not in credited and r.grand_total_amount >= 0]
    if conflicts:
        raise NotCreditable(conflicts[0].message if len(conflicts) == 1 else "the change orders cannot be credited",
                            conflicts)
    return [r for _, r in found]


def _spread(total: int, originals: list[Any], name: str) -> list[dict[str, Any]]:
    """A delta spread over the item's original lines by their amounts (or one plain line)."""
    weights = [abs(int(o.amount)) for o in originals]
    if not total:
        return []
    if not originals or not any(weights):
        return [{"source_id": None, "name": name, "amount": total, "line": None}]
    return [{"source_id": o.id, "name": o.name, "amount": part, "line": o}
            for o, part in zip(originals, allocate_minor(total, weights), strict=True)]


def create_credit_memo(
    session: Session, order: Any, change_order_refs: Sequence[str], actor: str | None
) -> uuid.UUID:
    """A credit memo for the change orders (the order row is locked by the caller)."""
    if not change_order_refs:
        raise ValidationFailed([FieldError("change_orders", "name at least one change order")])
    change_orders = _change_orders(session, order.id, change_order_refs)
    co_ids = [c.id for c in change_orders]
    co_items = session.execute(
        select(*CO_ITEM.c).where(CO_ITEM.c.change_order_id.in_(co_ids))
        .order_by(CO_ITEM.c.change_order_id, CO_ITEM.c.id)
    ).all()
    item_ids = list({ci.order_item_summary_id for ci in co_items})
    items = {i.id: i for i in session.execute(select(*ITEM.c).where(ITEM.c.id.in_(item_ids)))}
    taxes: dict[tuple[Any, Any], list[Any]] = defaultdict(list)
    adjustments: dict[tuple[Any, Any], list[Any]] = defaultdict(list)
    for tax in session.execute(select(*TAX.c).where(TAX.c.order_item_summary_id.in_(item_ids)).order_by(TAX.c.id)):
        taxes[(tax.change_order_id, tax.order_item_summary_id)].append(tax)
    for adj in session.execute(select(*ADJ.c).where(ADJ.c.order_item_summary_id.in_(item_ids)).order_by(ADJ.c.id)):
        adjustments[(adj.change_order_id, adj.order_item_summary_id)].append(adj)
    per_item_count: dict[tuple[uuid.UUID, uuid.UUID], int] = defaultdict(int)
    for ci in co_items:
        per_item_count[(ci.change_order_id, ci.order_item_summary_id)] += 1
    kinds = {c.id: c.kind for c in change_orders}
    gross = bool(order.prices_include_tax)

    credit_id = new_id()
    now = clock.now()
    lines, line_taxes, line_adjustments = [], [], []
    for number, ci in enumerate(co_items, start=1):
        item = items[ci.order_item_summary_id]
        key = (ci.change_order_id, ci.order_item_summary_id)
        own = per_item_count[key] == 1  # the change order's own lines belong to this item alone
        tax_total, adj_total = -int(ci.tax_amount), -int(ci.adjustment_amount)
        own_taxes = taxes[key] if own and sum(-t.amount for t in taxes[key]) == tax_total else []
        own_adjs = adjustments[key] if own and sum(-a.amount for a in adjustments[key]) == adj_total else []
        tax_rows = ([{"source_id": t.id, "name": t.name, "amount": -int(t.amount), "line": t} for t in own_taxes]
                    or _spread(tax_total, taxes[(None, item.id)], "Tax"))
        adj_rows = ([{"source_id": a.id, "name": a.name, "amount": -int(a.amount), "line": a} for a in own_adjs]
                    or _spread(adj_total, adjustments[(None, item.id)], "Adjustment"))
        line_amount = -int(ci.line_amount)
        net = line_amount + adj_total - (tax_total if gross else 0)
        line_id = new_id()
        lines.append({
            "id": line_id, "credit_memo_id": credit_id, "line_number": number, "change_order_id": ci.change_order_id,
            "change_order_item_id": ci.id, "order_item_summary_id": item.id, "type": item.type, "sku": item.sku,
            "name": item.name, "quantity": abs(int(ci.quantity)), "unit_price": item.unit_price,
            "line_amount": line_amount, "adjustment_amount": adj_total, "tax_amount": tax_total, "net_amount": net,
            "invoiced": kinds[ci.change_order_id] not in UNINVOICED_KINDS,
        })
        for t in tax_rows:
            src = t["line"]
            line_taxes.append({
                "id": new_id(), "credit_memo_line_id": line_id, "tax_line_id": t["source_id"], "name": t["name"],
                "rate": src.rate if src is not None else None, "category": src.category if src is not None else None,
                "jurisdiction": src.jurisdiction if src is not None else None,
                "exemption_reason_code": domain.exemption_reason(
                    src.category if src is not None else None,
                    getattr(src, "exemption_reason_code", None) if src is not None else None),
                "taxable_amount": net, "amount": t["amount"],
            })
        for a in adj_rows:
            src = a["line"]
            line_adjustments.append({
                "id": new_id(), "credit_memo_line_id": line_id, "adjustment_line_id": a["source_id"],
                "name": a["name"], "reference": src.reference if src is not None else None, "amount": a["amount"],
            })
    net_total = sum(ln["net_amount"] for ln in lines)
    tax_total_all = sum(ln["tax_amount"] for ln in lines)
    total = net_total + tax_total_all
    if total <= 0:
        raise NotCreditable("the change orders credit nothing", [FieldError("change_orders", "credit nothing")])
    if max(abs(net_total), abs(tax_total_all), total) > MAX_MINOR:
        raise ValidationFailed([FieldError("change_orders", "the credit is larger than Ordino can store")])
    session.execute(insert(CM), [{
        "id": credit_id, "number": next_number(session, CREDIT_MEMO, now),
        "status": domain.CREDIT_MEMO_LIFECYCLE.initial,
        "order_summary_id": order.id, "account_id": order.account_id, "currency": order.currency,
        "prices_include_tax": gross, "issued_at": now, "credit_memo_date": now.date(), "net_amount": net_total,
        "tax_amount": tax_total_all, "total_amount": total, "refunded_amount": 0, "not_charged_amount": 0,
        "balance_amount": total, "version": 1, "created_by": actor, "created_at": now, "updated_at": now,
    }])
    try:
        with session.begin_nested():
            session.execute(insert(CM_CO), [{"change_order_id": c, "credit_memo_id": credit_id} for c in co_ids])
    except IntegrityError:  # a concurrent credit memo took one of them first
        raise NotCreditable("a change order was credited at the same time",
                            [FieldError("change_orders", "credited already")]) from None
    session.execute(insert(CM_LINE), lines)
    if line_taxes:
        session.execute(insert(CM_TAX), line_taxes)
    if line_adjustments:
        session.execute(insert(CM_ADJ), line_adjustments)
    session.execute(insert(StatusHistory),
                    [initial_history(domain.CREDIT_MEMO_LIFECYCLE, credit_id, actor=actor, at=now)])
    emit(session, "credit_memo.created", f"credit_memo/{credit_id}", {
        "id": str(credit_id), "order_id": str(order.id), "account_id": str(order.account_id),
        "change_orders": [str(c) for c in co_ids], "currency": order.currency,
        "total": format_minor(total, order.currency),
    })
    return credit_id
