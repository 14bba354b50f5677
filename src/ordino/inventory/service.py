"""Reservations: the use cases other capabilities call, each in the caller's transaction.

- `reserve` (in `inventory.reserving`, re-exported here) is all-or-nothing: conditional
  statements per position, summed and sorted, stock taken last.
- `transfer`, `release`, `fulfil` and `expire_holds` lock the reservation rows they change
  (`FOR UPDATE`), then change the positions in sorted order: reservation rows before positions,
  positions sorted, everywhere, so two use cases never wait on each other in a cycle.
- `allocate_backorders` moves reservations held against futures onto stock, oldest first, as
  stock arrives.
- Each call appends one event to the outbox (inventory.reserved, .released, .transferred,
  .fulfilled, .expired, .backorders_allocated), never one per line. `reserve_batch` and
  `transfer_many` serve a caller that moves many references at once (routing an order: a
  reference per item) with one event for the batch, carrying each line's reference.
- Given the request's principal, `release`, `transfer`, `fulfil_lines` and `list_reservations`
  see only the reservations a key scoped to an account may see (`ledger.visible_to`): another
  account's reference answers 404, as one that does not exist, and nothing changes.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.orm import Session

from ordino.catalog.models import Location
from ordino.inventory import domain
from ordino.inventory.domain import Figures, Plan
from ordino.inventory.errors import InsufficientReservation, InsufficientStock
from ordino.inventory.ledger import (
    ATF,
    INSERT_RESERVATIONS,
    RES,
    ROW_COLUMNS,
    Doc,
    Key,
    Line,
    LineLike,
    P,
    Place,
    R,
    as_line,
    close_rows,
    find_location,
    find_locations,
    give_back,
    holds_of,
    location_codes,
    lock_active,
    position_changes,
    require_reference,
    reservation_doc,
    reservations_of,
    reserve_stock,
    rowcount,
    take_back,
    takes_doc,
    visible_to,
)
from ordino.inventory.models import InventoryReservation
from ordino.inventory.reserving import Pending, Wanted, out_of_stock, prepare_reserve, reserve, reserve_batch
from ordino.inventory.stock import POSITION, chunks, current_figures
from ordino.kernel import clock
from ordino.kernel.auth import Principal
from ordino.kernel.errors import FieldError, NotFound, ValidationFailed
from ordino.kernel.http import page, paginate
from ordino.kernel.ids import new_id
from ordino.kernel.outbox import emit, emit_many, event_row

__all__ = [
    "Line",
    "LineLike",
    "Pending",
    "Release",
    "ReservationFilter",
    "Transfer",
    "Wanted",
    "allocate_backorders",
    "expire_holds",
    "fulfil",
    "fulfil_lines",
    "list_reservations",
    "prepare_reserve",
    "release",
    "release_many",
    "reservations_of",
    "reserve",
    "reserve_batch",
    "transfer",
    "transfer_many",
]

# ------------------------------------------------------------------------------------------------
# Release, transfer, fulfil


def release(
    session: Session,
    reference: str,
    sku: str | None = None,
    quantity: int | None = None,
    *,
    location: str | uuid.UUID | None = None,
    principal: Principal | None = None,
) -> Doc:
    """Release the reference's open units: all of them, those of one SKU (and location), or
    `quantity` units of one SKU, newest reservations first and backordered units first."""
    now = clock.now()
    if quantity is not None and sku is None:
        raise ValidationFailed([FieldError("sku", "is required when a quantity is given")])
    seen = visible_to(principal)
    where = [R.reference == reference, *seen]
    if sku is not None:
        where.append(R.sku == sku)
    if location is not None:
        where.append(R.location_id == find_location(session, location, "location").id)
    rows = lock_active(session, *where)
    if not rows:
        require_reference(session, reference, *seen)
    open_units = sum(r.open_quantity for r in rows)
    if quantity is not None and quantity > open_units:
        raise InsufficientReservation(
            f"reference '{reference}' holds {open_units} open units of {sku}; cannot release {quantity}",
            [FieldError("quantity", f"at most {open_units}")],
        )
    plan = domain.plan_release(holds_of(rows), quantity)
    give_back(session, position_changes(rows, plan), now)
    close_rows(session, rows, plan, "released", now)
    codes = location_codes(session, [r.location_id for r in rows])
    released = takes_doc(rows, plan, codes)
    if released:
        emit(session, "inventory.released", f"reservation/{reference}", {"reference": reference, "lines": released})
    return {"reference": reference, "released": released, "reservations": reservations_of(session, reference, *seen)}


@dataclass(frozen=True, slots=True)
class Release:
    """`quantity` open units of `sku` that `reference` holds, at `location_id` (anywhere: None)."""

    reference: str
    sku: str
    quantity: int
    location_id: uuid.UUID | None = None


def release_many(session: Session, wanted: Sequence[Release]) -> None:
    """Release units of many references at once (a cancellation of thousands of lines): the rows
    locked in a few statements, each release planned as `release` plans it (newest reservations
    and backordered units first), the positions changed in key order; one `inventory.released`
    event per reference. Raises InsufficientReservation when a reference holds fewer units."""
    wanted = [w for w in wanted if w.quantity > 0]
    if not wanted:
        return
    now = clock.now()
    rows: list[Any] = []
    for part in chunks(sorted({w.reference for w in wanted}), 1000):
        rows += lock_active(session, R.reference.in_(part))
    by_key: dict[tuple[str, str, uuid.UUID | None], list[Any]] = {}
    for r in rows:  # newest first, as lock_active sorts them
        by_key.setdefault((r.reference, r.sku, None), []).append(r)
        by_key.setdefault((r.reference, r.sku, r.location_id), []).append(r)
    takes: list[domain.Take] = []
    used: dict[uuid.UUID, tuple[int, int]] = {}  # what earlier releases of this call took of each row
    for w in wanted:
        holds = [domain.Hold(r.id, r.open_quantity - used.get(r.id, (0, 0))[0],
                             r.backordered_quantity - used.get(r.id, (0, 0))[1])
                 for r in by_key.get((w.reference, w.sku, w.location_id), [])]
        if sum(h.open for h in holds) < w.quantity:
            raise InsufficientReservation(f"reference '{w.reference}' holds fewer than {w.quantity} open units of"
                                          f" {w.sku}", [FieldError("quantity", f"at most {w.quantity}")])
        for t in domain.plan_release(holds, w.quantity).takes:
            q, b = used.get(t.id, (0, 0))
            used[t.id] = (q + t.quantity, b + t.backordered)
            takes.append(t)
    plan = Plan(takes)
    give_back(session, position_changes(rows, plan), now)
    close_rows(session, rows, plan, "released", now)
    codes = location_codes(session, [r.location_id for r in rows])
    by_id = {r.id: r for r in rows}
    lines: dict[str, list[Doc]] = {}
    for t in takes:
        row = by_id[t.id]
        lines.setdefault(row.reference, []).append({
            "reservation_id": str(t.id), "sku": row.sku, "location": codes[row.location_id], "quantity": t.quantity,
            "backordered_quantity": t.backordered})
    emit_many(session, [
        event_row("inventory.released", f"reservation/{reference}", {"reference": reference, "lines": docs})
        for reference, docs in lines.items()
    ])


def transfer(
    session: Session,
    reference: str | None,
    to_location: str | uuid.UUID,
    quantity: int,
    *,
    sku: str | None = None,
    from_location: str | uuid.UUID | None = None,
    reservation_id: uuid.UUID | None = None,
    principal: Principal | None = None,
) -> Doc:
    """Move `quantity` reserved units of one SKU to another location (routing chose it): a
    conditional reserve of stock at the target and a release at the source, in one transaction.
    The units are named by reference and SKU (optionally the source location), or by the id of
    one reservation row."""
    now = clock.now()
    if reservation_id is None and (reference is None or sku is None):
        raise ValidationFailed([FieldError("sku", "name the reference and sku, or the reservation_id")])
    target = find_location(session, to_location, "to_location", active=True)
    seen = visible_to(principal)
    rows = _lock_to_transfer(session, reference, target, sku, from_location, reservation_id, seen)
    reference = reference or rows[0].reference
    sku = sku or rows[0].sku
    data = _transfer_rows(session, rows, target, reference, sku, quantity, now)
    emit(session, "inventory.transferred", f"reservation/{reference}", data)
    moved = data["from"]
    return {"reference": reference, "transferred": moved, "to_location": target.code,
            "reservations": reservations_of(session, reference, *seen)}


def _transfer_rows(
    session: Session, rows: list[Any], target: Place, reference: str, sku: str, quantity: int, now: datetime,
    codes: dict[uuid.UUID, str] | None = None,
) -> Doc:
    """Move `quantity` of the locked `rows` to `target`; returns the event's data for the move."""
    open_units = sum(r.open_quantity for r in rows)
    if quantity > open_units:
        raise InsufficientReservation(
            f"reference '{reference}' holds {open_units} open units of {sku} elsewhere than"
            f" {target.code}; cannot transfer {quantity}",
            [FieldError("quantity", f"at most {open_units}")],
        )
    plan = domain.plan_release(holds_of(rows), quantity)
    _move_stock(session, position_changes(rows, plan), (sku, target.id), quantity, target.code, now)
    close_rows(session, rows, plan, "transferred", now)
    by_id = {r.id: r for r in rows}
    session.execute(INSERT_RESERVATIONS, [
        {
            "id": new_id(), "reference": reference, "sku": sku, "location_id": target.id,
            "quantity": t.quantity, "open_quantity": t.quantity, "backordered_quantity": 0,
            "fulfilled_quantity": 0, "released_quantity": 0, "transferred_quantity": 0,
            "status": domain.ACTIVE, "expires_at": by_id[t.id].expires_at, "transferred_from_id": t.id,
            "account_id": by_id[t.id].account_id, "created_at": now, "updated_at": now,
        }
        for t in plan.takes
    ])
    if codes is None:
        codes = location_codes(session, [r.location_id for r in rows])
    moved = takes_doc(rows, plan, codes)
    return {"reference": reference, "sku": sku, "to_location": target.code, "quantity": quantity, "from": moved}


