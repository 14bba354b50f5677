"""Tax profiles of accounts: exemption certificates."""

from __future__ import annotations

from ordino.kernel.db import Base, IdMixin  # noqa: F401
