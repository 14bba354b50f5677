"""The erasures done: one row per erased contact, holding the answer the erasure gave."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from ordino.kernel.db import Base
from ordino.kernel.types import UTCDateTime


class ContactErasure(Base):
    """A contact whose personal data was erased; its key makes a contact erased once. `summary`
    counts the rows changed and lists what was kept, never a personal value."""

    __tablename__ = "contact_erasure"

    contact_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("contact.id"), primary_key=True)
    account_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("account.id"), index=True)
    erased_at: Mapped[datetime] = mapped_column(UTCDateTime())
    erased_by: Mapped[str | None] = mapped_column(String(120))
    summary: Mapped[dict[str, Any]] = mapped_column(JSON)
