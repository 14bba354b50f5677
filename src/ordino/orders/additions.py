"""Items added to a placed order (an addition, an exchange's new items, a reship), priced and
taxed by intake's own code: the new lines go through `intake.prepare` as the lines of an order
of the same account, channel, currency, pricing and tax mode, shipped to the delivery group's
address; the rows it builds are then given to the existing order (line numbers after its last
one) and written. Nothing here reserves or routes: the caller does, once the rows are written.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Table, func, insert, select
from sqlalchemy.orm import Session

from ordino.accounts.models import Account
from ordino.catalog.models import SalesChannel
from ordino.inventory import sourcing
from ordino.kernel import clock
from ordino.kernel.auth import Principal
from ordino.kernel.errors import FieldError, ValidationFailed
from ordino.kernel.ids import new_id
from ordino.orders import intake
from ordino.orders.models import (
    OrderDeliveryGroupSummary,
    OrderItemAdjustmentLine,
    OrderItemSummary,
    OrderItemTaxLine,
)
from ordino.orders.recording import Prepared
from ordino.orders.schemas import AddressIn, DeliveryGroupIn, LineIn, OrderIn

GROUP = cast(Table, OrderDeliveryGroupSummary.__table__)
ITEM = cast(Table, OrderItemSummary.__table__)
ADJ = cast(Table, OrderItemAdjustmentLine.__table__)
TAX = cast(Table, OrderItemTaxLine.__table__)
_FIELDS = ("name", "line1", "line2", "city", "postal_code", "region", "county", "country", "phone", "email")
_PATH = re.compile(r"^delivery_groups\[0\]\.")


@dataclass(frozen=True, slots=True)
class Added:
    """The rows of the added items (not written yet) and what reserving them needs."""

    group_id: uuid.UUID
    new_group: dict[str, Any] | None
    items: list[dict[str, Any]]
    adjustments: list[dict[str, Any]]
    taxes: list[dict[str, Any]]
    demands: list[sourcing.Demand]
    channel_code: str


def _ship_to(group: Any) -> AddressIn:
    return AddressIn.model_validate({f: getattr(group, f"ship_to_{f}") for f in _FIELDS
                                     if getattr(group, f"ship_to_{f}") is not None})


def prepare_items(
    session: Session, order: Any, lines: Sequence[LineIn], principal: Principal, *,
    group_position: int = 1, new_group: bool = False, zero_price: bool = False,
) -> Added:
    """Price and tax `lines` for the order as intake would (errors name `lines[i]…`). With
    `new_group` they go to a new delivery group shipping where group `group_position` ships;
    `zero_price`: at no charge (a reship)."""
    group = session.execute(select(*GROUP.c).where(GROUP.c.order_summary_id == order.id,
                                                   GROUP.c.position == group_position)).first()
    if group is None:
        raise ValidationFailed([FieldError("delivery_group", f"the order has no delivery group {group_position}")])
    account = session.execute(select(Account.number).where(Account.id == order.account_id)).scalar_one()
    channel = session.execute(select(SalesChannel.code).where(SalesChannel.id == order.channel_id)).scalar_one()
    if zero_price:
        lines = [line.model_copy(update={"unit_price": Decimal(0), "adjustments": [], "tax_lines": [
            t.model_copy(update={"amount": Decimal(0)}) for t in line.tax_lines]}) for line in lines]
    synthetic = OrderIn(
        channel=channel, external_reference=f"{order.number}/{new_id()}", account=account, currency=order.currency,
        ordered_at=clock.now(), pricing="order" if zero_price else order.pricing,
        tax="calculate" if order.tax_mode == "calculate" or not any(li.tax_lines for li in lines) else "given",
        prices_include_tax=order.prices_include_tax,
        delivery_groups=[DeliveryGroupIn(ship_to=_ship_to(group), delivery_method=group.delivery_method,
                                         lines=list(lines))],
    )
    try:
        prepared = intake.prepare(session, synthetic, principal, intake.look_up(session, [synthetic]))
    except ValidationFailed as refused:
        raise ValidationFailed([FieldError(_PATH.sub("", e.field), e.message) for e in refused.errors]) from None
    assert isinstance(prepared, Prepared)  # a fresh external reference: never placed before
    return _rehome(session, order, group, prepared, new_group)


def _rehome(session: Session, order: Any, group: Any, prepared: Prepared, new_group: bool) -> Added:
    last = session.execute(select(func.max(ITEM.c.line_number)).where(ITEM.c.order_summary_id == order.id)
                           ).scalar_one() or 0
    group_row = None
    group_id = group.id
    if new_group:
        position = session.execute(select(func.max(GROUP.c.position)).where(GROUP.c.order_summary_id == order.id)
                                   ).scalar_one()
        group_row = {**prepared.groups[0], "id": new_id(), "order_summary_id": order.id, "position": position + 1,
                     "ship_to_address_id": group.ship_to_address_id}
        group_id = group_row["id"]
    items = [{**i, "order_summary_id": order.id, "delivery_group_id": group_id, "line_number": last + n + 1}
             for n, i in enumerate(i for i in prepared.items if i["type"] == "product")]
    kept = {i["id"] for i in items}
    return Added(
        group_id, group_row, items,
        [{**a, "change_order_id": None} for a in prepared.adjustments if a["order_item_summary_id"] in kept],
        [{**t, "adjustment_line_id": None, "change_order_id": None} for t in prepared.taxes
         if t["order_item_summary_id"] in kept],
        list(prepared.demands), prepared.channel_code,
    )


def write_items(session: Session, added: Added, account_id: uuid.UUID) -> None:
    """Write the added items and reserve them as intake reserves an order's."""
    if added.new_group is not None:
        session.execute(insert(GROUP), [added.new_group])
    session.execute(insert(ITEM), added.items)
    if added.adjustments:
        session.execute(insert(ADJ), added.adjustments)
    if added.taxes:
        session.execute(insert(TAX), added.taxes)
    sourcing.reserve_items(session, sourcing.sourcing_for(session, added.channel_code), added.demands, clock.now(),
                           account_id=account_id)
