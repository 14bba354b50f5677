"""Invoices: one per shipment of a fulfilment order, and fee invoices; applying money to them.

A shipment invoice bills the shipped units of each order item with their share of the item's
amount, adjustments and tax lines (invoicing.domain.cumulative_share), and the delivery group's
shipping charge on the group's first invoice. The order row is locked first, so invoices of one
order are made one at a time and each sees what the others invoiced.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any, cast

from sqlalchemy import CursorResult, Table, func, insert, or_, select, update
from sqlalchemy.orm import Session

from ordino.accounts.models import Account
from ordino.invoicing import domain
from ordino.invoicing.errors import NegativeInvoice, NotCancellable, OverInvoiced
from ordino.invoicing.models import (
    Invoice,
    InvoiceLine,
    InvoiceLineAdjustment,
    InvoiceLineTax,
    PaymentApplication,
)
from ordino.kernel import clock
from ordino.kernel.errors import ConcurrentChange, FieldError, ValidationFailed
from ordino.kernel.ids import new_id, parse_id
from ordino.kernel.money import MAX_MINOR, allocate_minor, format_minor
from ordino.kernel.numbering import INVOICE, next_number
from ordino.kernel.outbox import emit
from ordino.kernel.statemachine import StatusHistory, apply, initial_history
from ordino.orders.models import OrderItemAdjustmentLine, OrderItemSummary, OrderItemTaxLine, OrderSummary

INV = cast(Table, Invoice.__table__)
LINE = cast(Table, InvoiceLine.__table__)
LINE_ADJ = cast(Table, InvoiceLineAdjustment.__table__)
LINE_TAX = cast(Table, InvoiceLineTax.__table__)
APP = cast(Table, PaymentApplication.__table__)
ORDER = cast(Table, OrderSummary.__table__)
ITEM = cast(Table, OrderItemSummary.__table__)
ADJ = cast(Table, OrderItemAdjustmentLine.__table__)
TAX = cast(Table, OrderItemTaxLine.__table__)


@dataclass(slots=True)
class _Record:  # what kernel.statemachine.apply needs of a record
    id: uuid.UUID
    status: str


def _rowcount(result: Any) -> int:
    return cast(CursorResult[Any], result).rowcount


def lock_order(session: Session, order_id: uuid.UUID) -> Any:
    return session.execute(select(*ORDER.c).where(ORDER.c.id == order_id).with_for_update()).first()


def find_order(session: Session, ref: str, account_id: uuid.UUID | None, field: str = "order") -> Any:
    """An order by id or number that the caller may see, locked; else 422 naming `field`."""
    ident = parse_id(ref)
    where = or_(ORDER.c.id == ident, ORDER.c.number == ref) if ident else ORDER.c.number == ref
    row = session.execute(select(ORDER.c.id, ORDER.c.account_id).where(where).limit(1)).first()
    if row is None or (account_id is not None and row.account_id != account_id):
        raise ValidationFailed([FieldError(field, f"no order '{ref}'")])
    return lock_order(session, row.id)


# ------------------------------------------------------------------------------------------------
# Building lines


@dataclass(slots=True)
class _Line:
    type: str
    order_item_summary_id: uuid.UUID | None
    sku: str | None
    name: str
    quantity: int
    unit_price: Decimal
    line_amount: int
    adjustments: list[dict[str, Any]] = field(default_factory=list)
    taxes: list[dict[str, Any]] = field(default_factory=list)

    @property
    def adjustment_amount(self) -> int:
        return sum(int(a["amount"]) for a in self.adjustments)

    @property
    def tax_amount(self) -> int:
        return sum(int(t["amount"]) for t in self.taxes)

    def net_amount(self, prices_include_tax: bool) -> int:
        gross = self.line_amount + self.adjustment_amount
        return gross - self.tax_amount if prices_include_tax else gross


def _tax_row(tax: Any, amount: int) -> dict[str, Any]:
    return {
        "tax_line_id": tax.id, "name": tax.name, "rate": tax.rate, "category": tax.category,
        "jurisdiction": tax.jurisdiction, "amount": amount,
        "exemption_reason_code": domain.exemption_reason(tax.category, getattr(tax, "exemption_reason_code", None)),
    }


def _invoiced_so_far(session: Session, item_ids: Sequence[uuid.UUID]) -> tuple[
    dict[uuid.UUID, tuple[int, int]], dict[uuid.UUID, int], dict[uuid.UUID, int]
]:
    """Per item (units, line amount) invoiced, and amounts invoiced per adjustment and tax line,
    over the invoices that are not cancelled."""
    live = INV.c.status != "cancelled"
    per_item = {
        r.order_item_summary_id: (int(r.units), int(r.amount))
        for r in session.execute(
            select(LINE.c.order_item_summary_id, func.sum(LINE.c.quantity).label("units"),
                   func.sum(LINE.c.line_amount).label("amount"))
            .join(INV, INV.c.id == LINE.c.invoice_id)
            .where(LINE.c.order_item_summary_id.in_(item_ids), live)
            .group_by(LINE.c.order_item_summary_id)
        )
    }
    per_adjustment = {
        r.adjustment_line_id: int(r.amount)
        for r in session.execute(
            select(LINE_ADJ.c.adjustment_line_id, func.sum(LINE_ADJ.c.amount).label("amount"))
            .join(LINE, LINE.c.id == LINE_ADJ.c.invoice_line_id).join(INV, INV.c.id == LINE.c.invoice_id)
            .where(LINE.c.order_item_summary_id.in_(item_ids), LINE_ADJ.c.adjustment_line_id.is_not(None), live)
            .group_by(LINE_ADJ.c.adjustment_line_id)
        )
    }
    per_tax = {
        r.tax_line_id: int(r.amount)
        for r in session.execute(
            select(LINE_TAX.c.tax_line_id, func.sum(LINE_TAX.c.amount).label("amount"))
            .join(LINE, LINE.c.id == LINE_TAX.c.invoice_line_id).join(INV, INV.c.id == LINE.c.invoice_id)
            .where(LINE.c.order_item_summary_id.in_(item_ids), LINE_TAX.c.tax_line_id.is_not(None), live)
            .group_by(LINE_TAX.c.tax_line_id)
        )
    }
    return per_item, per_adjustment, per_tax


def invoiced_so_far(session: Session, item_ids: Sequence[uuid.UUID]) -> tuple[
    dict[uuid.UUID, tuple[int, int]], dict[uuid.UUID, int], dict[uuid.UUID, int]
]:
    """Per item (units, line amount), per adjustment line and per tax line, what live invoices billed."""
    return _invoiced_so_far(session, item_ids)


def _item_lines(
    session: Session, items: Sequence[Any], units: dict[uuid.UUID, int], *, gross: bool
) -> list[_Line]:
    """Invoice lines for `units` more units of each item, by the cumulative rule."""
    ids = [i.id for i in items]
    adjustments: dict[uuid.UUID, list[Any]] = defaultdict(list)
    for a in session.execute(
        select(*ADJ.c).where(ADJ.c.order_item_summary_id.in_(ids), ADJ.c.change_order_id.is_(None)).order_by(ADJ.c.id)
    ):
        adjustments[a.order_item_summary_id].append(a)
    taxes: dict[uuid.UUID, list[Any]] = defaultdict(list)
    for t in session.execute(
        select(*TAX.c).where(TAX.c.order_item_summary_id.in_(ids), TAX.c.change_order_id.is_(None)).order_by(TAX.c.id)
    ):
        taxes[t.order_item_summary_id].append(t)
    per_item, per_adjustment, per_tax = _invoiced_so_far(session, ids)
    lines = []
    shares: list[domain.TaxShare] = []
    for item in items:
        before_units, before_amount = per_item.get(item.id, (0, 0))
        after = before_units + units[item.id]
        if after > item.quantity_ordered:
            raise OverInvoiced(f"item {item.line_number} would be invoiced for more units than were ordered")

        def share(amount: int, before: int, after: int = after, ordered: int = item.quantity_ordered) -> int:
            return domain.cumulative_share(amount, ordered, after, before)

        line_share = share(item.line_amount, before_amount)
        item_adjustments = adjustments[item.id]
        left = [a.amount - per_adjustment.get(a.id, 0) for a in item_adjustments]
        discount = domain.discount_share(
            sum(a.amount for a in item_adjustments), sum(per_adjustment.get(a.id, 0) for a in item_adjustments),
            line_share, item.quantity_ordered, after,
        )
        line = _Line(
            item.type, item.id, item.sku, item.name, units[item.id], item.unit_price, line_share,
            [{"adjustment_line_id": a.id, "name": a.name, "reference": a.reference, "amount": part}
             for a, part in zip(item_adjustments, domain.split_discount(discount, left), strict=True)],
            [_tax_row(t, share(t.amount, per_tax.get(t.id, 0))) for t in taxes[item.id]],
        )
        lines.append(line)
        # Nothing left to bill after this invoice (the rest shipped or cancelled): it takes the exact
        # cumulative share, so billed + cancelled is the item's amount to the minor unit.
        completes = after + item.quantity_canceled >= item.quantity_ordered
        whole = item.line_amount + sum(a.amount for a in item_adjustments)
        shares += _tax_shares(line, taxes[item.id], whole, completes, gross)
    rows = [row for line in lines for row in line.taxes]
    for row, amount in zip(rows, domain.vat_by_category(shares), strict=True):
        row["amount"] = amount
    for line in lines:
        _set_taxable(line, gross)
    return lines


def _vat_key(tax: Any) -> tuple[object, ...] | None:
    if tax.category is None or tax.rate is None:
        return None
    return (tax.category, Decimal(tax.rate).normalize(), tax.jurisdiction)


def _tax_shares(
    line: _Line, taxes: Sequence[Any], whole: int, completes: bool, gross: bool
) -> list[domain.TaxShare]:
    """The line's tax lines as `vat_by_category` sees them: a line taxed in several VAT categories
    (a shipping charge following mixed-rate goods) splits its base by their taxable amounts."""
    base = line.line_amount + line.adjustment_amount
    vat = [n for n, t in enumerate(taxes) if _vat_key(t) is not None]
    # Only tax lines whose taxable amounts partition the item split its base; stacked taxes
    # (each on the whole amount) keep it whole.
    taxable = [taxes[n].taxable_amount for n in vat]
    covered = sum(t or 0 for t in taxable) + (sum(int(taxes[n].amount) for n in vat) if gross else 0)
    bases: dict[int, int] = {}
    if len(vat) > 1 and None not in taxable and covered == whole and any(taxable):
        bases = dict(zip(vat, allocate_minor(base, [abs(int(t or 0)) for t in taxable]), strict=True))
    out = []
    for n, (tax, row) in enumerate(zip(taxes, line.taxes, strict=True)):
        key = _vat_key(tax)
        row_base = bases.get(n, base)
        if n in bases:
            row["_base"] = row_base
        rate = Fraction(Decimal(tax.rate)) if tax.rate is not None else Fraction(0)
        out.append(domain.TaxShare(key, rate / (1 + rate) if gross else rate, row_base, int(row["amount"]), completes))
    return out


def _set_taxable(line: _Line, gross: bool) -> None:
    """A split line's tax lines are each taxable on their share of its base (net of their own tax on
    gross prices); any other tax line is taxable on the line's net amount."""
    for row in line.taxes:
        base = row.pop("_base", None)
        if base is not None:
            row["taxable_amount"] = base - int(row["amount"]) if gross else base


