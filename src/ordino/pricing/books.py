"""Price book use cases: books, their entries (with tiers), and their accounts.

Every write either fully happens or raises a `Problem`: a taken code is a 409, unknown
references in the payload are 422 naming the field, a stale version 409, a missing If-Match 428.
Writes to a book's entries lock the book row, so two concurrent uploads to one book serialize
and the "no overlapping windows per SKU" rule holds.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, insert, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ordino.accounts.models import Account
from ordino.accounts.tree import ancestors
from ordino.audit import service as audit
from ordino.kernel import clock
from ordino.kernel.auth import Principal
from ordino.kernel.errors import Conflict, FieldError, NotFound, ValidationFailed
from ordino.kernel.http import apply_changes, check_if_match, page, paginate
from ordino.kernel.ids import new_id
from ordino.kernel.money import format_price
from ordino.pricing import common, domain
from ordino.pricing.common import Doc
from ordino.pricing.errors import NotAContractBook, StandardPriceBookConflict
from ordino.pricing.models import PriceBook, PriceBookAccount, PriceBookEntry, PriceBookTier
from ordino.pricing.schemas import AccountsIn, EntriesIn, PriceBookIn, PriceBookPatch

WHAT = "price book"


def _doc(b: PriceBook) -> Doc:
    return {
        "id": b.id,
        "code": b.code,
        "name": b.name,
        "currency": b.currency,
        "kind": b.kind,
        "is_standard": b.is_standard,
        "valid_from": b.valid_from,
        "valid_to": b.valid_to,
        "active": b.active,
        "version": b.version,
        "created_at": b.created_at,
        "updated_at": b.updated_at,
    }


def _check(kind: str, is_standard: bool, valid_from: datetime | None, valid_to: datetime | None) -> list[FieldError]:
    errors = []
    if is_standard and kind != "list":
        errors.append(FieldError("is_standard", "only a list book can be the standard one"))
    if valid_from is not None and valid_to is not None and valid_to <= valid_from:
        errors.append(FieldError("valid_to", "must be later than valid_from"))
    return errors


def _take_standard(session: Session, book: PriceBook) -> None:
    """Make `book` its currency's standard book: the previous standard one loses the flag."""
    previous = session.scalars(
        select(PriceBook)
        .where(PriceBook.currency == book.currency, PriceBook.is_standard.is_(True), PriceBook.id != book.id)
        .with_for_update()
    ).all()
    for old in previous:
        old.is_standard = False
        old.version += 1
        old.updated_at = clock.now()
        session.flush()
        common.emit_doc(session, "price_book.updated", f"price_book/{old.id}", _doc(old))


def _flush(session: Session, book: PriceBook, taken: Conflict | None = None) -> None:
    """Flush now: a concurrent insert of the same code, or a concurrent change of the currency's
    standard book, loses here with a 409 (the unique indexes decide), never with a 500."""
    try:
        session.flush()
    except IntegrityError as exc:
        if taken is not None and "code" in str(exc.orig):
            raise taken from None
        raise StandardPriceBookConflict(
            f"another {book.currency} price book became the standard one at the same time; reload and try again",
            [FieldError("is_standard", "conflicts with a concurrent change")],
        ) from None


def create_book(session: Session, data: PriceBookIn) -> Doc:
    errors = _check(data.kind, data.is_standard, data.valid_from, data.valid_to)
    if data.accounts and data.kind != "contract":
        errors.append(FieldError("accounts", "only contract books are assigned to accounts"))
    common.twice("accounts", data.accounts, errors)
    ids = common.account_ids(session, "accounts", data.accounts, errors)
    if errors:
        raise ValidationFailed(errors)
    taken = common.duplicate("code", f"a price book with code '{data.code}' already exists")
    if session.execute(select(PriceBook.id).where(PriceBook.code == data.code)).first() is not None:
        raise taken
    now = clock.now()
    book = PriceBook(
        **data.model_dump(exclude={"accounts"}), id=new_id(), version=1, created_at=now, updated_at=now
    )
    if book.is_standard:
        _take_standard(session, book)
    session.add(book)
    _flush(session, book, taken)
    if ids:
        session.execute(
            insert(PriceBookAccount),
            [{"price_book_id": book.id, "account_id": i, "assigned_at": now} for i in ids],
        )
    doc = _doc(book)
    common.emit_doc(session, "price_book.created", f"price_book/{book.id}", {**doc, "accounts": data.accounts})
    return doc


