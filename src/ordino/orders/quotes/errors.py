"""Refusals of quotes (RFC 9457 problem types)."""

from __future__ import annotations

from ordino.kernel.errors import Conflict


class QuoteNotEditable(Conflict):
    """The quote's lines change only while it is draft or requested (`current_status`)."""

    slug = "quote-not-editable"


class QuoteExpired(Conflict):
    """Accepting a quote after its `valid_until`."""

    slug = "quote-expired"


class DuplicateReference(Conflict):
    """The channel already has an order with the quote's number as its reference."""

    slug = "duplicate-reference"
