"""Credit memos: one per set of change orders of an order, never two for one change order.

A credit memo line is the change order item negated (`domain.credit_line`). Tax and adjustment
lines come from the change order's own lines for the item; where it has none, the item's tax (or
adjustment) delta is spread over the order item's original lines in proportion to their amounts
(`domain.credited_parts`).
"""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Table, insert, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ordino.invoicing import domain
from ordino.invoicing.errors import NotCreditable
from ordino.invoicing.invoices import ADJ, ITEM, TAX, account_billing
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
from ordino.kernel.money import format_minor
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
    # a return fee is a charge: credited only with change orders that take more off than it adds
    takes_off = sum(r.grand_total_amount for _, r in found) < 0
    conflicts += [FieldError(f, f"change order {r.number} takes nothing off the order ({r.kind})")
                  for f, r in found if r.id not in credited and r.grand_total_amount >= 0
                  and not (r.kind == "return_fee" and takes_off)]
    if conflicts:
        raise NotCreditable(conflicts[0].message if len(conflicts) == 1 else "the change orders cannot be credited",
                            conflicts)
    return [r for _, r in found]


@dataclass(frozen=True, slots=True)
class _Sources:
    """What the change order items credit: the order items, and their tax and adjustment lines
    keyed by (change order id or None for the order's own lines, order item id)."""

    items: dict[uuid.UUID, Any]
    taxes: dict[tuple[Any, Any], list[Any]]
    adjustments: dict[tuple[Any, Any], list[Any]]


def _read_sources(session: Session, co_items: Sequence[Any]) -> _Sources:
    item_ids = list({ci.order_item_summary_id for ci in co_items})
    items = {i.id: i for i in session.execute(select(*ITEM.c).where(ITEM.c.id.in_(item_ids)))}
    taxes: dict[tuple[Any, Any], list[Any]] = defaultdict(list)
    adjustments: dict[tuple[Any, Any], list[Any]] = defaultdict(list)
    for tax in session.execute(select(*TAX.c).where(TAX.c.order_item_summary_id.in_(item_ids)).order_by(TAX.c.id)):
        taxes[(tax.change_order_id, tax.order_item_summary_id)].append(tax)
    for adj in session.execute(select(*ADJ.c).where(ADJ.c.order_item_summary_id.in_(item_ids)).order_by(ADJ.c.id)):
        adjustments[(adj.change_order_id, adj.order_item_summary_id)].append(adj)
    return _Sources(items, taxes, adjustments)


@dataclass(slots=True)
class _Rows:
    lines: list[dict[str, Any]] = field(default_factory=list)
    taxes: list[dict[str, Any]] = field(default_factory=list)
    adjustments: list[dict[str, Any]] = field(default_factory=list)
    amounts: list[domain.CreditLine] = field(default_factory=list)


def _build_rows(
    credit_id: uuid.UUID, co_items: Sequence[Any], kinds: dict[uuid.UUID, str], sources: _Sources, *, gross: bool
) -> _Rows:
    """The credit memo's lines with their tax and adjustment lines, one line per change order item."""
    per_item = Counter((ci.change_order_id, ci.order_item_summary_id) for ci in co_items)
    rows = _Rows()
    for number, ci in enumerate(co_items, start=1):
        item = sources.items[ci.order_item_summary_id]
        key = (ci.change_order_id, ci.order_item_summary_id)
        shared = per_item[key] > 1  # the change order's own lines belong to this item alone, or not
        amounts = domain.credit_line(
            int(ci.line_amount), int(ci.adjustment_amount), int(ci.tax_amount), prices_include_tax=gross
        )
        taxes = domain.credited_parts(amounts.tax, [] if shared else sources.taxes[key],
                                      sources.taxes[(None, item.id)], "Tax")
        if not taxes:  # nothing taxed (exempt, reverse charge, export): the credit keeps the item's category
            taxes = [domain.CreditedPart(t, t.name, 0) for t in sources.taxes[(None, item.id)]]
        adjustments = domain.credited_parts(amounts.adjustment, [] if shared else sources.adjustments[key],
                                            sources.adjustments[(None, item.id)], "Adjustment")
        line_id = new_id()
        rows.amounts.append(amounts)
        rows.lines.append({
            "id": line_id, "credit_memo_id": credit_id, "line_number": number, "change_order_id": ci.change_order_id,
            "change_order_item_id": ci.id, "order_item_summary_id": item.id, "type": item.type, "sku": item.sku,
            "name": _fee_name(sources, key) if kinds[ci.change_order_id] == "return_fee" else item.name,
            "quantity": abs(int(ci.quantity)), "unit_price": item.unit_price,
            "line_amount": amounts.line, "adjustment_amount": amounts.adjustment, "tax_amount": amounts.tax,
            "net_amount": amounts.net, "invoiced": kinds[ci.change_order_id] not in domain.UNINVOICED_KINDS,
        })
        rows.taxes.extend(_tax_row(line_id, t, amounts.net) for t in taxes)
        rows.adjustments.extend(_adjustment_row(line_id, a) for a in adjustments)
    return rows


