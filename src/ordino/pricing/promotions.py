"""Promotion and coupon use cases.

A promotion's terms are checked as a whole on create and after every change (`domain.check_terms`),
so a patch that would leave them inconsistent is a 422 naming the field. Its limits (accounts,
channels, SKUs) are rows; a patch that names one of these lists replaces it. Coupons are stored
in upper case; their use is counted by `service.consume_coupons`, never here.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, delete, insert, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ordino.accounts.models import Account
from ordino.accounts.tree import ancestors
from ordino.catalog.models import SalesChannel
from ordino.kernel import clock
from ordino.kernel.auth import Principal
from ordino.kernel.errors import Duplicate, FieldError, NotFound, ValidationFailed
from ordino.kernel.http import apply_changes, check_if_match, page, paginate
from ordino.kernel.ids import new_id
from ordino.kernel.money import exponent_of, format_minor, format_price, parse_amount
from ordino.pricing import common, domain
from ordino.pricing.common import Doc
from ordino.pricing.errors import UsageLimitBelowUses
from ordino.pricing.models import Coupon, Promotion, PromotionAccount, PromotionChannel, PromotionSku
from ordino.pricing.schemas import CouponIn, CouponPatch, CouponsIn, PromotionIn, PromotionPatch
from ordino.pricing.service import normalize_coupon

WHAT = "promotion"
_TERMS = (
    "level", "kind", "percentage", "amount", "currency", "min_subtotal", "buy_quantity", "get_quantity", "get_sku",
    "valid_from", "valid_to",
)
_PLAIN = ("name", "description", "priority", "stackable", "requires_coupon", "active")
_LIMITS = ("skus", "accounts", "channels")


@dataclass(frozen=True, slots=True)
class _Limits:
    accounts: list[str]
    channels: list[str]
    skus: list[str]


def _doc(p: Promotion, limits: _Limits) -> Doc:
    cur = p.currency
    return {
        "id": p.id,
        "code": p.code,
        "name": p.name,
        "description": p.description,
        "level": p.level,
        "kind": p.kind,
        "percentage": common.plain(p.percentage),
        "amount": None if p.amount is None else format_price(p.amount, cur) if cur else common.plain(p.amount),
        "currency": cur,
        "min_subtotal": None if p.min_subtotal is None or cur is None else format_minor(p.min_subtotal, cur),
        "buy_quantity": p.buy_quantity,
        "get_quantity": p.get_quantity,
        "get_sku": p.get_sku,
        "skus": limits.skus,
        "accounts": limits.accounts,
        "channels": limits.channels,
        "priority": p.priority,
        "stackable": p.stackable,
        "requires_coupon": p.requires_coupon,
        "valid_from": p.valid_from,
        "valid_to": p.valid_to,
        "active": p.active,
        "version": p.version,
        "created_at": p.created_at,
        "updated_at": p.updated_at,
    }


def _limits(session: Session, ids: list[uuid.UUID]) -> dict[uuid.UUID, _Limits]:
    """The limits of several promotions: three queries, whatever their number."""
    out = {i: _Limits([], [], []) for i in ids}
    if not ids:
        return out
    for pid, number in session.execute(
        select(PromotionAccount.promotion_id, Account.number)
        .join(Account, Account.id == PromotionAccount.account_id)
        .where(PromotionAccount.promotion_id.in_(ids))
        .order_by(Account.number)
    ):
        out[pid].accounts.append(number)
    for pid, code in session.execute(
        select(PromotionChannel.promotion_id, SalesChannel.code)
        .join(SalesChannel, SalesChannel.id == PromotionChannel.channel_id)
        .where(PromotionChannel.promotion_id.in_(ids))
        .order_by(SalesChannel.code)
    ):
        out[pid].channels.append(code)
    for pid, sku in session.execute(
        select(PromotionSku.promotion_id, PromotionSku.sku)
        .where(PromotionSku.promotion_id.in_(ids))
        .order_by(PromotionSku.sku)
    ):
        out[pid].skus.append(sku)
    return out


def _one(session: Session, p: Promotion) -> Doc:
    return _doc(p, _limits(session, [p.id])[p.id])


def _major(minor: int | None, currency: str | None) -> Decimal | None:
    if minor is None or currency is None:
        return None
    return Decimal(minor).scaleb(-exponent_of(currency))


def _check(session: Session, terms: domain.Terms, values: dict[str, Any]) -> tuple[list[FieldError], dict[str, Any]]:
    """Check the terms and resolve the limits named in `values`; ids by list name."""
    errors = domain.check_terms(terms)
    resolved: dict[str, Any] = {}
    skus = [*values.get("skus", []), *([terms.get_sku] if terms.get_sku else [])]
    known = common.known_skus(session, set(skus))
    if "skus" in values:
        common.twice("skus", values["skus"], errors)
        errors += [
            FieldError(f"skus[{i}]", f"no product '{s}'") for i, s in enumerate(values["skus"]) if s not in known
        ]
        resolved["skus"] = list(dict.fromkeys(values["skus"]))
    if terms.get_sku is not None and terms.get_sku not in known:
        errors.append(FieldError("get_sku", f"no product '{terms.get_sku}'"))
    if "accounts" in values:
        common.twice("accounts", values["accounts"], errors)
        resolved["accounts"] = common.account_ids(session, "accounts", values["accounts"], errors)
    if "channels" in values:
        common.twice("channels", values["channels"], errors)
        codes = values["channels"]
        found = dict(
            session.execute(select(SalesChannel.code, SalesChannel.id).where(SalesChannel.code.in_(set(codes))))

            .all()
        ) if codes else {}
        errors += [
            FieldError(f"channels[{i}]", f"no sales channel '{c}'") for i, c in enumerate(codes) if c not in found
        ]
        resolved["channels"] = list(dict.fromkeys(found[c] for c in codes if c in found))
    return errors, resolved


def _write_limits(session: Session, promotion_id: uuid.UUID, resolved: dict[str, Any]) -> None:
    tables: dict[str, tuple[Any, str]] = {
        "skus": (PromotionSku, "sku"),
        "accounts": (PromotionAccount, "account_id"),
        "channels": (PromotionChannel, "channel_id"),
    }
    for name, values in resolved.items():
        model, column = tables[name]
        session.execute(delete(model).where(model.promotion_id == promotion_id))
        if values:
            session.execute(insert(model), [{"promotion_id": promotion_id, column: v} for v in values])


def _add_coupons(session: Session, promotion: Promotion, coupons: list[CouponIn], field: str) -> list[Coupon]:
    codes = [normalize_coupon(c.code) for c in coupons]
    errors: list[FieldError] = []
    for i, code in enumerate(codes):
        if code in codes[:i]:
            errors.append(FieldError(f"{field}[{i}].code", "is given twice (coupon codes ignore case)"))
    if errors:
        raise ValidationFailed(errors)
    taken = set(session.execute(select(Coupon.code).where(Coupon.code.in_(set(codes)))).scalars()) if codes else set()
    if taken:
        raise Duplicate(
            "coupon codes are unique (ignoring case)",
            [FieldError(f"{field}[{i}].code", "is already taken") for i, code in enumerate(codes) if code in taken],
        )
    now = clock.now()
    rows = [
        Coupon(
            id=new_id(), promotion_id=promotion.id, code=code, usage_limit=c.usage_limit, times_used=0,
            active=c.active, version=1, created_at=now, updated_at=now,
        )
        for code, c in zip(codes, coupons, strict=True)
    ]
    session.add_all(rows)
    try:
        session.flush()
    except IntegrityError:  # a concurrent insert of the same code got there first
        raise Duplicate("coupon codes are unique (ignoring case)",
                        [FieldError(field, "a code is already taken")]) from None
    return rows


def _minor_subtotal(value: Decimal | None, currency: str | None) -> int | None:
    return None if value is None or currency is None else parse_amount(value, currency)


def create_promotion(session: Session, data: PromotionIn) -> Doc:
    fields = data.model_dump()
    terms = domain.Terms(**{k: fields[k] for k in _TERMS}, skus=frozenset(data.skus))
    errors, resolved = _check(session, terms, {name: fields[name] for name in _LIMITS})
    if errors:
        raise ValidationFailed(errors)
    taken = common.duplicate("code", f"a promotion with code '{data.code}' already exists")
    if session.execute(select(Promotion.id).where(Promotion.code == data.code)).first() is not None:
        raise taken
    now = clock.now()
    promotion = Promotion(
        **{k: fields[k] for k in (*_TERMS, *_PLAIN) if k != "min_subtotal"},
        code=data.code,
        min_subtotal=_minor_subtotal(data.min_subtotal, data.currency),
        id=new_id(), version=1, created_at=now, updated_at=now,
    )
    session.add(promotion)
    try:
        session.flush()
    except IntegrityError:
        raise taken from None
    _write_limits(session, promotion.id, resolved)
    coupons = _add_coupons(session, promotion, data.coupons, "coupons")
    doc = _one(session, promotion)
    common.emit_doc(
        session, "promotion.created", f"promotion/{promotion.id}", {**doc, "coupons": [c.code for c in coupons]}
    )
    return doc


def visible_to(viewer: Principal | None) -> ColumnElement[bool] | None:
    """What a key scoped to an account sees: promotions for everyone, and those limited to its
    account or its ancestors (those its orders get). Other accounts' promotions are not disclosed."""
    if viewer is None or viewer.account_id is None:
        return None
    limited = select(PromotionAccount.promotion_id)
    chain = ancestors(viewer.account_id)
    return or_(Promotion.id.not_in(limited),
               Promotion.id.in_(limited.where(PromotionAccount.account_id.in_(select(chain.c.id)))))


