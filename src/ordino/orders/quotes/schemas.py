"""Payloads of the quotes API.

Amounts are decimal strings in major units; patches carry only the fields to change.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints, field_validator

from ordino.kernel.schema import AwareDatetime, CurrencyCode, DecimalText, Quantity, Strict, UnitPrice
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
