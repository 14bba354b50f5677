"""Payloads of the webhook API. Patches carry only the fields to change (a field left out keeps its
value; `null` clears `account` and `description`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints

from ordino.kernel.schema import Out, Strict, UuidText
from ordino.orders.schemas import AccountNumber, not_null
from ordino.webhooks import domain


def _pattern(value: str) -> str:
    if (error := domain.pattern_error(value)) is not None:
        raise ValueError(error)
    return value


def _distinct(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


Url = Annotated[str, StringConstraints(min_length=1, max_length=domain.MAX_URL)]
Pattern = Annotated[str, StringConstraints(min_length=1, max_length=100), AfterValidator(_pattern)]
EventTypes = Annotated[
    list[Pattern], Field(min_length=1, max_length=100, examples=[["order.*", "invoice.created"]]),
    AfterValidator(_distinct),
]
Description = Annotated[str, StringConstraints(max_length=500)]
DeliveryStatus = Literal["pending", "delivered", "failed"]


class WebhookIn(Strict):
    url: Url = Field(description="https://, or http:// to a loopback host where private targets are allowed")
    event_types: EventTypes = Field(description="Event types; `order.*` is every type under `order.`, `*` all")
    account: AccountNumber | None = Field(default=None, description="Only events concerning this account")
    description: Description | None = None
    enabled: Annotated[bool, Field(strict=True)] = True


class WebhookPatch(Strict):
    url: Annotated[Url | None, BeforeValidator(not_null)] = None
    event_types: Annotated[EventTypes | None, BeforeValidator(not_null)] = None
    account: AccountNumber | None = None
    description: Description | None = None
    enabled: Annotated[bool | None, Field(strict=True), BeforeValidator(not_null)] = None


class RotateIn(Strict):
    overlap_hours: Annotated[int, Field(strict=True, ge=0, le=168)] = Field(
        default=24, description="How long the previous secret signs too (0: stops at once)"
    )


# Answers.


class WebhookOut(Out):
    id: UuidText
    url: str
    event_types: list[str]
    account: str | None
    description: str | None
    enabled: bool
    disabled_reason: str | None
    secret_hint: str = Field(description="The secret's first characters")
    previous_secret_expires_at: datetime | None = Field(description="Until when the previous secret signs too")
    version: int
    created_by: str | None
    created_at: datetime
    updated_at: datetime


class WebhookSecretOut(WebhookOut):
    secret: str = Field(description="The signing secret (`whsec_…`), shown this once")


class AttemptOut(Out):
    id: UuidText
    trigger: Literal["schedule", "replay"]
    attempted_at: datetime
    request_headers: dict[str, Any]
    response_status: int | None
    response_body: str | None = Field(description="The start of the receiver's answer")
    duration_ms: int
    error: str | None


class DeliveryOut(Out):
    id: UuidText
    webhook_id: UuidText
    event_id: UuidText
    event_type: str
    message_id: str = Field(description="The `webhook-id` header: the same on every attempt")
    status: DeliveryStatus
    attempt_count: int
    next_attempt_at: datetime | None
    last_status: int | None
    created_at: datetime
    delivered_at: datetime | None
    attempts: list[AttemptOut]
