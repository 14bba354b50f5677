"""Answers of the process exception API (orders.process_exceptions.service emits them)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from ordino.kernel.schema import Out, UuidText

Category = Literal[
    "fulfillment", "payment", "invoicing", "order_activation", "order_approval", "inventory", "other"
]
Status = Literal["new", "triaged", "paused", "ignored", "voided", "resolved"]
Action = Literal["triage", "pause", "ignore", "void", "resolve"]


class AttachedToOut(Out):
    type: str = Field(description="the record's kind, e.g. order_summary, fulfillment_order, invoice")
    id: UuidText


class ExceptionOrderOut(Out):
    id: UuidText
    number: str


class StatusChangeOut(Out):
    from_status: Status | None
    to_status: Status
    action: str
    reason: str | None
    actor: str | None
    at: datetime


class ProcessExceptionOut(Out):
    """A process exception; `history` is in the single read and after an action, not in lists."""

    id: UuidText
    category: Category
    severity: Literal["low", "high"]
    priority: int = Field(ge=1, le=5)
    status: Status
    active: bool
    available_actions: list[Action]
    message: str
    description: str | None
    attached_to: AttachedToOut
    step: str | None = Field(description="the handler or flow step that failed, which a retry re-runs")
    error: str | None = Field(description="its last error")
    event_id: UuidText | None = Field(description="the outbox event the failure concerns")
    assignee: str | None
    resolution_note: str | None
    retry_count: int = Field(ge=0)
    last_retried_at: datetime | None
    retryable: bool = Field(description="active, and a dead letter or a step that a retry can re-run")
    order: ExceptionOrderOut | None
    version: int
    created_by: str | None
    created_at: datetime
    updated_at: datetime
    history: list[StatusChangeOut] | None = None
