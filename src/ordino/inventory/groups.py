"""Location groups and daily capacity.

A location group is a named set of locations (EU, STORES-BERLIN); a location may belong to
several. Availability reports per group the sums over its members. Groups carry a version for
If-Match; a PATCH with `locations` replaces the member list.

Daily capacity: a location handles `units_per_day` capacity units (orders picked, parcels
packed). Routing holds units on a day, then confirms or releases them. Every change is one
conditional statement on the (location, day) row, so a day is never booked over its capacity,
however many transactions book it at once. A location without a capacity row has no limit
(holds are still counted). A day's own `capacity` overrides the location's default.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any, cast

import orjson
from sqlalchemy import ColumnElement, CursorResult, Table, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ordino.catalog.models import Location
from ordino.inventory.domain import capacity_remaining
from ordino.inventory.errors import CapacityExhausted, CapacityNotHeld
from ordino.inventory.models import LocationCapacity, LocationCapacityDay, LocationGroup, LocationGroupMember
from ordino.inventory.schemas import LocationGroupIn, LocationGroupPatch
from ordino.inventory.stock import location_ids, upsert
from ordino.kernel import clock
from ordino.kernel.errors import Conflict, Duplicate, FieldError, NotFound, ValidationFailed
from ordino.kernel.http import check_if_match, dumps, page, paginate
from ordino.kernel.ids import new_id, parse_id
from ordino.kernel.outbox import emit

Doc = dict[str, Any]
MEMBER = cast(Table, LocationGroupMember.__table__)
DAY = cast(Table, LocationCapacityDay.__table__)


# ------------------------------------------------------------------------------------------------
# Location groups


def _members(session: Session, group_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
    out: dict[uuid.UUID, list[str]] = {g: [] for g in group_ids}
    if group_ids:
        rows = session.execute(
            select(MEMBER.c.group_id, Location.code)
            .join(Location, Location.id == MEMBER.c.location_id)
            .where(MEMBER.c.group_id.in_(group_ids))
            .order_by(Location.code)
        )
        for group_id, code in rows:
            out[group_id].append(code)
    return out


def _doc(group: LocationGroup, members: list[str]) -> Doc:
    return {
        "id": group.id,
        "code": group.code,
        "name": group.name,
        "locations": members,
        "version": group.version,
        "created_at": group.created_at,
        "updated_at": group.updated_at,
    }


def _member_ids(session: Session, codes: list[str]) -> list[uuid.UUID]:
    found = location_ids(session, set(codes))
    errors = [FieldError(f"locations[{i}]", f"no location '{c}'") for i, c in enumerate(codes) if c not in found]
    if errors:
        raise ValidationFailed(errors)
    return sorted({found[c] for c in codes})


def _set_members(session: Session, group_id: uuid.UUID, ids: list[uuid.UUID]) -> None:
    session.execute(delete(MEMBER).where(MEMBER.c.group_id == group_id))
    if ids:
        session.execute(insert(MEMBER), [{"group_id": group_id, "location_id": i} for i in ids])


def _emit(session: Session, verb: str, doc: Doc) -> None:
    emit(session, f"location_group.{verb}", f"location_group/{doc['id']}", orjson.loads(dumps(doc)))


def create_group(session: Session, data: LocationGroupIn) -> Doc:
    duplicate = Duplicate(
        f"a location group with code '{data.code}' already exists",
        [FieldError("code", "is already taken")],
    )
    if session.execute(select(LocationGroup.id).where(LocationGroup.code == data.code)).first() is not None:
        raise duplicate
    ids = _member_ids(session, data.locations)
    now = clock.now()
    group = LocationGroup(id=new_id(), code=data.code, name=data.name, version=1, created_at=now, updated_at=now)
    session.add(group)
    try:
        session.flush()  # a concurrent create of the same code loses here
    except IntegrityError:
        raise duplicate from None
    _set_members(session, group.id, ids)
    doc = _doc(group, _members(session, [group.id])[group.id])
    _emit(session, "created", doc)
    return doc


def _find(session: Session, ref: str, *, lock: bool = False) -> LocationGroup:
    ident = parse_id(ref)
    cond = or_(LocationGroup.id == ident, LocationGroup.code == ref) if ident else LocationGroup.code == ref
    stmt = select(LocationGroup).where(cond).limit(1)
    group = session.scalars(stmt.with_for_update() if lock else stmt).first()
    if group is None:
        raise NotFound("location group not found")
    return group


def get_group(session: Session, ref: str) -> Doc:
    group = _find(session, ref)
    return _doc(group, _members(session, [group.id])[group.id])


def update_group(session: Session, ref: str, patch: LocationGroupPatch, if_match: str | None) -> Doc:
    group = _find(session, ref, lock=True)
    check_if_match(if_match, group.version)
    changed = False
    if patch.name is not None and patch.name != group.name:
        group.name = patch.name
        changed = True
    if patch.locations is not None:
        ids = _member_ids(session, patch.locations)
        current = sorted(session.execute(select(MEMBER.c.location_id).where(MEMBER.c.group_id == group.id)).scalars())
        if ids != current:
            _set_members(session, group.id, ids)
            changed = True
    if changed:
        group.version += 1
        group.updated_at = clock.now()
        session.flush()
    doc = _doc(group, _members(session, [group.id])[group.id])
    if changed:
        _emit(session, "updated", doc)
    return doc


def list_groups(session: Session, limit: int, cursor: str | None) -> Doc:
    groups = session.scalars(paginate(select(LocationGroup), LocationGroup.id, limit, cursor)).all()
    members = _members(session, [g.id for g in groups])
    return page([_doc(g, members[g.id]) for g in groups], [g.id for g in groups], limit)


def group_members(session: Session, codes: Sequence[str]) -> dict[str, tuple[uuid.UUID, list[uuid.UUID]]]:
    """code -> (group id, member location ids) for the groups that exist."""
    found = select(LocationGroup.code, LocationGroup.id).where(LocationGroup.code.in_(codes))
    groups = dict(session.execute(found).all())
    out: dict[str, tuple[uuid.UUID, list[uuid.UUID]]] = {code: (gid, []) for code, gid in groups.items()}
    by_id = {gid: code for code, gid in groups.items()}
    if groups:
        rows = session.execute(select(MEMBER.c.group_id, MEMBER.c.location_id).where(MEMBER.c.group_id.in_(by_id)))
        for gid, lid in rows:
            out[by_id[gid]][1].append(lid)
    return out


# ------------------------------------------------------------------------------------------------
# Daily capacity


def _location_id(session: Session, location: str | uuid.UUID) -> uuid.UUID:
    ident = location if isinstance(location, uuid.UUID) else parse_id(location)
    cond = Location.id == ident if ident else Location.code == location
    found = session.execute(select(Location.id).where(cond)).scalar_one_or_none()
    if found is None:
        raise ValidationFailed([FieldError("location", f"no location '{location}'")])
    return found


def capacity_location(session: Session, ref: str) -> str:
    """The code of the location with this code or id; 404 when there is none."""
    ident = parse_id(ref)
    found = session.execute(
        select(Location.code).where(Location.id == ident if ident else Location.code == ref)
    ).scalar_one_or_none()
    if found is None:
        raise NotFound(f"no location '{ref}'")
    return str(found)


def daily_capacity(session: Session, code: str) -> int | None:
    """The location's capacity units per day; None: no limit."""
    return session.execute(
        select(LocationCapacity.units_per_day).join(Location, Location.id == LocationCapacity.location_id)
        .where(Location.code == code)
    ).scalar_one_or_none()


