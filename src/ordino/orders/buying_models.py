"""B2B buying: buyer roles, approval rules, approval requests and quotes."""

from __future__ import annotations

from ordino.kernel.db import Base, IdMixin  # noqa: F401
