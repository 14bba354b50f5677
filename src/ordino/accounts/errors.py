"""Refusals of accounts, contacts, addresses and API keys (RFC 9457 problem types)."""

from __future__ import annotations

from ordino.kernel.errors import Conflict


class AccountHierarchyCycle(Conflict):
    """An account's parent would be the account itself or one of its descendants."""

    slug = "account-hierarchy-cycle"


class InUse(Conflict):
    """A contact or address referenced by orders cannot be deleted."""

    slug = "in-use"


class LastAdminKey(Conflict):
    """Revoking the last active admin API key."""

    slug = "last-admin-key"
