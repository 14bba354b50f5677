"""Quotes: a buyer or an agent requests prices for lines; an agent prices them (catalog prices and
promotions as intake computes them, then the agent's unit prices and discounts) with a validity,
and sends the quote; the buyer accepts it before it expires and it becomes an order.

Acceptance places the order through `intake.place_order` with `"pricing": "order"` and the quoted
unit prices and discounts (taxed by the engine, as a catalog order is), so stock, events and
approval rules treat it as any order; the quote's number is the order's external reference in the
quote's channel. The quote row is locked first, so accepting twice (or at once from two places)
gives the same order, never two.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import ValidationError
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from ordino.accounts import service as accounts
from ordino.accounts.models import Account
from ordino.catalog.models import Product, SalesChannel
from ordino.kernel import clock
from ordino.kernel.auth import STAFF, Principal
from ordino.kernel.errors import Conflict, FieldError, NotFound, Problem, ValidationFailed
from ordino.kernel.http import check_if_match, page, paginate
from ordino.kernel.ids import new_id, parse_id
from ordino.kernel.money import MoneyError, exponent_of, format_minor, format_price, is_currency, parse_amount
from ordino.kernel.numbering import QUOTE, next_number
from ordino.kernel.outbox import emit
from ordino.kernel.statemachine import StatusHistory, apply, initial_history
from ordino.orders import intake
from ordino.orders.errors import NotABuyer
from ordino.orders.models import OrderSummary
from ordino.orders.quotes import domain
from ordino.orders.quotes.errors import DuplicateReference, QuoteExpired, QuoteNotEditable
from ordino.orders.quotes.models import Quote, QuoteLine
from ordino.orders.quotes.schemas import QuoteAcceptIn, QuoteIn, QuoteLineIn, QuotePatch, QuotePricingIn
from ordino.orders.reads import load_order
from ordino.orders.schemas import OrderIn
from ordino.pricing import service as pricing

Doc = dict[str, Any]
LIFECYCLE = domain.QUOTE_LIFECYCLE

# ----------------------------------------------------------------------------------------------
# Reading


def _find(session: Session, ref: str, principal: Principal, *, lock: bool = False) -> Quote:
    """A quote by id or number that the principal may see; else 404."""
    ident = parse_id(ref)
    stmt = select(Quote).where(Quote.id == ident if ident is not None else Quote.number == ref)
    quote = session.scalars(stmt.with_for_update() if lock else stmt).first()
    if quote is None or not principal.sees_account(quote.account_id):
        raise NotFound("quote not found")
    return quote


def _lines(session: Session, quote_id: uuid.UUID) -> list[QuoteLine]:
    return list(session.scalars(
        select(QuoteLine).where(QuoteLine.quote_id == quote_id).order_by(QuoteLine.line_number)
    ))


def _line_doc(line: QuoteLine, currency: str) -> Doc:
    priced = line.line_amount is not None
    return {
        "line_number": line.line_number,
        "sku": line.sku,
        "quantity": line.quantity,
        "unit_price": format_price(line.unit_price, currency) if line.unit_price is not None else None,
        "price_source": line.price_source,
        "line_amount": format_minor(line.line_amount, currency) if line.line_amount is not None else None,
        "adjustments": [{**a, "amount": format_minor(a["amount"], currency)} for a in line.adjustments],
        "adjustment_amount": format_minor(line.adjustment_amount, currency),
        "total_line_amount": format_minor((line.line_amount or 0) + line.adjustment_amount, currency)
        if priced else None,
    }


def _doc(session: Session, quote: Quote) -> Doc:
    currency = quote.currency
    account = session.execute(select(Account.number).where(Account.id == quote.account_id)).scalar_one()
    channel = session.execute(select(SalesChannel.code).where(SalesChannel.id == quote.channel_id)).scalar_one()
    order = None
    if quote.order_summary_id is not None:
        number = session.execute(
            select(OrderSummary.number).where(OrderSummary.id == quote.order_summary_id)
        ).scalar_one()
        order = {"id": quote.order_summary_id, "number": number}
    priced = quote.priced_at is not None
    return {
        "id": quote.id,
        "number": quote.number,
        "status": quote.status,
        "available_actions": LIFECYCLE.actions_from(quote.status),
        "account": account,
        "channel": channel,
        "currency": currency,
        "notes": quote.notes,
        "agent_note": quote.agent_note,
        "requested_by_contact": quote.requested_by_contact_id,
        "lines": [_line_doc(line, currency) for line in _lines(session, quote.id)],
        "totals": {
            "product": format_minor(quote.total_product_amount, currency),
            "adjustment": format_minor(quote.total_adjustment_amount, currency),
            "shipping": format_minor(quote.shipping_charge, currency),
            "total": format_minor(quote.total_amount, currency),
        } if priced else None,
        "valid_until": quote.valid_until,
        "priced_by": quote.priced_by,
        "priced_at": quote.priced_at,
        "order": order,
        "version": quote.version,
        "created_by": quote.created_by,
        "created_at": quote.created_at,
        "updated_at": quote.updated_at,
    }


def get_quote(session: Session, ref: str, principal: Principal) -> Doc:
    return _doc(session, _find(session, ref, principal))


@dataclass(frozen=True, slots=True)
class QuoteFilter:
    status: str | None = None
    account: str | None = None


def list_quotes(session: Session, principal: Principal, f: QuoteFilter, limit: int, cursor: str | None) -> Doc:
    stmt = select(Quote.id, Quote.number, Quote.status, Quote.currency, Quote.total_amount, Quote.priced_at,
                  Quote.valid_until, Quote.created_at, Account.number.label("account")).join(
        Account, Account.id == Quote.account_id)
    if principal.account_id is not None:
        stmt = stmt.where(Quote.account_id == principal.account_id)
    if f.status:
        stmt = stmt.where(Quote.status == f.status)
    if f.account:
        stmt = stmt.where(Account.number == f.account)
    rows = session.execute(paginate(stmt, Quote.id, limit, cursor)).all()
    items = [{
        "id": r.id, "number": r.number, "status": r.status, "account": r.account, "currency": r.currency,
        "total": format_minor(r.total_amount, r.currency) if r.priced_at is not None else None,
        "valid_until": r.valid_until, "created_at": r.created_at,
    } for r in rows]
    return page(items, [r.id for r in rows], limit)


# ----------------------------------------------------------------------------------------------
# Requesting


def _require_buyer(session: Session, principal: Principal) -> None:
    if not accounts.may_buy(session, principal):
        raise NotABuyer("the contact of this API key does not have the buyer role")


def _line_rows(session: Session, quote_id: uuid.UUID, lines: list[QuoteLineIn]) -> list[dict[str, Any]]:
    """The quote's lines, each product checked as intake will check it (all errors at once)."""
    skus = {line.sku for line in lines}
    products = {p.sku: p for p in session.execute(
        select(Product.id, Product.sku, Product.active, Product.minimum_quantity, Product.order_multiple)
        .where(Product.sku.in_(skus))
    )}
    errors: list[FieldError] = []
    rows = []
    for i, line in enumerate(lines):
        product = products.get(line.sku)
        if product is None or not product.active:
            errors.append(FieldError(f"lines[{i}].sku", f"no active product '{line.sku}'"))
            continue
        if line.quantity < product.minimum_quantity:
            errors.append(FieldError(f"lines[{i}].quantity", f"the minimum quantity is {product.minimum_quantity}"))
        if line.quantity % product.order_multiple:
            errors.append(FieldError(f"lines[{i}].quantity", f"must be a multiple of {product.order_multiple}"))
        rows.append({"id": new_id(), "quote_id": quote_id, "line_number": i + 1, "product_id": product.id,
                     "sku": product.sku, "quantity": line.quantity, "unit_price": None, "price_source": None,
                     "line_amount": None, "adjustment_amount": 0, "adjustments": []})
    if errors:
        raise ValidationFailed(errors)
    return rows