def visible_to(viewer: Principal | str | None) -> ColumnElement[bool] | None:
    """What a key scoped to an account sees: list books, and the contract books of its account and
    its ancestors (those that price its orders). Other accounts' contracts are not disclosed."""
    if not isinstance(viewer, Principal) or viewer.account_id is None:
        return None
    chain = ancestors(viewer.account_id)
    assigned = select(PriceBookAccount.price_book_id).where(PriceBookAccount.account_id.in_(select(chain.c.id)))
    return or_(PriceBook.kind == "list", PriceBook.id.in_(assigned))


def get_book(session: Session, ref: str, viewer: Principal | None = None) -> Doc:
    return _doc(common.find(session, PriceBook, ref, WHAT, visible=visible_to(viewer)))


def update_book(session: Session, ref: str, patch: PriceBookPatch, if_match: str | None) -> Doc:
    book = common.find(session, PriceBook, ref, WHAT, lock=True)
    check_if_match(if_match, book.version)
    changes = patch.model_dump(include=patch.model_fields_set - {"code", "currency", "kind"})
    merged = {**_doc(book), **changes}
    errors = _check(book.kind, merged["is_standard"], merged["valid_from"], merged["valid_to"])
    if errors:
        raise ValidationFailed(errors)
    if merged["is_standard"] and not book.is_standard:
        _take_standard(session, book)
    if apply_changes(book, changes, if_match):
        _flush(session, book)
        common.emit_doc(session, "price_book.updated", f"price_book/{book.id}", _doc(book))
    return _doc(book)


@dataclass(frozen=True, slots=True)
class BookFilter:
    currency: str | None = None
    kind: str | None = None
    account: str | None = None
    active: bool | None = None
    q: str | None = None


def list_books(session: Session, f: BookFilter, limit: int, cursor: str | None, viewer: Principal | None = None) -> Doc:
    stmt = select(PriceBook)
    seen = visible_to(viewer)
    if seen is not None:
        stmt = stmt.where(seen)
    if f.currency:
        stmt = stmt.where(PriceBook.currency == f.currency.upper())
    if f.kind:
        stmt = stmt.where(PriceBook.kind == f.kind)
    if f.active is not None:
        stmt = stmt.where(PriceBook.active.is_(f.active))
    if f.account:
        stmt = stmt.where(
            PriceBook.id.in_(
                select(PriceBookAccount.price_book_id)
                .join(Account, Account.id == PriceBookAccount.account_id)
                .where(Account.number == f.account)
            )
        )
    if f.q:
        stmt = stmt.where(
            or_(PriceBook.code.icontains(f.q, autoescape=True), PriceBook.name.icontains(f.q, autoescape=True))
        )
    rows = session.scalars(paginate(stmt, PriceBook.id, limit, cursor)).all()
    return page([_doc(b) for b in rows], [b.id for b in rows], limit)


# ----------------------------------------------------------------------------------------------
# Entries


def _entry_docs(session: Session, rows: Sequence[Any], currency: str) -> list[Doc]:
    """Entry documents with their tiers, loaded in one query for all of them."""
    tiers: dict[uuid.UUID, list[Doc]] = {}
    if rows:
        for entry_id, from_quantity, price in session.execute(
            select(PriceBookTier.entry_id, PriceBookTier.from_quantity, PriceBookTier.unit_price)
            .where(PriceBookTier.entry_id.in_([r.id for r in rows]))
            .order_by(PriceBookTier.entry_id, PriceBookTier.from_quantity)
        ):
            tiers.setdefault(entry_id, []).append(
                {"from_quantity": from_quantity, "unit_price": format_price(price, currency)}
            )
    return [
        {
            "id": r.id,
            "sku": r.sku,
            "unit_price": format_price(r.unit_price, currency),
            "tiers": tiers.get(r.id, []),
            "valid_from": r.valid_from,
            "valid_to": r.valid_to,
            "updated_at": r.updated_at,
        }
        for r in rows
    ]


