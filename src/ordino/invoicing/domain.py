"""Pure invoicing rules: lifecycles, invoice shares of order lines, due dates, which authorized
funds pay an invoice, and which captures a refund goes back to. No database, no HTTP.

Shares of an order line. An order line of `ordered` units carries amounts (line amount, each
adjustment, each tax line) for all its units. When units are invoiced, every amount is shared by
the cumulative rule:

    share = round_half_up(amount × invoiced_units_after / ordered) − already_invoiced

so the shares of invoices that together invoice every unit add up exactly to the line's amounts,
whatever the number of invoices, and each share differs from the exact proportion by less than
one minor unit.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from fractions import Fraction
from typing import Generic, Protocol, TypeVar

from ordino.kernel.lifecycle import Lifecycle
from ordino.kernel.money import MAX_MINOR, allocate_minor
from ordino.payments.domain import DEFAULT_TERMS, parse_terms

K = TypeVar("K")

INVOICE_KINDS = ("shipment", "fee")
LINE_TYPES = ("product", "delivery_charge", "fee")
APPLICATION_STATUSES = ("pending", "applied", "failed")
REFUND_SOURCES = ("unapplied", "applied")
IMMEDIATE_TERMS = "due_on_receipt"

# ------------------------------------------------------------------------------------------------
# Lifecycles

INVOICE_LIFECYCLE = Lifecycle.build(
    "invoice",
    states=("open", "partially_paid", "paid", "cancelled"),
    initial="open",
    table=[
        ("pay_partially", ["open"], "partially_paid"),
        ("pay", ["open", "partially_paid"], "paid"),
        ("cancel", ["open"], "cancelled"),  # fee invoices nothing was paid on
    ],
    terminal=("paid", "cancelled"),
)
INVOICE_STATUSES = tuple(sorted(INVOICE_LIFECYCLE.states))
# Payment reminders of an open invoice: the days past its due date at which each is sent.
REMINDER_DAYS = (1, 7, 14, 30)


def reminder_level(days_overdue: int) -> int:
    """The reminder an invoice this many days past due should have had: 0 (none) … 4."""
    return sum(1 for days in REMINDER_DAYS if days_overdue >= days)
OPEN_INVOICE_STATUSES = ("open", "partially_paid")

CREDIT_MEMO_LIFECYCLE = Lifecycle.build(
    "credit_memo",
    states=("open", "partially_refunded", "closed"),
    initial="open",
    table=[
        ("refund_partially", ["open"], "partially_refunded"),
        ("close", ["open", "partially_refunded"], "closed"),
    ],
    terminal=("closed",),
)
CREDIT_MEMO_STATUSES = tuple(sorted(CREDIT_MEMO_LIFECYCLE.states))
OPEN_CREDIT_MEMO_STATUSES = ("open", "partially_refunded")


def invoice_action(status: str, total: int, applied: int) -> str | None:
    """The transition an invoice's applied amount calls for, if any."""
    if status not in OPEN_INVOICE_STATUSES or applied <= 0:
        return None
    if applied >= total:
        return "pay"
    return "pay_partially" if status == "open" else None


def credit_memo_action(status: str, balance: int, refunded: int) -> str | None:
    """The transition a credit memo's settlement calls for, if any."""
    if status not in OPEN_CREDIT_MEMO_STATUSES:
        return None
    if balance == 0:
        return "close"
    return "refund_partially" if status == "open" and refunded > 0 else None


# ------------------------------------------------------------------------------------------------
# Shares of order lines


def round_half_up(value: Fraction) -> int:
    """Round to the nearest integer, halves away from zero (ROUND_HALF_UP, as Decimal does)."""
    magnitude = abs(value)
    rounded = (magnitude.numerator * 2 + magnitude.denominator) // (magnitude.denominator * 2)
    return -rounded if value < 0 else rounded


def cumulative_share(amount: int, ordered: int, invoiced_after: int, invoiced_before_amount: int) -> int:
    """The share of `amount` (for `ordered` units) that an invoice bringing the line's invoiced
    units to `invoiced_after` takes, given what earlier invoices took."""
    if ordered <= 0 or not 0 <= invoiced_after <= ordered:
        raise ValueError("invoiced units must be between 0 and the ordered quantity")
    return round_half_up(Fraction(amount * invoiced_after, ordered)) - invoiced_before_amount


@dataclass(frozen=True, slots=True)
class TaxShare:
    """One tax line's share on an invoice, as `vat_by_category` sees it."""

    key: tuple[object, ...] | None  # the VAT category, rate and jurisdiction; None: not VAT (US sales tax)
    rate: Fraction  # tax per unit of base: the rate, or rate / (1 + rate) on gross bases
    base: int  # the invoice's amount the tax is on (net, or gross when prices include tax)
    amount: int  # the tax line's cumulative share
    completes: bool  # this invoice takes what is left of the tax line: its amount stays


