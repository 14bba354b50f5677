"""Small helpers shared by the price book and promotion use cases."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, TypeVar

import orjson
from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from ordino.accounts.models import Account
from ordino.catalog.models import Product
from ordino.kernel.errors import Conflict, Duplicate, FieldError, NotFound
from ordino.kernel.http import dumps
from ordino.kernel.ids import parse_id
from ordino.kernel.outbox import emit
from ordino.pricing.models import Coupon, PriceBook, Promotion

Doc = dict[str, Any]
Versioned = TypeVar("Versioned", PriceBook, Promotion, Coupon)


def plain(value: Decimal | None) -> str | None:
    """A decimal as its shortest exact text ("10", "12.5")."""
    if value is None:
        return None
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "0") else text


def emit_doc(session: Session, type_: str, subject: str, doc: Doc) -> None:
    emit(session, type_, subject, orjson.loads(dumps(doc)))


def find(
    session: Session, model: type[Versioned], ref: str, what: str, *, lock: bool = False,
    visible: ColumnElement[bool] | None = None,
) -> Versioned:
    """A record by id or code; else 404. `visible`: what the key may see (others answer 404 too)."""
    ident = parse_id(ref)
    stmt = select(model).where(or_(model.id == ident, model.code == ref) if ident else model.code == ref)
    if visible is not None:
        stmt = stmt.where(visible)
    row = session.scalars((stmt.with_for_update() if lock else stmt).limit(1)).first()
    if row is None:
        raise NotFound(f"{what} not found")
    return row


def duplicate(field: str, detail: str) -> Conflict:
    return Duplicate(detail, [FieldError(field, "is already taken")])


def twice(field: str, values: Sequence[str], errors: list[FieldError], *, fold: bool = False) -> None:
    """Name every repeated value of a list: `field[3]` "is given twice"."""
    seen: set[str] = set()
    for i, value in enumerate(values):
        key = value.upper() if fold else value
        if key in seen:
            errors.append(FieldError(f"{field}[{i}]", "is given twice"))
        seen.add(key)


def account_ids(session: Session, field: str, numbers: Sequence[str], errors: list[FieldError]) -> list[uuid.UUID]:
    """Account ids for numbers, in one query; unknown numbers are errors naming `field[i]`."""
    found = dict(
        session.execute(select(Account.number, Account.id).where(Account.number.in_(set(numbers)))).all()
    ) if numbers else {}
    for i, number in enumerate(numbers):
        if number not in found:
            errors.append(FieldError(f"{field}[{i}]", f"no account '{number}'"))
    return list(dict.fromkeys(found[n] for n in numbers if n in found))


def account_numbers(session: Session, ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not ids:
        return {}
    return dict(session.execute(select(Account.id, Account.number).where(Account.id.in_(ids))).all())


def known_skus(session: Session, skus: set[str]) -> set[str]:
    if not skus:
        return set()
    return set(session.execute(select(Product.sku).where(Product.sku.in_(skus))).scalars())
