"""B2B buying: approval rules, approval requests and quotes.

Buyer roles live on the contact (accounts); the key a contact uses names it (kernel.auth).
Amounts are integer minor units of the record's currency; quoted unit prices are exact decimals.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from ordino.kernel.db import Base, IdMixin
from ordino.kernel.types import ExactDecimal, UTCDateTime

RULE_KINDS = ("order_total", "monthly_spend", "restricted_products")
REQUEST_STATUSES = ("pending", "approved", "rejected")
QUOTE_STATUSES = ("draft", "requested", "priced", "sent", "accepted", "rejected", "expired")


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


class Quote(IdMixin, Base):
    """A quote request of an account, priced by an agent, accepted into an order."""

    __tablename__ = "quote"

    number: Mapped[str] = mapped_column(String(40), unique=True)
    account_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("account.id"))
    channel_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("sales_channel.id"))
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(20))
    notes: Mapped[str | None] = mapped_column(String(2000))  # the buyer's
    agent_note: Mapped[str | None] = mapped_column(String(2000))
    requested_by_contact_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("contact.id"))
    # Amounts as priced (zero until then); tax comes with the order.
    shipping_charge: Mapped[int] = mapped_column(BigInteger, default=0)
    total_product_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    total_adjustment_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    total_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    priced_by: Mapped[str | None] = mapped_column(String(120))
    priced_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    order_summary_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("order_summary.id"), unique=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_by: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("ix_quote_account", "account_id", "id"),
        Index("ix_quote_expiry", "status", "valid_until"),
        CheckConstraint(_in("status", QUOTE_STATUSES), name="status"),
        CheckConstraint("shipping_charge >= 0", name="shipping_charge"),
    )


class QuoteLine(IdMixin, Base):
    __tablename__ = "quote_line"

    quote_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("quote.id", ondelete="CASCADE"), index=True)
    line_number: Mapped[int] = mapped_column(Integer)
    product_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("product.id"))
    sku: Mapped[str] = mapped_column(String(64))
    quantity: Mapped[int] = mapped_column(Integer)
    # Set when priced: the unit price, where it came from (catalog | agent), the line amount and
    # its discounts ({"name", "source", "reference", "amount"}; amounts ≤ 0 in minor units).
    unit_price: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    price_source: Mapped[str | None] = mapped_column(String(10))
    line_amount: Mapped[int | None] = mapped_column(BigInteger)
    adjustment_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    adjustments: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)

    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity"),
        CheckConstraint("price_source IS NULL OR price_source IN ('catalog', 'agent')", name="price_source"),
        CheckConstraint("adjustment_amount <= 0", name="adjustment_amount"),
        Index("uq_quote_line_number", "quote_id", "line_number", unique=True),
    )
