"""Invoices and credit memos as documents (`invoicing.document`), ready for the PDF and UBL renderers.

Where the rows come from:
- seller: the legal entity of the order's channel (or the default one), with its bank account;
- buyer: the account (legal name, VAT ID when it is one, language), at its default billing address,
  else the order's bill-to, else the first ship-to;
- lines: product and fee lines; a delivery charge becomes a document-level charge (reason code FC),
  as EN 16931 wants; line discounts are line allowances;
- VAT: each line's category and rate come from its tax lines; the breakdown sums the lines' stored
  tax per category and rate. Invoice tax is the order's tax shared over its shipments, so a part
  invoice's VAT can differ from "taxable × rate rounded once" by a minor unit or two: such a
  document says it is rounded per line (EN 16931 BR-CO-17 allows it) instead of being refused;
- a line whose stored amount differs from quantity × unit price (a share rounded over several
  invoices, or net amounts of gross prices) keeps its amount: its unit price becomes the amount
  divided by the quantity (rounded up to 6 places) and the few minor units over are a line allowance.
"""

from __future__ import annotations

import re
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_UP, Decimal
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.numbers import get_territory_currencies
from sqlalchemy import select
from sqlalchemy.orm import Session

from ordino.accounts.models import Account, Address
from ordino.catalog.models import LegalEntity, Product, SalesChannel
from ordino.catalog.service import seller_of_channel
from ordino.invoicing.documents import domain as d
from ordino.invoicing.documents.errors import NoLegalEntity
from ordino.invoicing.documents.labels import labels_for, terms_text
from ordino.invoicing.models import (
    CreditMemo,
    CreditMemoLine,
    CreditMemoLineTax,
    Invoice,
    InvoiceLine,
    InvoiceLineTax,
    PaymentApplication,
    RefundApplication,
)
from ordino.kernel.money import Money, allocate_minor, exponent_of
from ordino.orders.models import OrderDeliveryGroupSummary, OrderItemSummary, OrderSummary
from ordino.payments.domain import parse_terms
from ordino.payments.reads import card_of
from ordino.pricing import fx_service
from ordino.pricing.errors import RateNotFound
from ordino.tax.domain import Category, RoundingMode

_VAT_ID = re.compile(r"^(?:[A-Z]{2}|EL)[0-9A-Z+*.]{2,13}$")
_DEFAULT_EXEMPTIONS = {
    Category.REVERSE_CHARGE: ("Reverse charge", "VATEX-EU-AE"),
    Category.INTRA_COMMUNITY: ("Intra-community supply", "VATEX-EU-IC"),
    Category.EXPORT: ("Export outside the EU", "VATEX-EU-G"),
    Category.OUTSIDE_SCOPE: ("Not subject to VAT", "VATEX-EU-O"),
    Category.EXEMPT: ("Exempt from tax", None),
}
_SIX_PLACES = Decimal("0.000001")


@dataclass(frozen=True, slots=True)
class _Row:
    """An invoice or credit memo line with its tax lines, whichever table it comes from."""

    id: uuid.UUID
    line_number: int
    type: str
    sku: str | None
    name: str
    quantity: int
    unit_price: Decimal
    adjustment_amount: int
    net_amount: int
    order_item_summary_id: uuid.UUID | None
    taxes: tuple[Any, ...]


def _rows(session: Session, model: Any, tax_model: Any, parent: Any, parent_id: uuid.UUID) -> list[_Row]:
    lines = session.execute(select(model).where(parent == parent_id).order_by(model.line_number)).scalars().all()
    fk = tax_model.invoice_line_id if tax_model is InvoiceLineTax else tax_model.credit_memo_line_id
    taxes: dict[uuid.UUID, list[Any]] = defaultdict(list)
    for t in session.execute(select(tax_model).where(fk.in_([ln.id for ln in lines]))).scalars():
        taxes[getattr(t, fk.key)].append(t)
    return [
        _Row(ln.id, ln.line_number, ln.type, ln.sku, ln.name, ln.quantity, ln.unit_price, ln.adjustment_amount,
             ln.net_amount, ln.order_item_summary_id, tuple(taxes[ln.id]))
        for ln in lines
    ]


