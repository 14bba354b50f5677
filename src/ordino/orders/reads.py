"""Reading orders: one order document, and the order list."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ordino.accounts.models import Account
from ordino.catalog.models import SalesChannel
from ordino.kernel import clock
from ordino.kernel.auth import Principal
from ordino.kernel.errors import FieldError, NotFound, ValidationFailed
from ordino.kernel.http import page, paginate
from ordino.kernel.ids import parse_id
from ordino.orders import domain
from ordino.orders.models import (
    ChangeOrder,
    ChangeOrderItem,
    OrderDeliveryGroupSummary,
    OrderItemAdjustmentLine,
    OrderItemSummary,
    OrderItemTaxLine,
    OrderSummary,
)
from ordino.orders.serialize import order_document, order_row


def load_order(session: Session, order_id: uuid.UUID, principal: Principal) -> dict[str, Any]:
    stmt = select(OrderSummary.__table__).where(OrderSummary.id == order_id)
    header = session.execute(stmt).mappings().first()
    if header is None or not principal.sees_account(header["account_id"]):
        raise NotFound("order not found")
    groups = session.execute(
        select(OrderDeliveryGroupSummary.__table__)
        .where(OrderDeliveryGroupSummary.order_summary_id == order_id)
        .order_by(OrderDeliveryGroupSummary.position)
    ).mappings().all()
    items = session.execute(
        select(OrderItemSummary.__table__)
        .where(OrderItemSummary.order_summary_id == order_id)
        .order_by(OrderItemSummary.line_number)
    ).mappings().all()
    item_ids = [i["id"] for i in items]
    adjustments = session.execute(
        select(OrderItemAdjustmentLine.__table__).where(
            OrderItemAdjustmentLine.order_item_summary_id.in_(item_ids),
            OrderItemAdjustmentLine.change_order_id.is_(None),
        )
    ).mappings().all()
    taxes = session.execute(
        select(OrderItemTaxLine.__table__).where(
            OrderItemTaxLine.order_item_summary_id.in_(item_ids), OrderItemTaxLine.change_order_id.is_(None)
        )
    ).mappings().all()
    co = ChangeOrder
    changes = session.execute(
        select(*(func.sum(c).label(c.key) for c in (
            co.total_product_amount, co.total_adjustment_amount, co.total_delivery_amount, co.total_tax_amount,
            co.grand_total_amount)))
        .where(co.order_summary_id == order_id)
    ).mappings().first()
    changed_items = {
        r[0]: int(r[1]) for r in session.execute(
            select(ChangeOrderItem.order_item_summary_id,
                   func.sum(ChangeOrderItem.line_amount + ChangeOrderItem.adjustment_amount))
            .join(co, co.id == ChangeOrderItem.change_order_id)
            .where(co.order_summary_id == order_id, co.kind.not_in(domain.ADDING_KINDS))
            .group_by(ChangeOrderItem.order_item_summary_id)
        )
    }
    account_number = session.execute(
        select(Account.number).where(Account.id == header["account_id"])
    ).scalar_one()
    channel_code = session.execute(
        select(SalesChannel.code).where(SalesChannel.id == header["channel_id"])
    ).scalar_one()
    return order_document(header, groups, items, adjustments, taxes, account_number, channel_code, changes,
                          changed_items)


def order_id_by_number(session: Session, number: str) -> uuid.UUID | None:
    """The id of the order with this number (SO-000123), or None."""
    return session.execute(select(OrderSummary.id).where(OrderSummary.number == number)).scalar_one_or_none()


def order_account_id(session: Session, order_id: uuid.UUID) -> uuid.UUID | None:
    """The account of the order, or None when there is no such order."""
    return session.execute(
        select(OrderSummary.account_id).where(OrderSummary.id == order_id)
    ).scalar_one_or_none()


def item_account_id(session: Session, reference: str) -> uuid.UUID | None:
    """The account of the order whose item this reference is (a reservation's reference is the
    order item's id), or None when it is no order item."""
    item_id = parse_id(reference)
    if item_id is None:
        return None
    return session.execute(
        select(OrderSummary.account_id)
        .join(OrderItemSummary, OrderItemSummary.order_summary_id == OrderSummary.id)
        .where(OrderItemSummary.id == item_id)
    ).scalar_one_or_none()


def get_order(session: Session, order_ref: str, principal: Principal) -> dict[str, Any]:
    """An order by id or by number (SO-000123)."""
    order_id = parse_id(order_ref)
    if order_id is None:
        order_id = session.execute(
            select(OrderSummary.id).where(OrderSummary.number == order_ref)
        ).scalar_one_or_none()
        if order_id is None:
            raise NotFound("order not found")
    return load_order(session, order_id, principal)


@dataclass(frozen=True, slots=True)
class OrderFilter:
    account: str | None = None
    status: str | None = None
    channel: str | None = None
    placed_from: datetime | None = None
    placed_to: datetime | None = None


def _aware(name: str, value: datetime) -> datetime:
    try:
        return clock.ensure_utc(value)
    except ValueError:
        raise ValidationFailed(
            [FieldError(name, "must carry a timezone, e.g. 2026-11-26T10:00:00Z")]
        ) from None


def list_orders(
    session: Session, principal: Principal, f: OrderFilter, limit: int, cursor: str | None
) -> dict[str, Any]:
    stmt = select(
        OrderSummary.id,
        OrderSummary.number,
        OrderSummary.status,
        OrderSummary.currency,
        OrderSummary.external_reference,
        OrderSummary.po_number,
        OrderSummary.ordered_at,
        OrderSummary.grand_total_amount,
        Account.number.label("account"),
        SalesChannel.code.label("channel"),
    ).join(Account, Account.id == OrderSummary.account_id).join(
        SalesChannel, SalesChannel.id == OrderSummary.channel_id
    )
    if principal.account_id is not None:
        stmt = stmt.where(OrderSummary.account_id == principal.account_id)
    if f.account:
        stmt = stmt.where(Account.number == f.account)
    if f.status:
        if f.status not in domain.ORDER_STATUSES:
            raise ValidationFailed(
                [FieldError("status", f"must be one of {', '.join(domain.ORDER_STATUSES)}")]
            )
        stmt = stmt.where(OrderSummary.status == f.status)
    if f.channel:
        stmt = stmt.where(SalesChannel.code == f.channel)
    if f.placed_from:
        stmt = stmt.where(OrderSummary.ordered_at >= _aware("placed_from", f.placed_from))
    if f.placed_to:
        stmt = stmt.where(OrderSummary.ordered_at < _aware("placed_to", f.placed_to))
    rows = session.execute(paginate(stmt, OrderSummary.id, limit, cursor)).all()
    return page([order_row(r) for r in rows], [r.id for r in rows], limit)