def _check_entries(session: Session, data: EntriesIn) -> list[FieldError]:
    errors: list[FieldError] = []
    known = common.known_skus(session, {e.sku for e in data.entries})
    windows: dict[str, list[tuple[int, datetime | None, datetime | None]]] = {}
    for i, entry in enumerate(data.entries):
        path = f"entries[{i}]"
        if entry.sku not in known:
            errors.append(FieldError(f"{path}.sku", f"no product '{entry.sku}'"))
        if entry.valid_from is not None and entry.valid_to is not None and entry.valid_to <= entry.valid_from:
            errors.append(FieldError(f"{path}.valid_to", "must be later than valid_from"))
        seen: set[int] = set()
        for j, tier in enumerate(entry.tiers):
            if tier.from_quantity < 2:
                errors.append(
                    FieldError(f"{path}.tiers[{j}].from_quantity", "must be at least 2; unit_price is the price from 1")
                )
            elif tier.from_quantity in seen:
                errors.append(FieldError(f"{path}.tiers[{j}].from_quantity", "is given twice"))
            seen.add(tier.from_quantity)
        windows.setdefault(entry.sku, []).append((i, entry.valid_from, entry.valid_to))
    for items in windows.values():
        for earlier, later in domain.overlapping([(vf, vt) for _, vf, vt in items]):
            errors.append(
                FieldError(
                    f"entries[{items[later][0]}].valid_from",
                    f"overlaps entries[{items[earlier][0]}] of the same SKU; a SKU's windows in a book may not overlap",
                )
            )
    for k, sku in enumerate(data.remove):
        if sku in windows:
            errors.append(FieldError(f"remove[{k}]", f"'{sku}' is also in entries"))
    return errors


def _prices(session: Session, book: PriceBook, skus: set[str]) -> dict[str, list[Doc]]:
    """The entries of these SKUs, as the audit log keeps them: prices, tiers and windows."""
    e = PriceBookEntry
    rows = session.execute(
        select(*e.__table__.c).where(e.price_book_id == book.id, e.sku.in_(skus))
    ).all() if skus else []
    prices: dict[str, list[Doc]] = {sku: [] for sku in sorted(skus)}
    for doc in _entry_docs(session, rows, book.currency):
        prices[doc["sku"]].append({k: doc[k] for k in ("unit_price", "tiers", "valid_from", "valid_to")})
    for entries in prices.values():
        entries.sort(key=lambda d: (d["valid_from"] is not None, d["valid_from"] and d["valid_from"].isoformat()))
    return prices


def put_entries(session: Session, ref: str, data: EntriesIn, *, actor: Principal | str) -> Doc:
    """Replace the entries of the SKUs named; remove those of `remove`; leave the others."""
    book = common.find(session, PriceBook, ref, WHAT, lock=True, visible=visible_to(actor))
    errors = _check_entries(session, data)
    if errors:
        raise ValidationFailed(errors)
    touched = {e.sku for e in data.entries} | set(data.remove)
    before = _prices(session, book, touched)
    if touched:
        old = select(PriceBookEntry.id).where(PriceBookEntry.price_book_id == book.id, PriceBookEntry.sku.in_(touched))
        session.execute(delete(PriceBookTier).where(PriceBookTier.entry_id.in_(old)))
        session.execute(
            delete(PriceBookEntry).where(PriceBookEntry.price_book_id == book.id, PriceBookEntry.sku.in_(touched))
        )
    now = clock.now()
    rows = [
        {
            "id": new_id(), "price_book_id": book.id, "sku": e.sku, "unit_price": e.unit_price,
            "valid_from": e.valid_from, "valid_to": e.valid_to, "updated_at": now,
        }
        for e in data.entries
    ]
    tiers = [
        {"entry_id": row["id"], "from_quantity": t.from_quantity, "unit_price": t.unit_price}
        for row, e in zip(rows, data.entries, strict=True)
        for t in e.tiers
    ]
    if rows:
        session.execute(insert(PriceBookEntry), rows)
    if tiers:
        session.execute(insert(PriceBookTier), tiers)
    common.emit_doc(
        session,
        "price_book.entries_changed",
        f"price_book/{book.id}",
        {"price_book": book.code, "skus": sorted({e.sku for e in data.entries}), "removed": sorted(set(data.remove))},
    )
    audit.record(session, actor=actor, action=audit.Action.PRICE_CHANGED, subject=audit.Subject("price_book", book.id),
                 before=before, after=_prices(session, book, touched))
    entries = session.execute(
        select(*PriceBookEntry.__table__.c).where(PriceBookEntry.id.in_([r["id"] for r in rows]))
    ).all() if rows else []
    order = {r["id"]: i for i, r in enumerate(rows)}
    entries = sorted(entries, key=lambda r: order[r.id])
    return {"price_book": book.code, "currency": book.currency, "items": _entry_docs(session, entries, book.currency)}


