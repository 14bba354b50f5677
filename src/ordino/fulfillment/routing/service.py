"""Planning a routing from the database: what an order still needs, what each location can offer,
and the pure router's plan. Reads only; `allocation.route_order` writes the outcome.

A location's offer of a SKU to a delivery group is its available to fulfil (on hand − reserved −
safety stock) plus what the group's items of that SKU already hold there and no open fulfilment
order uses: an item reserved at intake competes with nobody for its own units. Inactive
locations, and those the caller excludes (e.g. the ones that rejected the group before), are not
candidates. A location's shipment capacity is what is left of today's (its local day).

The ship-to point comes from the project's table of places (`catalog.places`): the ship-to city in
its country, else its postal code. An address the table does not know has no point; the router
then ignores distance (fewest splits, then cost, priority and location code decide).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import String, Table, func, select
from sqlalchemy.orm import Session

from ordino.catalog.models import Location, Product
from ordino.catalog.places import PLACES
from ordino.fulfillment.domain import OPEN, Free, Need
from ordino.fulfillment.models import FulfillmentOrder, FulfillmentOrderItem
from ordino.fulfillment.routing.domain import CandidateLocation, GeoPoint, OrderLine, RoutingPlan, route
from ordino.fulfillment.routing.errors import OrderNotRoutable
from ordino.fulfillment.routing.policies import ChannelRouting, channel_id_of, channel_routing
from ordino.fulfillment.schemas import PlanIn, ShipToIn
from ordino.inventory import reads as inventory_reads
from ordino.inventory.bulk import any_in
from ordino.kernel import clock
from ordino.kernel.auth import Principal
from ordino.kernel.errors import FieldError, NotFound, ValidationFailed
from ordino.kernel.ids import parse_id
from ordino.orders.models import OrderDeliveryGroupSummary, OrderItemSummary, OrderSummary

ORDER = cast(Table, OrderSummary.__table__)
GROUP = cast(Table, OrderDeliveryGroupSummary.__table__)
ITEM = cast(Table, OrderItemSummary.__table__)
FO = cast(Table, FulfillmentOrder.__table__)
FOI = cast(Table, FulfillmentOrderItem.__table__)
ROUTABLE = ("approved", "partially_fulfilled")
Doc = dict[str, Any]


# ------------------------------------------------------------------------------------------------
# Orders


@dataclass(frozen=True, slots=True)
class OrderRef:
    id: uuid.UUID
    number: str
    status: str
    channel_id: uuid.UUID
    account_id: uuid.UUID


def order_ref(
    session: Session, ref: str | uuid.UUID, principal: Principal | None = None, *, lock: bool = False
) -> OrderRef:
    """An order by id or number; 404 when unknown or another account's. `lock` takes its row lock
    (PostgreSQL), which serializes the routing and shipping of one order."""
    ident = ref if isinstance(ref, uuid.UUID) else parse_id(ref)
    stmt = select(ORDER.c.id, ORDER.c.number, ORDER.c.status, ORDER.c.channel_id, ORDER.c.account_id)
    stmt = stmt.where(ORDER.c.id == ident) if ident is not None else stmt.where(ORDER.c.number == ref)
    if lock:
        stmt = stmt.with_for_update()
    row = session.execute(stmt).first()
    if row is None or (principal is not None and not principal.sees_account(row.account_id)):
        raise NotFound("order not found")
    return OrderRef(row.id, row.number, row.status, row.channel_id, row.account_id)


def require_routable(order: OrderRef) -> None:
    if order.status not in ROUTABLE:
        raise OrderNotRoutable(
            f"order {order.number} is {order.status.replace('_', ' ')}; only approved orders are routed",
            extra={"current_status": order.status},
        )


@dataclass(frozen=True, slots=True)
class GroupNeeds:
    id: uuid.UUID
    position: int
    ship_to: dict[str, Any]
    point: GeoPoint | None
    needs: tuple[Need[uuid.UUID], ...]  # items still to allocate, in line order


def geocode(country: str | None, postal_code: str | None, city: str | None) -> GeoPoint | None:
    """The point of a ship-to from the table of places: by city, else by postal code."""
    if not country:
        return None
    if city:
        for p in PLACES:
            if p.country == country and p.city.casefold() == city.strip().casefold():
                return GeoPoint.of(p.latitude, p.longitude)
    if postal_code:
        wanted = "".join(postal_code.split()).upper()
        for p in PLACES:
            if p.country == country and "".join(p.postal_code.split()).upper() == wanted:
                return GeoPoint.of(p.latitude, p.longitude)
    return None


def load_needs(session: Session, order_id: uuid.UUID, group_ids: Iterable[uuid.UUID] | None = None) -> list[GroupNeeds]:
    """The order's delivery groups with their product items that still have units to allocate."""
    groups_stmt = select(GROUP).where(GROUP.c.order_summary_id == order_id).order_by(GROUP.c.position)
    if group_ids is not None:
        groups_stmt = groups_stmt.where(GROUP.c.id.in_(list(group_ids)))
    groups = session.execute(groups_stmt).all()
    left = ITEM.c.quantity_ordered - ITEM.c.quantity_canceled - ITEM.c.quantity_allocated
    items = session.execute(
        select(ITEM.c.id, ITEM.c.delivery_group_id, ITEM.c.sku, left.label("left"))
        .where(ITEM.c.order_summary_id == order_id, ITEM.c.type == "product", left > 0)
        .order_by(ITEM.c.line_number)
    ).all()
    by_group: dict[uuid.UUID, list[Need[uuid.UUID]]] = {}
    for i in items:
        by_group.setdefault(i.delivery_group_id, []).append(Need(i.id, i.sku, int(i.left)))
    out = []
    for g in groups:
        ship_to = {f: getattr(g, f"ship_to_{f}") for f in ("name", "city", "postal_code", "region", "country")}
        point = geocode(g.ship_to_country, g.ship_to_postal_code, g.ship_to_city)
        out.append(GroupNeeds(g.id, g.position, ship_to, point, tuple(by_group.get(g.id, ()))))
    return out


