"""Availability of many SKUs at many locations and location groups, in one consistent read.

Set-based: one query per chunk of SKUs for the positions at the named locations, one for the
group sums (positions joined to group members, grouped by SKU and group), one for the futures
where there are any. Never a query per SKU. It reads the primary database, so every committed
write is visible at once (read your writes). On PostgreSQL the queries run in one REPEATABLE
READ transaction, so the per-location rows and the group sums describe the same moment.

A SKU with no position at a location reports zeros. A group's figures are the sums over its
member locations; a member whose available to fulfil is negative (stock counted below its
reservations) lowers the group's figure, because those reservations must move to other members.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import BigInteger, String, Uuid, select, type_coerce
from sqlalchemy import cast as sql_cast
from sqlalchemy.orm import Session
from sqlalchemy.sql.functions import sum as sql_sum

from ordino.catalog.models import Location
from ordino.inventory.bulk import any_in, is_pg
from ordino.inventory.domain import Figures
from ordino.inventory.groups import MEMBER, group_members
from ordino.inventory.schemas import MAX_CELLS
from ordino.inventory.stock import FUTURE, POSITION, chunks, known_skus, location_ids
from ordino.kernel.errors import FieldError, ValidationFailed

Doc = dict[str, Any]
P = POSITION.c


def _total(column: Any) -> Any:
    return type_coerce(sql_cast(sql_sum(column), BigInteger), BigInteger)


def _unique(items: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(items))


def availability(session: Session, skus: Sequence[str], locations: Sequence[str], groups: Sequence[str]) -> Doc:
    """Per SKU × location and per SKU × group: on hand, reserved, safety stock, backordered,
    futures, available to fulfil and available to order. No locations and no groups: every
    active location."""
    sku_list, location_list, group_list = _unique(skus), _unique(locations), _unique(groups)
    known = known_skus(session, set(sku_list))
    places = location_ids(session, set(location_list))
    members = group_members(session, group_list)
    errors = [FieldError(f"skus[{i}]", f"no product '{s}'") for i, s in enumerate(skus) if s not in known]
    errors += [FieldError(f"locations[{i}]", f"no location '{c}'") for i, c in enumerate(locations) if c not in places]
    errors += [
        FieldError(f"location_groups[{i}]", f"no location group '{c}'")
        for i, c in enumerate(groups)
        if c not in members
    ]
    if errors:
        raise ValidationFailed(errors)
    if not location_list and not group_list:
        active = select(Location.code, Location.id).where(Location.active.is_(True)).order_by(Location.code)
        places = dict(session.execute(active).all())
        location_list = list(places)
    cells = len(sku_list) * (len(location_list) + len(group_list))
    if cells > MAX_CELLS:
        raise ValidationFailed(
            [FieldError("skus", f"{cells} SKU × location cells asked; at most {MAX_CELLS} per call")]
        )

    location_ids_wanted = [places[c] for c in location_list]
    figures: dict[tuple[str, uuid.UUID], Figures] = {}
    group_figures: dict[tuple[str, uuid.UUID], Figures] = {}
    group_ids = {code: members[code][0] for code in group_list}
    batch = 5000 if is_pg(session) else 500
    for part in chunks(sku_list, batch):
        sku_in = any_in(session, P.sku, part, String())
        if location_ids_wanted:
            rows = session.execute(
                select(P.sku, P.location_id, P.on_hand, P.reserved, P.safety_stock, P.futures, P.backordered).where(
                    sku_in, any_in(session, P.location_id, location_ids_wanted, Uuid())
                )
            )
            for r in rows:
                figures[(r.sku, r.location_id)] = Figures(
                    r.on_hand, r.reserved, r.safety_stock, r.futures, r.backordered
                )
        if group_ids:
            rows = session.execute(
                select(
                    P.sku,
                    MEMBER.c.group_id,
                    _total(P.on_hand).label("on_hand"),
                    _total(P.reserved).label("reserved"),
                    _total(P.safety_stock).label("safety_stock"),
                    _total(P.futures).label("futures"),
                    _total(P.backordered).label("backordered"),
                )
                .join(MEMBER, MEMBER.c.location_id == P.location_id)
                .where(sku_in, any_in(session, MEMBER.c.group_id, list(group_ids.values()), Uuid()))
                .group_by(P.sku, MEMBER.c.group_id)
            )
            for r in rows:
                group_figures[(r.sku, r.group_id)] = Figures(
                    int(r.on_hand), int(r.reserved), int(r.safety_stock), int(r.futures), int(r.backordered)
                )

    futures = _futures(session, figures, group_figures, members, group_list)
    zero = Figures()
    location_rows = []
    for sku in sku_list:
        for code in location_list:
            key = (sku, places[code])
            f = figures.get(key, zero)
            listed = _future_docs(futures.get(key)) if f.futures else []
            location_rows.append({"sku": sku, "location": code, **f.as_dict(), "futures": listed})
    group_rows = []
    for sku in sku_list:
        for code in group_list:
            gid, member_ids = members[code]
            f = group_figures.get((sku, gid), zero)
            merged: dict[date, int] = {}
            if f.futures:
                for lid in member_ids:
                    for day, quantity in futures.get((sku, lid), {}).items():
                        merged[day] = merged.get(day, 0) + quantity
            group_rows.append(
                {"sku": sku, "location_group": code, **f.as_dict(), "futures": _future_docs(merged)}
            )
    return {"locations": location_rows, "location_groups": group_rows}


def _future_docs(by_day: dict[date, int] | None) -> list[Doc]:
    return [{"quantity": q, "expected_on": d} for d, q in sorted((by_day or {}).items())]


def _futures(
    session: Session,
    figures: dict[tuple[str, uuid.UUID], Figures],
    group_figures: dict[tuple[str, uuid.UUID], Figures],
    members: dict[str, tuple[uuid.UUID, list[uuid.UUID]]],
    group_list: list[str],
) -> dict[tuple[str, uuid.UUID], dict[date, int]]:
    """Futures of the positions that have any, by (sku, location) and expected date."""
    skus = {sku for (sku, _), f in figures.items() if f.futures}
    skus |= {sku for (sku, _), f in group_figures.items() if f.futures}
    if not skus:
        return {}
    locations = {lid for (_, lid), f in figures.items() if f.futures}
    for code in group_list:
        locations.update(members[code][1])
    out: dict[tuple[str, uuid.UUID], dict[date, int]] = {}
    for part in chunks(sorted(skus), 5000 if is_pg(session) else 500):
        rows = session.execute(
            select(FUTURE.c.sku, FUTURE.c.location_id, FUTURE.c.expected_on, FUTURE.c.quantity).where(
                any_in(session, FUTURE.c.sku, part, String()),
                any_in(session, FUTURE.c.location_id, sorted(locations), Uuid()),
            )
        )
        for r in rows:
            out.setdefault((r.sku, r.location_id), {})[r.expected_on] = r.quantity
    return out
