"""Order intake payloads (DESIGN §6)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, StringConstraints, field_validator

from ordino.kernel.schema import (
    AwareDatetime,
    Country,
    CurrencyCode,
    DecimalText,
    Email,
    Name,
    Phone,
    Quantity,
    ShortText,
    Strict,
    UnitPrice,
)
from ordino.payments.domain import looks_like_card_number

MAX_LINES = 10_000

# Shared by the B2B payloads (approvals, quotes).
AccountNumber = Annotated[str, StringConstraints(min_length=1, max_length=40)]
Sku = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Note = Annotated[str, StringConstraints(min_length=1, max_length=500)]
LongNote = Annotated[str, StringConstraints(min_length=1, max_length=2000)]


def not_null(value: object) -> object:
    if value is None:
        raise ValueError("may not be null; leave the field out to keep its value")
    return value


def not_negative(value: Decimal) -> Decimal:
    if value < 0:
        raise ValueError("cannot be negative")
    return value


Amount = Annotated[DecimalText, AfterValidator(not_negative)]


class AddressIn(Strict):
    name: Name
    line1: Name
    line2: Annotated[str, StringConstraints(max_length=200)] | None = None
    city: ShortText
    postal_code: Annotated[str, StringConstraints(min_length=1, max_length=20)] | None = None
    region: ShortText | None = None
    country: Country
    phone: Phone | None = None
    email: Email | None = None


class AdjustmentIn(Strict):
    name: Name
    amount: DecimalText  # a discount is negative
    reference: ShortText | None = None

    @field_validator("amount")
    @classmethod
    def _not_positive(cls, value: Decimal) -> Decimal:
        if value > 0:
            raise ValueError("adjustments are discounts: zero or negative")
        return value


class TaxLineIn(Strict):
    name: Name
    amount: DecimalText
    rate: DecimalText | None = None
    jurisdiction: ShortText | None = None
    category: Annotated[str, StringConstraints(min_length=1, max_length=10)] | None = None

    @field_validator("amount")
    @classmethod
    def _not_negative(cls, value: Decimal) -> Decimal:
        if value < 0:
            raise ValueError("cannot be negative")
        return value


class LineIn(Strict):
    sku: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    quantity: Quantity
    unit_price: UnitPrice | None = None
    adjustments: list[AdjustmentIn] = Field(default_factory=list, max_length=50)
    tax_lines: list[TaxLineIn] = Field(default_factory=list, max_length=20)

    @field_validator("unit_price")
    @classmethod
    def _price_not_negative(cls, value: Decimal | None) -> Decimal | None:
        if value is not None and value < 0:
            raise ValueError("cannot be negative")
        return value


class DeliveryGroupIn(Strict):
    ship_to: AddressIn
    delivery_method: Annotated[str, StringConstraints(min_length=1, max_length=40)]
    shipping_charge: DecimalText = Decimal("0")
    shipping_tax_lines: list[TaxLineIn] = Field(default_factory=list, max_length=20)
    lines: list[LineIn] = Field(min_length=1, max_length=MAX_LINES)

    @field_validator("shipping_charge")
    @classmethod
    def _charge_not_negative(cls, value: Decimal) -> Decimal:
        if value < 0:
            raise ValueError("cannot be negative")
        return value


class TokenPaymentIn(Strict):
    method: Literal["card", "wallet"]
    gateway: Annotated[str, StringConstraints(min_length=1, max_length=40)]
    token: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    amount: DecimalText | None = None

    @field_validator("token")
    @classmethod
    def _no_card_numbers(cls, value: str) -> str:
        if looks_like_card_number(value):
            # the value is neither echoed nor stored
            raise ValueError("must be a gateway token; card numbers are never accepted")
        return value


class InvoicePaymentIn(Strict):
    method: Literal["invoice"]
    terms: Annotated[str, StringConstraints(min_length=1, max_length=40)] | None = None


PaymentIn = Annotated[TokenPaymentIn | InvoicePaymentIn, Field(discriminator="method")]


class OrderIn(Strict):
    channel: Annotated[str, StringConstraints(min_length=1, max_length=40)]
    external_reference: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    account: Annotated[str, StringConstraints(min_length=1, max_length=40)]
    currency: CurrencyCode
    po_number: Annotated[str, StringConstraints(min_length=1, max_length=100)] | None = None
    ordered_at: AwareDatetime
    pricing: Literal["catalog", "order"]
    # Who taxes the order: Ordino's engine, or the channel (tax lines in the payload).
    # Default: calculate with catalog pricing, given with order pricing.
    tax: Literal["calculate", "given"] | None = None
    prices_include_tax: bool = False
    bill_to: AddressIn | None = None
    delivery_groups: list[DeliveryGroupIn] = Field(min_length=1, max_length=100)
    payments: list[PaymentIn] = Field(default_factory=list, max_length=10)
    coupons: list[Annotated[str, StringConstraints(min_length=1, max_length=40)]] = Field(
        default_factory=list, max_length=10
    )

    @property
    def tax_mode(self) -> str:
        return self.tax or ("calculate" if self.pricing == "catalog" else "given")

    @field_validator("delivery_groups")
    @classmethod
    def _line_count(cls, groups: list[DeliveryGroupIn]) -> list[DeliveryGroupIn]:
        if sum(len(g.lines) for g in groups) > MAX_LINES:
            raise ValueError(f"an order holds at most {MAX_LINES} lines")
        return groups
