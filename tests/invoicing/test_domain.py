"""The pure invoicing rules: shares of order lines, due dates and terms, which funds pay an
invoice, how refunds are spread over captures, and the lifecycles."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Context, Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ordino.accounts.schemas import AccountPatch
from ordino.invoicing import domain
from ordino.invoicing.domain import CaptureFunds, Take
from ordino.payments.domain import parse_terms

# ------------------------------------------------------------------------------------------------
# Shares of order lines


@given(st.integers(-10**15, 10**15), st.integers(1, 10**6))
def test_round_half_up_rounds_like_decimal(numerator: int, denominator: int) -> None:
    # a quotient of these sizes is never within 10^-40 of a half unless it is one, so 60 digits decide
    quotient = Context(prec=60).divide(Decimal(numerator), Decimal(denominator))
    expected = int(quotient.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    assert domain.round_half_up(Fraction(numerator, denominator)) == expected


@given(
    amount=st.integers(-10**12, 10**12),
    parts=st.lists(st.integers(1, 1000), min_size=1, max_size=12),
)
def test_shares_of_every_unit_add_up_to_the_line_and_stay_within_a_minor_unit(amount: int, parts: list[int]) -> None:
    # given a line of `ordered` units invoiced in several parts
    ordered = sum(parts)
    invoiced_units = invoiced_amount = 0
    for units in parts:
        # when each part takes its share by the cumulative rule
        invoiced_units += units
        share = domain.cumulative_share(amount, ordered, invoiced_units, invoiced_amount)
        invoiced_amount += share
        # then each share is the exact proportion give or take less than one minor unit
        assert abs(Fraction(share) - Fraction(amount * units, ordered)) < 1
    # and together they are exactly the line's amount
    assert invoiced_amount == amount


def test_shares_of_the_example_order() -> None:
    # 500 bolts for 17.50 (VAT 3.33) shipped as 333 and 167
    assert domain.cumulative_share(1750, 500, 333, 0) == 1166
    assert domain.cumulative_share(1750, 500, 500, 1166) == 584
    assert domain.cumulative_share(333, 500, 333, 0) == 222
    assert domain.cumulative_share(333, 500, 500, 222) == 111
    # a discount of -0.10 on 3 nuts, one at a time: halves round away from zero
    assert [domain.cumulative_share(-10, 3, n, before) for n, before in ((1, 0), (2, -3), (3, -7))] == [-3, -4, -3]


def test_more_units_than_ordered_are_refused() -> None:
    with pytest.raises(ValueError):
        domain.cumulative_share(100, 3, 4, 0)


# ------------------------------------------------------------------------------------------------
# Terms and due dates


@pytest.mark.parametrize(("terms", "due"), [
    ("due_on_receipt", date(2026, 11, 26)),
    ("net_15", date(2026, 12, 11)),
    ("net_30", date(2026, 12, 26)),
    ("net_60", date(2027, 1, 25)),
    ("eom", date(2026, 11, 30)),
    ("net_30_eom", date(2026, 12, 30)),
])
def test_due_dates(terms: str, due: date) -> None:
    assert domain.due_date(date(2026, 11, 26), terms) == due


def test_due_date_of_unknown_terms_is_refused() -> None:
    with pytest.raises(ValueError):
        domain.due_date(date(2026, 11, 26), "net_0")


@pytest.mark.parametrize(("instructions", "account", "terms"), [
    ([{"method": "invoice", "terms": "net_15"}], "net_60", "net_15"),  # the order's terms win
    ([{"method": "invoice"}], "net_60", "net_60"),  # then the account's
    ([{"method": "invoice"}], None, "net_30"),  # then the default terms of invoice payment
    ([{"method": "card", "gateway": "simulator", "token": "tok_visa"}], None, "due_on_receipt"),
    ([{"method": "card", "gateway": "simulator", "token": "tok_visa"}], "eom", "eom"),
    ([], None, "due_on_receipt"),
])
def test_invoice_terms(instructions: list[dict[str, object]], account: str | None, terms: str) -> None:
    assert domain.invoice_terms(instructions, account) == terms


_codes = st.one_of(
    st.sampled_from(["due_on_receipt", "eom", "net_", "net_0", "net_366", "net_30_eom", "net_030", "NET_30",
                     "net_30 "]),
    st.builds(lambda d, eom: f"net_{d}{'_eom' if eom else ''}", st.integers(0, 1200), st.booleans()),
    st.text(max_size=12),
)


@given(_codes)
def test_accounts_accept_exactly_the_terms_payments_can_read(code: str) -> None:
    # accounts sit below payments and keep their own copy of the rule: both must agree
    try:
        AccountPatch.model_validate({"payment_terms": code})
        accepted = True
    except ValueError:
        accepted = False
    assert accepted == (parse_terms(code.strip()) is not None)


# ------------------------------------------------------------------------------------------------
# Ensure funds: which summaries pay


@pytest.mark.parametrize(("available", "need", "takes"), [
    ([("a", 5000), ("b", 3000), ("c", 3000)], 3000, [Take("b", 3000)]),  # one equal to the need
    ([("a", 5000), ("b", 3500), ("c", 1000)], 3000, [Take("b", 3000)]),  # else the smallest larger
    ([("a", 1000), ("b", 2500), ("c", 800)], 4000, [Take("b", 2500), Take("a", 1000), Take("c", 500)]),  # largest first
    ([("a", 1000), ("b", 500)], 4000, [Take("a", 1000), Take("b", 500)]),  # not enough: all there is
    ([("a", 0), ("b", 700)], 700, [Take("b", 700)]),
    ([("a", 700)], 0, []),
])
def test_funds_are_chosen_as_salesforce_chooses_payment_summaries(
    available: list[tuple[str, int]], need: int, takes: list[Take[str]]
) -> None:
    assert domain.choose_funds(available, need) == takes


@given(st.lists(st.integers(0, 10_000), max_size=6), st.integers(0, 30_000))
def test_chosen_funds_never_exceed_what_is_available_or_needed(amounts: list[int], need: int) -> None:
    available = list(enumerate(amounts))
    takes = domain.choose_funds(available, need)
    assert sum(t.amount for t in takes) == min(need, sum(amounts))
    assert all(0 < t.amount <= amounts[t.key] for t in takes)
    assert len({t.key for t in takes}) == len(takes)


# ------------------------------------------------------------------------------------------------
# Ensure refunds: which captures give back


def test_refunds_go_to_the_newest_captures_first_and_never_above_what_each_can_refund() -> None:
    captures = [
        CaptureFunds("old", available_to_refund=1000, unapplied=0, applied_refundable=1000),
        CaptureFunds("mid", available_to_refund=800, unapplied=300, applied_refundable=500),
        CaptureFunds("new", available_to_refund=200, unapplied=200, applied_refundable=0),
    ]
    plan = domain.plan_refunds(captures, from_unapplied=600, from_applied=900)
    assert plan == [("new", "unapplied", 200), ("mid", "unapplied", 300), ("mid", "applied", 500),
                    ("old", "applied", 400)]


def test_refunds_cannot_give_more_than_the_captures_hold() -> None:
    captures = [CaptureFunds("only", available_to_refund=100, unapplied=100, applied_refundable=0)]
    assert domain.plan_refunds(captures, from_unapplied=250, from_applied=50) == [("only", "unapplied", 100)]


# ------------------------------------------------------------------------------------------------
# Lifecycles


@pytest.mark.parametrize(("status", "total", "applied", "action"), [
    ("open", 1000, 0, None),
    ("open", 1000, 400, "pay_partially"),
    ("open", 1000, 1000, "pay"),
    ("partially_paid", 1000, 700, None),
    ("partially_paid", 1000, 1000, "pay"),
    ("paid", 1000, 1000, None),
    ("cancelled", 1000, 0, None),
])
def test_invoice_status_follows_its_balance(status: str, total: int, applied: int, action: str | None) -> None:
    assert domain.invoice_action(status, total, applied) == action
    if action:
        domain.INVOICE_LIFECYCLE.target(status, action)  # the table allows it


@pytest.mark.parametrize(("status", "balance", "refunded", "action"), [
    ("open", 500, 0, None),
    ("open", 300, 200, "refund_partially"),
    ("open", 0, 0, "close"),  # settled without a refund: never charged
    ("partially_refunded", 0, 500, "close"),
    ("closed", 0, 500, None),
])
def test_credit_memo_status_follows_its_balance(status: str, balance: int, refunded: int, action: str | None) -> None:
    assert domain.credit_memo_action(status, balance, refunded) == action


def test_exemption_reasons_default_by_category() -> None:
    assert [domain.exemption_reason(c, None) for c in ("S", "AE", "K", "G", "O", "E", None)] == [
        None, "VATEX-EU-AE", "VATEX-EU-IC", "VATEX-EU-G", "VATEX-EU-O", None, None]
    assert domain.exemption_reason("E", "VATEX-EU-132-1I") == "VATEX-EU-132-1I"


def test_no_invoice_takes_more_discount_than_its_share_of_the_line() -> None:
    # given 4 units of 0.025 (line 0.10) less 0.09, invoiced 1, 1 and 2 units at a time
    line, discount, ordered = 10, -9, 4
    billed_line = billed_discount = 0
    invoices = []
    for after in (1, 2, 4):
        line_share = domain.cumulative_share(line, ordered, after, billed_line)
        discount_share = domain.discount_share(discount, billed_discount, line_share, ordered, after)
        invoices.append((line_share, discount_share))
        billed_line, billed_discount = billed_line + line_share, billed_discount + discount_share
    # then the second invoice takes only as much discount as its line (0.02), none is negative,
    # and together they take exactly the line and the discount
    assert invoices == [(3, -2), (2, -2), (5, -5)]
    assert (billed_line, billed_discount) == (10, -9)


def test_an_invoice_discount_is_split_over_the_discount_lines_by_what_each_has_left() -> None:
    assert domain.split_discount(-5, [-6, -3]) == [-3, -2]
    assert domain.split_discount(-3, [-2, -1]) == [-2, -1]
    assert domain.split_discount(0, [-2, -1]) == [0, 0]
    assert domain.split_discount(-1, [0, 0, -4]) == [0, 0, -1]


# ------------------------------------------------------------------------------------------------
# Credit memos


@dataclass(frozen=True)
class Src:
    """A tax or adjustment line as the database gives it."""

    name: str
    amount: int


VAT19, VAT7 = Src("VAT 19%", 1900), Src("VAT 7%", 700)
PROMO, DEAL = Src("Promo", -300), Src("Deal", -100)


@pytest.mark.parametrize(
    ("total", "own", "originals", "expected"),
    [
        # the change order's own lines add up to the credit: they are credited as they are, negated
        (250, [Src("VAT 19%", -190), Src("VAT 7%", -60)], [VAT19, VAT7],
         [("VAT 19%", 190, Src("VAT 19%", -190)), ("VAT 7%", 60, Src("VAT 7%", -60))]),
        # own lines that do not add up to it: the credit is spread over the originals by amount
        (260, [Src("VAT 19%", -190)], [VAT19, VAT7], [("VAT 19%", 190, VAT19), ("VAT 7%", 70, VAT7)]),
        # no own lines: spread; remainders go to the largest shares first
        (100, [], [VAT19, VAT7], [("VAT 19%", 73, VAT19), ("VAT 7%", 27, VAT7)]),
        # a negative credit (an adjustment given back) is spread with its sign
        (-100, [], [PROMO, DEAL], [("Promo", -75, PROMO), ("Deal", -25, DEAL)]),
        # originals without amounts, or none: one plain line
        (40, [], [Src("Zero", 0)], [("Tax", 40, None)]),
        (40, [], [], [("Tax", 40, None)]),
        # nothing to credit: no line, whatever the originals
        (0, [], [VAT19], []),
        (0, [Src("VAT 19%", 0)], [VAT19], [("VAT 19%", 0, Src("VAT 19%", 0))]),
    ],
)
def test_credited_parts_take_the_change_orders_own_lines_or_spread_the_credit(
    total: int, own: list[Src], originals: list[Src], expected: list[tuple[str, int, Src | None]]
) -> None:
    # when the credit memo line's tax lines are chosen
    parts = domain.credited_parts(total, own, originals, "Tax")
    # then names and amounts are exactly these, each with the line it credits
    assert [(p.name, p.amount, p.source) for p in parts] == expected


@pytest.mark.parametrize(
    ("line", "adjustment", "tax", "gross", "expected"),
    [
        # a return of 2 × 10.00 with a 1.00 discount and 19 % tax, net prices
        (-2000, 100, -361, False, domain.CreditLine(2000, -100, 361, 1900)),
        # the same with gross prices: the net leaves the tax out
        (-2000, 100, -303, True, domain.CreditLine(2000, -100, 303, 1597)),
        # an appeasement of the amount only
        (-500, 0, 0, False, domain.CreditLine(500, 0, 0, 500)),
    ],
)
def test_a_credit_memo_line_is_the_change_order_item_negated(
    line: int, adjustment: int, tax: int, gross: bool, expected: domain.CreditLine
) -> None:
    assert domain.credit_line(line, adjustment, tax, prices_include_tax=gross) == expected


MAX = 2**63 - 1


@pytest.mark.parametrize(
    ("lines", "totals", "credits_nothing", "storable"),
    [
        ([domain.CreditLine(2000, -100, 361, 1900), domain.CreditLine(500, 0, 0, 500)],
         domain.CreditTotals(2400, 361, 2761), False, True),
        ([], domain.CreditTotals(0, 0, 0), True, True),
        # a change order that adds to the order credits nothing
        ([domain.CreditLine(-500, 0, -95, -500)], domain.CreditTotals(-500, -95, -595), True, True),
        ([domain.CreditLine(MAX, 0, 0, MAX), domain.CreditLine(1, 0, 0, 1)],
         domain.CreditTotals(MAX + 1, 0, MAX + 1), False, False),
        ([domain.CreditLine(MAX - 1, 0, 1, MAX - 1)], domain.CreditTotals(MAX - 1, 1, MAX), False, True),
    ],
)
def test_credit_totals_add_the_lines_and_say_whether_they_can_be_issued(
    lines: list[domain.CreditLine], totals: domain.CreditTotals, credits_nothing: bool, storable: bool
) -> None:
    got = domain.credit_totals(lines)
    assert (got, got.credits_nothing, got.storable) == (totals, credits_nothing, storable)
