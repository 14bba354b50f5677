"""Answers of file intake: the order placed from a file, without its thousands of items."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from ordino.kernel.schema import Out, UuidText
from ordino.orders.schemas import OrderHeaderOut, OrderTotalsOut, ShipToOut


class BulkGroupOut(Out):
    id: UuidText
    delivery_method: str
    ship_to: ShipToOut
    lines: int


class BulkFileOut(Out):
    format: Literal["csv", "xlsx"]
    rows: int
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class BulkOrderOut(OrderHeaderOut):
    """The order's header and totals (its items are at GET /orders/{id})."""

    pricing: Literal["catalog", "order"]
    ordered_at: datetime
    totals: OrderTotalsOut
    created_at: datetime
    lines: int
    delivery_groups: list[BulkGroupOut]
    file: BulkFileOut