# ------------------------------------------------------------------------------------------------
# Writing an invoice


def _write_invoice(
    session: Session, order: Any, account: AccountBilling, kind: str, lines: list[_Line], actor: str | None, *,
    prices_include_tax: bool, fulfillment_order_id: uuid.UUID | None = None, shipment_id: uuid.UUID | None = None,
    supply_date: date | None = None, description: str | None = None,
) -> uuid.UUID:
    now = clock.now()
    invoice_id = new_id()
    nets = [ln.net_amount(prices_include_tax) for ln in lines]
    net, tax = sum(nets), sum(ln.tax_amount for ln in lines)
    if max(abs(net), abs(tax), abs(net + tax)) > MAX_MINOR:
        raise ValidationFailed([FieldError("amount", "the invoice total is larger than Ordino can store")])
    if net + tax < 0:
        raise NegativeInvoice("the invoice total would be negative")
    terms = domain.invoice_terms(order.payment_instructions or [], account.terms)
    invoice_date = now.date()
    session.execute(insert(INV), [{
        "id": invoice_id, "number": next_number(session, INVOICE, now), "kind": kind,
        "status": domain.INVOICE_LIFECYCLE.initial, "order_summary_id": order.id, "account_id": order.account_id,
        "fulfillment_order_id": fulfillment_order_id, "shipment_id": shipment_id, "currency": order.currency,
        "prices_include_tax": prices_include_tax, "po_number": order.po_number, "description": description,
        "issued_at": now, "invoice_date": invoice_date, "supply_date": supply_date, "payment_terms": terms,
        "due_date": domain.due_date(invoice_date, terms), "net_amount": net, "tax_amount": tax,
        "total_amount": net + tax, "applied_amount": 0, "balance_amount": net + tax, "version": 1,
        "created_by": actor, "created_at": now, "updated_at": now,
    }])
    line_rows, adjustment_rows, tax_rows = [], [], []
    for number, (ln, line_net) in enumerate(zip(lines, nets, strict=True), start=1):
        line_id = new_id()
        line_rows.append({
            "id": line_id, "invoice_id": invoice_id, "line_number": number, "type": ln.type,
            "order_item_summary_id": ln.order_item_summary_id, "sku": ln.sku, "name": ln.name,
            "quantity": ln.quantity, "unit_price": ln.unit_price, "line_amount": ln.line_amount,
            "adjustment_amount": ln.adjustment_amount, "tax_amount": ln.tax_amount, "net_amount": line_net,
        })
        adjustment_rows += [{"id": new_id(), "invoice_line_id": line_id, **a} for a in ln.adjustments]
        tax_rows += [{"id": new_id(), "invoice_line_id": line_id, "taxable_amount": line_net, **t} for t in ln.taxes]
    session.execute(insert(LINE), line_rows)
    if adjustment_rows:
        session.execute(insert(LINE_ADJ), adjustment_rows)
    if tax_rows:
        session.execute(insert(LINE_TAX), tax_rows)
    session.execute(insert(StatusHistory), [initial_history(domain.INVOICE_LIFECYCLE, invoice_id, actor=actor, at=now)])
    emit(session, "invoice.created", f"invoice/{invoice_id}", {
        "id": str(invoice_id), "kind": kind, "order_id": str(order.id), "account_id": str(order.account_id),
        "shipment_id": str(shipment_id) if shipment_id else None, "currency": order.currency,
        "total": format_minor(net + tax, order.currency), "due_date": domain.due_date(invoice_date, terms).isoformat(),
        "document_format": account.document_format,
    })
    if net + tax == 0:  # nothing to pay
        _transition(session, invoice_id, "open", "pay", actor)
    return invoice_id