def _find(session: Session, ref: str, viewer: Principal | None, *, lock: bool = False) -> Promotion:
    """A promotion by id or code; 404 when unknown or limited to accounts the key does not see."""
    return common.find(session, Promotion, ref, WHAT, lock=lock, visible=visible_to(viewer))


def get_promotion(session: Session, ref: str, viewer: Principal | None = None) -> Doc:
    return _one(session, _find(session, ref, viewer))


def update_promotion(
    session: Session, ref: str, patch: PromotionPatch, if_match: str | None, viewer: Principal | None = None
) -> Doc:
    promotion = _find(session, ref, viewer, lock=True)
    check_if_match(if_match, promotion.version)
    given = patch.model_fields_set - {"code"}
    values = patch.model_dump(include=given)
    current = {k: getattr(promotion, k) for k in _TERMS}
    current["min_subtotal"] = _major(promotion.min_subtotal, promotion.currency)
    merged = {**current, **{k: v for k, v in values.items() if k in _TERMS}}
    skus = values["skus"] if "skus" in values else _limits(session, [promotion.id])[promotion.id].skus
    terms = domain.Terms(**merged, skus=frozenset(skus))
    errors, resolved = _check(session, terms, {k: v for k, v in values.items() if k in _LIMITS})
    if errors:
        raise ValidationFailed(errors)
    changes = {k: merged[k] for k in _TERMS if k != "min_subtotal"}
    changes |= {k: v for k, v in values.items() if k in _PLAIN}
    changes["min_subtotal"] = _minor_subtotal(merged["min_subtotal"], merged["currency"])
    before = _one(session, promotion)
    apply_changes(promotion, changes, if_match)
    _write_limits(session, promotion.id, resolved)
    doc = _one(session, promotion)
    if doc != before:
        if doc["version"] == before["version"]:  # only the limits changed: still a new version
            promotion.version += 1
            promotion.updated_at = clock.now()
            doc = _one(session, promotion)
        session.flush()
        common.emit_doc(session, "promotion.updated", f"promotion/{promotion.id}", doc)
    return doc


