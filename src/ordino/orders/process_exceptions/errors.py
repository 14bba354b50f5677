"""Refusals of the process exception actions (RFC 9457 problem types)."""

from __future__ import annotations

from ordino.kernel.errors import Conflict


class ProcessExceptionClosed(Conflict):
    """Assigning or retrying an exception that is resolved, ignored or voided."""

    slug = "process-exception-closed"
    title = "The process exception is closed"


class NotRetryable(Conflict):
    """The exception names no step that a retry could re-run (raised by a person, or the
    failure it records cannot be repeated as it was, e.g. a dead letter already queued again)."""

    slug = "process-exception-not-retryable"
    title = "Nothing to retry"
