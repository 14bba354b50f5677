"""Invoices, credit memos, remittances and how payments apply to them."""

from __future__ import annotations

from ordino.kernel.db import Base, IdMixin  # noqa: F401
