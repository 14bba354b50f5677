"""The pricing engine's use cases for orders: price lines, consume coupons, quote.

`price_lines` reads only; order intake calls it inside its transaction, then `consume_coupons`
with the coupons that gave a discount. It loads everything it needs in a fixed number of
queries, whatever the number of lines: the account chain (one recursive query), the books that
may price the order, their entries and tiers for the SKUs (one query), the promotions, their
limits and the coupons given. The rules themselves are in `pricing.domain`.
"""

from __future__ import annotations

import uuid
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, and_, literal, or_, select, update
from sqlalchemy.orm import Session

from ordino.accounts.models import Account
from ordino.catalog.models import SalesChannel
from ordino.kernel import clock
from ordino.kernel.auth import Principal
from ordino.kernel.errors import FieldError, ValidationFailed
from ordino.kernel.money import MAX_MINOR, format_minor, format_price, is_currency
from ordino.pricing import domain
from ordino.pricing.domain import Adjustment, Book, BookRef, Entry, Limits, Line, Offer, Tier
from ordino.pricing.errors import CouponUnavailable
from ordino.pricing.models import (
    Coupon,
    PriceBook,
    PriceBookAccount,
    PriceBookEntry,
    PriceBookTier,
    Promotion,
    PromotionAccount,
    PromotionChannel,
    PromotionSku,
)
from ordino.pricing.schemas import QuoteIn

__all__ = [
    "Adjustment", "PricedLine", "PricedOrder", "PricingError", "PricingLine", "account_chain", "consume_coupons",
    "normalize_coupon", "price_lines", "quote",
]

Key = Hashable
MAX_HIERARCHY_DEPTH = 32


@dataclass(frozen=True, slots=True)
class PricingLine:
    sku: str
    quantity: int
    key: Key  # the caller's name for the line, e.g. (group index, line index)


@dataclass(frozen=True, slots=True)
class PricedLine:
    key: Key
    sku: str
    quantity: int
    unit_price: Decimal
    line_amount: int  # minor units: unit price × quantity, rounded once half up
    price_book: str  # the code of the book that priced it
    adjustments: tuple[Adjustment, ...] = ()

    @property
    def adjustment_total(self) -> int:
        return sum(a.amount for a in self.adjustments)

    @property
    def net_amount(self) -> int:
        return self.line_amount + self.adjustment_total


@dataclass(frozen=True, slots=True)
class PricingError:
    """`key` is the line's key, or None for the order; `field` is relative to it: "sku",
    "quantity" for a line; "currency", "coupons[1]", "lines" for the order."""

    key: Key | None
    field: str
    message: str


@dataclass(frozen=True, slots=True)
class PricedOrder:
    currency: str
    lines: dict[Key, PricedLine]  # in the order given; lines that could not be priced are missing
    errors: tuple[PricingError, ...] = ()
    applied_coupons: tuple[str, ...] = ()  # canonical codes whose promotion gave a discount
    promotions: tuple[str, ...] = ()  # codes of the promotions applied
    coupons: tuple[str, ...] = ()  # canonical codes of the coupons given and accepted

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def subtotal(self) -> int:
        return sum(line.line_amount for line in self.lines.values())

    @property
    def adjustment_total(self) -> int:
        return sum(line.adjustment_total for line in self.lines.values())

    @property
    def total(self) -> int:
        return self.subtotal + self.adjustment_total


def normalize_coupon(code: str) -> str:
    """Coupons are matched case-insensitively: stored and compared in upper case."""
    return code.strip().upper()


def _valid(model: type[PriceBook] | type[PriceBookEntry] | type[Promotion], at: datetime) -> ColumnElement[bool]:
    return and_(
        or_(model.valid_from.is_(None), model.valid_from <= at),
        or_(model.valid_to.is_(None), model.valid_to > at),
    )


def account_chain(session: Session, account_id: uuid.UUID) -> list[uuid.UUID]:
    """The account and its ancestors, nearest first, in one recursive query."""
    account = Account.__table__
    chain = (
        select(account.c.id, account.c.parent_id, literal(0).label("depth"))
        .where(account.c.id == account_id)
        .cte("account_chain", recursive=True)
    )
    parent = account.alias("parent")
    chain = chain.union_all(
        select(parent.c.id, parent.c.parent_id, chain.c.depth + 1).where(
            parent.c.id == chain.c.parent_id, chain.c.depth < MAX_HIERARCHY_DEPTH
        )
    )
    return list(session.execute(select(chain.c.id).order_by(chain.c.depth)).scalars())


