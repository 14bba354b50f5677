"""Order intake payloads (DESIGN §6)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, StringConstraints, field_validator

from ordino.kernel.schema import (
    AwareDatetime,
    Country,
    CurrencyCode,
    DecimalText,
    Email,
    MoneyText,
    Name,
    Out,
    Phone,
    Quantity,
    ShortText,
    Strict,
    UnitPrice,
    UuidText,
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
    # US county ("Los Angeles"): the local sales tax of places outside any city; without it, the
    # county of the ZIP code is used.
    county: Annotated[str, StringConstraints(min_length=1, max_length=100)] | None = None
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
    # What the invoice may say of the card (EN 16931 BG-18): its network and last four digits, never more.
    card_brand: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20)] | None = None
    card_last4: str | None = None

    @field_validator("card_last4")
    @classmethod
    def _last_four(cls, value: str | None) -> str | None:
        if value is not None and not (len(value) == 4 and value.isascii() and value.isdigit()):
            raise ValueError("must be the card's last four digits")
        return value

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
    # Default: calculate with catalog pricing, given with order pricing. An order without any tax
    # line is taxed by Ordino either way (an exempt line carries a 0 tax line with its category).
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
        if self.tax == "calculate" or not self.has_tax_lines:
            return "calculate"  # no tax lines: untaxed invoices would show 0 % without a legal reason
        return self.tax or ("calculate" if self.pricing == "catalog" else "given")

    @property
    def has_tax_lines(self) -> bool:
        return any(g.shipping_tax_lines or any(line.tax_lines for line in g.lines) for g in self.delivery_groups)

    @field_validator("delivery_groups")
    @classmethod
    def _line_count(cls, groups: list[DeliveryGroupIn]) -> list[DeliveryGroupIn]:
        if sum(len(g.lines) for g in groups) > MAX_LINES:
            raise ValueError(f"an order holds at most {MAX_LINES} lines")
        return groups


# Answers (declared in the OpenAPI document; the serialisers in orders/serialize.py emit them).

OrderStatus = Literal[
    "created", "pending_approval", "approved", "partially_fulfilled", "fulfilled", "closed", "cancelled"
]
OrderAction = Literal[
    "hold_for_approval", "approve", "reject", "cancel", "fulfill_partially", "fulfill", "close", "reopen", "return",
    "appease", "add", "exchange", "reship",
]

class AddressOut(Out):
    name: str
    line1: str
    line2: str | None = None
    city: str
    postal_code: str | None = None
    region: str | None = None
    county: str | None = None
    country: str
    phone: str | None = None
    email: str | None = None


class ShipToOut(Out):
    name: str | None
    line1: str | None
    line2: str | None
    city: str | None
    postal_code: str | None
    region: str | None
    county: str | None = None
    country: str | None
    phone: str | None
    email: str | None


class TaxNoteOut(Out):
    code: str
    text: str


class QuantitiesOut(Out):
    ordered: int
    canceled: int
    allocated: int
    fulfilled: int
    return_initiated: int
    returned: int
    quantity: int
    available_to_fulfill: int
    available_to_cancel: int
    available_to_return: int


class OrderAdjustmentOut(Out):
    id: UuidText
    name: str
    source: Literal["order", "promotion", "manual"]
    reference: str | None
    amount: MoneyText


class OrderTaxLineOut(Out):
    id: UuidText
    name: str
    rate: str | None
    jurisdiction: str | None
    category: str | None
    exemption_reason_code: str | None
    taxable_amount: MoneyText | None
    amount: MoneyText


class OrderItemOut(Out):
    id: UuidText
    line_number: int
    type: Literal["product", "delivery_charge", "fee"]
    sku: str | None
    name: str
    status: str
    unit_price: MoneyText
    quantities: QuantitiesOut
    line_amount: MoneyText
    adjustment_amount: MoneyText
    total_line_amount: MoneyText
    tax_amount: MoneyText
    adjustments: list[OrderAdjustmentOut]
    tax_lines: list[OrderTaxLineOut]


class DeliveryGroupOut(Out):
    id: UuidText
    delivery_method: str
    ship_to: ShipToOut
    items: list[OrderItemOut]


class OrderTotalsOut(Out):
    product: MoneyText
    adjustment: MoneyText
    delivery: MoneyText
    tax: MoneyText
    grand_total: MoneyText


class TokenPaymentOut(Out):
    method: Literal["card", "wallet"]
    gateway: str
    token: str
    amount: MoneyText | None = None
    card_brand: str | None = None
    card_last4: str | None = None


class InvoicePaymentOut(Out):
    method: Literal["invoice"]
    terms: str | None = None


class OrderOut(Out):
    """An order summary: the order as placed plus its change orders (DESIGN §3)."""

    id: UuidText
    number: str
    status: OrderStatus
    available_actions: list[OrderAction]
    account: str
    channel: str
    external_reference: str | None
    po_number: str | None
    currency: str
    pricing: Literal["catalog", "order"]
    prices_include_tax: bool
    tax: Literal["calculate", "given"]
    tax_notes: list[TaxNoteOut]
    ordered_at: datetime
    bill_to: AddressOut | None
    payments: list[Annotated[TokenPaymentOut | InvoicePaymentOut, Field(discriminator="method")]]
    totals: OrderTotalsOut = Field(description="The order as it stands: the original plus every change order")
    original_totals: OrderTotalsOut = Field(description="The order as placed")
    delivery_groups: list[DeliveryGroupOut]
    active_process_exception_count: int
    payment_hold: bool = Field(description="a payment was declined: the order does not ship until a retry authorizes")
    version: int
    created_at: datetime
    updated_at: datetime


class OrderHeaderOut(Out):
    """Who placed an order, where, and in what currency: what every short form of it shows."""

    id: UuidText
    number: str
    status: OrderStatus
    account: str
    channel: str
    external_reference: str | None
    po_number: str | None
    currency: str


class OrderRowOut(OrderHeaderOut):
    """One line of the order list."""

    grand_total: MoneyText
    ordered_at: datetime