def _key(tax: Any) -> tuple[Category, Decimal]:
    rate = (tax.rate or Decimal(0)).normalize()
    implied = Category.STANDARD if rate > 0 else Category.ZERO
    category = Category(tax.category) if tax.category else implied
    return category, rate if category is Category.STANDARD else Decimal(0)


@dataclass(frozen=True, slots=True)
class _Part:
    """The share of a row in one VAT category and rate."""

    category: Category
    rate: Decimal
    reason: str | None  # VATEX code
    net: int
    tax: int


def _parts(row: _Row) -> list[_Part]:
    """A row's VAT parts: one for most rows; a shipping charge that follows mixed-rate goods has
    one per category and rate, each with its taxable amount."""
    taxed = [t for t in row.taxes if t.rate is not None or t.category is not None]
    if not taxed:
        return [_Part(Category.ZERO, Decimal(0), None, row.net_amount, sum(t.amount for t in row.taxes))]
    keys: dict[tuple[Category, Decimal], list[Any]] = defaultdict(list)
    for t in taxed:
        keys[_key(t)].append(t)
    if len(keys) == 1:
        (category, rate), taxes = next(iter(keys.items()))
        return [_Part(category, rate, taxes[0].exemption_reason_code, row.net_amount,
                      sum(t.amount for t in row.taxes))]
    taxable = [sum(t.taxable_amount for t in taxes) for taxes in keys.values()]
    if sum(taxable) != row.net_amount:  # rows written before taxable amounts were split
        taxable = allocate_minor(row.net_amount, [abs(sum(t.amount for t in taxes)) or 1 for taxes in keys.values()])
    return [
        _Part(category, rate, taxes[0].exemption_reason_code, net, sum(t.amount for t in taxes))
        for ((category, rate), taxes), net in zip(keys.items(), taxable, strict=True)
    ]


def _priced(quantity: int, unit_price: Decimal, net: int, adjustment: int, currency: str, exact: bool) -> tuple[
    Decimal, Decimal, int
]:
    """(quantity, unit price, line allowance) that give `net` exactly.

    A line whose net is not quantity × price − discount (a share, a gross price, a part of a
    row) gets the price net ÷ quantity, rounded up to six places, the few minor units over being
    a line allowance. A credited price reduction (an appeasement: no units, the amount as a
    negative discount) is a line of its own price: the amount for one unit, or per unit credited.
    """
    discount = -adjustment
    if discount < 0:
        discount, exact = 0, True
    target = net + discount
    count = Decimal(quantity or 1)
    price = unit_price
    if exact or d.line_amount(count, price, currency) != target:
        price = (Decimal(target).scaleb(-exponent_of(currency)) / count).quantize(_SIX_PLACES, rounding=ROUND_UP)
        discount += d.line_amount(count, price, currency) - target
    return count, price.normalize(), discount


def _address(lines: Sequence[str | None], city: str, country: str, postal: str | None, region: str | None) -> d.Address:
    return d.Address(tuple(x for x in lines if x), city, country, postal, region)


def _seller(entity: LegalEntity) -> d.Party:
    bank = d.BankAccount(entity.iban, entity.bic, entity.bank_name) if entity.iban else None
    return d.Party(
        entity.name,
        _address([entity.line1, entity.line2], entity.city, entity.country, entity.postal_code, entity.region),
        vat_id=entity.vat_id, registration_id=entity.registration_number, email=entity.email, bank_account=bank,
        tax_number=entity.tax_number, endpoint_id=entity.endpoint_id, endpoint_scheme=entity.endpoint_scheme,
        contact_name=entity.contact_name, phone=entity.phone, register_court=entity.register_court,
        managing_directors=entity.managing_directors, share_capital=entity.share_capital,
        sepa_creditor_id=entity.sepa_creditor_id, logo=entity.logo,
    )