def create_quote(session: Session, data: QuoteIn, principal: Principal) -> Doc:
    _require_buyer(session, principal)
    errors: list[FieldError] = []
    account = session.execute(
        select(Account.id, Account.status, Account.currency).where(Account.number == data.account)
    ).first()
    if account is None or not principal.sees_account(account.id):
        errors.append(FieldError("account", f"no account '{data.account}'"))
    elif account.status != "active":
        errors.append(FieldError("account", f"account '{data.account}' is {account.status}"))
    channel = session.execute(
        select(SalesChannel.id, SalesChannel.active).where(SalesChannel.code == data.channel)
    ).first()
    if channel is None or not channel.active:
        errors.append(FieldError("channel", f"no active sales channel '{data.channel}'"))
    currency = data.currency or (account.currency if account is not None else None)
    if currency is not None and not is_currency(currency):
        errors.append(FieldError("currency", f"'{currency}' is not an active ISO 4217 currency"))
    if errors:
        raise ValidationFailed(errors)
    assert account is not None and channel is not None and currency is not None
    now = clock.now()
    quote = Quote(
        id=new_id(), number=next_number(session, QUOTE, now), account_id=account.id, channel_id=channel.id,
        currency=currency, status=LIFECYCLE.initial, notes=data.notes, requested_by_contact_id=principal.contact_id,
        shipping_charge=0, total_product_amount=0, total_adjustment_amount=0, total_amount=0, version=1,
        created_by=principal.actor, created_at=now, updated_at=now,
    )
    session.add(quote)
    session.flush()
    session.execute(insert(QuoteLine), _line_rows(session, quote.id, data.lines))
    session.execute(insert(StatusHistory), [initial_history(LIFECYCLE, quote.id, actor=principal.actor, at=now)])
    emit(session, "quote.created", f"quote/{quote.id}", {"id": str(quote.id), "number": quote.number,
                                                         "account": data.account, "status": quote.status})
    if data.submit:
        _move(session, quote, "submit", principal)
    return _doc(session, quote)