@dataclass(frozen=True, slots=True)
class AccountBilling:
    """What an account agreed on for its invoices: terms (None: none agreed) and the document format
    it receives (pdf, peppol, xrechnung, facturx)."""

    terms: str | None = None
    document_format: str = "pdf"


def account_billing(session: Session, account_id: uuid.UUID) -> AccountBilling:
    row = session.execute(
        select(Account.payment_terms, Account.einvoice_format).where(Account.id == account_id)
    ).one_or_none()
    return AccountBilling(row.payment_terms, row.einvoice_format) if row is not None else AccountBilling()


@dataclass(frozen=True, slots=True)
class ShippedUnits:
    order_item_summary_id: uuid.UUID
    quantity: int


def invoice_shipment(
    session: Session, *, order_id: uuid.UUID, fulfillment_order_id: uuid.UUID, shipment_id: uuid.UUID,
    items: Iterable[ShippedUnits], shipped_at: datetime | None, actor: str | None,
) -> uuid.UUID | None:
    """The invoice of one shipment (made once: a shipment already invoiced returns its invoice)."""
    order = lock_order(session, order_id)
    if order is None:
        return None
    existing = session.execute(select(INV.c.id).where(INV.c.shipment_id == shipment_id)).scalar_one_or_none()
    if existing is not None:
        return cast(uuid.UUID, existing)
    units: dict[uuid.UUID, int] = defaultdict(int)
    for shipped in items:
        units[shipped.order_item_summary_id] += shipped.quantity
    products = session.execute(
        select(*ITEM.c).where(ITEM.c.id.in_(list(units)), ITEM.c.order_summary_id == order.id)
        .order_by(ITEM.c.line_number)
    ).all()
    # The shipping charge of each delivery group goes on its first invoice.
    groups = {p.delivery_group_id for p in products}
    charges = session.execute(
        select(*ITEM.c).where(ITEM.c.delivery_group_id.in_(groups), ITEM.c.type == "delivery_charge",
                              ITEM.c.quantity_ordered - ITEM.c.quantity_canceled > 0)
        .order_by(ITEM.c.line_number)
    ).all()
    invoiced_charges = _invoiced_so_far(session, [c.id for c in charges])[0]
    charges = [c for c in charges if invoiced_charges.get(c.id, (0, 0))[0] == 0]
    for c in charges:
        units[c.id] = 1
    lines = _item_lines(session, [*products, *charges], units, gross=order.prices_include_tax)
    return _write_invoice(
        session, order, account_billing(session, order.account_id), "shipment", lines, actor,
        prices_include_tax=order.prices_include_tax, fulfillment_order_id=fulfillment_order_id,
        shipment_id=shipment_id, supply_date=shipped_at.date() if shipped_at else None,
    )