def _books(session: Session, chain: Sequence[uuid.UUID], currency: str, at: datetime, skus: set[str]) -> list[Book]:
    """The books that may price the order, in resolution order, with their entries for the SKUs."""
    depth = {account_id: i for i, account_id in enumerate(chain)}
    assigned = and_(PriceBookAccount.price_book_id == PriceBook.id, PriceBookAccount.account_id.in_(chain))
    rows = session.execute(
        select(PriceBook.id, PriceBook.code, PriceBook.valid_from, PriceBook.is_standard, PriceBookAccount.account_id)
        .outerjoin(PriceBookAccount, assigned)
        .where(
            PriceBook.currency == currency,
            PriceBook.active.is_(True),
            _valid(PriceBook, at),
            or_(PriceBook.is_standard.is_(True), PriceBookAccount.account_id.is_not(None)),
        )
    ).all()
    refs = [
        BookRef(r.id, r.code, None if r.account_id is None else depth[r.account_id], r.valid_from) for r in rows
    ]
    ordered = domain.resolution_order(refs)
    if not ordered or not skus:
        return []
    e, t = PriceBookEntry, PriceBookTier
    entry_rows = session.execute(
        select(e.id, e.price_book_id, e.sku, e.unit_price, e.valid_from, e.valid_to, t.from_quantity, t.unit_price)
        .outerjoin(t, t.entry_id == e.id)
        .where(e.price_book_id.in_([ref.id for ref in ordered]), e.sku.in_(skus), _valid(e, at))
        .order_by(e.id, t.from_quantity)
    ).all()
    heads: dict[uuid.UUID, tuple[uuid.UUID, str, Decimal, datetime | None, datetime | None]] = {}
    tiers: dict[uuid.UUID, list[Tier]] = {}
    for entry_id, book_id, sku, price, valid_from, valid_to, from_quantity, tier_price in entry_rows:
        heads[entry_id] = (book_id, sku, price, valid_from, valid_to)
        if from_quantity is not None:
            tiers.setdefault(entry_id, []).append(Tier(from_quantity, tier_price))
    by_book: dict[uuid.UUID, dict[str, list[Entry]]] = {}
    for entry_id, (book_id, sku, price, valid_from, valid_to) in heads.items():
        entry = Entry(sku, price, tuple(tiers.get(entry_id, ())), valid_from, valid_to)
        by_book.setdefault(book_id, {}).setdefault(sku, []).append(entry)
    return [Book(ref.code, by_book.get(ref.id, {})) for ref in ordered]


@dataclass
class _Promotions:
    offers: list[Offer]
    accepted: list[str]
    errors: list[PricingError]


def _offer(p: Any, skus: frozenset[str], reference: str, coupon: str | None) -> Offer:
    return Offer(
        code=p.code, name=p.name, level=p.level, kind=p.kind, reference=reference, percentage=p.percentage,
        amount=p.amount, min_subtotal=p.min_subtotal, buy_quantity=p.buy_quantity, get_quantity=p.get_quantity,
        get_sku=p.get_sku, skus=skus, priority=p.priority, stackable=p.stackable, coupon=coupon,
    )


@dataclass(frozen=True, slots=True)
class _Scopes:
    """Whom the promotions are for, by promotion id: accounts, channel codes, SKUs."""

    accounts: dict[uuid.UUID, set[uuid.UUID]]
    channels: dict[uuid.UUID, set[str]]
    skus: dict[uuid.UUID, set[str]]

    def limits(self, p: Any) -> Limits:
        return Limits(
            p.active, p.valid_from, p.valid_to, p.currency, frozenset(self.accounts.get(p.id, ())),
            frozenset(self.channels.get(p.id, ())),
        )

    def offer(self, p: Any, reference: str, coupon: str | None) -> Offer:
        return _offer(p, frozenset(self.skus.get(p.id, ())), reference, coupon)


