"""The API documents of invoices, credit memos and remittances, and their lists.

A principal scoped to an account sees that account's documents only; any other answers 404.
Lists are newest first with a cursor; a page loads its lines, tax lines and applications with
one query per table, not one per document.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any, cast

from sqlalchemy import Select, Table, or_, select
from sqlalchemy.orm import Session

from ordino.accounts.models import Account
from ordino.invoicing import domain
from ordino.invoicing.credit_memos import CM, CM_ADJ, CM_CO, CM_LINE, CM_TAX, CO
from ordino.invoicing.invoices import APP, INV, LINE, LINE_ADJ, LINE_TAX, ORDER
from ordino.invoicing.refunds import REFUND_APP
from ordino.invoicing.remittances import REMITTANCE
from ordino.kernel.auth import Principal
from ordino.kernel.errors import NotFound
from ordino.kernel.http import page, paginate
from ordino.kernel.ids import parse_id
from ordino.kernel.money import format_minor, format_price

ACCOUNT = cast(Table, Account.__table__)
Doc = dict[str, Any]


def _ref(table: Table, ref: str) -> Any:
    ident = parse_id(ref)
    return or_(table.c.id == ident, table.c.number == ref) if ident else table.c.number == ref


def _numbers(session: Session, table: Table, ids: set[Any]) -> dict[Any, str]:
    if not ids:
        return {}
    return {r.id: r.number for r in session.execute(select(table.c.id, table.c.number).where(table.c.id.in_(ids)))}


def _money(currency: str) -> Callable[[int], str]:
    return lambda minor: format_minor(minor, currency)


def _tax_doc(t: Any, currency: str) -> Doc:
    return {
        "name": t.name, "rate": str(t.rate.normalize()) if t.rate is not None else None, "category": t.category,
        "jurisdiction": t.jurisdiction, "exemption_reason_code": t.exemption_reason_code,
        "taxable_amount": format_minor(t.taxable_amount, currency), "amount": format_minor(t.amount, currency),
    }


def _adjustment_doc(a: Any, currency: str) -> Doc:
    return {"name": a.name, "reference": a.reference, "amount": format_minor(a.amount, currency)}


def _line_doc(ln: Any, currency: str, adjustments: list[Any], taxes: list[Any]) -> Doc:
    money = _money(currency)
    return {
        "line_number": ln.line_number, "type": ln.type, "order_item_id": ln.order_item_summary_id, "sku": ln.sku,
        "name": ln.name, "quantity": ln.quantity, "unit_price": format_price(ln.unit_price, currency),
        "line_amount": money(ln.line_amount), "adjustment_amount": money(ln.adjustment_amount),
        "net_amount": money(ln.net_amount), "tax_amount": money(ln.tax_amount),
        "adjustments": [_adjustment_doc(a, currency) for a in adjustments],
        "tax_lines": [_tax_doc(t, currency) for t in taxes],
    }


def _children(session: Session, table: Table, column: str, ids: Sequence[Any]) -> dict[Any, list[Any]]:
    out: dict[Any, list[Any]] = defaultdict(list)
    if ids:
        for row in session.execute(select(*table.c).where(table.c[column].in_(ids)).order_by(table.c.id)):
            out[getattr(row, column)].append(row)
    return out


# ------------------------------------------------------------------------------------------------
# Invoices


def invoice_documents(session: Session, rows: Sequence[Any], *, details: bool) -> list[Doc]:
    orders = _numbers(session, ORDER, {r.order_summary_id for r in rows})
    accounts = _numbers(session, ACCOUNT, {r.account_id for r in rows})
    ids = [r.id for r in rows]
    lines = _children(session, LINE, "invoice_id", ids) if details else {}
    line_ids = [ln.id for group in lines.values() for ln in group]
    adjustments = _children(session, LINE_ADJ, "invoice_line_id", line_ids)
    taxes = _children(session, LINE_TAX, "invoice_line_id", line_ids)
    applications = _children(session, APP, "invoice_id", ids) if details else {}
    docs = []
    for r in rows:
        money = _money(r.currency)
        doc: Doc = {
            "id": r.id, "number": r.number, "kind": r.kind, "status": r.status,
            "order": {"id": r.order_summary_id, "number": orders.get(r.order_summary_id)},
            "account": {"id": r.account_id, "number": accounts.get(r.account_id)},
            "fulfillment_order_id": r.fulfillment_order_id, "shipment_id": r.shipment_id, "currency": r.currency,
            "prices_include_tax": r.prices_include_tax, "po_number": r.po_number, "description": r.description,
            "issued_at": r.issued_at, "invoice_date": r.invoice_date, "supply_date": r.supply_date,
            "payment_terms": r.payment_terms, "due_date": r.due_date,
            "totals": {"net": money(r.net_amount), "tax": money(r.tax_amount), "total": money(r.total_amount),
                       "applied": money(r.applied_amount), "balance": money(r.balance_amount)},
            "available_actions": [a for a in domain.INVOICE_LIFECYCLE.actions_from(r.status)
                                  if a == "cancel" and r.kind == "fee" and not r.applied_amount],
            "version": r.version, "created_at": r.created_at, "updated_at": r.updated_at,
        }
        if details:
            doc["lines"] = [_line_doc(ln, r.currency, adjustments[ln.id], taxes[ln.id])
                            for ln in sorted(lines[r.id], key=lambda x: x.line_number)]
            doc["applications"] = [
                {"id": a.id, "source": _source(a), "payment_id": a.payment_id, "remittance_id": a.remittance_id,
                 "credit_memo_id": a.credit_memo_id, "amount": money(a.amount), "status": a.status,
                 "created_at": a.created_at, "applied_at": a.applied_at}
                for a in applications[r.id]
            ]
        docs.append(doc)
    return docs


def _source(application: Any) -> str:
    if application.payment_id is not None:
        return "capture"
    return "remittance" if application.remittance_id is not None else "credit_memo"


def get_invoice(session: Session, ref: str, principal: Principal | None) -> Doc:
    row = session.execute(select(*INV.c).where(_ref(INV, ref)).limit(1)).first()
    if row is None or (principal is not None and not principal.sees_account(row.account_id)):
        raise NotFound("invoice not found")
    return invoice_documents(session, [row], details=True)[0]


def _filtered(session: Session, stmt: Select[Any], table: Table, principal: Principal, order: str | None,
              account: str | None, status: str | None) -> Select[Any] | None:
    """The list's filters; None when a filter names nothing, so the page is empty."""
    if principal.account_id is not None:
        stmt = stmt.where(table.c.account_id == principal.account_id)
    if order is not None:
        order_id = session.execute(select(ORDER.c.id).where(_ref(ORDER, order))).scalar_one_or_none()
        if order_id is None:
            return None
        stmt = stmt.where(table.c.order_summary_id == order_id)
    if account is not None:
        account_id = session.execute(select(ACCOUNT.c.id).where(_ref(ACCOUNT, account))).scalar_one_or_none()
        if account_id is None:
            return None
        stmt = stmt.where(table.c.account_id == account_id)
    if status is not None:
        stmt = stmt.where(table.c.status == status)
    return stmt


