"""Problems of servicing."""

from __future__ import annotations

from ordino.kernel.errors import Conflict


class NotAvailable(Conflict):
    """More is asked than a line has available (to cancel, to return, to appease)."""

    slug = "not-available"
    title = "Not available"


class LocationMustConfirm(Conflict):
    slug = "location-must-confirm"
    title = "The location must confirm"


class NeedsApproval(Conflict):
    """Items added to an approved order would bring it under an approval rule."""

    slug = "approval-required"
    title = "The change needs approval"