def _buyer(session: Session, account: Any, order: Any, group: Any) -> d.Party:
    billing = session.execute(
        select(Address).where(Address.account_id == account.id, Address.kind == "billing")
        .order_by(Address.is_default.desc(), Address.id).limit(1)
    ).scalars().first()
    if billing is not None:
        where = _address([billing.line1, billing.line2], billing.city, billing.country, billing.postal_code,
                         billing.region)
    elif order.bill_to:
        b = order.bill_to
        where = _address([b.get("line1"), b.get("line2")], b["city"], b["country"], b.get("postal_code"),
                         b.get("region"))
    else:
        where = _address([group.ship_to_line1, group.ship_to_line2], group.ship_to_city, group.ship_to_country,
                         group.ship_to_postal_code, group.ship_to_region)
    tax_id = account.tax_id
    is_vat = bool(tax_id and _VAT_ID.match(tax_id))
    return d.Party(account.name, where, vat_id=tax_id if is_vat else None,
                   registration_id=None if is_vat else tax_id, endpoint_id=account.endpoint_id,
                   endpoint_scheme=account.endpoint_scheme)


def _language(locale: str | None) -> str:
    try:
        return str(Locale.parse(locale or "en", sep="-" if "-" in (locale or "") else "_"))
    except (UnknownLocaleError, ValueError):
        return "en"


@dataclass(frozen=True, slots=True)
class _Context:
    order: Any
    account: Any
    seller: LegalEntity
    group: Any
    units: dict[str, str]


def _context(session: Session, order_id: uuid.UUID, rows: Sequence[_Row]) -> _Context:
    order = session.execute(select(OrderSummary).where(OrderSummary.id == order_id)).scalar_one()
    account = session.execute(select(Account).where(Account.id == order.account_id)).scalar_one()
    channel = session.execute(select(SalesChannel.code).where(SalesChannel.id == order.channel_id)).scalar_one()
    seller = seller_of_channel(session, channel)
    if seller is None:
        raise NoLegalEntity("no legal entity sells through the order's channel: create a default one")
    item_ids = [r.order_item_summary_id for r in rows if r.order_item_summary_id is not None]
    group_id = session.execute(
        select(OrderItemSummary.delivery_group_id).where(OrderItemSummary.id.in_(item_ids)).limit(1)
    ).scalar_one_or_none() if item_ids else None
    group_stmt = select(OrderDeliveryGroupSummary).where(OrderDeliveryGroupSummary.order_summary_id == order_id)
    if group_id is not None:
        group_stmt = group_stmt.where(OrderDeliveryGroupSummary.id == group_id)
    group = session.execute(group_stmt.order_by(OrderDeliveryGroupSummary.position).limit(1)).scalar_one()
    skus = {r.sku for r in rows if r.sku}
    units = {sku: unit for sku, unit in session.execute(
        select(Product.sku, Product.unit_of_measure).where(Product.sku.in_(skus))).all()}
    return _Context(order, account, seller, group, units)


