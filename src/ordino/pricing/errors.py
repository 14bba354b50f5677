"""The pricing engine's refusals (RFC 9457 problem types)."""

from __future__ import annotations

from ordino.kernel.errors import Conflict, Problem


class CouponUnavailable(Conflict):
    """A coupon of the order does not exist, is not active or has been used up (`coupon`)."""

    slug = "coupon-unavailable"
    title = "Coupon cannot be used"


class UsageLimitBelowUses(Conflict):
    """A coupon's usage limit set below the uses counted already."""

    slug = "usage-limit-below-uses"


class StandardPriceBookConflict(Conflict):
    """Another price book of the currency became the standard one at the same time."""

    slug = "standard-price-book-conflict"


class NotAContractBook(Conflict):
    """A list price book assigned to an account; only contract books are."""

    slug = "not-a-contract-book"


class RateNotFound(Problem):
    """No exchange rate between the two currencies on the date."""

    status = 422
    slug = "fx-rate-not-found"
    title = "No exchange rate"
