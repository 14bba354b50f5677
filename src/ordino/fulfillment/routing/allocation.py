"""Routing an order for real: plan each delivery group, move the items' reservations to the chosen
locations, create one fulfilment order per location, allocate the items and store the decision.

Everything happens in the caller's transaction, after the order's row lock, so two routings of
one order never interleave. Reservations move through the inventory engine (`transfer`,
`reserve`, `release`, each conditional: no oversell). If stock went to another order between the
plan and the move, the move is refused without side effects and the group is planned again from
what is now there (at most `REPLANS` times).

Units no location can ship stay unallocated (a backorder) and are listed in the decision; a group
of which nothing can be routed gets a process exception (category fulfilment) instead of an error.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Table, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from ordino.fulfillment.domain import FULFILLMENT_ORDER_LIFECYCLE, Free, plan_moves, share_plan
from ordino.fulfillment.items import change_buckets, touch_order
from ordino.fulfillment.models import DeliveryGroupRouting, FulfillmentOrder, FulfillmentOrderItem, RoutingDecision
from ordino.fulfillment.routing.policies import ChannelRouting, channel_routing
from ordino.fulfillment.routing.service import (
    GroupNeeds,
    GroupPlan,
    OrderRef,
    Sites,
    load_needs,
    load_sites,
    order_ref,
    plan_group,
    point_doc,
    require_routable,
)
from ordino.inventory import groups as capacity
from ordino.inventory import service as inventory
from ordino.inventory.errors import OutOfStock
from ordino.kernel import clock
from ordino.kernel.auth import Principal
from ordino.kernel.ids import new_id
from ordino.kernel.numbering import FULFILLMENT_ORDER, next_number
from ordino.kernel.outbox import emit
from ordino.kernel.statemachine import StatusHistory, apply, initial_history
from ordino.orders.process_exceptions.service import (
    open_exception,
    raise_process_exception,
    record_error,
    resolve_open,
)

FO = cast(Table, FulfillmentOrder.__table__)
FOI = cast(Table, FulfillmentOrderItem.__table__)
DECISION = cast(Table, RoutingDecision.__table__)
STATE = cast(Table, DeliveryGroupRouting.__table__)
REPLANS = 3
ROUTE_STEP = "fulfillment.route_order"
Doc = dict[str, Any]


@dataclass(slots=True)
class GroupOutcome:
    delivery_group_id: uuid.UUID
    decision_id: uuid.UUID
    attempt: int
    routed_units: int
    unroutable_units: int
    reason: str
    fulfillment_orders: list[dict[str, Any]] = field(default_factory=list)  # id, number, location
    process_exception_id: uuid.UUID | None = None

    def as_dict(self) -> Doc:
        return {
            "delivery_group_id": self.delivery_group_id,
            "decision_id": self.decision_id,
            "attempt": self.attempt,
            "routed_units": self.routed_units,
            "unroutable_units": self.unroutable_units,
            "reason": self.reason,
            "fulfillment_orders": self.fulfillment_orders,
            "process_exception_id": self.process_exception_id,
        }


@dataclass(slots=True)
class _Record:
    id: uuid.UUID
    status: str


def route_order(
    session: Session,
    order_id: uuid.UUID,
    *,
    exclude_locations: Iterable[str | uuid.UUID] = (),
    delivery_group_ids: Iterable[uuid.UUID] | None = None,
    trigger: str = "manual",
    actor: str | None = None,
) -> list[GroupOutcome]:
    """Route the order's unallocated units (all delivery groups, or the ones named); one outcome per
    group that had units to route."""
    order = order_ref(session, order_id, lock=True)
    require_routable(order)
    routing = channel_routing(session, order.channel_id)
    sites = load_sites(session)
    excluded = sites.ids(exclude_locations)
    outcomes = []
    for group in load_needs(session, order.id, delivery_group_ids):
        if group.needs:
            outcomes.append(_route_group(session, order, group, routing, sites, excluded, trigger, actor))
    if outcomes:
        touch_order(session, order.id)
    return outcomes


def routing_attempts(session: Session, order_id: uuid.UUID, group_id: uuid.UUID) -> int:
    """The group's re-route count (its state row is created on first use)."""
    ins = pg_insert(STATE) if session.get_bind().dialect.name == "postgresql" else sqlite_insert(STATE)
    session.execute(
        ins.values(delivery_group_id=group_id, order_summary_id=order_id, routing_attempts=0, updated_at=clock.now())
        .on_conflict_do_nothing(index_elements=["delivery_group_id"])
    )
    return int(session.execute(select(STATE.c.routing_attempts).where(STATE.c.delivery_group_id == group_id))
               .scalar_one())


def count_attempt(session: Session, order_id: uuid.UUID, group_id: uuid.UUID) -> int:
    """One more re-route of the group (one conditional increment); returns the new count."""
    routing_attempts(session, order_id, group_id)
    return int(
        session.execute(
            update(STATE)
            .where(STATE.c.delivery_group_id == group_id)
            .values(routing_attempts=STATE.c.routing_attempts + 1, updated_at=clock.now())
            .returning(STATE.c.routing_attempts)
        ).scalar_one()
    )