@dataclass(frozen=True, slots=True)
class PromotionFilter:
    active: bool | None = None
    level: str | None = None
    kind: str | None = None
    coupon: str | None = None
    q: str | None = None


def list_promotions(
    session: Session, f: PromotionFilter, limit: int, cursor: str | None, viewer: Principal | None = None
) -> Doc:
    seen = visible_to(viewer)
    where: list[ColumnElement[bool]] = [] if seen is None else [seen]
    if f.active is not None:
        where.append(Promotion.active.is_(f.active))
    if f.level:
        where.append(Promotion.level == f.level)
    if f.kind:
        where.append(Promotion.kind == f.kind)
    if f.coupon:
        where.append(
            Promotion.id.in_(select(Coupon.promotion_id).where(Coupon.code == normalize_coupon(f.coupon)))
        )
    if f.q:
        where.append(
            or_(Promotion.code.icontains(f.q, autoescape=True), Promotion.name.icontains(f.q, autoescape=True))
        )
    rows = session.scalars(paginate(select(Promotion).where(*where), Promotion.id, limit, cursor)).all()
    limits = _limits(session, [p.id for p in rows])
    return page([_doc(p, limits[p.id]) for p in rows], [p.id for p in rows], limit)


# ----------------------------------------------------------------------------------------------
# Coupons


