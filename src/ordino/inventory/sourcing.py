"""Sourcing at order intake: where a sales channel's orders are reserved.

Each channel has a sourcing setting: `none` (orders are reserved when they are routed), `location`
(every line is reserved at one location) or `location_group` (at the locations of a group). Intake
reserves every item of an order in its own transaction, all or nothing, so an accepted order
always has its stock and a refused one holds nothing.

In a group, a SKU is held at the member with the most available stock that covers it, else split
over members, most available first. Routing later moves the holds to the locations it chooses.
Plans are made from a fresh read and applied with conditional statements in (sku, location) order.
A statement that loses a race makes the plan start again from a new read, at most three times.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from ordino.catalog.models import Location, SalesChannel
from ordino.inventory import domain
from ordino.inventory.errors import OutOfStock
from ordino.inventory.ledger import (
    ATF,
    ATO,
    FIND_PRODUCTS,
    INSERT_RESERVATIONS,
    Key,
    give_back,
    reserve_futures,
    reserve_stock,
)
from ordino.inventory.models import ChannelSourcing, LocationGroup, LocationGroupMember
from ordino.inventory.stock import POSITION
from ordino.kernel import clock
from ordino.kernel.errors import Conflict, FieldError, NotFound, ValidationFailed
from ordino.kernel.ids import new_id
from ordino.kernel.outbox import emit

MODES = ("none", "location", "location_group")
ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class Sourcing:
    mode: str
    target_code: str | None = None
    location_ids: tuple[uuid.UUID, ...] = ()

    def as_doc(self, channel: str) -> dict[str, Any]:
        return {"channel": channel, "mode": self.mode, "target": self.target_code}


@dataclass(frozen=True, slots=True)
class Demand:
    """Units of a SKU that one order item needs; `field` names it in a refusal."""

    reference: str
    sku: str
    quantity: int
    field: str


NONE = Sourcing("none")


def _target_locations(session: Session, mode: str, target: str | None) -> tuple[uuid.UUID, ...]:
    if mode == "none":
        return ()
    if not target:
        raise ValidationFailed([FieldError("target", f"name the {mode.replace('_', ' ')}")])
    if mode == "location":
        row = session.execute(select(Location.id, Location.active).where(Location.code == target)).first()
        if row is None or not row.active:
            raise ValidationFailed([FieldError("target", f"no active location '{target}'")])
        return (row.id,)
    ids = session.execute(
        select(LocationGroupMember.location_id)
        .join(LocationGroup, LocationGroup.id == LocationGroupMember.group_id)
        .join(Location, Location.id == LocationGroupMember.location_id)
        .where(LocationGroup.code == target, Location.active.is_(True))
    ).scalars().all()
    if not ids:
        raise ValidationFailed([FieldError("target", f"no location group '{target}' with active locations")])
    return tuple(sorted(ids))


_CS = ChannelSourcing.__table__.c
_SOURCING = select(_CS.mode, _CS.target_code).where(_CS.channel_code == bindparam("code"))
_RESERVING = select(_CS.channel_code).where(
    _CS.channel_code.in_(bindparam("codes", expanding=True)), _CS.mode != "none"
)


def sourcing_for(session: Session, channel_code: str) -> Sourcing:
    row = session.execute(_SOURCING, {"code": channel_code}).first()
    if row is None or row.mode == "none":
        return NONE
    return Sourcing(row.mode, row.target_code, _target_locations(session, row.mode, row.target_code))


def reserving_channels(session: Session, channel_codes: set[str]) -> set[str]:
    """Those of the channels whose orders are reserved at intake."""
    if not channel_codes:
        return set()
    return set(session.execute(_RESERVING, {"codes": sorted(channel_codes)}).scalars())


def set_sourcing(session: Session, channel_code: str, mode: str, target: str | None) -> dict[str, Any]:
    if session.execute(select(SalesChannel.id).where(SalesChannel.code == channel_code)).first() is None:
        raise NotFound(f"no sales channel '{channel_code}'")
    if mode not in MODES:
        raise ValidationFailed([FieldError("mode", f"must be one of {', '.join(MODES)}")])
    target = None if mode == "none" else target
    _target_locations(session, mode, target)
    row = session.get(ChannelSourcing, channel_code, with_for_update=True)
    if row is None:
        row = ChannelSourcing(channel_code=channel_code, mode=mode, target_code=target, updated_at=clock.now())
        session.add(row)
    else:
        row.mode, row.target_code, row.updated_at = mode, target, clock.now()
    session.flush()
    emit(session, "channel.sourcing_changed", f"channel/{channel_code}", {"channel": channel_code, "mode": mode,
                                                                          "target": target})
    return Sourcing(mode, target).as_doc(channel_code)


def get_sourcing(session: Session, channel_code: str) -> dict[str, Any]:
    if session.execute(select(SalesChannel.id).where(SalesChannel.code == channel_code)).first() is None:
        raise NotFound(f"no sales channel '{channel_code}'")
    row = session.get(ChannelSourcing, channel_code)
    return (Sourcing(row.mode, row.target_code) if row else NONE).as_doc(channel_code)


# ------------------------------------------------------------------------------------------------
# Reserving an order's items


@dataclass(frozen=True, slots=True)
class _Take:
    location_id: uuid.UUID
    stock: int
    futures: int


def _figures(session: Session, skus: Sequence[str], locations: Sequence[uuid.UUID]) -> dict[Key, tuple[int, int]]:
    rows = session.execute(
        select(POSITION.c.sku, POSITION.c.location_id, ATF.label("atf"), ATO.label("ato")).where(
            POSITION.c.sku.in_(skus), POSITION.c.location_id.in_(locations)
        )
    )
    return {(r.sku, r.location_id): (int(r.atf), int(r.ato)) for r in rows}


def _plan_sku(
    sku: str, quantity: int, locations: Sequence[uuid.UUID], figures: dict[Key, tuple[int, int]], backorder: bool
) -> list[_Take] | None:
    stock = {loc: max(0, min(figures.get((sku, loc), (0, 0)))) for loc in locations}
    ranked = sorted(locations, key=lambda loc: (-stock[loc], loc))
    whole = [loc for loc in ranked if stock[loc] >= quantity]
    if whole:
        return [_Take(whole[0], quantity, 0)]
    if sum(stock.values()) >= quantity:
        takes, left = [], quantity
        for loc in ranked:
            part = min(left, stock[loc])
            if part:
                takes.append(_Take(loc, part, 0))
                left -= part
            if not left:
                return takes
    if backorder:
        # Promise the SKU against futures at the single member that can cover it best.
        orderable = {loc: figures.get((sku, loc), (0, 0))[1] for loc in locations}
        best = max(locations, key=lambda loc: (orderable[loc], -locations.index(loc)))
        if orderable[best] >= quantity:
            return [_Take(best, 0, quantity)]
    return None


def _refusal(
    session: Session, wanted: dict[str, int], fields: dict[str, str], sourcing: Sourcing, policies: dict[str, str]
) -> Conflict:
    figures = _figures(session, sorted(wanted), sourcing.location_ids)
    errors, unavailable = [], []
    for sku, quantity in sorted(wanted.items()):
        backorder = policies.get(sku) == "backorder"
        available = sum(
            max(0, ato if backorder else min(atf, ato))
            for (s, _), (atf, ato) in figures.items() if s == sku
        )
        if available >= quantity:
            continue
        unavailable.append({"sku": sku, "requested": quantity, "available": available, "at": sourcing.target_code})
        errors.append(FieldError(fields[sku], f"{quantity} of {sku} requested, {available} available at "
                                              f"{sourcing.target_code}"))
    if not errors:  # lost every race: report the SKUs as contended
        errors = [FieldError(fields[sku], f"{sku} could not be reserved; try again") for sku in sorted(wanted)]
    names = "; ".join(f"{u['sku']}: {u['available']} of {u['requested']}" for u in unavailable)
    return OutOfStock(f"not enough stock ({names or 'contended'})", errors, extra={"unavailable": unavailable})


def reserve_items(
    session: Session, sourcing: Sourcing, demands: Sequence[Demand], now: datetime | None = None, *,
    account_id: uuid.UUID | None = None,
) -> int:
    """Reserve every demand (of an order of `account_id`) per the channel's sourcing, or raise 409
    out-of-stock holding nothing.

    Returns the number of reservation rows written.
    """
    if sourcing.mode == "none" or not demands:
        return 0
    now = now or clock.now()
    wanted: dict[str, int] = defaultdict(int)
    fields: dict[str, str] = {}
    for d in demands:
        wanted[d.sku] += d.quantity
        fields.setdefault(d.sku, d.field)
    skus = sorted(wanted)
    policies = {r.sku: r.backorder_policy for r in session.execute(FIND_PRODUCTS, {"skus": skus})}
    for _ in range(ATTEMPTS):
        figures = _figures(session, skus, sourcing.location_ids)
        plans: dict[str, list[_Take]] = {}
        for sku in skus:
            plan = _plan_sku(sku, wanted[sku], sourcing.location_ids, figures, policies.get(sku) == "backorder")
            if plan is None:
                raise _refusal(session, wanted, fields, sourcing, policies)
            plans[sku] = plan
        steps = sorted(((sku, t) for sku, takes in plans.items() for t in takes),
                       key=lambda st: (st[0], st[1].location_id))
        taken: list[tuple[Key, int, int]] = []
        for sku, t in steps:
            key = (sku, t.location_id)
            ok = (reserve_stock(session, key, t.stock, now) if t.stock
                  else reserve_futures(session, key, t.futures, now))
            if not ok:
                give_back(session, taken, now)
                break
            taken.append((key, t.stock, t.futures))
        else:
            return _write_rows(session, demands, plans, now, account_id)
    raise _refusal(session, wanted, fields, sourcing, policies)


@dataclass(slots=True)
class _Left:
    location_id: uuid.UUID
    stock: int
    futures: int


def _write_rows(
    session: Session, demands: Sequence[Demand], plans: dict[str, list[_Take]], now: datetime,
    account_id: uuid.UUID | None,
) -> int:
    """Share each SKU's takes out over the items that asked for it, in order."""
    left = {sku: [_Left(t.location_id, t.stock, t.futures) for t in takes] for sku, takes in plans.items()}
    rows: list[dict[str, Any]] = []
    for d in demands:
        need = d.quantity
        for take in left[d.sku]:
            part = min(need, take.stock + take.futures)
            if not part:
                continue
            from_futures = 0 if take.stock else part  # a take is all stock or all futures
            take.stock -= part - from_futures
            take.futures -= from_futures
            need -= part
            rows.append({
                "id": new_id(), "reference": d.reference, "sku": d.sku, "location_id": take.location_id,
                "quantity": part, "open_quantity": part, "backordered_quantity": from_futures,
                "fulfilled_quantity": 0, "released_quantity": 0, "transferred_quantity": 0, "status": domain.ACTIVE,
                "expires_at": None, "transferred_from_id": None, "account_id": account_id, "created_at": now,
                "updated_at": now,
            })
            if not need:
                break
    session.execute(INSERT_RESERVATIONS, rows)
    emit(session, "inventory.reserved", None, {
        "references": sorted({d.reference for d in demands}),
        "lines": [{"reference": r["reference"], "sku": r["sku"], "location_id": str(r["location_id"]),
                   "quantity": r["quantity"], "backordered_quantity": r["backordered_quantity"]} for r in rows],
    })
    return len(rows)
