"""Statements and rows the reservation use cases share (inventory.service).

Position statements are each one conditional UPDATE (take stock or futures when available) or
a plain change of counters on rows the transaction already holds. The hot path (reserve) runs
statements built once, with bound parameters, on Core tables: no per-call statement building,
the same SQL text every time (prepared by the driver).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    CursorResult,
    String,
    Table,
    Uuid,
    bindparam,
    case,
    delete,
    literal_column,
    null,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.orm import Session

from ordino.catalog.models import Location, Product
from ordino.inventory import domain
from ordino.inventory.bulk import among
from ordino.inventory.domain import Hold, Plan
from ordino.inventory.models import InventoryReservation
from ordino.inventory.stock import POSITION, chunks
from ordino.kernel.auth import Principal
from ordino.kernel.errors import FieldError, NotFound, ValidationFailed
from ordino.kernel.ids import parse_id
from ordino.kernel.outbox import OutboxEvent
from ordino.kernel.types import UTCDateTime

RES = cast(Table, InventoryReservation.__table__)
P = POSITION.c
R = RES.c
Doc = dict[str, Any]
Key = tuple[str, uuid.UUID]

ATF = P.on_hand - P.reserved - P.safety_stock
ATO = ATF + P.futures - P.backordered


@dataclass(frozen=True, slots=True)
class Line:
    sku: str
    location: str | uuid.UUID  # a location code or id
    quantity: int


LineLike = Line | tuple[str, str | uuid.UUID, int]


def as_line(value: LineLike) -> Line:
    return value if isinstance(value, Line) else Line(*value)


def rowcount(session: Session, stmt: Any, params: dict[str, Any] | None = None) -> int:
    """Rows a Core statement changed (run on the session's connection: no ORM layer)."""
    return cast(CursorResult[Any], session.connection().execute(stmt, params)).rowcount


LOCATION = cast(Table, Location.__table__)
PRODUCT = cast(Table, Product.__table__)


def _find_both(postgres: bool) -> Any:
    """Locations by code or id and products by SKU, in one statement. PostgreSQL takes each list
    as one array parameter, so the SQL text is the same whatever the number of lines."""
    locations = select(
        literal_column("'location'").label("kind"), LOCATION.c.code.label("ref"), LOCATION.c.id, LOCATION.c.active,
        null().label("policy"),
    ).where(or_(among(postgres, LOCATION.c.code, "codes", String()), among(postgres, LOCATION.c.id, "ids", Uuid())))
    products = select(
        literal_column("'product'"), PRODUCT.c.sku, null(), PRODUCT.c.active, PRODUCT.c.backorder_policy
    ).where(among(postgres, PRODUCT.c.sku, "skus", String()))
    return union_all(locations, products)


_FIND_BOTH = {postgres: _find_both(postgres) for postgres in (True, False)}
FIND_PRODUCTS = select(PRODUCT.c.sku, PRODUCT.c.backorder_policy, PRODUCT.c.active).where(
    PRODUCT.c.sku.in_(bindparam("skus", expanding=True))
)
_QUANTITY = bindparam("k_q", type_=BigInteger())
_AT = (P.sku == bindparam("k_sku", type_=String()), P.location_id == bindparam("k_loc", type_=Uuid()))
_TOUCH = {P.version: P.version + 1, P.updated_at: bindparam("k_now", type_=UTCDateTime())}
# Stock: available to fulfil and to order both cover the quantity.
_RESERVE_STOCK = (
    update(POSITION)
    .where(*_AT, ATF >= _QUANTITY, ATO >= _QUANTITY)
    .values({P.reserved: P.reserved + _QUANTITY, **_TOUCH})
)
# Futures (backorder policy): available to order covers the quantity.
_RESERVE_FUTURES = (
    update(POSITION).where(*_AT, ATO >= _QUANTITY).values({P.backordered: P.backordered + _QUANTITY, **_TOUCH})
)


# Reservation rows and their event: written before the positions are taken (inventory.service).
INSERT_RESERVATIONS = RES.insert()
DELETE_RESERVATIONS = delete(RES).where(R.id.in_(bindparam("ids", expanding=True)))
SET_BACKORDERED = (
    update(RES)
    .where(R.id == bindparam("r_id"))
    .values({R.backordered_quantity: bindparam("r_b"), R.updated_at: bindparam("r_now")})
)
_EVENTS = cast(Table, OutboxEvent.__table__)
DELETE_EVENT = delete(_EVENTS).where(_EVENTS.c.id == bindparam("event_id", type_=Uuid()))
SET_EVENT_DATA = (
    update(_EVENTS)
    .where(_EVENTS.c.id == bindparam("event_id", type_=Uuid()))
    .values({_EVENTS.c.data: bindparam("data", type_=_EVENTS.c.data.type)})
)


@dataclass(frozen=True, slots=True)
class Place:
    id: uuid.UUID
    code: str
    active: bool


def find_locations(session: Session, refs: Iterable[str | uuid.UUID]) -> dict[str | uuid.UUID, Place]:
    """Locations by code or id; the map has an entry for every ref that resolved."""
    return find_references(session, refs, ())[0]


@dataclass(frozen=True, slots=True)
class Stocked:
    """A product as reservations see it."""

    sku: str
    active: bool
    backorder_policy: str


def find_references(
    session: Session, refs: Iterable[str | uuid.UUID], skus: Iterable[str]
) -> tuple[dict[str | uuid.UUID, Place], dict[str, Stocked]]:
    """Locations by code or id (an entry for every ref that resolved) and products by SKU, read
    in one statement (one round trip for the lines of a reservation)."""
    refs, sku_list = set(refs), sorted(set(skus))
    codes = [r for r in refs if isinstance(r, str)]
    ids = [r for r in refs if isinstance(r, uuid.UUID)] + [i for r in codes if (i := parse_id(r))]
    places: dict[str | uuid.UUID, Place] = {}
    products: dict[str, Stocked] = {}
    if not refs and not sku_list:
        return places, products
    parts = list(chunks(sku_list)) or [[]]
    conn = session.connection()
    stmt = _FIND_BOTH[conn.dialect.name == "postgresql"]
    rows = list(conn.execute(stmt, {"codes": codes, "ids": ids, "skus": list(parts[0])}).all())
    for part in parts[1:]:
        rows += conn.execute(stmt, {"codes": [], "ids": [], "skus": list(part)}).all()
    for kind, ref, ident, active, policy in rows:
        if kind == "product":
            products[ref] = Stocked(ref, active, policy)
        else:
            place = Place(ident, ref, active)
            places[ref] = places[ident] = places[str(ident)] = place
    return places, products


def location_codes(session: Session, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
    ids = set(ids)
    if not ids:
        return {}
    return dict(session.execute(select(Location.id, Location.code).where(Location.id.in_(ids))).all())


def find_location(session: Session, ref: str | uuid.UUID, field: str, *, active: bool = False) -> Place:
    place = find_locations(session, [ref]).get(ref)
    if place is None:
        raise ValidationFailed([FieldError(field, f"no location '{ref}'")])
    if active and not place.active:
        raise ValidationFailed([FieldError(field, f"location '{place.code}' is not active")])
    return place


# ------------------------------------------------------------------------------------------------
# Position statements: each one conditional or a plain increment of rows this transaction holds


def reserve_stock(session: Session, key: Key, quantity: int, now: datetime) -> bool:
    params = {"k_sku": key[0], "k_loc": key[1], "k_q": quantity, "k_now": now}
    return rowcount(session, _RESERVE_STOCK, params) == 1


def reserve_futures(session: Session, key: Key, quantity: int, now: datetime) -> bool:
    params = {"k_sku": key[0], "k_loc": key[1], "k_q": quantity, "k_now": now}
    return rowcount(session, _RESERVE_FUTURES, params) == 1


def give_back(session: Session, changes: Sequence[tuple[Key, int, int]], now: datetime) -> None:
    """Lower reserved / backordered of positions by (physical, backordered) units, in key order."""
    rows = [
        {"k_sku": k[0], "k_loc": k[1], "k_p": p, "k_b": b}
        for k, p, b in sorted(changes, key=lambda c: c[0])
        if p or b
    ]
    if rows:
        session.execute(
            update(POSITION)
            .where(P.sku == bindparam("k_sku"), P.location_id == bindparam("k_loc"))
            .values(
                reserved=P.reserved - bindparam("k_p"),
                backordered=P.backordered - bindparam("k_b"),
                version=P.version + 1,
                updated_at=now,
            ),
            rows,
        )


def take_back(session: Session, changes: Sequence[tuple[Key, int, int]], now: datetime) -> None:
    """Undo `give_back` (the compensation of a refused transfer)."""
    give_back(session, [(k, -p, -b) for k, p, b in changes], now)


# ------------------------------------------------------------------------------------------------
# Reservation rows: lock, close, describe


ROW_COLUMNS = (
    R.id, R.reference, R.sku, R.location_id, R.open_quantity, R.backordered_quantity, R.expires_at, R.account_id,
)


def visible_to(principal: Principal | None) -> list[ColumnElement[bool]]:
    """The reservations a key sees: a key scoped to an account those held for that account
    (never one held for none); an unscoped key, and the engine's own callers, every one."""
    if principal is None or principal.account_id is None:
        return []
    return [R.account_id == principal.account_id]


def lock_active(session: Session, *where: ColumnElement[bool], oldest_first: bool = False) -> list[Any]:
    order = R.id.asc() if oldest_first else R.id.desc()  # ids are UUIDv7: creation order
    stmt = select(*ROW_COLUMNS).where(R.status == domain.ACTIVE, *where).order_by(order).with_for_update()
    return list(session.execute(stmt).all())


def holds_of(rows: Sequence[Any]) -> list[Hold]:
    return [Hold(r.id, r.open_quantity, r.backordered_quantity) for r in rows]


_BUCKETS = {"released": "released_quantity", "expired": "released_quantity", "fulfilled": "fulfilled_quantity",
            "transferred": "transferred_quantity"}


def close_rows(session: Session, rows: Sequence[Any], plan: Plan, action: str, now: datetime) -> None:
    """Take the planned units off the reservation rows (they stay active while units are open)."""
    if not plan.takes:
        return
    bucket = R[_BUCKETS[action]]
    take: Any = bindparam("t_q")
    session.execute(
        update(RES)
        .where(R.id == bindparam("t_id"))
        .values(
            {
                R.open_quantity: R.open_quantity - take,
                R.backordered_quantity: R.backordered_quantity - bindparam("t_b"),
                bucket: bucket + take,
                R.status: case((R.open_quantity - take == 0, action), else_=R.status),
                R.updated_at: now,
            }
        ),
        [{"t_id": t.id, "t_q": t.quantity, "t_b": t.backordered} for t in plan.takes],
    )


def position_changes(rows: Sequence[Any], plan: Plan) -> list[tuple[Key, int, int]]:
    by_id = {r.id: r for r in rows}
    totals: dict[Key, list[int]] = {}
    for t in plan.takes:
        row = by_id[t.id]
        acc = totals.setdefault((row.sku, row.location_id), [0, 0])
        acc[0] += t.physical
        acc[1] += t.backordered
    return [(k, p, b) for k, (p, b) in sorted(totals.items())]


def reservation_doc(row: Any, location: str) -> Doc:
    get: Any = row.get if isinstance(row, dict) else lambda name: getattr(row, name)
    return {
        "id": get("id"),
        "reference": get("reference"),
        "sku": get("sku"),
        "location": location,
        "status": get("status"),
        "quantity": get("quantity"),
        "open_quantity": get("open_quantity"),
        "backordered_quantity": get("backordered_quantity"),
        "fulfilled_quantity": get("fulfilled_quantity"),
        "released_quantity": get("released_quantity"),
        "transferred_quantity": get("transferred_quantity"),
        "backordered": get("backordered_quantity") > 0,
        "expires_at": get("expires_at"),
        "transferred_from_id": get("transferred_from_id"),
        "created_at": get("created_at"),
        "updated_at": get("updated_at"),
    }


def event_line(doc: Doc, quantity: int, backordered: int = 0) -> Doc:
    return {"reservation_id": str(doc["id"]), "sku": doc["sku"], "location": doc["location"],
            "quantity": quantity, "backordered_quantity": backordered}


def reservations_of(session: Session, reference: str, *where: ColumnElement[bool]) -> list[Doc]:
    rows = session.execute(
        select(RES, Location.code)
        .join(Location, Location.id == R.location_id)
        .where(R.reference == reference, *where)
        .order_by(R.id)
    )
    return [reservation_doc(r, r.code) for r in rows]


def require_reference(session: Session, reference: str, *where: ColumnElement[bool]) -> None:
    """404 when the reference has no reservations (none that `where` lets the caller see)."""
    if session.execute(select(R.id).where(R.reference == reference, *where).limit(1)).first() is None:
        raise NotFound(f"no reservations for reference '{reference}'")


def takes_doc(rows: Sequence[Any], plan: Plan, codes: dict[uuid.UUID, str]) -> list[Doc]:
    by_id = {r.id: r for r in rows}
    return [
        {"reservation_id": str(t.id), "sku": by_id[t.id].sku, "location": codes[by_id[t.id].location_id],
         "quantity": t.quantity, "backordered_quantity": t.backordered}
        for t in plan.takes
    ]