def list_entries(
    session: Session, ref: str, sku: str | None, at: datetime | None, limit: int, cursor: str | None,
    viewer: Principal | None = None,
) -> Doc:
    book = common.find(session, PriceBook, ref, WHAT, visible=visible_to(viewer))
    e = PriceBookEntry
    where: list[ColumnElement[bool]] = [e.price_book_id == book.id]
    if sku:
        where.append(e.sku == sku)
    if at is not None:
        where.append(and_(or_(e.valid_from.is_(None), e.valid_from <= at), or_(e.valid_to.is_(None), e.valid_to > at)))
    rows = session.execute(paginate(select(*e.__table__.c).where(*where), e.id, limit, cursor)).all()
    result = page(_entry_docs(session, rows, book.currency), [r.id for r in rows], limit)
    return {"price_book": book.code, "currency": book.currency, **result}


# ----------------------------------------------------------------------------------------------
# Accounts of contract books


def _contract(session: Session, ref: str) -> PriceBook:
    book = common.find(session, PriceBook, ref, WHAT, lock=True)
    if book.kind != "contract":
        raise NotAContractBook(
            f"'{book.code}' is a list book; only contract books are assigned to accounts"
        )
    return book


def _assigned(session: Session, book: PriceBook, viewer: Principal | None = None) -> list[str]:
    """The accounts the book is assigned to; a scoped key learns of its own account only."""
    stmt = (
        select(Account.number)
        .join(PriceBookAccount, PriceBookAccount.account_id == Account.id)
        .where(PriceBookAccount.price_book_id == book.id)
    )
    if viewer is not None and viewer.account_id is not None:
        stmt = stmt.where(Account.id == viewer.account_id)
    return sorted(session.execute(stmt).scalars())


def assign_accounts(session: Session, ref: str, data: AccountsIn) -> Doc:
    """Assign the book to accounts (again: no change). Their descendants inherit it."""
    book = _contract(session, ref)
    errors: list[FieldError] = []
    common.twice("accounts", data.accounts, errors)
    ids = common.account_ids(session, "accounts", data.accounts, errors)
    if errors:
        raise ValidationFailed(errors)
    have = set(
        session.execute(
            select(PriceBookAccount.account_id).where(
                PriceBookAccount.price_book_id == book.id, PriceBookAccount.account_id.in_(ids)
            )
        ).scalars()
    )
    new = [i for i in ids if i not in have]
    if new:
        now = clock.now()
        session.execute(
            insert(PriceBookAccount), [{"price_book_id": book.id, "account_id": i, "assigned_at": now} for i in new]
        )
        numbers = common.account_numbers(session, set(new))
        common.emit_doc(
            session, "price_book.accounts_assigned", f"price_book/{book.id}",
            {"price_book": book.code, "accounts": sorted(numbers.values())},
        )
    return {"price_book": book.code, "accounts": _assigned(session, book)}


def list_accounts(session: Session, ref: str, viewer: Principal | None = None) -> Doc:
    book = common.find(session, PriceBook, ref, WHAT, visible=visible_to(viewer))
    return {"price_book": book.code, "accounts": _assigned(session, book, viewer)}


def unassign_account(session: Session, ref: str, number: str) -> None:
    book = _contract(session, ref)
    account_id = session.execute(select(Account.id).where(Account.number == number)).scalar_one_or_none()
    link = and_(PriceBookAccount.price_book_id == book.id, PriceBookAccount.account_id == account_id)
    if account_id is None or session.execute(select(PriceBookAccount.account_id).where(link)).first() is None:
        raise NotFound(f"account '{number}' is not assigned to this price book")
    session.execute(delete(PriceBookAccount).where(link))
    common.emit_doc(
        session, "price_book.account_unassigned", f"price_book/{book.id}", {"price_book": book.code, "account": number}
    )