def _route_group(
    session: Session,
    order: OrderRef,
    group: GroupNeeds,
    routing: ChannelRouting,
    sites: Sites,
    excluded: set[uuid.UUID],
    trigger: str,
    actor: str | None,
) -> GroupOutcome:
    attempt = routing_attempts(session, order.id, group.id)
    for replan in range(REPLANS):
        gp = plan_group(session, order.id, group, routing, sites, excluded)
        holds = {item: {sites.by_id[loc].code: f for loc, f in at.items()} for item, at in gp.holds.items()}
        allocations = [(a.location_code, a.sku, a.quantity) for a in gp.plan.allocations]
        physical = {item: {code: f.physical for code, f in at.items()} for item, at in holds.items()}
        targets = share_plan(group.needs, allocations, physical)
        try:
            _move_reservations(session, order.account_id, group, targets, holds)
            break
        except OutOfStock:
            if replan == REPLANS - 1:
                raise
    decision_id = _store_decision(session, order, group, gp, attempt, trigger, actor)
    plan = gp.plan
    routed = sum(a.quantity for a in plan.allocations)
    unroutable = sum(u.quantity for u in plan.unroutable)
    outcome = GroupOutcome(group.id, decision_id, attempt, routed, unroutable, plan.reason)
    event = {
        "id": str(order.id), "number": order.number, "delivery_group_id": str(group.id),
        "decision_id": str(decision_id), "attempt": attempt, "trigger": trigger, "reason": plan.reason,
        "routed_units": routed, "unroutable_units": unroutable,
    }
    if not routed and unroutable <= _backordered(group, targets, gp):
        # Every unit waits on a backorder hold (futures): a backorder, not an exception. The hold
        # becomes stock when it arrives, and `handlers.route_arrived_stock` routes it then.
        emit(session, "order.backordered", f"order/{order.id}", event)
        return outcome
    if not routed:
        outcome.process_exception_id = _unroutable_exception(session, order, group, plan.reason, actor)
        emit(session, "order.routing_failed", f"order/{order.id}",
             {**event, "process_exception_id": str(outcome.process_exception_id)})
        return outcome
    resolve_open(session, "order_delivery_group_summary", group.id, ROUTE_STEP,
                 f"routed by routing decision {decision_id}", actor)
    outcome.fulfillment_orders = _create_fulfillment_orders(session, order, group, gp, targets, decision_id, sites,
                                                            routing, actor)
    change_buckets(session, [(item, sum(at.values()), 0) for item, at in targets.items() if at])
    emit(session, "order.routed", f"order/{order.id}",
         {**event, "fulfillment_orders": [fo["number"] for fo in outcome.fulfillment_orders]})
    return outcome


def _unroutable_exception(session: Session, order: Any, group: GroupNeeds, reason: str, actor: str | None) -> uuid.UUID:
    """One active exception per delivery group that cannot be routed: a later attempt that fails
    too updates its error; routing that succeeds later resolves it."""
    found = open_exception(session, "order_delivery_group_summary", group.id, ROUTE_STEP)
    if found is not None:
        record_error(session, found, reason)
        return found
    return raise_process_exception(
        session, category="fulfillment", severity="high", priority=2,
        message=f"Order {order.number}, delivery group {group.position}: nothing could be routed. {reason}",
        attached_to_type="order_delivery_group_summary", attached_to_id=group.id, order_summary_id=order.id,
        actor=actor, step=ROUTE_STEP, error=reason,
    )


def _backordered(group: GroupNeeds, targets: dict[uuid.UUID, dict[str, int]], gp: GroupPlan) -> int:
    """Unrouted units of the group that wait on a backorder hold of their item."""
    covered = 0
    for need in group.needs:
        left = need.quantity - sum(targets.get(need.item, {}).values())
        waiting = sum(f.backordered for f in gp.holds.get(need.item, {}).values())
        covered += min(left, waiting)
    return covered


