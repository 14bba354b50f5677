"""Reading fulfilment orders and routing decisions: the API documents and lists."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from ordino.catalog.models import Location
from ordino.fulfillment.domain import FO_STATUSES, available_actions
from ordino.fulfillment.models import FulfillmentOrder, FulfillmentOrderItem, RoutingDecision, Shipment, ShipmentItem
from ordino.fulfillment.routing.service import GROUP, ITEM, ORDER, order_ref
from ordino.kernel.auth import Principal
from ordino.kernel.errors import FieldError, NotFound, ValidationFailed
from ordino.kernel.http import page, paginate
from ordino.kernel.ids import parse_id

FO = cast(Table, FulfillmentOrder.__table__)
FOI = cast(Table, FulfillmentOrderItem.__table__)
SHIPMENT = cast(Table, Shipment.__table__)
SHIPMENT_ITEM = cast(Table, ShipmentItem.__table__)
DECISION = cast(Table, RoutingDecision.__table__)
LOCATION = cast(Table, Location.__table__)
Doc = dict[str, Any]

_SHIP_TO = ("name", "line1", "line2", "city", "postal_code", "region", "country", "phone", "email")


def find_fulfillment_order(session: Session, ref: str | uuid.UUID, principal: Principal | None) -> Any:
    """The FO row (with its order's account) by id or number; 404 when unknown or foreign."""
    ident = ref if isinstance(ref, uuid.UUID) else parse_id(ref)
    stmt = select(*FO.c, ORDER.c.account_id, ORDER.c.number.label("order_number")).join(
        ORDER, ORDER.c.id == FO.c.order_summary_id
    )
    stmt = stmt.where(FO.c.id == ident) if ident is not None else stmt.where(FO.c.number == ref)
    row = session.execute(stmt).first()
    if row is None or (principal is not None and not principal.sees_account(row.account_id)):
        raise NotFound("fulfillment order not found")
    return row


def fulfillment_order_doc(session: Session, ref: str | uuid.UUID, principal: Principal | None = None) -> Doc:
    fo = find_fulfillment_order(session, ref, principal)
    group = session.execute(select(GROUP).where(GROUP.c.id == fo.delivery_group_id)).one()
    location = session.execute(select(LOCATION.c.code).where(LOCATION.c.id == fo.location_id)).scalar_one()
    items = session.execute(
        select(FOI, ITEM.c.line_number, ITEM.c.name)
        .join(ITEM, ITEM.c.id == FOI.c.order_item_summary_id)
        .where(FOI.c.fulfillment_order_id == fo.id)
        .order_by(ITEM.c.line_number)
    ).all()
    shipments = _shipments(session, fo.id)
    undelivered = any(s["status"] == "shipped" for s in shipments)
    return {
        "id": fo.id,
        "number": fo.number,
        "status": fo.status,
        "status_reason": fo.status_reason,
        "available_actions": available_actions(fo.status, undelivered_shipments=undelivered),
        "order": {"id": fo.order_summary_id, "number": fo.order_number},
        "delivery_group_id": fo.delivery_group_id,
        "delivery_method": group.delivery_method,
        "ship_to": {f: getattr(group, f"ship_to_{f}") for f in _SHIP_TO},
        "location": location,
        "routing_decision_id": fo.routing_decision_id,
        "items": [
            {
                "id": i.id,
                "order_item_summary_id": i.order_item_summary_id,
                "line_number": i.line_number,
                "sku": i.sku,
                "name": i.name,
                "quantity": i.quantity,
                "quantity_fulfilled": i.quantity_fulfilled,
                "quantity_canceled": i.quantity_canceled,
                "quantity_remaining": i.quantity - i.quantity_fulfilled - i.quantity_canceled,
            }
            for i in items
        ],
        "shipments": shipments,
        "capacity_day": fo.capacity_day,
        "version": fo.version,
        "created_at": fo.created_at,
        "updated_at": fo.updated_at,
    }


def _shipments(session: Session, fo_id: uuid.UUID) -> list[Doc]:
    """The FO's shipments in sequence, each with its items."""
    shipments = session.execute(
        select(SHIPMENT).where(SHIPMENT.c.fulfillment_order_id == fo_id).order_by(SHIPMENT.c.sequence)
    ).all()
    lines: dict[uuid.UUID, list[Doc]] = defaultdict(list)
    if shipments:
        for s in session.execute(
            select(SHIPMENT_ITEM).where(SHIPMENT_ITEM.c.shipment_id.in_([s.id for s in shipments]))
            .order_by(SHIPMENT_ITEM.c.id)
        ):
            lines[s.shipment_id].append(
                {"fulfillment_order_item_id": s.fulfillment_order_item_id, "order_item_summary_id":
                 s.order_item_summary_id, "sku": s.sku, "quantity": s.quantity}
            )
    return [
        {
            "id": s.id,
            "number": s.number,
            "status": s.status,
            "carrier": s.carrier,
            "service": s.service,
            "tracking_numbers": s.tracking_numbers,
            "shipped_at": s.shipped_at,
            "delivered_at": s.delivered_at,
            "items": lines[s.id],
        }
        for s in shipments
    ]


@dataclass(frozen=True, slots=True)
class FulfillmentOrderFilter:
    location: str | None = None
    status: str | None = None
    order: str | None = None  # id or number


def list_fulfillment_orders(
    session: Session, principal: Principal, f: FulfillmentOrderFilter, limit: int, cursor: str | None
) -> Doc:
    if f.status is not None and f.status not in FO_STATUSES:
        raise ValidationFailed([FieldError("status", f"must be one of {', '.join(FO_STATUSES)}")])
    stmt = (
        select(FO.c.id, FO.c.number, FO.c.status, FO.c.order_summary_id, FO.c.delivery_group_id, FO.c.created_at,
               FO.c.updated_at, ORDER.c.number.label("order_number"), LOCATION.c.code.label("location"))
        .join(ORDER, ORDER.c.id == FO.c.order_summary_id)
        .join(LOCATION, LOCATION.c.id == FO.c.location_id)
    )
    if f.location is not None:
        stmt = stmt.where(LOCATION.c.code == f.location)
    if f.status is not None:
        stmt = stmt.where(FO.c.status == f.status)
    if f.order is not None:
        try:
            order = order_ref(session, f.order, principal)
        except NotFound:
            return page([], [], limit)
        stmt = stmt.where(FO.c.order_summary_id == order.id)
    if principal.account_id is not None:
        stmt = stmt.where(ORDER.c.account_id == principal.account_id)
    rows = session.execute(paginate(stmt, FulfillmentOrder.id, limit, cursor)).all()
    docs = [
        {"id": r.id, "number": r.number, "status": r.status, "order": {"id": r.order_summary_id,
         "number": r.order_number}, "delivery_group_id": r.delivery_group_id, "location": r.location,
         "created_at": r.created_at, "updated_at": r.updated_at}
        for r in rows
    ]
    return page(docs, [r.id for r in rows], limit)


def decision_doc(row: Any) -> Doc:
    return {
        "id": row.id,
        "order_id": row.order_summary_id,
        "delivery_group_id": row.delivery_group_id,
        "attempt": row.attempt,
        "trigger": row.trigger,
        "excluded_locations": row.excluded_locations,
        "ship_to_point": row.ship_to_point,
        "routed_units": row.routed_units,
        "unroutable_units": row.unroutable_units,
        "optimal": row.optimal,
        "reason": row.reason,
        "plan": row.plan,
        "actor": row.actor,
        "created_at": row.created_at,
    }


def routing_decisions(session: Session, ref: str, principal: Principal) -> Doc:
    """An order's routing decisions, oldest first."""
    order = order_ref(session, ref, principal)
    rows = session.execute(
        select(DECISION).where(DECISION.c.order_summary_id == order.id).order_by(DECISION.c.id)
    ).all()
    return {"order": {"id": order.id, "number": order.number}, "items": [decision_doc(r) for r in rows]}