@dataclass(frozen=True, slots=True)
class FeeTax:
    name: str
    rate: Decimal | None
    amount: int
    category: str | None
    jurisdiction: str | None
    exemption_reason_code: str | None


def invoice_fee(
    session: Session, *, order: Any, description: str, amount: int, taxes: Sequence[FeeTax], actor: str | None,
) -> uuid.UUID:
    """A fee invoice on an order: one line of `amount` (net of tax) and its tax lines."""
    line = _Line(
        "fee", None, None, description, 1, Decimal(format_minor(amount, order.currency)), amount, [],
        [{"tax_line_id": None, "name": t.name, "rate": t.rate, "category": t.category, "jurisdiction": t.jurisdiction,
          "exemption_reason_code": domain.exemption_reason(t.category, t.exemption_reason_code), "amount": t.amount}
         for t in taxes],
    )
    return _write_invoice(session, order, account_billing(session, order.account_id), "fee", [line], actor,
                          prices_include_tax=False, description=description)


# ------------------------------------------------------------------------------------------------
# Applying money


def _transition(session: Session, invoice_id: uuid.UUID, before: str, action: str, actor: str | None) -> None:
    row = session.execute(select(INV.c.number, INV.c.order_summary_id, INV.c.balance_amount, INV.c.currency)
                          .where(INV.c.id == invoice_id)).one()
    after = apply(session, domain.INVOICE_LIFECYCLE, _Record(invoice_id, before), action, actor=actor, data={
        "number": row.number, "order_id": str(row.order_summary_id),
        "balance": format_minor(row.balance_amount, row.currency), "currency": row.currency,
    })
    changed = session.execute(update(INV).where(INV.c.id == invoice_id, INV.c.status == before).values(status=after))
    if _rowcount(changed) != 1:
        raise ConcurrentChange("the invoice was changed at the same time; try again")