# ------------------------------------------------------------------------------------------------
# Locations, stock, holds


@dataclass(frozen=True, slots=True)
class Site:
    id: uuid.UUID
    code: str
    kind: str
    latitude: Decimal | None
    longitude: Decimal | None
    timezone: str | None
    active: bool

    def local_day(self, now: datetime) -> date:
        try:
            return now.astimezone(ZoneInfo(self.timezone)).date() if self.timezone else now.date()
        except (ZoneInfoNotFoundError, ValueError):
            return now.date()


@dataclass(frozen=True, slots=True)
class Sites:
    by_id: dict[uuid.UUID, Site]
    by_code: dict[str, Site]

    def ids(self, refs: Iterable[str | uuid.UUID], field: str = "exclude_locations") -> set[uuid.UUID]:
        out: set[uuid.UUID] = set()
        errors = []
        for i, ref in enumerate(refs):
            site = self.by_id.get(ref) if isinstance(ref, uuid.UUID) else self.by_code.get(ref)
            if site is None:
                errors.append(FieldError(f"{field}[{i}]", f"no location '{ref}'"))
            else:
                out.add(site.id)
        if errors:
            raise ValidationFailed(errors)
        return out


def load_sites(session: Session) -> Sites:
    rows = session.execute(
        select(Location.id, Location.code, Location.kind, Location.latitude, Location.longitude, Location.timezone,
               Location.active)
    ).all()
    sites = [Site(*r) for r in rows]
    return Sites({s.id: s for s in sites}, {s.code: s for s in sites})


def stock_of(session: Session, skus: Iterable[str]) -> dict[tuple[str, uuid.UUID], int]:
    """Available to fulfil per (sku, location) wherever a position exists."""
    return inventory_reads.available_to_fulfill(session, skus)


Holds = dict[uuid.UUID, dict[uuid.UUID, Free]]


def free_holds(session: Session, order_id: uuid.UUID, needs: Sequence[Need[uuid.UUID]]) -> Holds:
    """Per item and location: the units it holds (reference = the item id) that no open
    fulfilment order of the order uses."""
    sku_of = {n.item: n.sku for n in needs}
    refs = [str(n.item) for n in needs]
    held: dict[tuple[uuid.UUID, uuid.UUID], list[int]] = {}
    for h in inventory_reads.held_by(session, refs):
        item = uuid.UUID(h.reference)
        if sku_of.get(item) == h.sku:
            held[(item, h.location_id)] = [h.open - h.backordered, h.backordered]
    if held:
        used = session.execute(
            select(FOI.c.order_item_summary_id, FO.c.location_id,
                   func.sum(FOI.c.quantity - FOI.c.quantity_fulfilled - FOI.c.quantity_canceled).label("units"))
            .join(FO, FO.c.id == FOI.c.fulfillment_order_id)
            .where(FO.c.order_summary_id == order_id, FO.c.status.in_(OPEN))
            .group_by(FOI.c.order_item_summary_id, FO.c.location_id)
        ).all()
        for u in used:
            if (u.order_item_summary_id, u.location_id) in held:
                held[(u.order_item_summary_id, u.location_id)][0] -= int(u.units)
    out: Holds = {}
    for (item, location), (physical, back) in held.items():
        f = Free(max(0, physical), back)
        if f.total:
            out.setdefault(item, {})[location] = f
    return out


def capacity_left(session: Session, sites: Sites, now: datetime) -> dict[uuid.UUID, tuple[date, int | None]]:
    """Per active location: its local day and the shipments it can still take that day
    (None: no limit)."""
    days = {s.id: s.local_day(now) for s in sites.by_id.values() if s.active}
    return inventory_reads.capacity_left(session, days)


# ------------------------------------------------------------------------------------------------
# Planning


@dataclass(frozen=True, slots=True)
class GroupPlan:
    group: GroupNeeds
    plan: RoutingPlan
    holds: Holds  # by location id
    excluded: tuple[str, ...]  # codes of the locations the caller excluded
    capacity: dict[uuid.UUID, tuple[date, int | None]]