def _move(session: Session, quote: Quote, action: str, principal: Principal, *, reason: str | None = None,
          data: dict[str, Any] | None = None) -> None:
    apply(session, LIFECYCLE, quote, action, actor=principal.actor, reason=reason,
          data={"number": quote.number, **(data or {})})
    quote.version += 1
    quote.updated_at = clock.now()
    session.flush()


def _editable(quote: Quote) -> None:
    if quote.status not in domain.EDITABLE:
        raise QuoteNotEditable(f"quote {quote.number} is {quote.status}; its lines can change while draft or requested",
                               extra={"current_status": quote.status})


def update_quote(session: Session, ref: str, patch: QuotePatch, if_match: str | None, principal: Principal) -> Doc:
    _require_buyer(session, principal)
    quote = _find(session, ref, principal, lock=True)
    check_if_match(if_match, quote.version)
    _editable(quote)
    given = patch.model_fields_set
    if "lines" in given and patch.lines is not None:
        rows = _line_rows(session, quote.id, patch.lines)
        for line in _lines(session, quote.id):
            session.delete(line)
        session.flush()
        session.execute(insert(QuoteLine), rows)
    if "notes" in given:
        quote.notes = patch.notes
    if given:
        quote.version += 1
        quote.updated_at = clock.now()
        session.flush()
        emit(session, "quote.updated", f"quote/{quote.id}", {"id": str(quote.id), "number": quote.number})
    return _doc(session, quote)


def submit_quote(session: Session, ref: str, principal: Principal) -> Doc:
    _require_buyer(session, principal)
    quote = _find(session, ref, principal, lock=True)
    _move(session, quote, "submit", principal)
    return _doc(session, quote)


# ----------------------------------------------------------------------------------------------
# Pricing and sending (agents)


def _overrides(data: QuotePricingIn, numbers: set[int], currency: str) -> tuple[dict[int, domain.Override],
                                                                                  dict[int, str]]:
    errors: list[FieldError] = []
    overrides: dict[int, domain.Override] = {}
    paths: dict[int, str] = {}
    for i, line in enumerate(data.lines):
        path = f"lines[{i}]"
        if line.line_number not in numbers:
            errors.append(FieldError(f"{path}.line_number", f"the quote has no line {line.line_number}"))
            continue
        if line.line_number in overrides:
            errors.append(FieldError(f"{path}.line_number", f"line {line.line_number} is priced twice"))
            continue
        if line.discount_percent is not None and line.discount_amount is not None:
            errors.append(FieldError(f"{path}.discount_amount", "give a discount as a percentage or an amount"))
            continue
        amount = None
        if line.discount_amount is not None:
            try:
                amount = parse_amount(line.discount_amount, currency)
            except MoneyError as exc:
                errors.append(FieldError(f"{path}.discount_amount", str(exc)))
                continue
        overrides[line.line_number] = domain.Override(line.unit_price, line.discount_percent, amount)
        paths[line.line_number] = path
    if errors:
        raise ValidationFailed(errors)
    return overrides, paths


