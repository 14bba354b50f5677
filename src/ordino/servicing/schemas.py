"""Payloads and answers of the servicing API: cancellations, returns, appeasements and the
change orders they make."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, model_validator

from ordino.kernel.schema import DecimalText, MoneyText, Name, Out, Quantity, Strict, UuidText
from ordino.orders.schemas import AdjustmentIn, LineIn, TaxLineIn

LineNumber = Annotated[int, Field(strict=True, ge=1, le=1_000_000)]
Reason = Annotated[Name, Field(description="Why: shown on the change order and its credit memo")]
MAX_LINES = 10_000


class LineQuantityIn(Strict):
    line_number: LineNumber
    quantity: Quantity


class CancelIn(Strict):
    """Units to cancel (up to each line's unshipped units), the same body for preview and submit."""

    lines: list[LineQuantityIn] = Field(default_factory=list, max_length=MAX_LINES)
    reason: Reason
    cancel_shipping: bool = Field(
        False, description="Also cancel the shipping charges not invoiced yet (always done when the whole rest of "
        "the order is cancelled)")
    location_confirmed: bool = Field(
        False, description="The location confirmed it stops units it picked or packed already")

    @model_validator(mode="after")
    def _something(self) -> CancelIn:
        if not self.lines and not self.cancel_shipping:
            raise ValueError("name lines to cancel, or cancel_shipping")
        return self


class ReturnIn(Strict):
    """Shipped units given back without goods expected (a blind return), up to each line's
    available to return."""

    lines: list[LineQuantityIn] = Field(min_length=1, max_length=MAX_LINES)
    reason: Reason


class AppeasementLineIn(Strict):
    line_number: LineNumber
    amount: DecimalText | None = Field(None, description="Amount to take off the line (> 0)")
    percent: DecimalText | None = Field(None, description="Percentage of the line's remaining value (0–100]")

    @model_validator(mode="after")
    def _one(self) -> AppeasementLineIn:
        if (self.amount is None) == (self.percent is None):
            raise ValueError("give either amount or percent")
        return self


class AppeasementIn(Strict):
    """A price reduction: per line, or for the whole order (spread over its lines by value)."""

    lines: list[AppeasementLineIn] | None = Field(None, max_length=MAX_LINES)
    amount: DecimalText | None = Field(None, description="Whole-order amount (> 0)")
    percent: DecimalText | None = Field(None, description="Whole-order percentage (0–100]")
    includes_tax: bool = Field(True, description="Amounts include tax (else tax is added at the lines' rates)")
    reason: Reason

    @model_validator(mode="after")
    def _one(self) -> AppeasementIn:
        given = [x is not None for x in (self.lines, self.amount, self.percent)]
        if sum(given) != 1:
            raise ValueError("give exactly one of lines, amount or percent")
        return self


class AdditionIn(Strict):
    """Lines to add (before the order is fulfilled): priced and taxed as intake does, or as given."""

    lines: list[LineIn] = Field(min_length=1, max_length=MAX_LINES)
    delivery_group: int = Field(1, ge=1, description="The delivery group (its position) they ship with")
    reason: Reason


class ReshipIn(Strict):
    """Shipped units sent again at no charge (lost or damaged)."""

    lines: list[LineQuantityIn] = Field(min_length=1, max_length=MAX_LINES)
    reason: Reason
    carrier_claim: Annotated[str, Field(min_length=1, max_length=60)] | None = None


class ExchangeLineIn(Strict):
    line_number: LineNumber
    quantity: Quantity
    sku: Annotated[str, Field(min_length=1, max_length=64, description="The product sent instead")]
    unit_price: DecimalText | None = Field(None, description="Its price, for orders priced by the channel")
    adjustments: list[AdjustmentIn] = Field(default_factory=list, max_length=50)
    tax_lines: list[TaxLineIn] = Field(default_factory=list, max_length=20)


class ExchangeIn(Strict):
    """Shipped units taken back and other products sent instead (even or uneven)."""

    lines: list[ExchangeLineIn] = Field(min_length=1, max_length=MAX_LINES)
    reason: Reason
    return_order: Annotated[str, Field(min_length=1, max_length=60)] | None = Field(
        None, description="A return order (id or number) expecting the units: its receipt credits them, the "
        "exchange sends the new items")

    def returning(self) -> ReturnIn:
        return ReturnIn(lines=[LineQuantityIn(line_number=x.line_number, quantity=x.quantity) for x in self.lines],
                        reason=self.reason)

    def new_lines(self) -> list[LineIn]:
        return [LineIn(sku=x.sku, quantity=x.quantity, unit_price=x.unit_price, adjustments=x.adjustments,
                       tax_lines=x.tax_lines) for x in self.lines]


# ------------------------------------------------------------------------------------------------
# Answers


class ChangeTotalsOut(Out):
    product: MoneyText
    adjustment: MoneyText
    delivery: MoneyText
    tax: MoneyText
    grand_total: MoneyText


class ChangeItemOut(Out):
    order_item_id: UuidText
    line_number: int
    type: str
    sku: str | None
    quantity: int
    stage: Literal["pre_fulfillment", "in_fulfillment", "post_fulfillment"]
    line_amount: MoneyText
    adjustment_amount: MoneyText
    tax_amount: MoneyText
    total: MoneyText


class ChangeOrderOut(Out):
    id: UuidText | None
    number: str | None
    kind: Literal["cancel", "return", "appeasement", "addition", "return_fee", "exchange", "reship"]
    reason: str | None
    items: list[ChangeItemOut]
    totals: ChangeTotalsOut
    credit_memo: str | None = None
    created_at: datetime | None = None


class RefundToOut(Out):
    payment_id: UuidText
    amount: MoneyText


class MoneyConsequenceOut(Out):
    credit: MoneyText = Field(description="What the credit memo credits (the change orders' total off)")
    refund: MoneyText = Field(description="Refunded to the captures now")
    refunds: list[RefundToOut]
    void: MoneyText = Field(description="Authorized money released (authorizations reduced or voided)")
    not_charged: MoneyText = Field(description="Never captured, so nothing to give back")
    open_credit: MoneyText = Field(description="Credited but not refundable yet: applied to open invoices or "
                                   "refunded once paid")
    authorize: MoneyText | None = Field(None, description="Authorized more on the order's card (added items)")
    difference: MoneyText | None = Field(None, description="An exchange: the new items less the returned ones")


class ServicingOut(Out):
    """A preview (nothing written) or the change it made: the same balances either way."""

    order: str
    order_id: UuidText
    kind: Literal["cancel", "return", "appeasement", "addition", "exchange", "reship"]
    previewed: bool
    currency: str
    change_orders: list[ChangeOrderOut]
    totals: ChangeTotalsOut
    money: MoneyConsequenceOut
    credit_memo: str | None
    order_status: str


class ChangeOrdersOut(Out):
    order: str
    currency: str
    items: list[ChangeOrderOut]
