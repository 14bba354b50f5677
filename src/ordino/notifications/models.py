"""Outgoing e-mail messages, and which message kinds each contact receives."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, LargeBinary, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from ordino.kernel.db import Base, IdMixin
from ordino.kernel.types import UTCDateTime

MESSAGE_STATUSES = ("pending", "sent", "not_sent")


class NotificationMessage(IdMixin, Base):
    """One e-mail to one recipient, written in the transaction of the event's handler.

    `message_id` is derived from (event, kind, recipient), so a redelivered event finds its row and
    a message sent again after a crash carries the same Message-ID. `raw` is the whole RFC 5322
    message as it is (or was) sent."""

    __tablename__ = "notification_message"

    message_id: Mapped[str] = mapped_column(String(200), unique=True)
    event_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    kind: Mapped[str] = mapped_column(String(40))
    recipient: Mapped[str] = mapped_column(String(254))
    # No foreign keys: a contact may be deleted or erased while its messages stay on record.
    contact_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    account_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    language: Mapped[str] = mapped_column(String(20))
    subject: Mapped[str] = mapped_column(String(300))
    attachment: Mapped[str | None] = mapped_column(String(200))  # its file name
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(20))
    # The SMTP server's answer to the message (sent), or why it was not sent (not_sent).
    receipt: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("ix_notification_message_event", "event_id", "kind"),
        Index("ix_notification_message_account", "account_id", "id"),
        CheckConstraint("status IN ('pending', 'sent', 'not_sent')", name="status"),
    )


class NotificationPreference(Base):
    """A contact's choice for one message kind, overriding the default rule (domain.default_kinds)."""

    __tablename__ = "notification_preference"

    contact_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("contact.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
