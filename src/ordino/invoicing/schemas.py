"""Payloads of the invoicing API. Amounts are decimal strings in the document's currency."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, field_validator

from ordino.kernel.errors import FieldError, ValidationFailed
from ordino.kernel.money import MoneyError, is_currency, parse_amount
from ordino.kernel.schema import CurrencyCode, DecimalText, MoneyText, Name, Out, ShortText, Strict, UuidText

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


# Answers (invoicing.reads and invoicing.statements emit them).

ChangeOrderKind = Literal["cancel", "return", "appeasement", "addition", "return_fee", "exchange", "reship"]
ApplicationStatus = Literal["pending", "applied", "failed"]


class NumberedRefOut(Out):
    id: UuidText
    number: str | None


class DocumentTaxLineOut(Out):
    name: str
    rate: str | None
    category: str | None
    jurisdiction: str | None
    exemption_reason_code: str | None
    taxable_amount: MoneyText
    amount: MoneyText


class DocumentAdjustmentOut(Out):
    name: str
    reference: str | None
    amount: MoneyText


class DocumentLineOut(Out):
    line_number: int
    type: Literal["product", "delivery_charge", "fee"]
    order_item_id: UuidText | None
    sku: str | None
    name: str
    quantity: int
    unit_price: MoneyText
    line_amount: MoneyText
    adjustment_amount: MoneyText
    net_amount: MoneyText
    tax_amount: MoneyText
    adjustments: list[DocumentAdjustmentOut]
    tax_lines: list[DocumentTaxLineOut]


class InvoiceTotalsOut(Out):
    net: MoneyText
    tax: MoneyText
    total: MoneyText
    applied: MoneyText
    balance: MoneyText


class InvoiceApplicationOut(Out):
    """A capture, a remittance or a credit memo of the order applied to the invoice."""

    id: UuidText
    source: Literal["capture", "remittance", "credit_memo"]
    payment_id: UuidText | None
    remittance_id: UuidText | None
    credit_memo_id: UuidText | None
    amount: MoneyText
    status: ApplicationStatus
    created_at: datetime
    applied_at: datetime | None


class InvoiceOut(Out):
    """An invoice; `lines` and `applications` are in the single read, not in lists."""

    id: UuidText
    number: str
    kind: Literal["shipment", "fee"]
    status: Literal["open", "partially_paid", "paid", "cancelled"]
    order: NumberedRefOut
    account: NumberedRefOut
    fulfillment_order_id: UuidText | None
    shipment_id: UuidText | None
    currency: str
    prices_include_tax: bool
    po_number: str | None
    description: str | None
    issued_at: datetime
    invoice_date: date
    supply_date: date | None
    payment_terms: str | None
    due_date: date | None
    totals: InvoiceTotalsOut
    available_actions: list[Literal["cancel"]]
    version: int
    created_at: datetime
    updated_at: datetime
    lines: list[DocumentLineOut] | None = None
    applications: list[InvoiceApplicationOut] | None = None


class ChangeOrderRefOut(Out):
    id: UuidText
    number: str
    kind: ChangeOrderKind


class CreditMemoTotalsOut(Out):
    net: MoneyText
    tax: MoneyText
    total: MoneyText
    refunded: MoneyText
    not_charged: MoneyText
    applied: MoneyText  # to the order's open invoices
    balance: MoneyText


class CreditMemoLineOut(DocumentLineOut):
    change_order_id: UuidText
    invoiced: bool


class CreditMemoRefundOut(Out):
    id: UuidText
    refund_id: UuidText | None
    capture_id: UuidText | None
    source: Literal["unapplied", "applied"]
    amount: MoneyText
    status: ApplicationStatus
    created_at: datetime
    applied_at: datetime | None


class CreditMemoApplicationOut(Out):
    """Part of the credit memo applied to an open invoice of the order (never paid, so not refunded)."""

    id: UuidText
    invoice: NumberedRefOut
    amount: MoneyText
    applied_at: datetime | None


class CreditMemoOut(Out):
    """A credit memo; `lines`, `refunds` and `applications` are in the single read, not in lists."""

    id: UuidText
    number: str
    status: Literal["open", "partially_refunded", "closed"]
    order: NumberedRefOut
    account: NumberedRefOut
    change_orders: list[ChangeOrderRefOut]
    currency: str
    prices_include_tax: bool
    issued_at: datetime
    credit_memo_date: date
    totals: CreditMemoTotalsOut
    version: int
    created_at: datetime
    updated_at: datetime
    lines: list[CreditMemoLineOut] | None = None
    refunds: list[CreditMemoRefundOut] | None = None
    applications: list[CreditMemoApplicationOut] | None = None


class OrderRefundOut(Out):
    id: UuidText
    credit_memo_id: UuidText | None
    refund_id: UuidText | None
    capture_id: UuidText | None
    source: Literal["unapplied", "applied"]
    amount: MoneyText
    status: ApplicationStatus
    created_at: datetime


class OrderRefundsOut(Out):
    """What invoicing refunded on an order: per credit memo and of excess funds."""

    order: NumberedRefOut
    currency: str
    refunded: MoneyText
    pending: MoneyText
    credit_memos: list[CreditMemoOut]
    refunds: list[OrderRefundOut]


class RemittanceApplicationOut(Out):
    invoice: NumberedRefOut
    amount: MoneyText


class RemittanceOut(Out):
    id: UuidText
    account: NumberedRefOut
    currency: str
    amount: MoneyText
    reference: str
    received_on: date
    applications: list[RemittanceApplicationOut]
    created_by: str | None
    created_at: datetime


AgingBucket = Literal["current", "days_1_30", "days_31_60", "days_61_90", "over_90"]


class StatementInvoiceOut(Out):
    type: Literal["invoice"]
    number: str
    account: str
    order: str | None
    invoice_date: date
    due_date: date | None
    status: str
    total: MoneyText
    balance: MoneyText
    days_past_due: int
    bucket: AgingBucket


class StatementCreditOut(Out):
    type: Literal["credit_memo"]
    number: str
    account: str
    date: date
    total: MoneyText
    balance: MoneyText


class StatementPaymentOut(Out):
    reference: str
    account: str
    received_on: date
    amount: MoneyText
    applied: MoneyText
    unapplied: MoneyText


class StatementCurrencyOut(Out):
    currency: str
    balance: MoneyText
    open_invoices: MoneyText
    open_credits: MoneyText
    aging: dict[AgingBucket, MoneyText]
    open_items: list[StatementInvoiceOut]
    credits: list[StatementCreditOut]
    payments: list[StatementPaymentOut]


class CreditLineOut(Out):
    account: str
    currency: str
    limit: MoneyText
    exposure: MoneyText
    available: MoneyText


class StatementOut(Out):
    account: str
    name: str
    payment_terms: str | None
    as_of: date
    include_children: bool
    credit: list[CreditLineOut]
    currencies: list[StatementCurrencyOut]
