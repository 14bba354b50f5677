"""Payloads of the approval API: approval rules and approval decisions.

Amounts are decimal strings in major units with the record's currency; patches carry only the
fields to change (a field left out keeps its value, `null` clears an optional one).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field

from ordino.kernel.schema import CurrencyCode, MoneyText, Name, Out, Strict, UuidText
from ordino.orders.schemas import AccountNumber, Amount, Note, OrderStatus, Sku, not_null

RuleKind = Literal["order_total", "monthly_spend", "restricted_products"]


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
    name: Annotated[Name | None, BeforeValidator(not_null)] = None
    active: Annotated[bool | None, Field(strict=True), BeforeValidator(not_null)] = None
    amount: Annotated[Amount | None, BeforeValidator(not_null)] = None
    currency: Annotated[CurrencyCode | None, BeforeValidator(not_null)] = None
    contact: uuid.UUID | None = None
    products: Annotated[list[Sku] | None, Field(max_length=1000), BeforeValidator(not_null)] = None


class ApproveIn(Strict):
    note: Note | None = None


class RejectIn(Strict):
    reason: Note


# Answers (orders.approvals emits them).


class RuleOut(Out):
    id: UuidText
    account: str
    kind: RuleKind
    name: str
    active: bool
    amount: MoneyText | None
    currency: str | None
    contact: UuidText | None
    products: list[str] | None
    version: int
    created_by: str | None
    created_at: datetime
    updated_at: datetime


class ApprovalOrderOut(Out):
    id: UuidText
    number: str
    status: OrderStatus
    currency: str
    grand_total: MoneyText


class ApprovalReasonOut(Out):
    kind: str = Field(
        pattern=r"^[a-z][a-z0-9_]{0,39}$",
        description="order_total, monthly_spend, restricted_products, credit_limit, or a channel's own kind",
    )
    rule_id: UuidText | None
    message: str
    detail: dict[str, Any] = Field(description="the figures the rule compared, by kind")


class ApprovalOut(Out):
    id: UuidText
    status: Literal["pending", "approved", "rejected"]
    order: ApprovalOrderOut
    account: str
    reasons: list[ApprovalReasonOut]
    buyer_contact: UuidText | None
    requested_by: str | None
    requested_at: datetime
    decided_by: str | None
    decided_by_contact: UuidText | None
    decided_at: datetime | None
    decision_note: str | None
    version: int
    updated_at: datetime
