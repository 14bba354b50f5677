"""Payloads of the payments API. Amounts are decimal strings in the record's currency."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field, RootModel, StringConstraints, field_validator, model_validator

from ordino.kernel.errors import FieldError, ValidationFailed
from ordino.kernel.money import CurrencyError, MoneyError, parse_amount
from ordino.kernel.schema import AwareDatetime, CurrencyCode, DecimalText, MoneyText, Out, Strict, UuidText
from ordino.payments import domain

GatewayName = Annotated[str, StringConstraints(min_length=1, max_length=40, pattern=r"^[a-z0-9][a-z0-9_.\-]*$")]
Token = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Reason = Annotated[str, StringConstraints(min_length=1, max_length=500)]


def _no_card_data(value: str) -> str:
    if domain.looks_like_card_data(value):
        # the value is neither echoed nor stored
        raise ValueError("must be a gateway token; card data is never accepted")
    return value


def _terms(value: str | None) -> str | None:
    if value is not None and domain.parse_terms(value) is None:
        raise ValueError("must be due_on_receipt, net_<days>, net_<days>_eom or eom")
    return value


class TokenMethodSpec(Strict):
    method: Literal["card", "wallet"]
    gateway: GatewayName
    token: Token

    @field_validator("token")
    @classmethod
    def _token(cls, value: str) -> str:
        return _no_card_data(value)


class InvoiceMethodSpec(Strict):
    method: Literal["invoice"]
    terms: Annotated[str, StringConstraints(min_length=1, max_length=40)] | None = None

    @field_validator("terms")
    @classmethod
    def _check_terms(cls, value: str | None) -> str | None:
        return _terms(value)


MethodSpecIn = Annotated[TokenMethodSpec | InvoiceMethodSpec, Field(discriminator="method")]


class TokenMethodIn(TokenMethodSpec):
    account_id: uuid.UUID


class InvoiceMethodIn(InvoiceMethodSpec):
    account_id: uuid.UUID


PaymentMethodIn = RootModel[Annotated[TokenMethodIn | InvoiceMethodIn, Field(discriminator="method")]]


class ImportedIn(Strict):
    """An authorization the channel already took: recorded without a gateway call."""

    gateway_reference: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    expires_at: AwareDatetime | None = None


class AuthorizationIn(Strict):
    order_summary_id: uuid.UUID
    account_id: uuid.UUID
    currency: CurrencyCode
    amount: DecimalText
    payment_method_id: uuid.UUID | None = None
    payment_method: TokenMethodSpec | None = None
    imported: ImportedIn | None = None

    @model_validator(mode="after")
    def _one_method(self) -> AuthorizationIn:
        if (self.payment_method_id is None) == (self.payment_method is None):
            raise ValueError("give either payment_method_id or payment_method")
        return self


class AmountIn(Strict):
    """Capture or void: without an amount, all that is available."""

    amount: DecimalText | None = None
    reason: Reason | None = None


class RefundIn(AmountIn):
    pass


class ReauthorizeIn(Strict):
    amount: DecimalText
    reason: Reason | None = None


def to_minor(value: Decimal | None, currency: str, field: str = "amount") -> int | None:
    """A decimal amount in minor units of `currency`; 422 naming the field when it does not fit."""
    if value is None:
        return None
    try:
        minor = parse_amount(value, currency)
    except CurrencyError as exc:  # a currency the caller sent (authorizations name it)
        raise ValidationFailed([FieldError("currency", str(exc))]) from None
    except MoneyError as exc:
        raise ValidationFailed([FieldError(field, str(exc))]) from None
    if minor <= 0:
        raise ValidationFailed([FieldError(field, "must be greater than zero")])
    return minor


# Answers (payments.reads emits them).

PaymentKind = Literal["authorization", "capture", "refund", "void"]
PaymentStatus = Literal["pending", "authorized", "declined", "closed", "expired", "succeeded", "failed"]
PaymentAction = Literal["capture", "void", "reauthorize", "refund"]


class PaymentMethodOut(Out):
    id: UuidText
    account_id: UuidText
    method: Literal["card", "wallet", "invoice"]
    gateway: str | None
    token: str | None
    terms: str | None
    terms_days: int | None
    terms_end_of_month: bool | None
    created_at: datetime


class PaymentSummaryOut(Out):
    """An order payment summary: one per payment method of an order (DESIGN §3)."""

    id: UuidText
    order_summary_id: UuidText
    account_id: UuidText
    payment_method: PaymentMethodOut
    method: Literal["card", "wallet", "invoice"]
    currency: str
    authorized: MoneyText
    captured: MoneyText
    refunded: MoneyText
    pending_capture: MoneyText
    pending_refund: MoneyText
    pending_reverse_auth: MoneyText
    available_to_capture: MoneyText
    available_to_refund: MoneyText
    created_at: datetime
    updated_at: datetime


class PaymentFailureOut(Out):
    code: str
    message: str | None


class PaymentOut(Out):
    """A payment: the authorization amounts appear on authorizations, the refund amounts on captures."""

    id: UuidText
    kind: PaymentKind
    status: PaymentStatus
    source: Literal["gateway", "imported"]
    order_summary_id: UuidText
    account_id: UuidText
    summary_id: UuidText
    parent_id: UuidText | None
    currency: str
    amount: MoneyText
    captured: MoneyText | None = None
    pending_capture: MoneyText | None = None
    reversed: MoneyText | None = None
    pending_reverse: MoneyText | None = None
    available_to_capture: MoneyText | None = None
    expires_at: datetime | None = None
    refunded: MoneyText | None = None
    pending_refund: MoneyText | None = None
    available_to_refund: MoneyText | None = None
    gateway: str | None
    gateway_reference: str | None
    failure: PaymentFailureOut | None
    reason: str | None
    created_by: str | None
    created_at: datetime
    settled_at: datetime | None
    available_actions: list[PaymentAction]
