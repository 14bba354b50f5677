"""Refusals of the webhook use cases (RFC 9457 problem types)."""

from __future__ import annotations

from ordino.kernel.errors import Conflict


class WebhookDisabled(Conflict):
    """The subscription is disabled (by a PATCH, or after its receiver answered 410 Gone): enable it
    before replaying its deliveries."""

    slug = "webhook-disabled"