def list_invoices(session: Session, principal: Principal, *, order: str | None = None, account: str | None = None,
                  status: str | None = None, kind: str | None = None, limit: int = 50,
                  cursor: str | None = None) -> Doc:
    stmt = _filtered(session, select(*INV.c), INV, principal, order, account, status)
    if stmt is None:
        return page([], [], limit)
    if kind is not None:
        stmt = stmt.where(INV.c.kind == kind)
    rows = session.execute(paginate(stmt, INV.c.id, limit, cursor)).all()  # type: ignore[arg-type]
    return page(invoice_documents(session, rows, details=False), [r.id for r in rows], limit)


# ------------------------------------------------------------------------------------------------
# Credit memos


def credit_memo_documents(session: Session, rows: Sequence[Any], *, details: bool) -> list[Doc]:
    orders = _numbers(session, ORDER, {r.order_summary_id for r in rows})
    accounts = _numbers(session, ACCOUNT, {r.account_id for r in rows})
    ids = [r.id for r in rows]
    change_orders: dict[Any, list[Any]] = defaultdict(list)
    if ids:
        for c in session.execute(
            select(CM_CO.c.credit_memo_id, CO.c.id, CO.c.number, CO.c.kind)
            .join(CO, CO.c.id == CM_CO.c.change_order_id).where(CM_CO.c.credit_memo_id.in_(ids)).order_by(CO.c.id)
        ):
            change_orders[c.credit_memo_id].append(c)
    lines = _children(session, CM_LINE, "credit_memo_id", ids) if details else {}
    line_ids = [ln.id for group in lines.values() for ln in group]
    adjustments = _children(session, CM_ADJ, "credit_memo_line_id", line_ids)
    taxes = _children(session, CM_TAX, "credit_memo_line_id", line_ids)
    refunds = _children(session, REFUND_APP, "credit_memo_id", ids) if details else {}
    applied = _applied_credits(session, ids) if details else {}
    docs = []
    for r in rows:
        money = _money(r.currency)
        doc: Doc = {
            "id": r.id, "number": r.number, "status": r.status,
            "order": {"id": r.order_summary_id, "number": orders.get(r.order_summary_id)},
            "account": {"id": r.account_id, "number": accounts.get(r.account_id)},
            "change_orders": [{"id": c.id, "number": c.number, "kind": c.kind} for c in change_orders[r.id]],
            "currency": r.currency, "prices_include_tax": r.prices_include_tax, "issued_at": r.issued_at,
            "credit_memo_date": r.credit_memo_date,
            "totals": {"net": money(r.net_amount), "tax": money(r.tax_amount), "total": money(r.total_amount),
                       "refunded": money(r.refunded_amount), "not_charged": money(r.not_charged_amount),
                       "applied": money(r.applied_amount), "balance": money(r.balance_amount)},
            "version": r.version, "created_at": r.created_at, "updated_at": r.updated_at,
        }
        if details:
            doc["lines"] = [
                {**_line_doc(ln, r.currency, adjustments[ln.id], taxes[ln.id]),
                 "change_order_id": ln.change_order_id, "invoiced": ln.invoiced}
                for ln in sorted(lines[r.id], key=lambda x: x.line_number)
            ]
            doc["refunds"] = [
                {"id": a.id, "refund_id": a.refund_id, "capture_id": a.capture_id, "source": a.source,
                 "amount": money(a.amount), "status": a.status, "created_at": a.created_at,
                 "applied_at": a.applied_at}
                for a in refunds[r.id]
            ]
            doc["applications"] = [
                {"id": a.id, "invoice": {"id": a.invoice_id, "number": a.number}, "amount": money(a.amount),
                 "applied_at": a.applied_at}
                for a in applied[r.id]
            ]
        docs.append(doc)
    return docs


