"""Payloads of the pricing API: price books, their entries and accounts, promotions, coupons,
and price quotes.

As elsewhere: create payloads name what a record needs; patch payloads carry only the fields to
change (`null` clears an optional field; identifiers cannot change). Checks that involve several
fields or the database (a percentage needs kind 'percentage', overlapping windows, unknown SKUs)
are made by the use cases, which name each field in their errors.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, ConfigDict, Field, StringConstraints

from ordino.accounts.schemas import Currency, Flag, Immutable, NotNull
from ordino.kernel.schema import (
    AwareDatetime,
    Code,
    CurrencyCode,
    DecimalText,
    MoneyText,
    Name,
    Out,
    Quantity,
    Rate,
    Strict,
    UnitPrice,
    UuidText,
)

BookKind = Literal["list", "contract"]
PromotionLevel = Literal["line", "order"]
PromotionKind = Literal["percentage", "amount", "buy_x_get_y"]

MAX_ENTRIES = 10_000
MAX_REFERENCES = 1_000


def _not_negative(value: Decimal) -> Decimal:
    if value < 0:
        raise ValueError("cannot be negative")
    return value


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


# Times are kept and served in UTC, whatever offset they were sent with.
Instant = Annotated[AwareDatetime, AfterValidator(_utc)]
Sku = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Price = Annotated[UnitPrice, AfterValidator(_not_negative)]
Description = Annotated[str, StringConstraints(min_length=1, max_length=2000)]
Priority = Annotated[int, Field(strict=True, ge=-1_000_000, le=1_000_000)]
UsageLimit = Annotated[int, Field(strict=True, ge=0, le=2_000_000_000)]
AccountNumber = Annotated[str, StringConstraints(min_length=1, max_length=40)]
CouponCode = Annotated[str, StringConstraints(min_length=1, max_length=40)]


# ----------------------------------------------------------------------------------------------
# Price books


class PriceBookIn(Strict):
    code: Code
    name: Name
    currency: Currency
    kind: BookKind = Field(description="'list' (for everyone) or 'contract' (for the accounts it is assigned to)")
    is_standard: Flag = Field(
        default=False, description="The currency's standard list book; making a book standard un-flags the previous"
    )
    valid_from: Instant | None = Field(default=None, description="Inclusive; null: always")
    valid_to: Instant | None = Field(default=None, description="Exclusive; null: open-ended")
    active: Flag = True
    accounts: list[Code] = Field(
        default_factory=list, max_length=MAX_REFERENCES, description="Account numbers (contract books)"
    )


class PriceBookPatch(Strict):
    code: Immutable = None
    currency: Immutable = None
    kind: Immutable = None
    name: NotNull[Name] = None
    is_standard: NotNull[Flag] = None
    valid_from: Instant | None = None
    valid_to: Instant | None = None
    active: NotNull[Flag] = None


class TierIn(Strict):
    from_quantity: Quantity = Field(description="At least 2: the entry's unit_price is the price from 1")
    unit_price: Price


class EntryIn(Strict):
    sku: Sku
    unit_price: Price
    tiers: list[TierIn] = Field(default_factory=list, max_length=50)
    valid_from: Instant | None = None
    valid_to: Instant | None = None


class EntriesIn(Strict):
    """Every SKU named in `entries` gets exactly the entries given (its other entries in the book
    are replaced); SKUs in `remove` lose theirs; other SKUs of the book are left as they are."""

    entries: list[EntryIn] = Field(default_factory=list, max_length=MAX_ENTRIES)
    remove: list[Sku] = Field(default_factory=list, max_length=MAX_ENTRIES)


class AccountsIn(Strict):
    accounts: list[Code] = Field(min_length=1, max_length=MAX_REFERENCES, description="Account numbers")


# ----------------------------------------------------------------------------------------------
# Promotions and coupons


class CouponIn(Strict):
    code: Code = Field(description="Matched case-insensitively; stored in upper case")
    usage_limit: UsageLimit | None = Field(default=None, description="How many orders may use it; null: no limit")
    active: Flag = True


class CouponsIn(Strict):
    coupons: list[CouponIn] = Field(min_length=1, max_length=MAX_REFERENCES)


class CouponPatch(Strict):
    code: Immutable = None
    usage_limit: UsageLimit | None = None
    active: NotNull[Flag] = None


class PromotionIn(Strict):
    code: Code
    name: Name = Field(description="The name of the adjustment lines it makes")
    description: Description | None = None
    level: PromotionLevel
    kind: PromotionKind
    percentage: Rate | None = Field(default=None, description="Percent off, more than 0 and at most 100")
    amount: UnitPrice | None = Field(
        default=None, description="Off each unit (line level) or off the order (order level), in `currency`"
    )
    currency: Currency | None = Field(default=None, description="Required with an amount or a minimum subtotal")
    min_subtotal: DecimalText | None = Field(
        default=None, description="Order level: the qualifying subtotal an order needs"
    )
    buy_quantity: Quantity | None = None
    get_quantity: Quantity | None = None
    get_sku: Sku | None = Field(default=None, description="The free SKU; null: the same SKU as bought")
    skus: list[Sku] = Field(
        default_factory=list, max_length=MAX_REFERENCES, description="The SKUs it is about; empty: every SKU"
    )
    accounts: list[AccountNumber] = Field(
        default_factory=list, max_length=MAX_REFERENCES, description="Only for these accounts and their descendants"
    )
    channels: list[Code] = Field(default_factory=list, max_length=100, description="Only for these sales channels")
    priority: Priority = 0
    stackable: Flag = True
    requires_coupon: Flag = False
    valid_from: Instant | None = None
    valid_to: Instant | None = None
    active: Flag = True
    coupons: list[CouponIn] = Field(default_factory=list, max_length=MAX_REFERENCES)


class PromotionPatch(Strict):
    code: Immutable = None
    name: NotNull[Name] = None
    description: Description | None = None
    level: NotNull[PromotionLevel] = None
    kind: NotNull[PromotionKind] = None
    percentage: Rate | None = None
    amount: UnitPrice | None = None
    currency: Currency | None = None
    min_subtotal: DecimalText | None = None
    buy_quantity: Quantity | None = None
    get_quantity: Quantity | None = None
    get_sku: Sku | None = None
    skus: NotNull[list[Sku]] = Field(default=None, max_length=MAX_REFERENCES)
    accounts: NotNull[list[AccountNumber]] = Field(default=None, max_length=MAX_REFERENCES)
    channels: NotNull[list[Code]] = Field(default=None, max_length=100)
    priority: NotNull[Priority] = None
    stackable: NotNull[Flag] = None
    requires_coupon: NotNull[Flag] = None
    valid_from: Instant | None = None
    valid_to: Instant | None = None
    active: NotNull[Flag] = None


# ----------------------------------------------------------------------------------------------
# Quotes


class QuoteLineIn(Strict):
    sku: Sku
    quantity: Quantity


class QuoteIn(Strict):
    model_config = ConfigDict(title="PriceQuoteIn")  # orders.quotes has a QuoteIn too

    account: AccountNumber
    currency: CurrencyCode
    channel: Annotated[str, StringConstraints(min_length=1, max_length=40)] | None = None
    at: Instant | None = Field(default=None, description="The pricing time; default: now")
    coupons: list[CouponCode] = Field(default_factory=list, max_length=20)
    lines: list[QuoteLineIn] = Field(min_length=1, max_length=MAX_ENTRIES)


# Answers (pricing.service and pricing.fx_service emit them; decimals as text).


class Versioned(Out):
    version: int
    created_at: datetime
    updated_at: datetime


class PriceBookOut(Versioned):
    id: UuidText
    code: str
    name: str
    currency: str
    kind: BookKind
    is_standard: bool
    valid_from: datetime | None
    valid_to: datetime | None
    active: bool


class TierOut(Out):
    from_quantity: int
    unit_price: MoneyText


class PriceBookEntryOut(Out):
    id: UuidText
    sku: str
    unit_price: MoneyText
    tiers: list[TierOut]
    valid_from: datetime | None
    valid_to: datetime | None
    updated_at: datetime


class PriceBookEntriesOut(Out):
    """The entries written (PUT) or a page of them (GET, with `next_cursor`)."""

    price_book: str
    currency: str
    items: list[PriceBookEntryOut]
    next_cursor: str | None = None


class PriceBookAccountsOut(Out):
    price_book: str
    accounts: list[str] = Field(description="account numbers")


class PromotionOut(Versioned):
    id: UuidText
    code: str
    name: str
    description: str | None
    level: PromotionLevel
    kind: PromotionKind
    percentage: MoneyText | None
    amount: MoneyText | None
    currency: str | None
    min_subtotal: MoneyText | None
    buy_quantity: int | None
    get_quantity: int | None
    get_sku: str | None
    skus: list[str]
    accounts: list[str]
    channels: list[str]
    priority: int
    stackable: bool
    requires_coupon: bool
    valid_from: datetime | None
    valid_to: datetime | None
    active: bool


class CouponOut(Versioned):
    id: UuidText
    code: str
    promotion: str
    usage_limit: int | None
    times_used: int
    active: bool


class CouponsOut(Out):
    promotion: str
    items: list[CouponOut]


class PriceAdjustmentOut(Out):
    name: str
    source: Literal["promotion"]
    reference: str | None
    amount: MoneyText


class QuotedLineOut(Out):
    sku: str
    quantity: int
    unit_price: MoneyText
    price_book: str | None
    amount: MoneyText
    adjustments: list[PriceAdjustmentOut]
    net_amount: MoneyText


class CouponUseOut(Out):
    code: str
    applied: bool


class PriceQuoteTotalsOut(Out):
    lines: MoneyText
    adjustments: MoneyText
    total: MoneyText


class PriceQuoteOut(Out):
    account: str
    currency: str
    channel: str | None
    at: datetime
    lines: list[QuotedLineOut]
    promotions: list[str]
    coupons: list[CouponUseOut]
    totals: PriceQuoteTotalsOut


class FxRateOut(Out):
    id: UuidText
    base: str
    quote: str
    rate: MoneyText
    effective_on: date
    source: str
    created_at: datetime
    updated_at: datetime


class FxRatesRecordedOut(Out):
    inserted: int
    updated: int
    unchanged: int
    items: list[FxRateOut]


class FxRatesOut(Out):
    """With `on`: the rates in force that day; else a page, newest first, with `next_cursor`."""

    items: list[FxRateOut]
    on: date | None = None
    next_cursor: str | None = None


class ConvertedOut(Out):
    amount: MoneyText
    currency: str


class FxLegOut(Out):
    base: str
    quote: str
    rate: MoneyText
    effective_on: date
    source: str
    inverted: bool


class ConversionOut(Out):
    amount: MoneyText
    from_: str = Field(alias="from")
    to: str
    on: date
    result: ConvertedOut
    rate: MoneyText
    rounding: str
    legs: list[FxLegOut]