def set_daily_capacity(session: Session, location: str | uuid.UUID, units_per_day: int | None) -> None:
    """The location's default capacity per day; None removes the limit."""
    if units_per_day is not None and units_per_day < 0:
        raise ValidationFailed([FieldError("units_per_day", "must be 0 or more")])
    location_id = _location_id(session, location)
    if units_per_day is None:
        session.execute(delete(LocationCapacity).where(LocationCapacity.location_id == location_id))
        return
    ins = upsert(session, cast(Table, LocationCapacity.__table__))
    session.execute(
        ins.values(location_id=location_id, units_per_day=units_per_day, version=1, updated_at=clock.now())
        .on_conflict_do_update(
            index_elements=["location_id"],
            set_={"units_per_day": ins.excluded.units_per_day, "version": LocationCapacity.version + 1,
                  "updated_at": ins.excluded.updated_at},
        )
    )


def set_day_capacity(session: Session, location: str | uuid.UUID, day: date, units: int | None) -> None:
    """Override one day's capacity (a holiday, a Saturday shift); None returns to the default."""
    if units is not None and units < 0:
        raise ValidationFailed([FieldError("units", "must be 0 or more")])
    location_id = _location_id(session, location)
    ins = upsert(session, DAY)
    session.execute(
        ins.values(location_id=location_id, day=day, capacity=units, held=0, confirmed=0)
        .on_conflict_do_update(index_elements=["location_id", "day"], set_={"capacity": ins.excluded.capacity})
    )