def _applied_credits(session: Session, ids: list[Any]) -> dict[Any, list[Any]]:
    """Per credit memo, its applications to invoices."""
    found: dict[Any, list[Any]] = defaultdict(list)
    if ids:
        for a in session.execute(
            select(APP.c.id, APP.c.credit_memo_id, APP.c.invoice_id, APP.c.amount, APP.c.applied_at, INV.c.number)
            .join(INV, INV.c.id == APP.c.invoice_id).where(APP.c.credit_memo_id.in_(ids)).order_by(APP.c.id)
        ):
            found[a.credit_memo_id].append(a)
    return found


def get_credit_memo(session: Session, ref: str, principal: Principal | None) -> Doc:
    row = session.execute(select(*CM.c).where(_ref(CM, ref)).limit(1)).first()
    if row is None or (principal is not None and not principal.sees_account(row.account_id)):
        raise NotFound("credit memo not found")
    return credit_memo_documents(session, [row], details=True)[0]


def list_credit_memos(session: Session, principal: Principal, *, order: str | None = None,
                      account: str | None = None, status: str | None = None, limit: int = 50,
                      cursor: str | None = None) -> Doc:
    stmt = _filtered(session, select(*CM.c), CM, principal, order, account, status)
    if stmt is None:
        return page([], [], limit)
    rows = session.execute(paginate(stmt, CM.c.id, limit, cursor)).all()  # type: ignore[arg-type]
    return page(credit_memo_documents(session, rows, details=False), [r.id for r in rows], limit)


