"""Webhook subscriptions, their deliveries (one per event and subscription) and every attempt."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from ordino.kernel.db import Base
from ordino.kernel.types import UTCDateTime


class WebhookSubscription(Base):
    """An endpoint that receives the events its patterns name (of one account, when scoped).
    The signing secret is kept as is: signing needs it (HMAC). After a rotation the previous one
    signs too until `previous_secret_until`."""

    __tablename__ = "webhook_subscription"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    event_types: Mapped[list[str]] = mapped_column(JSON)
    account_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("account.id"), index=True)
    description: Mapped[str | None] = mapped_column(String(500))
    enabled: Mapped[bool] = mapped_column(Boolean)
    disabled_reason: Mapped[str | None] = mapped_column(String(500))
    secret: Mapped[str] = mapped_column(String(100))
    previous_secret: Mapped[str | None] = mapped_column(String(100))
    previous_secret_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    version: Mapped[int] = mapped_column(Integer)
    created_by: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class WebhookDelivery(Base):
    """An event for a subscription: pending until an attempt succeeds (delivered) or the retries
    run out or the receiver answers 410 (failed). `failures` counts failed attempts since the
    delivery was (re)queued: it picks the next wait of the schedule; a replay starts it again."""

    __tablename__ = "webhook_delivery"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    subscription_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("webhook_subscription.id"))
    event_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    event_type: Mapped[str] = mapped_column(String(100))
    message_id: Mapped[str] = mapped_column(String(100))
    payload: Mapped[str] = mapped_column(Text)  # the CloudEvents envelope, byte for byte as sent
    status: Mapped[str] = mapped_column(String(20))
    attempts: Mapped[int] = mapped_column(Integer)
    failures: Mapped[int] = mapped_column(Integer)
    trigger: Mapped[str] = mapped_column(String(20))  # what the next attempt is: "schedule" or "replay"
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_status: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("subscription_id", "event_id"),
        Index("ix_webhook_delivery_subscription", "subscription_id", "id"),
        Index("ix_webhook_delivery_due", "status", "next_attempt_at"),
    )


class WebhookAttempt(Base):
    """One POST of a delivery: the headers sent (signatures, never a secret), what came back."""

    __tablename__ = "webhook_attempt"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    delivery_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("webhook_delivery.id"), index=True)
    trigger: Mapped[str] = mapped_column(String(20))  # "schedule" or "replay"
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    request_headers: Mapped[dict[str, Any]] = mapped_column(JSON)
    response_status: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(2000))