@dataclass(frozen=True, slots=True)
class Transfer:
    """`quantity` open units of `sku` that `reference` holds at `from_location`, to `to_location`."""

    reference: str
    sku: str
    from_location: str | uuid.UUID
    to_location: str | uuid.UUID
    quantity: int


def transfer_many(session: Session, moves: Sequence[Transfer]) -> None:
    """Several transfers in one call (routing moving an order's units), each as `transfer` does
    it, in the order given; one `inventory.transferred` event for all of them, whose `transfers`
    are the data `transfer`'s event would carry for each."""
    if not moves:
        return
    now = clock.now()
    places = find_locations(session, [m.to_location for m in moves] + [m.from_location for m in moves])
    data: list[Doc] = []
    for m in moves:
        target, source = places.get(m.to_location), places.get(m.from_location)
        if target is None or not target.active or source is None or source.id == target.id:
            raise ValidationFailed([FieldError("to_location", f"cannot transfer to '{m.to_location}'")])
        rows = lock_active(session, R.reference == m.reference, R.sku == m.sku, R.location_id == source.id)
        codes = {source.id: source.code}
        data.append(_transfer_rows(session, rows, target, m.reference, m.sku, m.quantity, now, codes))
    emit(session, "inventory.transferred", None, {"references": sorted({d["reference"] for d in data}),
                                                  "transfers": data})