# ------------------------------------------------------------------------------------------------
# Remittances


def remittance_documents(session: Session, rows: Sequence[Any]) -> list[Doc]:
    accounts = _numbers(session, ACCOUNT, {r.account_id for r in rows})
    ids = [r.id for r in rows]
    applied: dict[Any, list[Any]] = defaultdict(list)
    if ids:
        for a in session.execute(
            select(APP.c.remittance_id, APP.c.invoice_id, APP.c.amount, INV.c.number)
            .join(INV, INV.c.id == APP.c.invoice_id).where(APP.c.remittance_id.in_(ids)).order_by(APP.c.id)
        ):
            applied[a.remittance_id].append(a)
    return [{
        "id": r.id, "account": {"id": r.account_id, "number": accounts.get(r.account_id)}, "currency": r.currency,
        "amount": format_minor(r.amount, r.currency), "reference": r.reference, "received_on": r.received_on,
        "applications": [{"invoice": {"id": a.invoice_id, "number": a.number},
                          "amount": format_minor(a.amount, r.currency)} for a in applied[r.id]],
        "created_by": r.created_by, "created_at": r.created_at,
    } for r in rows]


def get_remittance(session: Session, remittance_id: uuid.UUID, principal: Principal | None) -> Doc:
    row = session.execute(select(*REMITTANCE.c).where(REMITTANCE.c.id == remittance_id)).first()
    if row is None or (principal is not None and not principal.sees_account(row.account_id)):
        raise NotFound("remittance not found")
    return remittance_documents(session, [row])[0]


def list_remittances(session: Session, principal: Principal, *, account: str | None = None, limit: int = 50,
                     cursor: str | None = None) -> Doc:
    stmt = select(*REMITTANCE.c)
    if principal.account_id is not None:
        stmt = stmt.where(REMITTANCE.c.account_id == principal.account_id)
    if account is not None:
        account_id = session.execute(select(ACCOUNT.c.id).where(_ref(ACCOUNT, account))).scalar_one_or_none()
        if account_id is None:
            return page([], [], limit)
        stmt = stmt.where(REMITTANCE.c.account_id == account_id)
    rows = session.execute(paginate(stmt, REMITTANCE.c.id, limit, cursor)).all()  # type: ignore[arg-type]
    return page(remittance_documents(session, rows), [r.id for r in rows], limit)


def order_refunds(session: Session, order_id: uuid.UUID) -> Doc:
    """What invoicing refunded on an order: per credit memo and of excess funds."""
    order = session.execute(select(ORDER.c.id, ORDER.c.number, ORDER.c.currency).where(ORDER.c.id == order_id)).one()
    rows = session.execute(
        select(*REFUND_APP.c).where(REFUND_APP.c.order_summary_id == order_id).order_by(REFUND_APP.c.id)
    ).all()
    money = _money(order.currency)
    memos = session.execute(select(*CM.c).where(CM.c.order_summary_id == order_id).order_by(CM.c.id)).all()
    return {
        "order": {"id": order.id, "number": order.number}, "currency": order.currency,
        "refunded": money(sum(r.amount for r in rows if r.status == "applied")),
        "pending": money(sum(r.amount for r in rows if r.status == "pending")),
        "credit_memos": credit_memo_documents(session, memos, details=False),
        "refunds": [
            {"id": r.id, "credit_memo_id": r.credit_memo_id, "refund_id": r.refund_id, "capture_id": r.capture_id,
             "source": r.source, "amount": money(r.amount), "status": r.status, "created_at": r.created_at}
            for r in rows
        ],
    }
