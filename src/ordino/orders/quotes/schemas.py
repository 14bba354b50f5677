"""Payloads of the quotes API.

Amounts are decimal strings in major units; patches carry only the fields to change.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints, field_validator

from ordino.kernel.schema import (
    AwareDatetime,
    CurrencyCode,
    DecimalText,
    MoneyText,
    Out,
    Quantity,
    Strict,
    UnitPrice,
    UuidText,
)
from ordino.orders.schemas import (
    AccountNumber,
    AddressIn,
    Amount,
    LongNote,
    Note,
    PaymentIn,
    Sku,
    not_negative,
    not_null,
)


class QuoteLineIn(Strict):
    sku: Sku
    quantity: Quantity


class QuoteIn(Strict):
    account: AccountNumber
    channel: Annotated[str, StringConstraints(min_length=1, max_length=40)]
    currency: CurrencyCode | None = Field(default=None, description="Defaults to the account's currency")
    lines: list[QuoteLineIn] = Field(min_length=1, max_length=1000)
    notes: LongNote | None = None
    submit: Annotated[bool, Field(strict=True)] = Field(
        default=True, description="Request prices now (requested); false keeps a draft to edit"
    )


class QuotePatch(Strict):
    lines: Annotated[list[QuoteLineIn] | None, Field(min_length=1, max_length=1000), BeforeValidator(not_null)] = None
    notes: LongNote | None = None


class LinePriceIn(Strict):
    line_number: Annotated[int, Field(strict=True, gt=0)]
    unit_price: Annotated[UnitPrice, AfterValidator(not_negative)] | None = Field(
        default=None, description="Replaces the catalog price"
    )
    discount_percent: DecimalText | None = Field(default=None, description="A discount off the line, 0–100")
    discount_amount: Amount | None = Field(default=None, description="A discount off the line, as an amount")

    @field_validator("discount_percent")
    @classmethod
    def _percent(cls, value: Decimal | None) -> Decimal | None:
        if value is not None and not 0 <= value <= 100:
            raise ValueError("must be between 0 and 100")
        return value


class QuotePricingIn(Strict):
    valid_until: AwareDatetime = Field(description="Until when the buyer may accept the quote")
    shipping_charge: Amount = Decimal("0")
    lines: list[LinePriceIn] = Field(default_factory=list, max_length=1000)
    note: LongNote | None = Field(default=None, description="The agent's note to the buyer")


class QuoteAcceptIn(Strict):
    ship_to: AddressIn
    delivery_method: Annotated[str, StringConstraints(min_length=1, max_length=40)] = "standard"
    po_number: Annotated[str, StringConstraints(min_length=1, max_length=100)] | None = None
    bill_to: AddressIn | None = None
    payments: list[PaymentIn] = Field(default_factory=list, max_length=10)


class QuoteRejectIn(Strict):
    reason: Note | None = None


# Answers (orders.quotes emits them; an accepted quote answers its order, `OrderOut`).

QuoteStatus = Literal["draft", "requested", "priced", "sent", "accepted", "rejected", "expired"]
QuoteAction = Literal["submit", "price", "send", "accept", "reject", "expire"]


class QuoteAdjustmentOut(Out):
    name: str
    source: Literal["promotion", "quote"]
    reference: str | None
    amount: MoneyText


class QuoteLineOut(Out):
    line_number: int
    sku: str
    quantity: int
    unit_price: MoneyText | None
    price_source: Literal["catalog", "agent"] | None
    line_amount: MoneyText | None
    adjustments: list[QuoteAdjustmentOut]
    adjustment_amount: MoneyText
    total_line_amount: MoneyText | None


class QuoteTotalsOut(Out):
    product: MoneyText
    adjustment: MoneyText
    shipping: MoneyText
    total: MoneyText


class QuoteOrderOut(Out):
    id: UuidText
    number: str


class QuoteOut(Out):
    id: UuidText
    number: str
    status: QuoteStatus
    available_actions: list[QuoteAction]
    account: str
    channel: str
    currency: str
    notes: str | None
    agent_note: str | None
    requested_by_contact: UuidText | None
    lines: list[QuoteLineOut]
    totals: QuoteTotalsOut | None
    valid_until: datetime | None
    priced_by: str | None
    priced_at: datetime | None
    order: QuoteOrderOut | None
    version: int
    created_by: str | None
    created_at: datetime
    updated_at: datetime


class QuoteRowOut(Out):
    """One line of the quote list."""

    id: UuidText
    number: str
    status: QuoteStatus
    account: str
    currency: str
    total: MoneyText | None
    valid_until: datetime | None
    created_at: datetime
