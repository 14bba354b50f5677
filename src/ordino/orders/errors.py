"""Refusals of order intake and of the order's buyers (RFC 9457 problem types)."""

from __future__ import annotations

from ordino.kernel.errors import Forbidden


class NotABuyer(Forbidden):
    """The API key's contact does not have the buyer role of the account."""

    slug = "not-a-buyer"