def vat_by_category(shares: Sequence[TaxShare]) -> list[int]:
    """The invoice's tax amounts: per VAT category, base × rate rounded once (EN 16931 BR-CO-17).

    Each tax line's cumulative share is moved by the difference between its category's rounded
    total and the sum of the shares, spread over the shares whose tax lines go on being invoiced,
    in proportion to their bases. A share that completes its tax line keeps what is left of it, so
    every tax line, and the order's VAT, adds up over its invoices exactly; the last invoice of a
    category carries the rounding difference.
    """
    amounts = [s.amount for s in shares]
    groups: dict[tuple[object, ...], list[int]] = {}
    for n, share in enumerate(shares):
        if share.key is not None:
            groups.setdefault(share.key, []).append(n)
    for members in groups.values():
        open_ = [n for n in members if not shares[n].completes]
        if not open_:
            continue
        base = sum(shares[n].base for n in members)
        delta = round_half_up(base * shares[members[0]].rate) - sum(amounts[n] for n in members)
        if not delta:
            continue
        weights = [abs(shares[n].base) for n in open_]
        for n, part in zip(open_, allocate_minor(delta, weights if any(weights) else [1] * len(open_)), strict=True):
            amounts[n] += part
    return amounts


def discount_share(total: int, before: int, line_share: int, ordered: int, invoiced_after: int) -> int:
    """An invoice's share of an item's discounts (`total` ≤ 0, `before` of it invoiced already):
    the cumulative rule on the item's discounts as one amount, but never more discount than the
    invoice's share of the line, so that no invoice line is negative. The item's cumulative net is
    then a running maximum of the rounded shares, which never passes line + discount, so the last
    invoice still takes exactly what is left."""
    cumulative = max(round_half_up(Fraction(total * invoiced_after, ordered)), before - line_share)
    return cumulative - before


def split_discount(share: int, remaining: Sequence[int]) -> list[int]:
    """Spread an invoice's discount share (≤ 0) over the item's discount lines in proportion to
    what each still has to give (≤ 0 each); no line gives more than it has left."""
    if share == 0 or not any(remaining):
        return [0] * len(remaining)
    return [-part for part in allocate_minor(-share, [-r for r in remaining])]


# ------------------------------------------------------------------------------------------------
# Payment terms and due dates


def due_date(invoice_date: date, terms: str) -> date:
    """The due date under `terms` (`net_30`, `net_30_eom`, `eom`, `due_on_receipt`)."""
    parsed = parse_terms(terms)
    if parsed is None:
        raise ValueError(f"unknown payment terms '{terms}'")
    return parsed.due_date(invoice_date)


def invoice_terms(instructions: Sequence[dict[str, object]], account_terms: str | None) -> str:
    """The terms of an order's invoices: terms given with the order's invoice instruction win,
    then the account's terms; an order paid on invoice without either gets the default terms,
    and one paid only by card or wallet is due on receipt (its invoices are captured at once)."""
    on_invoice = [i for i in instructions if i.get("method") == "invoice"]
    for instruction in on_invoice:
        terms = instruction.get("terms")
        if isinstance(terms, str) and parse_terms(terms) is not None:
            return terms
    if account_terms and parse_terms(account_terms) is not None:
        return account_terms
    return DEFAULT_TERMS if on_invoice else IMMEDIATE_TERMS


# ------------------------------------------------------------------------------------------------
# Tax lines

_EXEMPTION_REASONS = {
    "AE": "VATEX-EU-AE",  # reverse charge
    "K": "VATEX-EU-IC",  # intra-community supply
    "G": "VATEX-EU-G",  # export outside the EU
    "O": "VATEX-EU-O",  # not subject to VAT
}


def exemption_reason(category: str | None, given: str | None) -> str | None:
    """The VATEX code of a tax line (EN 16931 BT-121): the one given, else the category's own."""
    if given:
        return given
    return _EXEMPTION_REASONS.get(category or "")


# ------------------------------------------------------------------------------------------------
# Credit memos: a change order item negated
#
# Change orders carry the change as deltas in the order's sign (a cancel, a return or an
# appeasement takes amounts off: negative); a credit memo line is the change order item negated,
# so credit memos have positive amounts, as EN 16931 credit notes do.

# Cancelled units were never shipped, so never invoiced: their credit is of money never charged
# unless it was captured ahead of shipment.
UNINVOICED_KINDS = ("cancel",)


class SourceLine(Protocol):
    """A tax or adjustment line of an order item or of a change order."""

    @property
    def name(self) -> str: ...

    @property
    def amount(self) -> int: ...


S = TypeVar("S", bound=SourceLine)