def _fee_name(sources: _Sources, key: tuple[Any, Any]) -> str:
    """A fee line is named after its charges (restocking fee, return shipping)."""
    return ", ".join(a.name for a in sources.adjustments[key])[:200] or "Fee"


def _adjustment_row(line_id: uuid.UUID, part: domain.CreditedPart[Any]) -> dict[str, Any]:
    src = part.source
    return {
        "id": new_id(), "credit_memo_line_id": line_id, "adjustment_line_id": src.id if src is not None else None,
        "name": part.name, "reference": src.reference if src is not None else None, "amount": part.amount,
    }


def _tax_row(line_id: uuid.UUID, part: domain.CreditedPart[Any], taxable: int) -> dict[str, Any]:
    src = part.source
    category = src.category if src is not None else None
    return {
        "id": new_id(), "credit_memo_line_id": line_id, "tax_line_id": src.id if src is not None else None,
        "name": part.name, "rate": src.rate if src is not None else None, "category": category,
        "jurisdiction": src.jurisdiction if src is not None else None,
        "exemption_reason_code": domain.exemption_reason(
            category, getattr(src, "exemption_reason_code", None) if src is not None else None),
        "taxable_amount": taxable, "amount": part.amount,
    }


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
    sources = _read_sources(session, co_items)
    credit_id = new_id()
    gross = bool(order.prices_include_tax)
    rows = _build_rows(credit_id, co_items, {c.id: c.kind for c in change_orders}, sources, gross=gross)
    totals = domain.credit_totals(rows.amounts)
    if totals.credits_nothing:
        raise NotCreditable("the change orders credit nothing", [FieldError("change_orders", "credit nothing")])
    if not totals.storable:
        raise ValidationFailed([FieldError("change_orders", "the credit is larger than Ordino can store")])
    _write(session, order, credit_id, co_ids, rows, totals, actor)
    return credit_id


def _write(
    session: Session, order: Any, credit_id: uuid.UUID, co_ids: list[uuid.UUID], rows: _Rows,
    totals: domain.CreditTotals, actor: str | None,
) -> None:
    now = clock.now()
    session.execute(insert(CM), [{
        "id": credit_id, "number": next_number(session, CREDIT_MEMO, now),
        "status": domain.CREDIT_MEMO_LIFECYCLE.initial,
        "order_summary_id": order.id, "account_id": order.account_id, "currency": order.currency,
        "prices_include_tax": bool(order.prices_include_tax), "issued_at": now, "credit_memo_date": now.date(),
        "net_amount": totals.net, "tax_amount": totals.tax, "total_amount": totals.total, "refunded_amount": 0,
        "not_charged_amount": 0, "balance_amount": totals.total, "version": 1, "created_by": actor,
        "created_at": now, "updated_at": now,
    }])
    try:
        with session.begin_nested():
            session.execute(insert(CM_CO), [{"change_order_id": c, "credit_memo_id": credit_id} for c in co_ids])
    except IntegrityError:  # a concurrent credit memo took one of them first
        raise NotCreditable("a change order was credited at the same time",
                            [FieldError("change_orders", "credited already")]) from None
    session.execute(insert(CM_LINE), rows.lines)
    if rows.taxes:
        session.execute(insert(CM_TAX), rows.taxes)
    if rows.adjustments:
        session.execute(insert(CM_ADJ), rows.adjustments)
    session.execute(insert(StatusHistory),
                    [initial_history(domain.CREDIT_MEMO_LIFECYCLE, credit_id, actor=actor, at=now)])
    emit(session, "credit_memo.created", f"credit_memo/{credit_id}", {
        "id": str(credit_id), "order_id": str(order.id), "account_id": str(order.account_id),
        "change_orders": [str(c) for c in co_ids], "currency": order.currency,
        "total": format_minor(totals.total, order.currency),
        "document_format": account_billing(session, order.account_id).document_format,
    })