def _lock_to_transfer(
    session: Session, reference: str | None, target: Place, sku: str | None,
    from_location: str | uuid.UUID | None, reservation_id: uuid.UUID | None, seen: list[ColumnElement[bool]],
) -> list[Any]:
    """The active reservation rows a transfer takes units from, locked; none is refused."""
    where = [R.location_id != target.id, *seen]
    if reference is not None:
        where.append(R.reference == reference)
    if reservation_id is not None:
        where.append(R.id == reservation_id)
    if sku is not None:
        where.append(R.sku == sku)
    if from_location is not None:
        source = find_location(session, from_location, "from_location")
        if source.id == target.id:
            raise ValidationFailed([FieldError("to_location", "is the location the units are reserved at")])
        where.append(R.location_id == source.id)
    rows = lock_active(session, *where)
    if not rows and reservation_id is not None:
        mine = [R.reference == reference] if reference is not None else []
        if session.execute(select(R.id).where(R.id == reservation_id, *mine, *seen)).first() is None:
            raise NotFound("reservation not found")
        raise InsufficientReservation(
            f"reservation {reservation_id} holds no open units away from {target.code}",
            [FieldError("reservation_id", "is not active, or is at the target location")],
        )
    if not rows:
        assert reference is not None
        require_reference(session, reference, *seen)
    return rows


