"""Pure payment rules: card-number refusal, payment terms, lifecycles, the amounts of an order
payment summary and of each payment record, and how an order total is split over its payment
instructions. No database, no HTTP.

Amounts are integer minor units of one currency (DESIGN §2). The formulas are DESIGN §3:

    available_to_capture = authorized − captured − pending_capture − pending_reverse_auth
    available_to_refund  = captured − refunded − pending_refund

Each formula is written once, as a `Remainder`; the dataclasses below, the SQL expressions of the
conditional UPDATEs (payments.steps) and the CHECK constraints (payments.models) are derived
from it.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import date, timedelta
from typing import Any

from ordino.kernel.lifecycle import Lifecycle

# ------------------------------------------------------------------------------------------------
# Card data never enters Ordino: intake (orders.schemas) and payments refuse it with this check.

_DIGITS = re.compile(r"[0-9](?:[ \-]*[0-9])+")  # digits, with spaces or dashes between them
_CVV = re.compile(r"^\s*[0-9]{3,4}\s*\Z")


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def looks_like_card_number(text: str) -> bool:
    """True for anything holding a Luhn-valid run of 12–19 digits, grouped by spaces or dashes or
    not, also when more digit groups follow it (expiry, CVC: "4111 1111 1111 1111 123")."""
    for run in _DIGITS.findall(text):
        groups = re.split(r"[ \-]+", run)
        for start in range(len(groups)):
            digits = ""
            for group in groups[start:]:
                digits += group
                if len(digits) > 19:
                    break
                if len(digits) >= 12 and _luhn_ok(digits):
                    return True
    return False


def looks_like_card_data(text: str) -> bool:
    """A card number, or a bare 3–4 digit value that can only be a security code (CVV / CVC)."""
    return looks_like_card_number(text) or bool(_CVV.match(text))


REDACTED = "[redacted]"


def redact(value: Any) -> Any:
    """A copy of a JSON-like value in which every string that looks like card data is replaced.

    Gateway requests and responses pass through this before they are logged: defence in depth,
    since the service refuses such tokens before any call is made.
    """
    if isinstance(value, str):
        return REDACTED if looks_like_card_data(value) else value
    if isinstance(value, dict):
        return {k: redact(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    return value


# ------------------------------------------------------------------------------------------------
# Payment methods and terms

TOKEN_METHODS = ("card", "wallet")
METHODS = (*TOKEN_METHODS, "invoice")
DEFAULT_TERMS = "net_30"
_TERMS = re.compile(r"^(?:(?P<receipt>due_on_receipt)|net_(?P<days>[0-9]{1,3})(?P<eom>_eom)?|(?P<bare_eom>eom))\Z")


@dataclass(frozen=True, slots=True)
class Terms:
    """Invoice payment terms: due `days` after the invoice date, or after the end of its month."""

    code: str
    days: int
    end_of_month: bool = False

    def due_date(self, issued: date) -> date:
        start = issued
        if self.end_of_month:
            start = issued.replace(day=calendar.monthrange(issued.year, issued.month)[1])
        return start + timedelta(days=self.days)


def parse_terms(code: str) -> Terms | None:
    """`due_on_receipt`, `net_<days>` (1–365), `net_<days>_eom` or `eom`; None when not terms."""
    match = _TERMS.match(code)
    if not match:
        return None
    if match.group("receipt"):
        return Terms(code, 0)
    if match.group("bare_eom"):
        return Terms(code, 0, end_of_month=True)
    days = int(match.group("days"))
    if not 1 <= days <= 365:
        return None
    return Terms(code, days, end_of_month=bool(match.group("eom")))


def fingerprint(method: str, gateway: str | None, token: str | None, terms: str | None) -> str:
    """What makes two payment methods of one account the same method."""
    if method == "invoice":
        return f"invoice:{terms}"
    return f"{method}:{gateway}:{token}"


# ------------------------------------------------------------------------------------------------
# Lifecycles (kernel.statemachine): the status of a payment record moves only along these tables.

AUTHORIZATION = Lifecycle.build(
    "payment_authorization",
    states=("pending", "authorized", "declined", "closed", "expired"),
    initial="pending",
    table=[
        ("approve", ["pending"], "authorized"),  # the gateway authorized the amount
        ("decline", ["pending"], "declined"),  # the gateway refused it (or the request)
        ("close", ["authorized"], "closed"),  # nothing left: captured and / or reversed in full
        ("expire", ["authorized"], "expired"),  # the hold lapsed; its remainder is released
    ],
    terminal=("declined", "closed"),
)


def _money_movement(entity: str) -> Lifecycle:
    return Lifecycle.build(
        entity,
        states=("pending", "succeeded", "failed"),
        initial="pending",
        table=[("succeed", ["pending"], "succeeded"), ("fail", ["pending"], "failed")],
        terminal=("succeeded", "failed"),
    )


CAPTURE = _money_movement("payment_capture")
REFUND = _money_movement("payment_refund")
VOID = _money_movement("payment_void")  # a (partial) reversal of an authorization

LIFECYCLES: dict[str, Lifecycle] = {
    "authorization": AUTHORIZATION,
    "capture": CAPTURE,
    "refund": REFUND,
    "void": VOID,
}
KINDS = tuple(LIFECYCLES)
STATUSES = tuple(sorted({s for lc in LIFECYCLES.values() for s in lc.states}))
SOURCES = ("gateway", "imported")


# ------------------------------------------------------------------------------------------------
# Amounts


@dataclass(frozen=True, slots=True)
class Remainder:
    """A total less its parts: what is still available of an amount. Names are those of the
    dataclasses below; the columns are `<name>_amount` (the payment's own `amount` stays)."""

    total: str
    parts: tuple[str, ...]

    def of(self, values: Any) -> Any:
        """Over attributes named as the dataclasses name them (an int for a record of ints)."""
        result = getattr(values, self.total)
        for part in self.parts:
            result = result - getattr(values, part)
        return result

    def over(self, columns: Any) -> Any:
        """Over a row's, a model's or a table's `.c` columns: an int, or an SQL expression."""
        result = getattr(columns, _column(self.total))
        for part in self.parts:
            result = result - getattr(columns, _column(part))
        return result

    def check(self) -> str:
        """The SQL of the CHECK constraint that keeps it from going negative."""
        return " - ".join(_column(name) for name in (self.total, *self.parts)) + " >= 0"


def _column(name: str) -> str:
    return name if name == "amount" else f"{name}_amount"


SUMMARY_TO_CAPTURE = Remainder("authorized", ("captured", "pending_capture", "pending_reverse_auth"))
SUMMARY_TO_REFUND = Remainder("captured", ("refunded", "pending_refund"))
AUTHORIZATION_TO_CAPTURE = Remainder("amount", ("captured", "pending_capture", "reversed", "pending_reverse"))
CAPTURE_TO_REFUND = Remainder("amount", ("refunded", "pending_refund"))


@dataclass(frozen=True, slots=True)
class SummaryAmounts:
    """The amounts of an order payment summary (one per order and payment method)."""

    authorized: int = 0
    captured: int = 0
    refunded: int = 0
    pending_capture: int = 0
    pending_refund: int = 0
    pending_reverse_auth: int = 0

    @property
    def available_to_capture(self) -> int:
        return int(SUMMARY_TO_CAPTURE.of(self))

    @property
    def available_to_refund(self) -> int:
        return int(SUMMARY_TO_REFUND.of(self))

    def violations(self) -> list[str]:
        """The invariants this state breaks (the same ones the database CHECKs enforce)."""
        found = [f"{f.name} is negative" for f in fields(self) if getattr(self, f.name) < 0]
        if self.available_to_capture < 0:
            found.append("available to capture is negative")
        if self.available_to_refund < 0:
            found.append("available to refund is negative")
        return found


@dataclass(frozen=True, slots=True)
class AuthorizationAmounts:
    """One authorization: its amount and what has been captured or reversed (or is being)."""

    amount: int
    captured: int = 0
    pending_capture: int = 0
    reversed: int = 0  # reversed by a void or a re-authorization, or released at expiry
    pending_reverse: int = 0

    @property
    def available_to_capture(self) -> int:
        return int(AUTHORIZATION_TO_CAPTURE.of(self))


@dataclass(frozen=True, slots=True)
class CaptureAmounts:
    amount: int
    refunded: int = 0
    pending_refund: int = 0

    @property
    def available_to_refund(self) -> int:
        return int(CAPTURE_TO_REFUND.of(self))


def operations(kind: str, status: str, available: int) -> list[str]:
    """The API operations a payment record offers now (the console's available actions).

    `available` is what can still be captured (authorizations) or refunded (captures).
    """
    if kind == "authorization":
        if status == "authorized" and available > 0:
            return ["capture", "void", "reauthorize"]
        if status == "expired":
            return ["reauthorize"]
    if kind == "capture" and status == "succeeded" and available > 0:
        return ["refund"]
    return []


@dataclass(frozen=True, slots=True)
class Split:
    """How an order total is spread over its payment instructions."""

    amounts: tuple[int, ...]
    uncovered: int = 0  # what no instruction takes (no instruction without an amount)
    error: str | None = None


def split_total(total: int, given: Sequence[int | None]) -> Split:
    """Instructions with an amount take it; the first one without takes the rest; others take 0.

    The given amounts may not exceed the total (an error); when every instruction has an amount
    and they add up to less, the difference is `uncovered`.
    """
    if any(a is not None and a < 0 for a in given):
        return Split(tuple(0 for _ in given), error="a payment amount is negative")
    explicit = sum(a for a in given if a is not None)
    if explicit > total:
        return Split(tuple(0 for _ in given), error="the payment amounts exceed the order total")
    rest = total - explicit
    amounts: list[int] = []
    taken = False
    for a in given:
        if a is not None:
            amounts.append(a)
        elif not taken:
            amounts.append(rest)
            taken = True
        else:
            amounts.append(0)
    return Split(tuple(amounts), uncovered=0 if taken else rest)