def _promotions(
    session: Session, chain: Sequence[uuid.UUID], currency: str, channel: str | None, at: datetime,
    coupons: Sequence[str],
) -> _Promotions:
    """The offers that apply to the order: promotions without coupons that are eligible, and
    those activated by a valid coupon given. Coupons that cannot be used are errors."""
    codes = [normalize_coupon(c) for c in coupons]
    coupon_rows = {}
    if codes:
        coupon_rows = {
            row.code: row
            for row in session.execute(
                select(Coupon.code, Coupon.promotion_id, Coupon.usage_limit, Coupon.times_used, Coupon.active).where(
                    Coupon.code.in_(set(codes))
                )
            )
        }
    automatic = and_(
        Promotion.requires_coupon.is_(False),
        Promotion.active.is_(True),
        _valid(Promotion, at),
        or_(Promotion.currency.is_(None), Promotion.currency == currency),
    )
    wanted = {row.promotion_id for row in coupon_rows.values()}
    condition = or_(automatic, Promotion.id.in_(wanted)) if wanted else automatic
    promos = {p.id: p for p in session.execute(select(*Promotion.__table__.c).where(condition))}
    scopes = _read_scopes(session, list(promos))

    def refusal(p: Any) -> str | None:
        return domain.refusal(scopes.limits(p), at=at, currency=currency, accounts=chain, channel=channel)

    chosen = {p.id: scopes.offer(p, p.code, None) for p in promos.values()
              if not p.requires_coupon and refusal(p) is None}
    errors: list[PricingError] = []
    accepted: list[str] = []
    by_coupon: dict[uuid.UUID, str] = {}
    for i, code in enumerate(codes):
        row = coupon_rows.get(code)
        why = _coupon_refusal(code, codes[:i], row, by_coupon)
        if why is not None:
            errors.append(PricingError(None, f"coupons[{i}]", why))
            continue
        assert row is not None
        p = promos[row.promotion_id]
        if (reason := refusal(p)) is not None:
            errors.append(PricingError(None, f"coupons[{i}]", f"coupon '{code}' {reason}"))
            continue
        by_coupon[p.id] = code
        accepted.append(code)
        chosen[p.id] = scopes.offer(p, code, code)
    return _Promotions(list(chosen.values()), accepted, errors)


def _coupon_refusal(code: str, before: Sequence[str], row: Any, by_coupon: dict[uuid.UUID, str]) -> str | None:
    """Why a coupon cannot be used, whatever the promotion's own limits; None if it can."""
    if code in before:
        return f"coupon '{code}' is given twice"
    if row is None:
        return f"no coupon '{code}'"
    if not row.active:
        return f"coupon '{code}' is not active"
    if row.usage_limit is not None and row.times_used >= row.usage_limit:
        return f"coupon '{code}' has been used up"
    if row.promotion_id in by_coupon:
        return f"coupon '{code}' is for the same promotion as '{by_coupon[row.promotion_id]}'"
    return None


def _read_scopes(session: Session, ids: list[uuid.UUID]) -> _Scopes:
    scopes = _Scopes({}, {}, {})
    if not ids:
        return scopes
    for pid, account_id in session.execute(
        select(PromotionAccount.promotion_id, PromotionAccount.account_id).where(PromotionAccount.promotion_id.in_(ids))
    ):
        scopes.accounts.setdefault(pid, set()).add(account_id)
    for pid, code in session.execute(
        select(PromotionChannel.promotion_id, SalesChannel.code)
        .join(SalesChannel, SalesChannel.id == PromotionChannel.channel_id)
        .where(PromotionChannel.promotion_id.in_(ids))
    ):
        scopes.channels.setdefault(pid, set()).add(code)
    for pid, sku in session.execute(
        select(PromotionSku.promotion_id, PromotionSku.sku).where(PromotionSku.promotion_id.in_(ids))
    ):
        scopes.skus.setdefault(pid, set()).add(sku)
    return scopes


def price_lines(
    session: Session,
    *,
    account_id: uuid.UUID,
    currency: str,
    channel_code: str | None,
    at: datetime,
    lines: Sequence[PricingLine],
    coupons: Sequence[str] = (),
) -> PricedOrder:
    """Price an order's lines for an account, with the promotions that apply. Writes nothing.

    Lines without a price (or whose amount would not fit) are reported in `errors` and left out
    of `lines`; promotions are only computed when every line is priced."""
    at = clock.ensure_utc(at)
    if not is_currency(currency):
        message = f"'{currency}' is not an active ISO 4217 currency"
        return PricedOrder(currency, {}, (PricingError(None, "currency", message),))
    chain = account_chain(session, account_id)
    skus = {line.sku for line in lines}
    books = _books(session, chain, currency, at, skus)
    volume: dict[str, int] = {}
    for line in lines:
        volume[line.sku] = volume.get(line.sku, 0) + line.quantity
    errors: list[PricingError] = []
    priced: dict[Key, PricedLine] = {}
    for line in lines:
        price = domain.resolve_price(books, line.sku, volume[line.sku], at)
        if price is None:
            message = f"no price for '{line.sku}' in {currency} for this account on {at.date().isoformat()}"
            errors.append(PricingError(line.key, "sku", message))
            continue
        amount = domain.line_amount(price.unit_price, line.quantity, currency)
        if amount > MAX_MINOR:
            errors.append(PricingError(line.key, "quantity", "the line amount is larger than Ordino can store"))
            continue
        priced[line.key] = PricedLine(line.key, line.sku, line.quantity, price.unit_price, amount, price.book)
    if sum(p.line_amount for p in priced.values()) > MAX_MINOR:
        errors.append(PricingError(None, "lines", "the order total is larger than Ordino can store"))
    promos = _promotions(session, chain, currency, channel_code, at, coupons)
    errors += promos.errors
    if errors:
        return PricedOrder(currency, priced, tuple(errors), coupons=tuple(promos.accepted))
    domain_lines = [Line(p.key, p.sku, p.quantity, p.line_amount) for p in priced.values()]
    discounts = domain.apply_promotions(domain_lines, promos.offers, currency)
    for key, adjustments in discounts.by_line.items():
        p = priced[key]
        priced[key] = PricedLine(p.key, p.sku, p.quantity, p.unit_price, p.line_amount, p.price_book, adjustments)
    return PricedOrder(
        currency,
        priced,
        (),
        tuple(o.coupon for o in discounts.applied if o.coupon),
        tuple(o.code for o in discounts.applied),
        tuple(promos.accepted),
    )


