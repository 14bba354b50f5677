"""Approval rules and approval requests: orders held for an approver.

Buyer roles live on the contact (accounts); the key a contact uses names it (kernel.auth).
Amounts are integer minor units of the rule's currency.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from ordino.kernel.db import Base, IdMixin
from ordino.kernel.types import UTCDateTime

RULE_KINDS = ("order_total", "monthly_spend", "restricted_products")
REQUEST_STATUSES = ("pending", "approved", "rejected")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class ApprovalRule(IdMixin, Base):
    """A reason to hold an account's orders for approval; child accounts inherit their
    ancestors' rules."""

    __tablename__ = "approval_rule"

    account_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("account.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    name: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # order_total: the order's grand total above `amount`; monthly_spend: a buyer's orders of the
    # calendar month above `amount`, for one contact or (contact_id NULL) every buyer of the account.
    amount: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str | None] = mapped_column(String(3))
    contact_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("contact.id"))
    # restricted_products: the SKUs that always need approval.
    skus: Mapped[list[str] | None] = mapped_column(JSON)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_by: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        CheckConstraint(_in("kind", RULE_KINDS), name="kind"),
        CheckConstraint(
            "kind = 'restricted_products' OR (amount >= 0 AND currency IS NOT NULL)", name="amount"
        ),
        CheckConstraint("kind <> 'restricted_products' OR skus IS NOT NULL", name="skus"),
        CheckConstraint("kind = 'monthly_spend' OR contact_id IS NULL", name="contact"),
    )


class ApprovalRequest(IdMixin, Base):
    """An order held for approval: why (every reason with its detail), and the decision."""

    __tablename__ = "approval_request"

    order_summary_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("order_summary.id"), unique=True)
    account_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("account.id"))
    status: Mapped[str] = mapped_column(String(20))
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    buyer_contact_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("contact.id"))
    requested_by: Mapped[str | None] = mapped_column(String(120))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime())
    decided_by: Mapped[str | None] = mapped_column(String(120))
    decided_by_contact_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("contact.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decision_note: Mapped[str | None] = mapped_column(String(500))
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("ix_approval_request_account", "account_id", "status", "id"),
        Index("ix_approval_request_status", "status", "id"),
        CheckConstraint(_in("status", REQUEST_STATUSES), name="status"),
    )