def _move_stock(
    session: Session, sources: list[tuple[Key, int, int]], target_key: Key, quantity: int, target_code: str,
    now: datetime,
) -> None:
    """Give back the source positions and reserve at the target, positions in sorted order; when
    the target has not the stock, what was given back is taken again and the transfer refused."""
    done: list[tuple[Key, int, int]] = []
    for key in sorted([k for k, _, _ in sources] + [target_key]):
        if key != target_key:
            change = next(c for c in sources if c[0] == key)
            give_back(session, [change], now)
            done.append(change)
        elif not reserve_stock(session, target_key, quantity, now):
            take_back(session, done, now)
            sku, target_id = target_key
            raise out_of_stock(
                session, [(target_key, quantity)], {sku: "deny"}, {target_key: "quantity"}, {target_id: target_code}
            )


def fulfil(session: Session, reference: str, sku: str, location: str | uuid.UUID, quantity: int) -> Doc:
    """Ship `quantity` reserved units: on hand and reserved go down together."""
    return fulfil_lines(session, reference, [Line(sku, location, quantity)])


def fulfil_lines(
    session: Session, reference: str, lines: Sequence[LineLike], *, path: str = "lines",
    principal: Principal | None = None,
) -> Doc:
    now = clock.now()
    wanted_lines = [as_line(x) for x in lines]
    places = find_locations(session, [x.location for x in wanted_lines])
    errors = [
        FieldError(f"{path}[{i}].location", f"no location '{x.location}'")
        for i, x in enumerate(wanted_lines)
        if x.location not in places
    ]
    if errors:
        raise ValidationFailed(errors)
    fields: dict[Key, str] = {}  # the quantity field of the first line of each (sku, location)
    for i, x in enumerate(wanted_lines):
        fields.setdefault((x.sku, places[x.location].id), f"{path}[{i}].quantity")
    wanted = domain.sum_quantities((x.sku, places[x.location].id, x.quantity) for x in wanted_lines)
    seen = visible_to(principal)
    skus = {k[0] for k, _ in wanted}
    rows = lock_active(session, R.reference == reference, R.sku.in_(skus), *seen, oldest_first=True)
    if not rows:
        require_reference(session, reference, *seen)
    codes = {p.id: p.code for p in places.values()}
    plan = _plan_fulfil(reference, rows, wanted, fields, codes)
    _ship_stock(session, wanted, fields, codes, now)
    close_rows(session, rows, plan, "fulfilled", now)
    fulfilled = takes_doc(rows, plan, codes)
    emit(session, "inventory.fulfilled", f"reservation/{reference}", {"reference": reference, "lines": fulfilled})
    return {"reference": reference, "fulfilled": fulfilled, "reservations": reservations_of(session, reference, *seen)}


def _plan_fulfil(
    reference: str, rows: Sequence[Any], wanted: Sequence[tuple[Key, int]], fields: dict[Key, str],
    codes: dict[uuid.UUID, str],
) -> Plan:
    """Which reservations each (sku, location) ships from; every line short of units reserved
    from stock is named."""
    plan = Plan()
    conflicts: list[FieldError] = []
    for key, quantity in wanted:
        holds = holds_of([r for r in rows if (r.sku, r.location_id) == key])
        physical = sum(h.physical for h in holds)
        if physical < quantity:
            backordered = sum(h.backordered for h in holds)
            why = f" ({backordered} are backordered, not yet in stock)" if backordered else ""
            reserved = f"{physical} units of {key[0]} reserved from stock at {codes[key[1]]}{why}"
            conflicts.append(FieldError(fields[key], f"{reserved}; cannot ship {quantity}"))
            continue
        plan.takes += domain.plan_fulfil(holds, quantity).takes
    if conflicts:
        raise InsufficientReservation(
            f"reference '{reference}' has not enough units reserved from stock", conflicts,
        )
    return plan


def _ship_stock(
    session: Session, wanted: Sequence[tuple[Key, int]], fields: dict[Key, str], codes: dict[uuid.UUID, str],
    now: datetime,
) -> None:
    """On hand and reserved go down together, position by position in sorted order; a position
    without the units on hand undoes the others and refuses the shipment."""
    shipped: list[tuple[Key, int]] = []
    for key, quantity in wanted:  # sorted by key
        stmt = (
            update(POSITION)
            .where(P.sku == key[0], P.location_id == key[1], P.on_hand >= quantity, P.reserved >= quantity)
            .values(on_hand=P.on_hand - quantity, reserved=P.reserved - quantity, version=P.version + 1, updated_at=now)
        )
        if rowcount(session, stmt) != 1:
            for done_key, done_quantity in shipped:
                session.execute(
                    update(POSITION)
                    .where(P.sku == done_key[0], P.location_id == done_key[1])
                    .values(on_hand=P.on_hand + done_quantity, reserved=P.reserved + done_quantity)
                )
            on_hand = current_figures(session, [key]).get(key, Figures()).on_hand
            raise InsufficientStock(
                f"only {on_hand} units of {key[0]} are on hand at {codes[key[1]]}; cannot ship {quantity}."
                " Count the stock, then ship.",
                [FieldError(fields[key], f"{on_hand} on hand")],
            )
        shipped.append((key, quantity))