def consume_coupons(session: Session, codes: Sequence[str]) -> None:
    """Count one use of each coupon, in the caller's transaction.

    One conditional UPDATE per coupon (in sorted order, so two orders never deadlock on them):
    it only counts while the coupon is active and under its limit, so concurrent orders never
    use a coupon more often than allowed. A coupon that cannot be used is a 409 naming it."""
    now = clock.now()
    for code in sorted({normalize_coupon(c) for c in codes}):
        stmt = (
            update(Coupon)
            .where(
                Coupon.code == code,
                Coupon.active.is_(True),
                or_(Coupon.usage_limit.is_(None), Coupon.times_used < Coupon.usage_limit),
            )
            .values(times_used=Coupon.times_used + 1, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        if cast(CursorResult[Any], session.execute(stmt)).rowcount == 1:
            continue
        active = session.execute(select(Coupon.active).where(Coupon.code == code)).scalar_one_or_none()
        reason = "does not exist" if active is None else "is not active" if not active else "has been used up"
        raise CouponUnavailable(
            f"coupon '{code}' {reason}",
            [FieldError("coupons", f"coupon '{code}' {reason}")],
            extra={"coupon": code},
        )


# ----------------------------------------------------------------------------------------------
# POST /prices/quote: the same pricing, for an API client, without writing


def _adjustment_doc(a: Adjustment, currency: str) -> dict[str, Any]:
    return {"name": a.name, "source": a.source, "reference": a.reference, "amount": format_minor(a.amount, currency)}


def quote(session: Session, data: QuoteIn, principal: Principal) -> dict[str, Any]:
    errors: list[FieldError] = []
    account = session.execute(select(Account.id, Account.number).where(Account.number == data.account)).first()
    if account is None or not principal.sees_account(account.id):
        errors.append(FieldError("account", f"no account '{data.account}'"))
    if data.channel is not None:
        channel = session.execute(select(SalesChannel.id).where(SalesChannel.code == data.channel)).first()
        if channel is None:
            errors.append(FieldError("channel", f"no sales channel '{data.channel}'"))
    if not is_currency(data.currency):
        errors.append(FieldError("currency", f"'{data.currency}' is not an active ISO 4217 currency"))
    if errors:
        raise ValidationFailed(errors)
    assert account is not None
    at = data.at or clock.now()
    lines = [PricingLine(line.sku, line.quantity, i) for i, line in enumerate(data.lines)]
    priced = price_lines(
        session, account_id=account.id, currency=data.currency, channel_code=data.channel, at=at, lines=lines,
        coupons=data.coupons,
    )
    if priced.errors:
        raise ValidationFailed(
            [
                FieldError(e.field if e.key is None else f"lines[{e.key}].{e.field}", e.message)
                for e in priced.errors
            ]
        )
    cur = data.currency
    return {
        "account": account.number,
        "currency": cur,
        "channel": data.channel,
        "at": clock.ensure_utc(at),
        "lines": [
            {
                "sku": p.sku,
                "quantity": p.quantity,
                "unit_price": format_price(p.unit_price, cur),
                "price_book": p.price_book,
                "amount": format_minor(p.line_amount, cur),
                "adjustments": [_adjustment_doc(a, cur) for a in p.adjustments],
                "net_amount": format_minor(p.net_amount, cur),
            }
            for p in priced.lines.values()
        ],
        "promotions": list(priced.promotions),
        "coupons": [{"code": code, "applied": code in priced.applied_coupons} for code in priced.coupons],
        "totals": {
            "lines": format_minor(priced.subtotal, cur),
            "adjustments": format_minor(priced.adjustment_total, cur),
            "total": format_minor(priced.total, cur),
        },
    }
