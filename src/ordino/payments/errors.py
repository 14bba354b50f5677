"""The payments engine's refusals (RFC 9457 problem types)."""

from __future__ import annotations

from ordino.kernel.errors import Conflict, Problem


class GatewayNotAnswering(Problem):
    """The API's answer when the gateway did not answer: the operation is pending (502)."""

    status = 502
    slug = "gateway-unavailable"
    title = "Payment gateway unavailable"


class GatewayNotConfigured(Conflict):
    """The payment method names a gateway this installation does not have."""

    slug = "gateway-not-configured"


class AmountNotAvailable(Conflict):
    """The amount is more than the authorization or capture has left to capture, reverse or refund."""

    slug = "amount-not-available"


class NotAuthorizable(Conflict):
    """Invoice terms are not authorized at a gateway."""

    slug = "not-authorizable"


class AuthorizationExpired(Conflict):
    """A capture of an authorization that has expired."""

    slug = "authorization-expired"


class NotRefundable(Conflict):
    """A refund against something other than a capture."""

    slug = "not-refundable"


class OperationPending(Conflict):
    """A re-authorization while a capture or reversal of the authorization is still pending."""

    slug = "operation-pending"


class PaymentSummaryMismatch(Conflict):
    """The order's payment summary for the method is in another currency or of another account."""

    slug = "payment-summary-mismatch"