@dataclass(frozen=True, slots=True)
class CreditedPart(Generic[S]):
    """One tax or adjustment line of a credit memo line."""

    source: S | None  # the line it credits; None for a plain line
    name: str
    amount: int


def credited_parts(total: int, own: Sequence[S], originals: Sequence[S], name: str) -> list[CreditedPart[S]]:
    """The tax (or adjustment) lines of a credit memo line crediting `total`.

    `own`: the change order's lines for the item (empty when they are shared with another item of
    the change order); they are credited as they are (negated) when they add up to `total`.
    Otherwise `total` is spread over the item's `originals` in proportion to their amounts, or
    becomes one plain line called `name` when they have no amounts.
    """
    if own and sum(-s.amount for s in own) == total:
        return [CreditedPart(s, s.name, -int(s.amount)) for s in own]
    if not total:
        return []
    weights = [abs(int(o.amount)) for o in originals]
    if not any(weights):
        return [CreditedPart(None, name, total)]
    return [CreditedPart(o, o.name, part) for o, part in zip(originals, allocate_minor(total, weights), strict=True)]


@dataclass(frozen=True, slots=True)
class CreditLine:
    line: int
    adjustment: int
    tax: int
    net: int  # without the tax, also when prices include it


def credit_line(line_amount: int, adjustment_amount: int, tax_amount: int, *, prices_include_tax: bool) -> CreditLine:
    """The amounts of a credit memo line for a change order item's amounts."""
    line, adjustment, tax = -line_amount, -adjustment_amount, -tax_amount
    return CreditLine(line, adjustment, tax, line + adjustment - (tax if prices_include_tax else 0))


@dataclass(frozen=True, slots=True)
class CreditTotals:
    net: int
    tax: int
    total: int

    @property
    def credits_nothing(self) -> bool:
        return self.total <= 0

    @property
    def storable(self) -> bool:
        return max(abs(self.net), abs(self.tax), self.total) <= MAX_MINOR


def credit_totals(lines: Iterable[CreditLine]) -> CreditTotals:
    net = tax = 0
    for line in lines:
        net += line.net
        tax += line.tax
    return CreditTotals(net, tax, net + tax)


# ------------------------------------------------------------------------------------------------
# Ensure funds: which authorized funds pay an invoice


@dataclass(frozen=True, slots=True)
class Take(Generic[K]):
    key: K
    amount: int


def choose_funds(available: Sequence[tuple[K, int]], need: int) -> list[Take[K]]:
    """Which sources pay `need`, as Salesforce's Ensure Funds chooses payment summaries: one whose
    available amount equals the need; else the smallest one larger than it; else the largest
    first, then the next largest, until the need is covered (or the sources run out).

    Ties keep the given order, so callers list sources oldest first.
    """
    if need <= 0:
        return []
    usable = [(k, a) for k, a in available if a > 0]
    for key, amount in usable:
        if amount == need:
            return [Take(key, need)]
    larger = [(k, a) for k, a in usable if a > need]
    if larger:
        key, _ = min(larger, key=lambda ka: ka[1])
        return [Take(key, need)]
    takes: list[Take[K]] = []
    left = need
    for key, amount in sorted(usable, key=lambda ka: -ka[1]):
        if left == 0:
            break
        take = min(amount, left)
        takes.append(Take(key, take))
        left -= take
    return takes


# ------------------------------------------------------------------------------------------------
# Ensure refunds: the money of an order's captures


@dataclass(frozen=True, slots=True)
class CaptureFunds:
    """What one succeeded capture of an order can still give back, and from which money.

    `unapplied` is captured money no invoice uses (captured − refunded − applied + refunds of
    applied money); `applied_refundable` is money applied to invoices that was not refunded yet.
    """

    capture_id: object
    available_to_refund: int
    unapplied: int
    applied_refundable: int


def plan_refunds(captures: Sequence[CaptureFunds], *, from_unapplied: int, from_applied: int) -> list[
    tuple[object, str, int]
]:
    """Refunds (capture, source, amount) giving back `from_unapplied` of unapplied money and
    `from_applied` of applied money, newest capture first, never above a capture's available
    to refund. What the captures cannot give is left out (the caller sees the shortfall)."""
    plan: list[tuple[object, str, int]] = []
    room = {id(c): c.available_to_refund for c in captures}
    for source, wanted in (("unapplied", from_unapplied), ("applied", from_applied)):
        left = wanted
        for c in reversed(captures):
            if left <= 0:
                break
            pool = c.unapplied if source == "unapplied" else c.applied_refundable
            take = min(left, max(0, pool), room[id(c)])
            if take > 0:
                plan.append((c.capture_id, source, take))
                room[id(c)] -= take
                left -= take
    return plan