def _coupon_doc(c: Coupon, promotion: Promotion) -> Doc:
    return {
        "id": c.id,
        "code": c.code,
        "promotion": promotion.code,
        "usage_limit": c.usage_limit,
        "times_used": c.times_used,
        "active": c.active,
        "version": c.version,
        "created_at": c.created_at,
        "updated_at": c.updated_at,
    }


def create_coupons(session: Session, ref: str, data: CouponsIn, viewer: Principal | None = None) -> Doc:
    promotion = _find(session, ref, viewer)
    rows = _add_coupons(session, promotion, data.coupons, "coupons")
    docs = [_coupon_doc(c, promotion) for c in rows]
    common.emit_doc(
        session, "coupon.created", f"promotion/{promotion.id}",
        {"promotion": promotion.code, "coupons": [c.code for c in rows]},
    )
    return {"promotion": promotion.code, "items": docs}


def list_coupons(session: Session, ref: str, limit: int, cursor: str | None, viewer: Principal | None = None) -> Doc:
    promotion = _find(session, ref, viewer)
    rows = session.scalars(
        paginate(select(Coupon).where(Coupon.promotion_id == promotion.id), Coupon.id, limit, cursor)
    ).all()
    return page([_coupon_doc(c, promotion) for c in rows], [c.id for c in rows], limit)


def _find_coupon(session: Session, promotion: Promotion, code: str, *, lock: bool = False) -> Coupon:
    stmt = select(Coupon).where(Coupon.promotion_id == promotion.id, Coupon.code == normalize_coupon(code))
    coupon = session.scalars(stmt.with_for_update() if lock else stmt).first()
    if coupon is None:
        raise NotFound("coupon not found")
    return coupon


def get_coupon(session: Session, ref: str, code: str, viewer: Principal | None = None) -> Doc:
    promotion = _find(session, ref, viewer)
    return _coupon_doc(_find_coupon(session, promotion, code), promotion)


def update_coupon(
    session: Session, ref: str, code: str, patch: CouponPatch, if_match: str | None, viewer: Principal | None = None
) -> Doc:
    """Change a coupon's limit or deactivate it. The row is locked, so a concurrent use waits
    and then sees the new limit; a limit below the uses already counted is refused."""
    promotion = _find(session, ref, viewer)
    coupon = _find_coupon(session, promotion, code, lock=True)
    check_if_match(if_match, coupon.version)
    changes = patch.model_dump(include=patch.model_fields_set - {"code"})
    limit = changes.get("usage_limit", coupon.usage_limit)
    if limit is not None and limit < coupon.times_used:
        raise UsageLimitBelowUses(
            f"the coupon has been used {coupon.times_used} times already",
            [FieldError("usage_limit", f"cannot be less than the {coupon.times_used} uses counted")],
        )
    if apply_changes(coupon, changes, if_match):
        session.flush()
        common.emit_doc(session, "coupon.updated", f"coupon/{coupon.id}", _coupon_doc(coupon, promotion))
    return _coupon_doc(coupon, promotion)
