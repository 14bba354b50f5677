"""Refusals of the privacy use cases (RFC 9457 problem types)."""

from __future__ import annotations

from ordino.kernel.errors import Conflict


class ContactHasOpenBusiness(Conflict):
    """The contact's orders or quotes are still open (`orders`, `quotes` list their numbers); erase
    once they are delivered, cancelled or decided."""

    slug = "contact-has-open-business"
