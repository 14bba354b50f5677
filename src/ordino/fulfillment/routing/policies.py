"""Routing policies per sales channel: stored rules, turned into the router's `RoutingPolicy`."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from ordino.catalog.models import Location, SalesChannel
from ordino.fulfillment.models import ChannelRoutingPolicy
from ordino.fulfillment.routing.domain import RoutingPolicy
from ordino.fulfillment.schemas import RoutingPolicyIn
from ordino.kernel import clock
from ordino.kernel.errors import FieldError, NotFound, ValidationFailed
from ordino.kernel.http import check_if_match

POLICY = cast(Table, ChannelRoutingPolicy.__table__)
DEFAULT_MAX_ROUTING_ATTEMPTS = 3
Doc = dict[str, Any]


@dataclass(frozen=True, slots=True)
class ChannelRouting:
    """What routing needs to know of a channel: the router's policy, the costs of its locations
    and how many re-routes after rejections it allows."""

    policy: RoutingPolicy = field(default_factory=RoutingPolicy)
    location_costs: dict[str, tuple[Decimal, Decimal]] = field(default_factory=dict)  # per unit, per shipment
    max_routing_attempts: int = DEFAULT_MAX_ROUTING_ATTEMPTS
    version: int | None = None  # None: the defaults, no row stored


def _from_row(row: Any) -> ChannelRouting:
    policy = RoutingPolicy(
        max_splits=row.max_splits,
        allow_partial=row.allow_partial,
        excluded_locations=frozenset(row.excluded_locations),
        excluded_kinds=frozenset(row.excluded_kinds),
        priorities=dict(row.priorities),
        respect_capacity=row.respect_capacity,
        prefer_overstock=row.prefer_overstock,
        distance=row.distance,
        distance_weight=float(row.distance_weight),
        cost_weight=float(row.cost_weight),
        priority_weight=float(row.priority_weight),
        overstock_weight=float(row.overstock_weight),
        search_budget=row.search_budget,
    )
    costs = {
        code: (Decimal(c.get("per_unit", "0")), Decimal(c.get("per_shipment", "0")))
        for code, c in row.location_costs.items()
    }
    return ChannelRouting(policy, costs, row.max_routing_attempts, row.version)


def channel_routing(session: Session, channel_id: uuid.UUID | None) -> ChannelRouting:
    if channel_id is None:
        return ChannelRouting()
    row = session.execute(select(POLICY).where(POLICY.c.channel_id == channel_id)).first()
    return ChannelRouting() if row is None else _from_row(row)


def _channel(session: Session, code: str) -> uuid.UUID:
    found = session.execute(select(SalesChannel.id).where(SalesChannel.code == code)).scalar_one_or_none()
    if found is None:
        raise NotFound(f"no sales channel '{code}'")
    return found


def channel_id_of(session: Session, code: str, field_name: str = "channel") -> uuid.UUID:
    found = session.execute(select(SalesChannel.id).where(SalesChannel.code == code)).scalar_one_or_none()
    if found is None:
        raise ValidationFailed([FieldError(field_name, f"no sales channel '{code}'")])
    return found


def policy_doc(channel: str, r: ChannelRouting) -> Doc:
    p = r.policy
    return {
        "channel": channel,
        "stored": r.version is not None,
        "version": r.version,
        "max_splits": p.max_splits,
        "allow_partial": p.allow_partial,
        "excluded_locations": sorted(p.excluded_locations),
        "excluded_kinds": sorted(p.excluded_kinds),
        "priorities": dict(sorted(p.priorities.items())),
        "location_costs": {
            code: {"per_unit": str(unit), "per_shipment": str(shipment)}
            for code, (unit, shipment) in sorted(r.location_costs.items())
        },
        "respect_capacity": p.respect_capacity,
        "prefer_overstock": p.prefer_overstock,
        "distance": p.distance,
        "distance_weight": _weight(p.distance_weight),
        "cost_weight": _weight(p.cost_weight),
        "priority_weight": _weight(p.priority_weight),
        "overstock_weight": _weight(p.overstock_weight),
        "search_budget": p.search_budget,
        "max_routing_attempts": r.max_routing_attempts,
    }


def _weight(value: float) -> str:
    return format(Decimal(repr(value)).normalize(), "f")


def get_policy(session: Session, channel: str) -> Doc:
    return policy_doc(channel, channel_routing(session, _channel(session, channel)))


def put_policy(session: Session, channel: str, data: RoutingPolicyIn, if_match: str | None) -> Doc:
    """Replace a channel's routing policy. Replacing a stored one needs If-Match (its version)."""
    channel_id = _channel(session, channel)
    current = session.execute(
        select(POLICY.c.version).where(POLICY.c.channel_id == channel_id).with_for_update()
    ).scalar_one_or_none()
    if current is not None:
        check_if_match(if_match, current)
    named = set(data.excluded_locations) | set(data.priorities) | set(data.location_costs)
    known = set(session.execute(select(Location.code).where(Location.code.in_(named))).scalars()) if named else set()
    errors = [
        FieldError(f"{where}", f"no location '{code}'")
        for where, codes in (
            ("excluded_locations", data.excluded_locations),
            ("priorities", list(data.priorities)),
            ("location_costs", list(data.location_costs)),
        )
        for code in codes
        if code not in known
    ]
    if errors:
        raise ValidationFailed(errors)
    values = {
        "channel_id": channel_id,
        "max_splits": data.max_splits,
        "allow_partial": data.allow_partial,
        "excluded_locations": sorted(set(data.excluded_locations)),
        "excluded_kinds": sorted(set(data.excluded_kinds)),
        "priorities": dict(data.priorities),
        "location_costs": {
            code: {"per_unit": str(c.per_unit), "per_shipment": str(c.per_shipment)}
            for code, c in data.location_costs.items()
        },
        "respect_capacity": data.respect_capacity,
        "prefer_overstock": data.prefer_overstock,
        "distance": data.distance,
        "distance_weight": data.distance_weight,
        "cost_weight": data.cost_weight,
        "priority_weight": data.priority_weight,
        "overstock_weight": data.overstock_weight,
        "search_budget": data.search_budget,
        "max_routing_attempts": data.max_routing_attempts,
        "version": 1,
        "updated_at": clock.now(),
    }
    ins = pg_insert(POLICY) if session.get_bind().dialect.name == "postgresql" else sqlite_insert(POLICY)
    changes = {k: v for k, v in values.items() if k not in ("channel_id", "version")}
    session.execute(
        ins.values(values).on_conflict_do_update(
            index_elements=["channel_id"], set_={**changes, "version": POLICY.c.version + 1}
        )
    )
    return get_policy(session, channel)
