"""Refusals of order approvals and approval rules (RFC 9457 problem types)."""

from __future__ import annotations

from ordino.kernel.errors import Conflict, Forbidden


class NotPendingApproval(Conflict):
    """Approving or rejecting an order that is not waiting for approval (`current_status`)."""

    slug = "not-pending-approval"


class NotAnApprover(Forbidden):
    """Deciding an approval with the key of a contact without the approver role."""

    slug = "not-an-approver"


class OwnOrder(Forbidden):
    """A buyer approving or rejecting their own order."""

    slug = "own-order"


class NotAnAccountAdmin(Forbidden):
    """Managing approval rules without being staff or an admin of the account."""

    slug = "not-an-account-admin"