def candidates(
    needs: Sequence[Need[uuid.UUID]],
    holds: Holds,
    stock: dict[tuple[str, uuid.UUID], int],
    sites: Sites,
    capacity: dict[uuid.UUID, tuple[date, int | None]],
    routing: ChannelRouting,
    excluded: set[uuid.UUID],
) -> list[CandidateLocation]:
    skus = {n.sku for n in needs}
    offer: dict[tuple[str, uuid.UUID], int] = {k: v for k, v in stock.items() if k[0] in skus}
    for n in needs:
        for location_id, f in holds.get(n.item, {}).items():
            offer[(n.sku, location_id)] = offer.get((n.sku, location_id), 0) + f.physical
    available: dict[uuid.UUID, dict[str, int]] = {}
    for (sku, location_id), units in offer.items():
        if units > 0:
            available.setdefault(location_id, {})[sku] = units
    out = []
    for location_id in sorted(available, key=lambda i: sites.by_id[i].code):
        site = sites.by_id[location_id]
        if not site.active or location_id in excluded:
            continue
        unit_cost, shipment_cost = routing.location_costs.get(site.code, (Decimal(0), Decimal(0)))
        out.append(
            CandidateLocation(
                code=site.code,
                kind=site.kind,
                latitude=site.latitude,
                longitude=site.longitude,
                available=available[location_id],
                cost_per_unit=unit_cost,
                cost_per_shipment=shipment_cost,
                capacity_shipments=capacity.get(location_id, (None, None))[1],
            )
        )
    return out


def lines_of(needs: Sequence[Need[uuid.UUID]]) -> list[OrderLine]:
    merged: dict[str, int] = {}
    for n in needs:
        merged[n.sku] = merged.get(n.sku, 0) + n.quantity
    return [OrderLine(sku, q) for sku, q in merged.items()]


def plan_group(
    session: Session,
    order_id: uuid.UUID,
    group: GroupNeeds,
    routing: ChannelRouting,
    sites: Sites,
    excluded: set[uuid.UUID],
) -> GroupPlan:
    holds = free_holds(session, order_id, group.needs)
    stock = stock_of(session, {n.sku for n in group.needs})
    capacity = capacity_left(session, sites, clock.now())
    found = candidates(group.needs, holds, stock, sites, capacity, routing, excluded)
    plan = route(lines_of(group.needs), group.point, found, routing.policy)
    codes = tuple(sorted(sites.by_id[i].code for i in excluded))
    return GroupPlan(group, plan, holds, codes, capacity)


def point_doc(point: GeoPoint | None) -> dict[str, float] | None:
    return None if point is None else {"latitude": point.latitude, "longitude": point.longitude}


# ------------------------------------------------------------------------------------------------
# POST /routing/plan: a plan without writing


def _ship_to_point(ship_to: ShipToIn | None) -> GeoPoint | None:
    if ship_to is None:
        return None
    if ship_to.latitude is not None and ship_to.longitude is not None:
        return GeoPoint.of(ship_to.latitude, ship_to.longitude)
    return geocode(ship_to.country, ship_to.postal_code, ship_to.city)


def preview(session: Session, data: PlanIn, principal: Principal) -> Doc:
    """The plan routing would make now, for an order's unallocated units or for ad-hoc lines."""
    sites = load_sites(session)
    excluded = sites.ids(data.exclude_locations)
    if data.order is not None:
        order = order_ref(session, data.order, principal)
        routing = channel_routing(session, order.channel_id)
        groups = []
        for group in load_needs(session, order.id):
            if not group.needs:
                groups.append({"id": group.id, "position": group.position, "ship_to_point": point_doc(group.point),
                               "units": 0, "plan": None})
                continue
            gp = plan_group(session, order.id, group, routing, sites, excluded)
            groups.append({"id": group.id, "position": group.position, "ship_to_point": point_doc(group.point),
                           "units": sum(n.quantity for n in group.needs), "plan": gp.plan.as_dict()})
        return {"order": {"id": order.id, "number": order.number, "status": order.status}, "delivery_groups": groups}
    assert data.lines is not None
    channel_id = channel_id_of(session, data.channel) if data.channel else None
    routing = channel_routing(session, channel_id)
    skus = {line.sku for line in data.lines}
    known = set(session.execute(select(Product.sku).where(any_in(session, Product.sku, sorted(skus), String())))
                .scalars()) if skus else set()
    errors = [FieldError(f"lines[{i}].sku", f"no product '{line.sku}'") for i, line in enumerate(data.lines)
              if line.sku not in known]
    if errors:
        raise ValidationFailed(errors)
    needs = [Need(uuid.UUID(int=i), line.sku, line.quantity) for i, line in enumerate(data.lines)]
    point = _ship_to_point(data.ship_to)
    capacity = capacity_left(session, sites, clock.now())
    found = candidates(needs, {}, stock_of(session, skus), sites, capacity, routing, excluded)
    plan = route(lines_of(needs), point, found, routing.policy)
    return {"ship_to_point": point_doc(point), "plan": plan.as_dict()}