def _catalog(session: Session, quote: Quote, channel: str, lines: list[QuoteLine], at: datetime,
             skip: set[int]) -> dict[int, domain.CatalogPrice]:
    """Catalog prices and automatic promotions of the lines the agent does not price."""
    wanted = [pricing.PricingLine(line.sku, line.quantity, line.line_number) for line in lines
              if line.line_number not in skip]
    if not wanted:
        return {}
    priced = pricing.price_lines(session, account_id=quote.account_id, currency=quote.currency, channel_code=channel,
                                 at=at, lines=wanted)
    return {
        int(str(key)): domain.CatalogPrice(p.unit_price, tuple(
            domain.Discount(a.name, "promotion", a.reference, a.amount) for a in p.adjustments))
        for key, p in priced.lines.items()
    }


def price_quote(session: Session, ref: str, data: QuotePricingIn, principal: Principal) -> Doc:
    quote = _find(session, ref, principal, lock=True)
    LIFECYCLE.target(quote.status, "price")
    now = clock.now()
    if domain.is_expired(data.valid_until, now):
        raise ValidationFailed([FieldError("valid_until", "must be in the future")])
    currency = quote.currency
    try:
        shipping = parse_amount(data.shipping_charge, currency)
    except MoneyError as exc:
        raise ValidationFailed([FieldError("shipping_charge", str(exc))]) from None
    lines = _lines(session, quote.id)
    overrides, paths = _overrides(data, {line.line_number for line in lines}, currency)
    channel = session.execute(select(SalesChannel.code).where(SalesChannel.id == quote.channel_id)).scalar_one()
    agent_priced = {n for n, o in overrides.items() if o.unit_price is not None}
    catalog = _catalog(session, quote, channel, lines, now, agent_priced)
    result = domain.price_quote(
        [domain.QuoteLine(line.line_number, line.sku, line.quantity) for line in lines],
        catalog, overrides, shipping, currency, paths,
    )
    if result.errors:
        raise ValidationFailed([FieldError(f, m) for f, m in result.errors])
    by_number = {p.line_number: p for p in result.lines}
    for line in lines:
        p = by_number[line.line_number]
        line.unit_price, line.price_source, line.line_amount = p.unit_price, p.source, p.line_amount
        line.adjustments = [d.as_dict() for d in p.discounts]
        line.adjustment_amount = p.adjustment_amount
    quote.shipping_charge, quote.total_product_amount = shipping, result.product
    quote.total_adjustment_amount, quote.total_amount = result.adjustment, result.total
    quote.valid_until, quote.priced_by, quote.priced_at = clock.ensure_utc(data.valid_until), principal.actor, now
    if data.note is not None:
        quote.agent_note = data.note
    _move(session, quote, "price", principal, data={"total": format_minor(result.total, currency),
                                                    "currency": currency})
    return _doc(session, quote)


def send_quote(session: Session, ref: str, principal: Principal) -> Doc:
    quote = _find(session, ref, principal, lock=True)
    LIFECYCLE.target(quote.status, "send")
    if domain.is_expired(quote.valid_until, clock.now()):
        raise _expired(quote)
    _move(session, quote, "send", principal, data={"valid_until": quote.valid_until.isoformat()
                                                   if quote.valid_until else None})
    return _doc(session, quote)


# ----------------------------------------------------------------------------------------------
# The buyer's answer, and expiry


def _expired(quote: Quote) -> Conflict:
    until = quote.valid_until.isoformat() if quote.valid_until else None
    return QuoteExpired(
        f"quote {quote.number} expired at {until}; ask for a new quote",
        [FieldError("valid_until", f"passed at {until}")],
        extra={"valid_until": until, "current_status": quote.status},
    )


def reject_quote(session: Session, ref: str, reason: str | None, principal: Principal) -> Doc:
    quote = _find(session, ref, principal, lock=True)
    if principal.role not in STAFF:
        _require_buyer(session, principal)
    _move(session, quote, "reject", principal, reason=reason)
    return _doc(session, quote)


