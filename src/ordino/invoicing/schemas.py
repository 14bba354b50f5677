"""Payloads of the invoicing API. Amounts are decimal strings in the document's currency."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated

from pydantic import Field, StringConstraints, field_validator

from ordino.kernel.errors import FieldError, ValidationFailed
from ordino.kernel.money import MoneyError, is_currency, parse_amount
from ordino.kernel.schema import CurrencyCode, DecimalText, Name, ShortText, Strict

Ref = Annotated[str, StringConstraints(min_length=1, max_length=100)]
Text = Annotated[str, StringConstraints(min_length=1, max_length=500)]
Category = Annotated[str, StringConstraints(min_length=1, max_length=10)]
ReasonCode = Annotated[str, StringConstraints(min_length=1, max_length=30)]


def _currency(value: str) -> str:
    if not is_currency(value):
        raise ValueError(f"'{value}' is not an active ISO 4217 currency")
    return value


class FeeTaxLineIn(Strict):
    name: Name
    amount: DecimalText
    rate: DecimalText | None = Field(default=None, description="A fraction: 0.19 for 19 %")
    category: Category | None = Field(default=None, description="EN 16931 VAT category (S, AE, K, G, E, O, Z)")
    jurisdiction: ShortText | None = None
    exemption_reason_code: ReasonCode | None = Field(default=None, description="VATEX code (EN 16931 BT-121)")

    @field_validator("amount")
    @classmethod
    def _not_negative(cls, value: Decimal) -> Decimal:
        if value < 0:
            raise ValueError("cannot be negative")
        return value


class FeeInvoiceIn(Strict):
    """A fee on an order (restocking, handling, late payment): one line, net of tax."""

    order: Ref = Field(description="The order's id or number")
    description: Text
    amount: DecimalText
    currency: CurrencyCode
    tax_lines: list[FeeTaxLineIn] = Field(default_factory=list, max_length=20)

    _check_currency = field_validator("currency")(_currency)


class CreditMemoIn(Strict):
    order: Ref = Field(description="The order's id or number")
    change_orders: list[Ref] = Field(min_length=1, max_length=200, description="Change order ids or numbers")


class RemittanceApplicationIn(Strict):
    invoice: Ref = Field(description="The invoice's id or number")
    amount: DecimalText


class RemittanceIn(Strict):
    """A payment received from an account on invoice terms, and the invoices it pays."""

    account: Ref = Field(description="The account's number or id")
    amount: DecimalText
    currency: CurrencyCode
    reference: Ref = Field(description="The payer's reference (bank transfer, cheque number); unique per account")
    received_on: date
    applications: list[RemittanceApplicationIn] = Field(min_length=1, max_length=500)

    _check_currency = field_validator("currency")(_currency)


class RefundsIn(Strict):
    """Ensure refunds: of a credit memo, or of an order's open credit memos and excess funds."""

    order: Ref | None = Field(default=None, description="The order's id or number (excess funds)")
    credit_memo: Ref | None = Field(default=None, description="The credit memo's id or number")


class CancelIn(Strict):
    reason: Text | None = None


def to_minor(value: Decimal, currency: str, field: str, *, positive: bool = True) -> int:
    """A decimal amount in minor units of `currency`; 422 naming the field when it does not fit."""
    try:
        minor = parse_amount(value, currency)
    except MoneyError as exc:
        raise ValidationFailed([FieldError(field, str(exc))]) from None
    if positive and minor <= 0:
        raise ValidationFailed([FieldError(field, "must be greater than zero")])
    if minor < 0:
        raise ValidationFailed([FieldError(field, "cannot be negative")])
    return minor
