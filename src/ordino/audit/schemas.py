"""Answers of the audit API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from ordino.audit.domain import Action
from ordino.kernel.schema import Out, UuidText


class AuditActorOut(Out):
    role: str = Field(description="the key's role, or `system` / `cli` for changes made without a key")
    key_id: UuidText | None
    name: str = Field(description="the key's name, or what acted without a key")


class AuditSubjectOut(Out):
    type: str = Field(description="the kind of record: `payment`, `price_book`, `account`, `contact`, `api_key` …")
    id: str
    account_id: UuidText | None


class AuditEventOut(Out):
    id: UuidText
    sequence: int = Field(description="1, 2, 3 … without gaps")
    recorded_at: datetime
    action: Action
    actor: AuditActorOut
    subject: AuditSubjectOut
    before: dict[str, Any] | None = Field(description="the changed fields before the change (null: created)")
    after: dict[str, Any] | None = Field(description="the changed fields after the change")
    previous_hash: str = Field(pattern=r"^[0-9a-f]{64}$", description="the hash of the entry before (64 zeros: none)")
    hash: str = Field(pattern=r"^[0-9a-f]{64}$", description="SHA-256 of the entry's canonical content")
