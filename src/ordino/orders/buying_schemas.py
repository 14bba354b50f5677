"""Payloads of the B2B buying API: approval rules, approval decisions and quotes.

Amounts are decimal strings in major units with the record's currency; patches carry only the
fields to change (a field left out keeps its value, `null` clears an optional one).
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints, field_validator

from ordino.kernel.schema import AwareDatetime, CurrencyCode, DecimalText, Name, Quantity, Strict, UnitPrice
from ordino.orders.schemas import AddressIn, PaymentIn

RuleKind = Literal["order_total", "monthly_spend", "restricted_products"]
AccountNumber = Annotated[str, StringConstraints(min_length=1, max_length=40)]
Sku = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Note = Annotated[str, StringConstraints(min_length=1, max_length=500)]
LongNote = Annotated[str, StringConstraints(min_length=1, max_length=2000)]


def _not_null(value: object) -> object:
    if value is None:
        raise ValueError("may not be null; leave the field out to keep its value")
    return value


def _not_negative(value: Decimal) -> Decimal:
    if value < 0:
        raise ValueError("cannot be negative")
    return value


Amount = Annotated[DecimalText, AfterValidator(_not_negative)]


# ----------------------------------------------------------------------------------------------
# Approval rules


class RuleIn(Strict):
    account: AccountNumber = Field(description="The number of the account the rule is for (and its children)")
    kind: RuleKind
    name: Name
    active: Annotated[bool, Field(strict=True)] = True
    amount: Amount | None = Field(
        default=None, description="order_total: the threshold; monthly_spend: the limit (major units)"
    )
    currency: CurrencyCode | None = None
    contact: uuid.UUID | None = Field(
        default=None, description="monthly_spend: the one buyer it limits; left out, every buyer of the account"
    )
    products: list[Sku] | None = Field(
        default=None, max_length=1000, description="restricted_products: SKUs or product ids"
    )


class RulePatch(Strict):
    name: Annotated[Name | None, BeforeValidator(_not_null)] = None
    active: Annotated[bool | None, Field(strict=True), BeforeValidator(_not_null)] = None
    amount: Annotated[Amount | None, BeforeValidator(_not_null)] = None
    currency: Annotated[CurrencyCode | None, BeforeValidator(_not_null)] = None
    contact: uuid.UUID | None = None
    products: Annotated[list[Sku] | None, Field(max_length=1000), BeforeValidator(_not_null)] = None


class ApproveIn(Strict):
    note: Note | None = None


class RejectIn(Strict):
    reason: Note


# ----------------------------------------------------------------------------------------------
# Quotes


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
    lines: Annotated[list[QuoteLineIn] | None, Field(min_length=1, max_length=1000), BeforeValidator(_not_null)] = None
    notes: LongNote | None = None


class LinePriceIn(Strict):
    line_number: Annotated[int, Field(strict=True, gt=0)]
    unit_price: Annotated[UnitPrice, AfterValidator(_not_negative)] | None = Field(
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
