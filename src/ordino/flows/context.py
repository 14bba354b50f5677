"""What a step's condition and scope see of the order an event concerns (flows.conditions)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ordino.accounts.models import Account
from ordino.catalog.models import SalesChannel
from ordino.kernel.ids import parse_id
from ordino.kernel.worker import Event
from ordino.orders.models import OrderDeliveryGroupSummary, OrderSummary


def order_id_of(event: Event) -> uuid.UUID | None:
    """The order an event is about: its subject `order/<id>`, else `order_summary_id` in its data,
    else the `id` of an `order.*` event."""
    if event.subject and event.subject.startswith("order/"):
        return parse_id(event.subject.removeprefix("order/"))
    value = event.data.get("order_summary_id")
    if value is None and event.type.startswith("order."):
        value = event.data.get("id")
    return parse_id(str(value)) if value else None


def event_fields(event: Event) -> dict[str, Any]:
    return {"type": event.type, "subject": event.subject or "", "data": event.data}


def order_fields(session: Session, event: Event) -> dict[str, Any] | None:
    """The order as conditions see it (flows.conditions.ORDER_FIELDS), or None without one."""
    order_id = order_id_of(event)
    if order_id is None:
        return None
    group = OrderDeliveryGroupSummary
    # An order's country is where it ships: its first delivery group's (they seldom differ).
    country = select(func.min(group.ship_to_country)).where(group.order_summary_id == order_id).scalar_subquery()
    row = session.execute(
        select(
            OrderSummary.number, OrderSummary.status, OrderSummary.currency, OrderSummary.grand_total_amount,
            country.label("country"), OrderSummary.payment_instructions, OrderSummary.po_number,
            OrderSummary.pricing, SalesChannel.code, SalesChannel.kind, Account.number.label("account"),
            Account.country.label("account_country"), Account.payment_terms,
        )
        .join(SalesChannel, SalesChannel.id == OrderSummary.channel_id)
        .join(Account, Account.id == OrderSummary.account_id)
        .where(OrderSummary.id == order_id)
    ).first()
    if row is None:
        return None
    methods = sorted({str(p.get("method")) for p in row.payment_instructions or () if p.get("method")})
    return {
        "number": row.number, "status": row.status, "channel": row.code, "channel_kind": row.kind,
        "account": row.account, "account_country": row.account_country or "",
        "payment_terms": row.payment_terms or "", "currency": row.currency,
        "grand_total": int(row.grand_total_amount), "country": row.country or "",
        "payment_methods": methods, "po_number": row.po_number or "", "pricing": row.pricing,
    }