def _body(rows: Sequence[_Row], currency: str, gross: bool, ctx: _Context, language: str) -> dict[str, Any]:
    """Lines, charges and the VAT breakdown of a set of rows."""
    words = labels_for(Locale.parse(language))
    lines: list[d.Line] = []
    charges: list[d.AllowanceCharge] = []
    tax: dict[tuple[Category, Decimal], int] = defaultdict(int)
    reasons: dict[Category, str | None] = {}
    for row in rows:
        parts = _parts(row)
        for n, part in enumerate(parts, start=1):
            key = (part.category, part.rate)
            tax[key] += part.tax
            reasons.setdefault(part.category, part.reason)
            if row.type == "delivery_charge":
                method = ctx.group.delivery_method
                charges.append(d.AllowanceCharge(part.net, part.category, part.rate,
                                                 reason=f"{words['shipping']} ({method})", reason_code="FC"))
                continue
            split = len(parts) > 1
            exact = split or gross  # the row's adjustment belongs to no single part
            quantity, price, discount = _priced(row.quantity, row.unit_price, part.net,
                                                0 if exact else row.adjustment_amount, currency, exact)
            lines.append(d.Line(
                f"{row.line_number}-{n}" if split else str(row.line_number), row.name, quantity, price, part.net,
                part.category, part.rate, unit_code=ctx.units.get(row.sku or "", "C62"), sku=row.sku,
                discount=discount, discount_reason=words["discount"] if discount else None,
            ))
    exemptions = {
        c: (_DEFAULT_EXEMPTIONS[c][0], reasons.get(c) or _DEFAULT_EXEMPTIONS[c][1])
        for c, _ in tax if c in _DEFAULT_EXEMPTIONS
    }
    breakdown = tuple(
        d.TaxSubtotal(r.category, r.rate, r.taxable_amount, tax[(r.category, r.rate)], r.exemption_reason,
                      r.exemption_reason_code)
        for r in d.compute_breakdown(lines, (), charges, exemptions)
    )
    exact = all(r.tax_amount == d.rate_tax(r.taxable_amount, r.rate) for r in breakdown)
    return {"lines": tuple(lines), "charges": tuple(charges), "tax_breakdown": breakdown,
            "tax_rounding": RoundingMode.PER_RATE_ON_DOCUMENT if exact else RoundingMode.PER_LINE}


def _terms(code: str | None, language: str) -> str | None:
    terms = parse_terms(code) if code else None
    if terms is None:
        return None
    return terms_text(terms.days, terms.end_of_month, labels_for(Locale.parse(language)))


def _delivery(ctx: _Context, when: Any) -> d.Delivery:
    g = ctx.group
    return d.Delivery(
        _address([g.ship_to_line1, g.ship_to_line2], g.ship_to_city, g.ship_to_country, g.ship_to_postal_code,
                 g.ship_to_region),
        g.ship_to_name, when,
    )


def _buyer_reference(ctx: _Context) -> str:
    """BT-10: the reference the account asked for (a Leitweg-ID), else the PO number, else the order number."""
    return str(ctx.account.buyer_reference or ctx.order.po_number or ctx.order.number)


def _card(session: Session, payment_ids: Sequence[uuid.UUID]) -> d.Card | None:
    """The card the payments were made with, when its last four digits are known."""
    card = card_of(session, payment_ids)
    return d.Card(card.last4, card.brand) if card is not None and card.last4 else None


def _mandate(account: Any) -> d.Mandate:
    return d.Mandate(account.direct_debit_mandate, account.direct_debit_iban)


def accounting_currency(country: str) -> str | None:
    """The currency a seller in `country` keeps its VAT accounts in: the country's legal tender."""
    current = get_territory_currencies(country, tender=True)
    return current[0] if current else None


def _tax_currency(session: Session, ctx: _Context, currency: str, tax_total: int, on: date) -> dict[str, Any]:
    """BT-6 and BT-111 when VAT is charged in a currency that is not the seller's: the VAT total
    converted at the rate in force on the tax point date. Without a rate, both stay out (EN 16931
    asks for them only together)."""
    accounting = accounting_currency(ctx.seller.country)
    if not tax_total or accounting is None or accounting == currency:
        return {}
    try:
        converted = fx_service.convert(session, Money(tax_total, currency), accounting, on)
    except RateNotFound:
        return {}
    return {"tax_currency": accounting, "tax_total_in_tax_currency": converted.result.minor}


