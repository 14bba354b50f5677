"""Answers of the privacy API: a contact's personal data, and an erasure."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from ordino.accounts.schemas import AccountAddressOut, ContactOut
from ordino.kernel.auth import Role
from ordino.kernel.schema import Out, UuidText
from ordino.orders.schemas import ShipToOut


class AccountRefOut(Out):
    id: UuidText
    number: str
    name: str


class DeliveryGroupDataOut(Out):
    id: UuidText
    ship_to: ShipToOut


class OrderDataOut(Out):
    """An order the contact placed, or whose bill-to or ship-to names the contact."""

    id: UuidText
    number: str
    status: str
    ordered_at: datetime
    po_number: str | None
    placed_by_contact: bool
    created_by: str | None
    bill_to: dict[str, Any] | None
    delivery_groups: list[DeliveryGroupDataOut]


class QuoteDataOut(Out):
    id: UuidText
    number: str
    status: str
    notes: str | None
    created_by: str | None
    created_at: datetime


class ApprovalDataOut(Out):
    """An approval request the contact's order raised or the contact decided."""

    id: UuidText
    order: str
    status: str
    role: Literal["buyer", "approver"]
    requested_at: datetime
    decided_at: datetime | None
    decision_note: str | None


class ApprovalRuleDataOut(Out):
    id: UuidText
    name: str
    kind: str


class ApiKeyDataOut(Out):
    """An API key naming the contact: never its secret nor its digest."""

    id: UuidText
    name: str
    role: Role
    hint: str
    created_at: datetime
    revoked_at: datetime | None


class EventDataOut(Out):
    id: UuidText
    type: str
    subject: str | None
    time: datetime
    data: dict[str, Any]


class RetainedOut(Out):
    """An order whose invoices or credit memos keep what they show, as issued, until `until`."""

    order: str
    documents: list[str]
    fields: list[str]
    until: date


class ErasureOut(Out):
    contact_id: UuidText
    account: str
    erased_at: datetime
    erased_by: str | None
    anonymised: dict[str, int]
    revoked_api_keys: int
    forgotten_idempotency_records: int
    retained: list[RetainedOut]


class PersonalDataOut(Out):
    """Everything Ordino holds about a contact (GDPR art. 15 and 20), as JSON."""

    exported_at: datetime
    contact: ContactOut
    account: AccountRefOut
    addresses: list[AccountAddressOut]
    orders: list[OrderDataOut]
    quotes: list[QuoteDataOut]
    approvals: list[ApprovalDataOut]
    approval_rules: list[ApprovalRuleDataOut]
    api_keys: list[ApiKeyDataOut]
    events: list[EventDataOut]
    erasure: ErasureOut | None