def apply_to_invoice(session: Session, invoice_id: uuid.UUID, amount: int, actor: str | None) -> bool:
    """Add `amount` to what is applied to an open invoice, never above its balance; moves its
    status. False (nothing written) when the invoice is not open or its balance is smaller."""
    row = session.execute(
        update(INV)
        .where(INV.c.id == invoice_id, INV.c.status.in_(domain.OPEN_INVOICE_STATUSES), INV.c.balance_amount >= amount)
        .values(applied_amount=INV.c.applied_amount + amount, balance_amount=INV.c.balance_amount - amount,
                version=INV.c.version + 1, updated_at=clock.now())
        .returning(INV.c.status, INV.c.total_amount, INV.c.applied_amount)
    ).first()
    if row is None:
        return False
    action = domain.invoice_action(row.status, row.total_amount, row.applied_amount)
    if action:
        _transition(session, invoice_id, row.status, action, actor)
    return True


def cancel_invoice(session: Session, invoice_id: uuid.UUID, actor: str | None, reason: str | None) -> None:
    """Cancel a fee invoice nothing was applied to."""
    row = session.execute(select(*INV.c).where(INV.c.id == invoice_id).with_for_update()).one()
    if row.kind != "fee":
        raise NotCancellable("only fee invoices can be cancelled; shipped goods are credited by a credit memo")
    pending = session.execute(
        select(func.count()).where(APP.c.invoice_id == invoice_id, APP.c.status == "pending")
    ).scalar_one()
    if row.applied_amount or pending:
        raise NotCancellable("money was applied to the invoice; credit it instead")
    after = apply(session, domain.INVOICE_LIFECYCLE, _Record(invoice_id, row.status), "cancel", actor=actor,
                  reason=reason, data={"number": row.number, "order_id": str(row.order_summary_id)})
    # The balance stays as it was: receivables count open invoices only.
    session.execute(update(INV).where(INV.c.id == invoice_id).values(
        status=after, version=INV.c.version + 1, updated_at=clock.now()
    ))