def invoice_document(session: Session, invoice_id: uuid.UUID) -> d.Document:
    invoice = session.execute(select(Invoice).where(Invoice.id == invoice_id)).scalar_one()
    rows = _rows(session, InvoiceLine, InvoiceLineTax, InvoiceLine.invoice_id, invoice.id)
    ctx = _context(session, invoice.order_summary_id, rows)
    language = _language(ctx.account.locale)
    body = _body(rows, invoice.currency, invoice.prices_include_tax, ctx, language)
    payments = session.execute(
        select(PaymentApplication.payment_id).where(PaymentApplication.invoice_id == invoice.id,
                                                    PaymentApplication.payment_id.is_not(None))
    ).scalars().all()
    seller = _seller(ctx.seller)
    card, mandate = _card(session, [p for p in payments if p is not None]), None
    if payments:
        # Paid by card; a card whose digits the channel did not give cannot be named (DE-R-024).
        means = d.PaymentMeans.BANK_CARD if card else d.PaymentMeans.NOT_DEFINED
    elif ctx.account.direct_debit_mandate and seller.sepa_creditor_id:
        # On terms, collected under the account's mandate; without a creditor ID no debit can be collected.
        means, mandate = d.PaymentMeans.SEPA_DIRECT_DEBIT, _mandate(ctx.account)
    elif seller.bank_account is not None:
        means = d.PaymentMeans.SEPA_CREDIT_TRANSFER if invoice.currency == "EUR" else d.PaymentMeans.CREDIT_TRANSFER
    else:
        means = None
    notes = [n["text"] for n in ctx.order.tax_notes or []]
    if invoice.description:
        notes.append(invoice.description)
    totals = d.compute_totals(body["lines"], body["tax_breakdown"], (), body["charges"], invoice.applied_amount)
    return d.Document(
        kind=d.DocumentKind.INVOICE, number=invoice.number, issue_date=invoice.invoice_date,
        currency=invoice.currency, language=language, seller=seller,
        buyer=_buyer(session, ctx.account, ctx.order, ctx.group), totals=totals, due_date=invoice.due_date,
        tax_point_date=invoice.supply_date, purchase_order=invoice.po_number or ctx.order.po_number,
        order_number=ctx.order.number, buyer_reference=_buyer_reference(ctx),
        delivery=_delivery(ctx, invoice.supply_date), payment_terms=_terms(invoice.payment_terms, language),
        payment_means=means, payment_reference=invoice.number, notes=tuple(notes), card=card, mandate=mandate,
        **_tax_currency(session, ctx, invoice.currency, totals.tax_total, invoice.supply_date or invoice.invoice_date),
        **body,
    )


def credit_memo_document(session: Session, credit_memo_id: uuid.UUID) -> d.Document:
    memo = session.execute(select(CreditMemo).where(CreditMemo.id == credit_memo_id)).scalar_one()
    rows = _rows(session, CreditMemoLine, CreditMemoLineTax, CreditMemoLine.credit_memo_id, memo.id)
    ctx = _context(session, memo.order_summary_id, rows)
    language = _language(ctx.account.locale)
    body = _body(rows, memo.currency, memo.prices_include_tax, ctx, language)
    invoices = session.execute(
        select(Invoice.number, Invoice.invoice_date)
        .where(Invoice.order_summary_id == memo.order_summary_id, Invoice.status != "cancelled")
        .order_by(Invoice.number)
    ).all()
    totals = d.compute_totals(body["lines"], body["tax_breakdown"], (), body["charges"], memo.refunded_amount)
    captures = session.execute(
        select(RefundApplication.capture_id).where(RefundApplication.credit_memo_id == memo.id)
    ).scalars().all()
    # Refunded to the card it was paid by (when its digits are known), else not defined.
    card = _card(session, captures)
    means = d.PaymentMeans.BANK_CARD if card else d.PaymentMeans.NOT_DEFINED
    return d.Document(
        kind=d.DocumentKind.CREDIT_NOTE, number=memo.number, issue_date=memo.credit_memo_date,
        currency=memo.currency, language=language, seller=_seller(ctx.seller),
        buyer=_buyer(session, ctx.account, ctx.order, ctx.group), totals=totals,
        purchase_order=ctx.order.po_number, order_number=ctx.order.number,
        buyer_reference=_buyer_reference(ctx), payment_means=means, card=card,
        preceding_invoices=tuple(d.InvoiceReference(n, day) for n, day in invoices),
        notes=tuple(n["text"] for n in ctx.order.tax_notes or []),
        **_tax_currency(session, ctx, memo.currency, totals.tax_total, memo.credit_memo_date), **body,
    )
