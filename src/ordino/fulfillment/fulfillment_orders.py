"""Fulfilment order actions: assign, pick, pack, ship, deliver, reject, cancel.

Each action takes the order's row lock, then the fulfilment order's, checks the lifecycle table
first (an action the status does not allow is 409 with nothing written) and goes through
`kernel.statemachine.apply` (history row and event), storing the status with a conditional
update. Stock moves through the inventory engine with the order item id as the reference.

- ship: a shipment with its items; the inventory is fulfilled (on hand and reserved go down) at
  the location, the fulfilment order and order items count the units, the fulfilment order
  becomes partially shipped or fulfilled, and the order partially fulfilled or fulfilled.
- reject: the location cannot ship. Its unshipped units are released there and deallocated, the
  delivery group's routing attempts go up by one, and the group is routed again without every
  location that rejected it; past the channel's maximum, a process exception instead.
- cancel: the unshipped units are released and deallocated (available to fulfil again).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import CursorResult, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from ordino.fulfillment.documents import FO, FOI, SHIPMENT, SHIPMENT_ITEM, find_fulfillment_order, fulfillment_order_doc
from ordino.fulfillment.domain import FULFILLMENT_ORDER_LIFECYCLE, SHIPMENT_LIFECYCLE, available_actions
from ordino.fulfillment.errors import ExceedsRemaining, NothingToDeliver, NothingToShip, OrderOnPaymentHold
from ordino.fulfillment.items import change_buckets, follow_shipments, touch_order
from ordino.fulfillment.routing.allocation import count_attempt, route_order
from ordino.fulfillment.routing.policies import channel_routing
from ordino.fulfillment.routing.service import order_ref
from ordino.fulfillment.schemas import DeliverIn, ShipIn
from ordino.inventory import groups as capacity
from ordino.inventory import reads as inventory_reads
from ordino.inventory import service as inventory
from ordino.kernel import clock
from ordino.kernel.auth import Principal
from ordino.kernel.errors import ConcurrentChange, FieldError, InvalidTransition, ValidationFailed
from ordino.kernel.ids import new_id
from ordino.kernel.statemachine import StatusHistory, apply, initial_history
from ordino.orders.process_exceptions.service import on_payment_hold, raise_process_exception

LIFECYCLE = FULFILLMENT_ORDER_LIFECYCLE
Doc = dict[str, Any]


@dataclass(slots=True)
class _Record:
    id: uuid.UUID
    status: str


def _rowcount(result: Any) -> int:
    return cast(CursorResult[Any], result).rowcount


def _lock(session: Session, ref: str | uuid.UUID, principal: Principal, action: str, endpoint: str) -> Any:
    """The order's lock, then the fulfilment order's; 409 when its status forbids `action`."""
    found = find_fulfillment_order(session, ref, principal)
    order_ref(session, found.order_summary_id, lock=True)
    fo = session.execute(select(*FO.c).where(FO.c.id == found.id).with_for_update()).one()
    if fo.status not in LIFECYCLE.transitions[action].sources:
        undelivered = bool(session.execute(
            select(func.count()).where(SHIPMENT.c.fulfillment_order_id == fo.id, SHIPMENT.c.status == "shipped")
        ).scalar_one())
        raise InvalidTransition(
            f"cannot {endpoint} a fulfillment order that is {fo.status.replace('_', ' ')}",
            extra={"current_status": fo.status,
                   "available_actions": available_actions(fo.status, undelivered_shipments=undelivered)},
        )
    return fo


def move(session: Session, fo: Any, action: str, actor: str, *, reason: str | None = None,
          data: dict[str, Any] | None = None, **values: Any) -> str:
    after = apply(session, LIFECYCLE, _Record(fo.id, fo.status), action, actor=actor, reason=reason,
                  data={"number": fo.number, "order_id": str(fo.order_summary_id), **(data or {})})
    changed = session.execute(
        update(FO)
        .where(FO.c.id == fo.id, FO.c.status == fo.status)
        .values(status=after, version=FO.c.version + 1, updated_at=clock.now(), **values)
    )
    if _rowcount(changed) != 1:
        raise ConcurrentChange("the fulfillment order was changed at the same time; reload it")
    return after


def _items(session: Session, fo_id: uuid.UUID) -> list[Any]:
    return list(session.execute(select(*FOI.c).where(FOI.c.fulfillment_order_id == fo_id).order_by(FOI.c.id)).all())


def _remaining(item: Any) -> int:
    return int(item.quantity - item.quantity_fulfilled - item.quantity_canceled)


def shipped_before(session: Session, fo_id: uuid.UUID) -> int:
    return int(session.execute(select(func.count()).where(SHIPMENT.c.fulfillment_order_id == fo_id)).scalar_one())


# ------------------------------------------------------------------------------------------------
# assign, pick, pack


def advance(session: Session, ref: str, action: str, principal: Principal, reason: str | None = None) -> Doc:
    """assign, pick or pack."""
    if action not in ("assign", "pick", "pack"):
        raise ValueError(action)
    fo = _lock(session, ref, principal, action, action)
    move(session, fo, action, principal.actor, reason=reason)
    return fulfillment_order_doc(session, fo.id)


# ------------------------------------------------------------------------------------------------
# ship, deliver


def _wanted(items: list[Any], data: ShipIn) -> dict[uuid.UUID, int]:
    """Units per fulfilment order item that the shipment names (all remaining ones without items)."""
    if data.items is None:
        return {i.id: _remaining(i) for i in items if _remaining(i)}
    by_id = {i.id: i for i in items}
    wanted: dict[uuid.UUID, int] = {}
    errors = []
    for n, line in enumerate(data.items):
        if line.fulfillment_order_item_id is not None:
            if line.fulfillment_order_item_id not in by_id:
                errors.append(FieldError(f"items[{n}].fulfillment_order_item_id",
                                         "is not an item of this fulfillment order"))
                continue
            wanted[line.fulfillment_order_item_id] = wanted.get(line.fulfillment_order_item_id, 0) + line.quantity
            continue
        same = [i for i in items if i.sku == line.sku]
        if not same:
            errors.append(FieldError(f"items[{n}].sku", f"'{line.sku}' is not in this fulfillment order"))
            continue
        left = line.quantity
        for i in same:  # several order lines of one SKU: fill them in line order
            take = min(left, _remaining(i) - wanted.get(i.id, 0))
            if take > 0:
                wanted[i.id] = wanted.get(i.id, 0) + take
                left -= take
        if left:  # more than remains: let the check below name it
            wanted[same[-1].id] = wanted.get(same[-1].id, 0) + left
    if errors:
        raise ValidationFailed(errors)
    return wanted


def ship(session: Session, ref: str, data: ShipIn, principal: Principal) -> Doc:
    fo = _lock(session, ref, principal, "ship_partially", "ship")
    if on_payment_hold(session, fo.order_summary_id):
        raise OrderOnPaymentHold("the order's payment was declined; retry its payment exception before shipping")
    items = _items(session, fo.id)
    wanted = _wanted(items, data)
    by_id = {i.id: i for i in items}
    over = [
        FieldError("items", f"{by_id[k].sku}: {q} to ship, {_remaining(by_id[k])} remaining")
        for k, q in wanted.items() if q > _remaining(by_id[k])
    ]
    if over or not wanted:
        raise (ExceedsRemaining if over else NothingToShip)(
            "the shipment ships more than the fulfillment order has left" if over else "nothing is left to ship",
            over,
        )
    now = clock.now()
    ordered = [by_id[k] for k in sorted(wanted, key=lambda k: (by_id[k].order_item_summary_id, k))]
    for item in ordered:
        inventory.fulfil(session, str(item.order_item_summary_id), item.sku, fo.location_id, wanted[item.id])
    changed = session.execute(
        update(FOI)
        .where(FOI.c.id == bindparam("f_id"),
               FOI.c.quantity - FOI.c.quantity_fulfilled - FOI.c.quantity_canceled >= bindparam("f_q"))
        .values(quantity_fulfilled=FOI.c.quantity_fulfilled + bindparam("f_q")),
        [{"f_id": i.id, "f_q": wanted[i.id]} for i in ordered],
    )
    if _rowcount(changed) != len(ordered):
        raise ConcurrentChange("the fulfillment order was changed at the same time; reload it")
    change_buckets(session, [(i.order_item_summary_id, 0, wanted[i.id]) for i in ordered])

    sequence = shipped_before(session, fo.id) + 1
    shipment_id = new_id()
    number = f"{fo.number}-{sequence}"
    session.execute(insert(SHIPMENT), [{
        "id": shipment_id, "number": number, "fulfillment_order_id": fo.id, "order_summary_id": fo.order_summary_id,
        "sequence": sequence, "status": SHIPMENT_LIFECYCLE.initial, "carrier": data.carrier, "service": data.service,
        "tracking_numbers": list(data.tracking_numbers), "shipped_at": clock.ensure_utc(data.shipped_at or now),
        "delivered_at": None, "created_by": principal.actor, "version": 1, "created_at": now, "updated_at": now,
    }])
    session.execute(insert(SHIPMENT_ITEM), [
        {"id": new_id(), "shipment_id": shipment_id, "fulfillment_order_item_id": i.id,
         "order_item_summary_id": i.order_item_summary_id, "sku": i.sku, "quantity": wanted[i.id]}
        for i in ordered
    ])
    session.execute(insert(StatusHistory), [initial_history(SHIPMENT_LIFECYCLE, shipment_id, actor=principal.actor,
                                                            at=now)])
    done = all(_remaining(i) == wanted.get(i.id, 0) for i in items)
    shipment = {"id": str(shipment_id), "number": number, "carrier": data.carrier, "service": data.service,
                "tracking_numbers": list(data.tracking_numbers),
                "shipped_at": clock.ensure_utc(data.shipped_at or now).isoformat(),
                "items": [{"sku": i.sku, "order_item_summary_id": str(i.order_item_summary_id),
                           "quantity": wanted[i.id]} for i in ordered]}
    move(session, fo, "fulfill" if done else "ship_partially", principal.actor, data={"shipment": shipment})
    if fo.capacity_day is not None and sequence == 1:
        capacity.confirm_capacity(session, fo.location_id, fo.capacity_day, 1)
    follow_shipments(session, fo.order_summary_id, actor=principal.actor)
    touch_order(session, fo.order_summary_id)
    return fulfillment_order_doc(session, fo.id)


def deliver(session: Session, ref: str, data: DeliverIn, principal: Principal) -> Doc:
    found = find_fulfillment_order(session, ref, principal)
    order_ref(session, found.order_summary_id, lock=True)
    shipments = session.execute(
        select(SHIPMENT.c.id, SHIPMENT.c.number, SHIPMENT.c.status)
        .where(SHIPMENT.c.fulfillment_order_id == found.id).order_by(SHIPMENT.c.sequence).with_for_update()
    ).all()
    if data.shipment_id is not None:
        chosen = [s for s in shipments if s.id == data.shipment_id]
        if not chosen:
            raise ValidationFailed([FieldError("shipment_id", "is not a shipment of this fulfillment order")])
    else:
        chosen = [s for s in shipments if s.status == "shipped"]
        if len(chosen) > 1:
            raise ValidationFailed([FieldError("shipment_id", "name the shipment: several are not delivered yet")])
        if not chosen:
            raise NothingToDeliver("the fulfillment order has no shipment waiting for delivery")
    shipment = chosen[0]
    after = apply(session, SHIPMENT_LIFECYCLE, _Record(shipment.id, shipment.status), "deliver", actor=principal.actor,
                  data={"number": shipment.number, "fulfillment_order_id": str(found.id),
                        "order_id": str(found.order_summary_id)})
    at = clock.ensure_utc(data.delivered_at) if data.delivered_at else clock.now()
    changed = session.execute(
        update(SHIPMENT).where(SHIPMENT.c.id == shipment.id, SHIPMENT.c.status == shipment.status)
        .values(status=after, delivered_at=at, version=SHIPMENT.c.version + 1, updated_at=clock.now())
    )
    if _rowcount(changed) != 1:
        raise ConcurrentChange("the shipment was changed at the same time; reload it")
    return fulfillment_order_doc(session, found.id)


# ------------------------------------------------------------------------------------------------
# reject, cancel


def _take_back(session: Session, fo: Any) -> int:
    """Release the unshipped units at the location and deallocate them; returns the units."""
    items = [i for i in _items(session, fo.id) if _remaining(i)]
    if not items:
        return 0
    refs = [str(i.order_item_summary_id) for i in items]
    held = inventory_reads.open_at(session, refs, fo.location_id)
    for item in sorted(items, key=lambda i: i.order_item_summary_id):
        reference = str(item.order_item_summary_id)
        units = min(_remaining(item), held.get((reference, item.sku), 0))
        if units:
            inventory.release(session, reference, item.sku, units, location=fo.location_id)
    session.execute(
        update(FOI).where(FOI.c.id == bindparam("f_id"))
        .values(quantity_canceled=FOI.c.quantity - FOI.c.quantity_fulfilled),
        [{"f_id": i.id} for i in items],
    )
    change_buckets(session, [(i.order_item_summary_id, -_remaining(i), 0) for i in items])
    return sum(_remaining(i) for i in items)


def give_back_capacity(session: Session, fo: Any) -> None:
    if fo.capacity_day is not None and not shipped_before(session, fo.id):
        capacity.release_capacity(session, fo.location_id, fo.capacity_day, 1)


def cancel(session: Session, ref: str, principal: Principal, reason: str | None = None) -> Doc:
    fo = _lock(session, ref, principal, "cancel", "cancel")
    units = _take_back(session, fo)
    move(session, fo, "cancel", principal.actor, reason=reason, data={"units": units}, status_reason=reason)
    give_back_capacity(session, fo)
    touch_order(session, fo.order_summary_id)
    return fulfillment_order_doc(session, fo.id)


def reject(session: Session, ref: str, reason: str, principal: Principal) -> Doc:
    fo = _lock(session, ref, principal, "reject", "reject")
    units = _take_back(session, fo)
    move(session, fo, "reject", principal.actor, reason=reason, data={"units": units}, status_reason=reason)
    give_back_capacity(session, fo)
    order = order_ref(session, fo.order_summary_id)
    attempts = count_attempt(session, order.id, fo.delivery_group_id)
    maximum = channel_routing(session, order.channel_id).max_routing_attempts
    rerouting: Doc = {"routing_attempts": attempts, "max_routing_attempts": maximum, "routing": None,
                      "process_exception_id": None}
    rejected = session.execute(
        select(FO.c.location_id).where(FO.c.delivery_group_id == fo.delivery_group_id, FO.c.status == "rejected")
        .distinct()
    ).scalars().all()
    if attempts > maximum:
        rerouting["process_exception_id"] = raise_process_exception(
            session,
            category="fulfillment",
            severity="high",
            priority=2,
            message=(
                f"Order {order.number}: {fo.number} was rejected ({reason}). The delivery group was routed"
                f" again {maximum} time{'' if maximum == 1 else 's'} already and {len(rejected)} location"
                f"{'' if len(rejected) == 1 else 's'} rejected"
                f" it; {units} units are not allocated."
            ),
            attached_to_type="fulfillment_order",
            attached_to_id=fo.id,
            order_summary_id=order.id,
            actor=principal.actor,
        )
        touch_order(session, order.id)
    else:
        outcomes = route_order(session, order.id, delivery_group_ids=[fo.delivery_group_id],
                               exclude_locations=list(rejected), trigger="rejection", actor=principal.actor)
        rerouting["routing"] = outcomes[0].as_dict() if outcomes else None
        if outcomes:
            rerouting["process_exception_id"] = outcomes[0].process_exception_id
        else:
            touch_order(session, order.id)
    doc = fulfillment_order_doc(session, fo.id)
    doc["rerouting"] = rerouting
    return doc