def _limit() -> ColumnElement[Any]:
    """The day's capacity: its own, else the location's default, else NULL (no limit)."""
    default = (
        select(LocationCapacity.units_per_day)
        .where(LocationCapacity.location_id == DAY.c.location_id)
        .scalar_subquery()
    )
    return func.coalesce(DAY.c.capacity, default)


def _ensure_day(session: Session, location_id: uuid.UUID, day: date) -> None:
    ins = upsert(session, DAY)
    session.execute(
        ins.values(location_id=location_id, day=day, capacity=None, held=0, confirmed=0)
        .on_conflict_do_nothing(index_elements=["location_id", "day"])
    )


def _positive(units: int) -> None:
    if not isinstance(units, int) or units <= 0:
        raise ValidationFailed([FieldError("units", "must be a positive whole number")])


def _change(
    session: Session, location_id: uuid.UUID, day: date, values: dict[str, Any], *conds: ColumnElement[bool]
) -> bool:
    stmt = update(DAY).where(DAY.c.location_id == location_id, DAY.c.day == day, *conds).values(values)
    return cast(CursorResult[Any], session.execute(stmt)).rowcount == 1


def capacity(session: Session, location: str | uuid.UUID, day: date) -> Doc:
    """A day's capacity, held and confirmed units and what remains (None: no limit)."""
    location_id = _location_id(session, location)
    row = session.execute(
        select(DAY.c.held, DAY.c.confirmed, _limit().label("limit")).where(
            DAY.c.location_id == location_id, DAY.c.day == day
        )
    ).first()
    if row is None:
        default = session.execute(
            select(LocationCapacity.units_per_day).where(LocationCapacity.location_id == location_id)
        ).scalar_one_or_none()
        held, confirmed, limit = 0, 0, default
    else:
        held, confirmed, limit = row.held, row.confirmed, row.limit
    return {"day": day, "capacity": limit, "held": held, "confirmed": confirmed,
            "remaining": capacity_remaining(limit, held, confirmed)}


def _refuse(session: Session, location: str | uuid.UUID, day: date, units: int, what: str) -> Conflict:
    state = capacity(session, location, day)
    return (CapacityExhausted if what == "hold" else CapacityNotHeld)(
        f"cannot {what} {units} capacity units at {location} on {day.isoformat()}: capacity"
        f" {state['capacity']}, held {state['held']}, confirmed {state['confirmed']}",
        [FieldError("units", f"remaining {state['remaining']}")],
        extra={"capacity": state["capacity"], "held": state["held"], "confirmed": state["confirmed"]},
    )


def hold_capacity(session: Session, location: str | uuid.UUID, day: date, units: int) -> None:
    """Hold units of a day's capacity; 409 `capacity-exhausted` if they do not fit."""
    _positive(units)
    location_id = _location_id(session, location)
    _ensure_day(session, location_id, day)
    limit = _limit()
    fits = or_(limit.is_(None), DAY.c.held + DAY.c.confirmed + units <= limit)
    if not _change(session, location_id, day, {"held": DAY.c.held + units}, fits):
        raise _refuse(session, location, day, units, "hold")


def confirm_capacity(session: Session, location: str | uuid.UUID, day: date, units: int) -> None:
    """Turn held units into confirmed ones."""
    _positive(units)
    location_id = _location_id(session, location)
    if not _change(
        session, location_id, day, {"held": DAY.c.held - units, "confirmed": DAY.c.confirmed + units},
        DAY.c.held >= units,
    ):
        raise _refuse(session, location, day, units, "confirm")


def release_capacity(
    session: Session, location: str | uuid.UUID, day: date, units: int, *, confirmed: bool = False
) -> None:
    """Give back held units (or confirmed ones, e.g. a cancelled fulfilment order)."""
    _positive(units)
    location_id = _location_id(session, location)
    column = DAY.c.confirmed if confirmed else DAY.c.held
    if not _change(session, location_id, day, {column.name: column - units}, column >= units):
        raise _refuse(session, location, day, units, "release")
