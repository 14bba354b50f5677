"""Tax profiles of accounts: whether the buyer is a business, and its exemption certificates.

The engine stays pure (`tax.domain`); these tables are what order pricing reads to build the
`TaxContext` of an account's orders. Accounts are referred to by id, as every engine does.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from ordino.kernel.db import Base, IdMixin
from ordino.kernel.types import UTCDateTime


class AccountTaxProfile(Base):
    __tablename__ = "account_tax_profile"

    account_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("account.id"), primary_key=True)
    # B2B by default: accounts are companies. A consumer account is taxed as B2C (OSS in the EU).
    business: Mapped[bool] = mapped_column(Boolean, default=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class TaxExemptionCertificate(IdMixin, Base):
    __tablename__ = "tax_exemption_certificate"

    account_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("account.id"), index=True)
    number: Mapped[str] = mapped_column(String(60))
    # Countries ("US": every state) and ISO 3166-2 subdivisions ("US-CA") it covers.
    regions: Mapped[list[str]] = mapped_column(JSON)
    reason: Mapped[str | None] = mapped_column(String(100))  # resale, non-profit, government…
    issued_on: Mapped[date | None] = mapped_column(Date)
    expires_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (UniqueConstraint("account_id", "number"),)
