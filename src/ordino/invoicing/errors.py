"""Refusals of invoices, credit memos and remittances (RFC 9457 problem types)."""

from __future__ import annotations

from ordino.kernel.errors import Conflict


class OverInvoiced(Conflict):
    """An invoice would bill an item for more units than were ordered."""

    slug = "over-invoiced"


class NegativeInvoice(Conflict):
    """An invoice whose total would be negative."""

    slug = "negative-invoice"


class NotCancellable(Conflict):
    """Cancelling an invoice that is not a fee invoice, or that money was applied to; credit it instead."""

    slug = "not-cancellable"


class NotApplicable(Conflict):
    """A remittance that cannot be applied as sent (e.g. more than an invoice's balance); the lines are named."""

    slug = "not-applicable"


class NotCreditable(Conflict):
    """Change orders that credit nothing or were credited already; the change orders are named."""

    slug = "not-creditable"


class PaidForInvoices(Conflict):
    """A refund of a capture's money that pays invoices: it goes back with a credit memo (a return, an appeasement)."""

    slug = "paid-for-invoices"