def _move_reservations(
    session: Session,
    account_id: uuid.UUID,
    group: GroupNeeds,
    targets: dict[uuid.UUID, dict[str, int]],
    holds: dict[uuid.UUID, dict[str, Free]],
) -> None:
    """Make each item's reservations match its share of the plan (see `domain.plan_moves`): the
    transfers of every item in one call (one event for the group), the releases, then the
    reserves of every item in one call (one event)."""
    transfers: list[inventory.Transfer] = []
    reserves: list[tuple[str, list[tuple[str, int]]]] = []  # (sku, [(location, units)]) per wanted
    wanted: list[inventory.Wanted] = []
    releases: list[tuple[str, str, str, int]] = []
    for need in group.needs:
        target = targets.get(need.item, {})
        moves = plan_moves(target, holds.get(need.item, {}), need.quantity - sum(target.values()))
        reference = str(need.item)
        transfers += [inventory.Transfer(reference, need.sku, source, to, units)
                      for source, to, units in moves.transfers]
        if moves.reserves:
            wanted.append(inventory.Wanted(reference, [(need.sku, to, units) for to, units in moves.reserves],
                                           account_id=account_id))
            reserves.append((need.sku, list(moves.reserves)))
        releases += [(reference, need.sku, at, units) for at, units in moves.releases]
    inventory.transfer_many(session, transfers)
    for reference, sku, place, units in releases:  # before the reserves: what they free may serve another item
        inventory.release(session, reference, sku, units, location=place)
    if wanted:
        docs = inventory.reserve_batch(session, wanted)
        short = [i for i, d in enumerate(docs) if any(x["backordered_quantity"] for x in d)]
        if short:
            # A backorder product was short and took futures: not what routing allocates.
            for w, (item_sku, reserved) in zip(wanted, reserves, strict=True):
                for to, units in reserved:
                    inventory.release(session, w.reference, item_sku, units, location=to)
            raise OutOfStock(f"{reserves[short[0]][0]} was taken meanwhile")


def _store_decision(
    session: Session, order: OrderRef, group: GroupNeeds, gp: GroupPlan, attempt: int, trigger: str,
    actor: str | None,
) -> uuid.UUID:
    plan = gp.plan
    decision_id = new_id()
    session.execute(
        insert(DECISION),
        [{
            "id": decision_id,
            "order_summary_id": order.id,
            "delivery_group_id": group.id,
            "attempt": attempt,
            "trigger": trigger,
            "excluded_locations": list(gp.excluded),
            "ship_to_point": point_doc(group.point),
            "plan": plan.as_dict(),
            "reason": plan.reason[:2000],
            "routed_units": sum(a.quantity for a in plan.allocations),
            "unroutable_units": sum(u.quantity for u in plan.unroutable),
            "optimal": plan.optimal,
            "actor": actor,
            "created_at": clock.now(),
        }],
    )
    return decision_id


def _create_fulfillment_orders(
    session: Session,
    order: OrderRef,
    group: GroupNeeds,
    gp: GroupPlan,
    targets: dict[uuid.UUID, dict[str, int]],
    decision_id: uuid.UUID,
    sites: Sites,
    routing: ChannelRouting,
    actor: str | None,
) -> list[dict[str, Any]]:
    now = clock.now()
    sku_of = {n.item: n.sku for n in group.needs}
    created: list[dict[str, Any]] = []
    fo_rows: list[dict[str, Any]] = []
    item_rows: list[dict[str, Any]] = []
    history: list[dict[str, Any]] = []
    for g in gp.plan.groups:
        site = sites.by_code[g.location_code]
        fo_id = new_id()
        day = None
        if routing.policy.respect_capacity:
            day = gp.capacity[site.id][0]
            capacity.hold_capacity(session, site.id, day, 1)
        items: list[dict[str, Any]] = [
            {"id": new_id(), "fulfillment_order_id": fo_id, "order_item_summary_id": n.item, "sku": sku_of[n.item],
             "quantity": targets[n.item][site.code], "quantity_fulfilled": 0, "quantity_canceled": 0}
            for n in group.needs
            if targets.get(n.item, {}).get(site.code)
        ]
        number = next_number(session, FULFILLMENT_ORDER, now)
        fo_rows.append({
            "id": fo_id, "number": number, "order_summary_id": order.id, "delivery_group_id": group.id,
            "location_id": site.id, "routing_decision_id": decision_id, "status": "allocated", "status_reason": None,
            "capacity_day": day, "version": 1, "created_at": now, "updated_at": now,
        })
        item_rows += items
        history.append(initial_history(FULFILLMENT_ORDER_LIFECYCLE, fo_id, actor=actor, at=now))
        created.append({"id": fo_id, "number": number, "location": site.code, "lines": len(items),
                        "units": sum(i["quantity"] for i in items)})
    session.execute(insert(FO), fo_rows)
    session.execute(insert(FOI), item_rows)
    session.execute(insert(StatusHistory), history)
    for fo in created:
        data = {"number": fo["number"], "order_id": str(order.id), "order_number": order.number,
                "delivery_group_id": str(group.id), "location": fo["location"]}
        emit(session, "fulfillment_order.created", f"fulfillment_order/{fo['id']}",
             {"id": str(fo["id"]), **data, "status": FULFILLMENT_ORDER_LIFECYCLE.initial, "lines": fo["lines"],
              "units": fo["units"]})
        apply(session, FULFILLMENT_ORDER_LIFECYCLE, _Record(fo["id"], "draft"), "allocate", actor=actor, data=data)
    return created


def route_now(session: Session, ref: str, principal: Principal, exclude: list[str]) -> Doc:
    """POST /orders/{id}/routing: route what is unallocated now."""
    order = order_ref(session, ref, principal)
    outcomes = route_order(session, order.id, exclude_locations=exclude, trigger="manual", actor=principal.actor)
    return {"order": {"id": order.id, "number": order.number}, "routings": [o.as_dict() for o in outcomes]}
