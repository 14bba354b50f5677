"""Payment tables: methods, order payment summaries, payment records and the gateway call log.

Payments is an engine (DESIGN §1): it refers to orders and accounts by opaque ids, without
foreign keys into their tables, so it could run as its own service one day. Amounts are integer
minor units; CHECK constraints hold the formulas of DESIGN §3 on every row, whatever the code does.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from ordino.kernel.db import Base, IdMixin
from ordino.kernel.types import UTCDateTime
from ordino.payments import domain


class PaymentMethod(IdMixin, Base):
    """A gateway token (card, wallet) or invoice terms of an account. Never card data."""

    __tablename__ = "payment_method"

    account_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    method: Mapped[str] = mapped_column(String(10))
    gateway: Mapped[str | None] = mapped_column(String(40))
    token: Mapped[str | None] = mapped_column(String(200))
    terms: Mapped[str | None] = mapped_column(String(40))
    fingerprint: Mapped[str] = mapped_column(String(300))
    # Printed on invoices paid by card (EN 16931 BT-87 asks for the last four digits only).
    card_brand: Mapped[str | None] = mapped_column(String(20))
    card_last4: Mapped[str | None] = mapped_column(String(4))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("account_id", "fingerprint"),
        CheckConstraint("method IN ('card', 'wallet', 'invoice')", name="method"),
        CheckConstraint(
            "(method IN ('card', 'wallet') AND gateway IS NOT NULL AND token IS NOT NULL AND terms IS NULL)"
            " OR (method = 'invoice' AND gateway IS NULL AND token IS NULL AND terms IS NOT NULL)",
            name="method_fields",
        ),
    )


class OrderPaymentSummary(IdMixin, Base):
    """The money of one order paid by one payment method (Salesforce's OrderPaymentSummary)."""

    __tablename__ = "order_payment_summary"

    order_summary_id: Mapped[uuid.UUID] = mapped_column(Uuid)  # opaque: no foreign key into orders
    account_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    payment_method_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("payment_method.id"))
    currency: Mapped[str] = mapped_column(String(3))
    authorized_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    captured_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    refunded_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    pending_capture_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    pending_refund_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    pending_reverse_auth_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("order_summary_id", "payment_method_id"),
        Index("ix_order_payment_summary_account", "account_id", "id"),
        CheckConstraint(
            "authorized_amount >= 0 AND captured_amount >= 0 AND refunded_amount >= 0"
            " AND pending_capture_amount >= 0 AND pending_refund_amount >= 0"
            " AND pending_reverse_auth_amount >= 0",
            name="amounts_non_negative",
        ),
        CheckConstraint(domain.SUMMARY_TO_CAPTURE.check(), name="available_to_capture"),
        CheckConstraint(domain.SUMMARY_TO_REFUND.check(), name="available_to_refund"),
    )


class Payment(IdMixin, Base):
    """An authorization, capture, refund or void (reversal), with its status and amounts.

    A capture and a void point at their authorization, a refund at its capture, and a
    re-authorization at the authorization it replaces (`parent_id`). `idempotency_key` finds a
    pending record again after a crash or a retry; the gateway is called with the record's id.
    """

    __tablename__ = "payment"

    kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(String(10), default="gateway")
    summary_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("order_payment_summary.id"))
    parent_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("payment.id"))
    order_summary_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    account_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    currency: Mapped[str] = mapped_column(String(3))
    amount: Mapped[int] = mapped_column(BigInteger)
    # authorizations
    captured_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    pending_capture_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    reversed_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    pending_reverse_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # captures
    refunded_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    pending_refund_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    gateway: Mapped[str | None] = mapped_column(String(40))
    gateway_reference: Mapped[str | None] = mapped_column(String(100))
    idempotency_key: Mapped[str] = mapped_column(String(300), unique=True)
    failure_code: Mapped[str | None] = mapped_column(String(60))
    failure_message: Mapped[str | None] = mapped_column(String(300))
    reason: Mapped[str | None] = mapped_column(String(500))
    created_by: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("ix_payment_summary", "summary_id", "id"),
        Index("ix_payment_order", "order_summary_id", "id"),
        Index("ix_payment_parent", "parent_id"),
        Index("ix_payment_status", "status", "created_at"),
        CheckConstraint("kind IN ('authorization', 'capture', 'refund', 'void')", name="kind"),
        CheckConstraint(
            "status IN ('pending', 'authorized', 'declined', 'closed', 'expired', 'succeeded', 'failed')",
            name="status",
        ),
        CheckConstraint("source IN ('gateway', 'imported')", name="source"),
        CheckConstraint("kind = 'authorization' OR parent_id IS NOT NULL", name="parent"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint(
            "captured_amount >= 0 AND pending_capture_amount >= 0 AND reversed_amount >= 0"
            " AND pending_reverse_amount >= 0 AND refunded_amount >= 0 AND pending_refund_amount >= 0",
            name="amounts_non_negative",
        ),
        CheckConstraint(domain.AUTHORIZATION_TO_CAPTURE.check(), name="available_to_capture"),
        CheckConstraint(domain.CAPTURE_TO_REFUND.check(), name="available_to_refund"),
        CheckConstraint(
            "kind = 'authorization' OR (captured_amount = 0 AND pending_capture_amount = 0"
            " AND reversed_amount = 0 AND pending_reverse_amount = 0)",
            name="authorization_amounts",
        ),
        CheckConstraint(
            "kind = 'capture' OR (refunded_amount = 0 AND pending_refund_amount = 0)", name="capture_amounts"
        ),
    )


class GatewayCall(IdMixin, Base):
    """One HTTP attempt at a gateway: what was sent (no headers, so no credentials), what came
    back, how long it took and how it ended. Retries of one operation share the idempotency key."""

    __tablename__ = "gateway_call"

    payment_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("payment.id"))
    gateway: Mapped[str] = mapped_column(String(40))
    operation: Mapped[str] = mapped_column(String(20))
    idempotency_key: Mapped[str] = mapped_column(String(300))
    attempt: Mapped[int] = mapped_column(Integer)
    request: Mapped[dict[str, Any]] = mapped_column(JSON)
    response: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    http_status: Mapped[int | None] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(20))
    error: Mapped[str | None] = mapped_column(String(300))
    latency_ms: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("ix_gateway_call_payment", "payment_id", "created_at"),
        CheckConstraint(
            "outcome IN ('approved', 'declined', 'rejected', 'timeout', 'connection_error', 'server_error')",
            name="outcome",
        ),
        CheckConstraint("latency_ms >= 0 AND attempt >= 1", name="latency_attempt"),
    )
