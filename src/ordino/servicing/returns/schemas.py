"""Payloads and answers of the return order (RMA) API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field

from ordino.kernel.schema import Code, DecimalText, MoneyText, Name, Out, ShortText, Strict, UuidText
from ordino.servicing.schemas import MAX_LINES, LineNumber

Count = Annotated[int, Field(strict=True, ge=0, le=1_000_000_000)]
Units = Annotated[int, Field(strict=True, gt=0, le=1_000_000_000)]
Disposition = Literal["restock", "scrap", "repair", "return_to_vendor"]
Status = Literal["requested", "approved", "partially_received", "received", "closed", "cancelled"]


class ReturnLineIn(Strict):
    line_number: LineNumber
    quantity: Units
    reason: Name


class LabelIn(Strict):
    carrier: ShortText
    tracking_reference: ShortText


class ReturnOrderIn(Strict):
    """Shipped units the customer will send back (up to each line's available to return)."""

    order: Name = Field(description="The order's id or number")
    lines: list[ReturnLineIn] = Field(min_length=1, max_length=MAX_LINES)
    return_location: Code | None = Field(None, description="Where the goods are to be sent (a location code)")
    label: LabelIn | None = Field(None, description="The return label; generated when not given")


class ReturnOrderCancelIn(Strict):
    reason: Name | None = None


class ReceiptLineIn(Strict):
    line_number: LineNumber
    received: Count = 0
    rejected: Count = 0
    reason_for_rejection: Name | None = None
    disposition: Disposition


class FeesIn(Strict):
    restocking_percent: DecimalText | None = Field(None, description="Percent of the returned goods' total [0–100]")
    return_shipping: DecimalText | None = Field(None, description="Return shipping charged, tax included (≥ 0)")


class ReceiptIn(Strict):
    location: Code = Field(description="Where the goods arrived (restocked units go on hand there)")
    lines: list[ReceiptLineIn] = Field(min_length=1, max_length=MAX_LINES)
    fees: FeesIn = Field(default_factory=FeesIn)


# ------------------------------------------------------------------------------------------------
# Answers


class ReturnOrderLineOut(Out):
    line_number: int
    order_item_id: UuidText
    sku: str | None
    reason: str
    quantity_expected: int
    quantity_received: int
    quantity_rejected: int
    quantity_outstanding: int


class ReceiptLineOut(Out):
    line_number: int
    received: int
    rejected: int
    reason_for_rejection: str | None
    disposition: Disposition


class ReceiptOut(Out):
    id: UuidText
    location: str
    change_order: str | None
    fee_change_order: str | None
    credit_memo: str | None
    restocking_fee: MoneyText
    return_shipping: MoneyText
    lines: list[ReceiptLineOut]
    created_at: datetime


class LabelOut(Out):
    carrier: str
    tracking_reference: str


class ReturnOrderOut(Out):
    id: UuidText
    number: str
    order: str
    order_id: UuidText
    account_id: UuidText
    status: Status
    currency: str
    return_location: str | None
    label: LabelOut
    lines: list[ReturnOrderLineOut]
    receipts: list[ReceiptOut]
    available_actions: list[str]
    version: int
    created_at: datetime
    updated_at: datetime