def _order_payload(quote: Quote, lines: list[QuoteLine], channel: str, account: str, data: QuoteAcceptIn,
                   now: datetime) -> OrderIn:
    exp = exponent_of(quote.currency)

    def major(minor: int) -> Decimal:
        return Decimal(minor).scaleb(-exp)

    body: dict[str, Any] = {
        "channel": channel, "external_reference": quote.number, "account": account, "currency": quote.currency,
        "po_number": data.po_number, "ordered_at": now, "pricing": "order", "bill_to": data.bill_to,
        "tax": "calculate",  # nobody sends tax lines for a quote: the engine taxes it as a catalog order
        "payments": data.payments,
        "delivery_groups": [{
            "ship_to": data.ship_to, "delivery_method": data.delivery_method,
            "shipping_charge": major(quote.shipping_charge),
            "lines": [{
                "sku": line.sku, "quantity": line.quantity, "unit_price": line.unit_price,
                "adjustments": [{"name": a["name"], "amount": major(a["amount"]), "reference": a["reference"] or
                                 (quote.number if a["source"] == "quote" else None)} for a in line.adjustments],
            } for line in lines],
        }],
    }
    try:
        return OrderIn.model_validate(body)
    except ValidationError as exc:
        raise ValidationFailed([FieldError(".".join(str(p) for p in e["loc"]), e["msg"]) for e in exc.errors()]) \
            from None


def _as_quote_fields(problem: Problem) -> Problem:
    """Intake names the fields of the order it was given; the buyer sent the quote's."""
    prefix = "delivery_groups[0]."
    problem.errors = [FieldError(e.field.removeprefix(prefix), e.message) for e in problem.errors]
    return problem


def accept_quote(session: Session, ref: str, data: QuoteAcceptIn, principal: Principal) -> tuple[bool, Doc]:
    """The order of the quote (created=True the first time), at the quoted prices."""
    _require_buyer(session, principal)
    quote = _find(session, ref, principal, lock=True)
    if quote.status == "accepted" and quote.order_summary_id is not None:
        return False, load_order(session, quote.order_summary_id, principal)
    now = clock.now()
    if quote.status == "expired" or (quote.status in domain.EXPIRING and domain.is_expired(quote.valid_until, now)):
        raise _expired(quote)
    LIFECYCLE.target(quote.status, "accept")
    account = session.execute(select(Account.number).where(Account.id == quote.account_id)).scalar_one()
    channel = session.execute(select(SalesChannel.code).where(SalesChannel.id == quote.channel_id)).scalar_one()
    order = _order_payload(quote, _lines(session, quote.id), channel, account, data, now)
    try:
        placed = intake.place_order(session, order, principal)
    except Problem as problem:
        raise _as_quote_fields(problem) from None
    if not placed.created:
        raise DuplicateReference(f"channel '{channel}' already has an order with the reference {quote.number}")
    order_id = uuid.UUID(str(placed.document["id"]))
    quote.order_summary_id = order_id
    _move(session, quote, "accept", principal, data={"order_id": str(order_id),
                                                     "order_number": placed.document["number"]})
    return True, placed.document


def expire_due(session: Session, ref: str, principal: Principal) -> None:
    """Mark the quote expired if its validity has passed (before an acceptance is tried)."""
    quote = _find(session, ref, principal, lock=True)
    if quote.status in domain.EXPIRING and domain.is_expired(quote.valid_until, clock.now()):
        apply(session, LIFECYCLE, quote, "expire", actor="system:quotes", data={"number": quote.number})
        quote.version += 1
        quote.updated_at = clock.now()


def expire_quotes(session: Session, now: datetime | None = None, limit: int = 500) -> int:
    """The periodic job: quotes past their validity become expired (oldest validity first)."""
    now = now or clock.now()
    due = list(session.scalars(
        select(Quote).where(Quote.status.in_(domain.EXPIRING), Quote.valid_until <= now)
        .order_by(Quote.valid_until).limit(limit).with_for_update(skip_locked=True)
    ))
    for quote in due:
        apply(session, LIFECYCLE, quote, "expire", actor="system:quotes", data={"number": quote.number})
        quote.version += 1
        quote.updated_at = now
    session.flush()
    return len(due)
