"""Companies (B2B accounts), their contacts and addresses."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from ordino.kernel.db import Base, IdMixin
from ordino.kernel.types import UTCDateTime


class Account(IdMixin, Base):
    __tablename__ = "account"

    number: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    currency: Mapped[str] = mapped_column(String(3))
    locale: Mapped[str] = mapped_column(String(20), default="en")
    country: Mapped[str | None] = mapped_column(String(2))
    tax_id: Mapped[str | None] = mapped_column(String(40))
    parent_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("account.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="active")
    # Invoice terms (net_30, net_30_eom, eom, due_on_receipt) and the credit limit (minor units of
    # its currency); None: none agreed.
    payment_terms: Mapped[str | None] = mapped_column(String(40))
    credit_limit_amount: Mapped[int | None] = mapped_column(BigInteger)
    credit_limit_currency: Mapped[str | None] = mapped_column(String(3))
    # E-invoicing: the buyer's electronic address (BT-49: EAS scheme and identifier), the format
    # its invoices go out in, and the reference it wants on each (BT-10; a Leitweg-ID in Germany).
    endpoint_scheme: Mapped[str | None] = mapped_column(String(4))
    endpoint_id: Mapped[str | None] = mapped_column(String(100))
    einvoice_format: Mapped[str] = mapped_column(String(20), default="pdf", server_default="pdf")
    buyer_reference: Mapped[str | None] = mapped_column(String(100))
    # A SEPA direct-debit mandate: invoices on terms are then collected from this account (BT-89, BT-91).
    direct_debit_mandate: Mapped[str | None] = mapped_column(String(35))
    direct_debit_iban: Mapped[str | None] = mapped_column(String(34))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        CheckConstraint("status IN ('active', 'on_hold', 'closed')", name="status"),
        CheckConstraint("einvoice_format IN ('pdf', 'peppol', 'xrechnung', 'facturx')", name="einvoice_format"),
        CheckConstraint(
            "(credit_limit_amount IS NULL) = (credit_limit_currency IS NULL)"
            " AND (credit_limit_amount IS NULL OR credit_limit_amount >= 0)",
            name="credit_limit",
        ),
    )


# What a contact may do for its account in B2B buying: place orders and quote requests, approve
# orders held for approval, manage the account's approval rules. A contact may hold several.
BUYER_ROLES = ("buyer", "approver", "account_admin")


class Contact(IdMixin, Base):
    __tablename__ = "contact"

    account_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("account.id"), index=True)
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))
    title: Mapped[str | None] = mapped_column(String(100))
    roles: Mapped[list[str]] = mapped_column(JSON, default=list, server_default=text("'[]'"))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Address(IdMixin, Base):
    __tablename__ = "address"

    account_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("account.id"), index=True)
    reference: Mapped[str | None] = mapped_column(String(40))  # the account's own name for it
    kind: Mapped[str] = mapped_column(String(20), default="shipping")
    name: Mapped[str] = mapped_column(String(200))
    line1: Mapped[str] = mapped_column(String(200))
    line2: Mapped[str | None] = mapped_column(String(200))
    city: Mapped[str] = mapped_column(String(100))
    postal_code: Mapped[str | None] = mapped_column(String(20))
    region: Mapped[str | None] = mapped_column(String(100))
    county: Mapped[str | None] = mapped_column(String(100))  # US county, for local sales tax
    country: Mapped[str] = mapped_column(String(2))
    phone: Mapped[str | None] = mapped_column(String(40))
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        CheckConstraint("kind IN ('billing', 'shipping')", name="kind"),
        UniqueConstraint("account_id", "reference"),
        # At most one default address of each kind per account.
        Index(
            "uq_address_default_per_kind", "account_id", "kind", unique=True,
            postgresql_where=text("is_default"), sqlite_where=text("is_default"),
        ),
    )