# ------------------------------------------------------------------------------------------------
# Periodic jobs


def expire_holds(session: Session, now: datetime | None = None, limit: int = 1000) -> int:
    """Release active reservations whose expiry has passed; returns how many rows expired.
    Rows another transaction holds are skipped (PostgreSQL) and expire on the next run."""
    now = now or clock.now()
    stmt = (
        select(*ROW_COLUMNS)
        .where(R.status == domain.ACTIVE, R.expires_at.is_not(None), R.expires_at <= now)
        .order_by(R.expires_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    rows = list(session.execute(stmt).all())
    if not rows:
        return 0
    plan = domain.plan_release(holds_of(rows), None)
    give_back(session, position_changes(rows, plan), now)
    close_rows(session, rows, plan, "expired", now)
    codes = location_codes(session, [r.location_id for r in rows])
    lines = takes_doc(rows, plan, codes)
    expired = [{**line, "reference": row.reference} for line, row in zip(lines, rows, strict=True)]
    emit(session, "inventory.expired", None, {"reservations": expired})
    return len(rows)


def allocate_backorders(session: Session, limit: int = 100) -> int:
    """Move backordered units onto stock where stock has arrived, oldest reservation first;
    returns how many reservations were allocated. Emits one inventory.backorders_allocated."""
    now = clock.now()
    positions = session.execute(
        select(P.sku, P.location_id).where(P.backordered > 0, ATF > 0).order_by(P.sku, P.location_id).limit(limit)
    ).all()
    allocated: list[Doc] = []
    for sku, location_id in positions:
        rows = session.execute(
            select(R.id, R.reference, R.backordered_quantity)
            .where(R.sku == sku, R.location_id == location_id, R.status == domain.ACTIVE, R.backordered_quantity > 0)
            .order_by(R.id)
            .with_for_update(skip_locked=True)
        ).all()
        for row in rows:
            units = row.backordered_quantity
            moved = rowcount(
                session,
                update(POSITION)
                .where(P.sku == sku, P.location_id == location_id, units <= ATF, P.backordered >= units)
                .values(reserved=P.reserved + units, backordered=P.backordered - units, version=P.version + 1,
                        updated_at=now),
            )
            if not moved:
                break  # first come, first served: later reservations wait for the earlier ones
            session.execute(update(RES).where(R.id == row.id).values(backordered_quantity=0, updated_at=now))
            allocated.append({"reservation_id": str(row.id), "reference": row.reference, "sku": sku,
                              "location_id": location_id, "quantity": units})
    if allocated:
        codes = location_codes(session, [a["location_id"] for a in allocated])
        for a in allocated:
            a["location"] = codes[a.pop("location_id")]
        emit(session, "inventory.backorders_allocated", None, {"reservations": allocated})
    return len(allocated)


# ------------------------------------------------------------------------------------------------
# Reads


@dataclass(frozen=True, slots=True)
class ReservationFilter:
    reference: str | None = None
    sku: str | None = None
    location: str | None = None
    status: str | None = None


def list_reservations(
    session: Session, f: ReservationFilter, limit: int, cursor: str | None, principal: Principal | None = None
) -> Doc:
    stmt = select(RES, Location.code).join(Location, Location.id == R.location_id).where(*visible_to(principal))
    if f.reference is not None:
        stmt = stmt.where(R.reference == f.reference)
    if f.sku is not None:
        stmt = stmt.where(R.sku == f.sku)
    if f.location is not None:
        stmt = stmt.where(Location.code == f.location)
    if f.status is not None:
        stmt = stmt.where(R.status == f.status)
    rows = session.execute(paginate(stmt, InventoryReservation.id, limit, cursor)).all()
    return page([reservation_doc(r, r.code) for r in rows], [r.id for r in rows], limit)
