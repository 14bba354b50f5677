"""Payloads of the approval API: approval rules and approval decisions.

Amounts are decimal strings in major units with the record's currency; patches carry only the
fields to change (a field left out keeps its value, `null` clears an optional one).
"""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field

from ordino.kernel.schema import CurrencyCode, Name, Strict
from ordino.orders.schemas import AccountNumber, Amount, Note, Sku, not_null

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
