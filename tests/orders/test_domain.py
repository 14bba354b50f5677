"""orders.domain: quantity buckets, derived totals, line rounding, card number detection."""

from __future__ import annotations

import random
from decimal import Decimal
from fractions import Fraction
from math import floor

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ordino.kernel.money import MAX_MINOR, exponent_of
from ordino.orders.domain import (
    ORDER_LIFECYCLE,
    SERVICING_PATHS,
    Buckets,
    ItemAmounts,
    LineAmounts,
    Totals,
    available_actions,
    line_amount,
    product_line,
    shipping_charge,
    to_minor,
    totals,
)
from ordino.payments.domain import looks_like_card_number

# --- available actions --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "actions"),
    [
        ("created", []),
        ("pending_approval", ["approve", "reject"]),
        ("approved", []),
        ("partially_fulfilled", []),
        ("fulfilled", []),
        ("cancelled", []),
        ("closed", []),
    ],
)
def test_an_order_offers_only_the_actions_an_endpoint_serves(status: str, actions: list[str]) -> None:
    assert available_actions(status) == actions


def test_every_offered_action_has_a_route() -> None:
    from ordino.app import create_app  # the composition root knows every route
    from ordino.settings import Settings

    app = create_app(Settings(database_url="sqlite://", run_worker=False))
    paths = app.openapi()["paths"]
    app.state.db.dispose()
    open_item = [(Buckets(ordered=4, allocated=2, fulfilled=1), 100)]
    offered = {a for s in ORDER_LIFECYCLE.states for a in available_actions(s, open_item)}
    assert sorted(offered) == ["add", "appease", "approve", "cancel", "exchange", "reject", "reship", "return"]
    assert [a for a in sorted(offered)
            if "post" in paths.get(f"/api/v1/orders/{{order_ref}}/{SERVICING_PATHS.get(a, a)}", {})] == [
        "add", "appease", "approve", "cancel", "exchange", "reject", "reship", "return"]


@pytest.mark.parametrize(
    ("status", "buckets", "value", "actions"),
    [
        # nothing shipped: cancel and appease
        ("approved", Buckets(ordered=4, allocated=4), 100, ["cancel", "appease", "add"]),
        # part shipped: the rest can be cancelled, the shipped units returned
        ("partially_fulfilled", Buckets(ordered=4, allocated=4, fulfilled=1), 100,
         ["cancel", "return", "appease", "add", "exchange", "reship"]),
        # all shipped: nothing to cancel
        ("fulfilled", Buckets(ordered=4, allocated=4, fulfilled=4), 100, ["return", "appease", "exchange", "reship"]),
        # all returned: nothing to return, nothing left to appease
        ("fulfilled", Buckets(ordered=4, allocated=4, fulfilled=4, return_initiated=4, returned=4), 100, []),
        # appeased to nothing: no more appeasement
        ("approved", Buckets(ordered=4), 0, ["cancel", "add"]),
        # all cancelled
        ("cancelled", Buckets(ordered=4, canceled=4), 100, []),
        ("pending_approval", Buckets(ordered=4), 100, ["approve", "reject", "cancel", "appease", "add"]),
    ],
)
def test_an_order_offers_the_servicing_actions_its_items_allow(
    status: str, buckets: Buckets, value: int, actions: list[str]
) -> None:
    assert available_actions(status, [(buckets, value)]) == actions


# --- buckets ------------------------------------------------------------------------------------


@st.composite
def valid_buckets(draw: st.DrawFn) -> Buckets:
    """Any state an item can reach: each bucket bounded by the one it comes from."""
    ordered = draw(st.integers(min_value=1, max_value=10_000))
    canceled = draw(st.integers(min_value=0, max_value=ordered))
    allocated = draw(st.integers(min_value=0, max_value=ordered - canceled))
    fulfilled = draw(st.integers(min_value=0, max_value=allocated))
    return_initiated = draw(st.integers(min_value=0, max_value=fulfilled))
    returned = draw(st.integers(min_value=0, max_value=return_initiated))
    return Buckets(ordered, canceled, allocated, fulfilled, return_initiated, returned)


STATUSES = {
    "ordered",
    "partially_allocated",
    "allocated",
    "partially_fulfilled",
    "fulfilled",
    "canceled",
    "returned",
}


@given(valid_buckets())
def test_reachable_buckets_break_no_invariant(b: Buckets) -> None:
    assert b.violations() == []
    assert b.quantity == b.ordered - b.canceled - b.returned >= 0
    assert b.available_to_fulfill == b.available_to_cancel == b.ordered - b.canceled - b.allocated >= 0
    assert b.available_to_return == b.fulfilled - b.return_initiated >= 0
    assert b.status() in STATUSES


def test_derived_quantities_of_one_item() -> None:
    # given 10 ordered, 2 cancelled, 6 allocated of which 5 fulfilled, 3 of those returning, 1 returned
    b = Buckets(ordered=10, canceled=2, allocated=6, fulfilled=5, return_initiated=3, returned=1)
    assert (b.quantity, b.available_to_fulfill, b.available_to_cancel, b.available_to_return) == (7, 2, 2, 2)
    assert b.violations() == []
    assert b.status() == "partially_fulfilled"


@pytest.mark.parametrize(
    ("buckets", "violations"),
    [
        (Buckets(ordered=0), ["ordered must be positive"]),
        (Buckets(ordered=5, canceled=-1), ["canceled is negative"]),
        (Buckets(ordered=5, allocated=6), ["available to fulfil is negative"]),
        (Buckets(ordered=5, canceled=3, allocated=3), ["available to fulfil is negative"]),
        (Buckets(ordered=5, allocated=2, fulfilled=3), ["fulfilled exceeds allocated"]),
        (Buckets(ordered=5, allocated=3, fulfilled=3, return_initiated=4), ["available to return is negative"]),
        (
            Buckets(ordered=5, allocated=3, fulfilled=3, return_initiated=1, returned=2),
            ["returned exceeds return initiated"],
        ),
        (
            Buckets(ordered=5, canceled=4, allocated=1, fulfilled=1, return_initiated=2, returned=2),
            ["available to return is negative", "quantity is negative"],
        ),
    ],
)
def test_impossible_buckets_name_what_they_break(buckets: Buckets, violations: list[str]) -> None:
    assert buckets.violations() == violations


@pytest.mark.parametrize(
    ("buckets", "status"),
    [
        (Buckets(ordered=5), "ordered"),
        (Buckets(ordered=5, allocated=2), "partially_allocated"),
        (Buckets(ordered=5, allocated=5), "allocated"),
        (Buckets(ordered=5, canceled=2, allocated=3), "allocated"),
        (Buckets(ordered=5, allocated=5, fulfilled=1), "partially_fulfilled"),
        (Buckets(ordered=5, allocated=5, fulfilled=5), "fulfilled"),
        (Buckets(ordered=5, canceled=1, allocated=4, fulfilled=4), "fulfilled"),
        (Buckets(ordered=5, canceled=5), "canceled"),
        (Buckets(ordered=5, allocated=5, fulfilled=5, return_initiated=5, returned=5), "returned"),
        (Buckets(ordered=5, canceled=2, allocated=3, fulfilled=3, return_initiated=3, returned=3), "returned"),
        (Buckets(ordered=5, allocated=5, fulfilled=5, return_initiated=2, returned=2), "fulfilled"),
    ],
)
def test_item_status_follows_the_buckets(buckets: Buckets, status: str) -> None:
    assert buckets.status() == status


# --- totals -------------------------------------------------------------------------------------

ITEMS = [
    ItemAmounts("product", line_amount=10000, adjustment_amount=-1000, tax_amount=1710),
    ItemAmounts("product", line_amount=2500, adjustment_amount=0, tax_amount=475),
    ItemAmounts("fee", line_amount=300, adjustment_amount=0, tax_amount=57),
    ItemAmounts("delivery_charge", line_amount=1250, adjustment_amount=-250, tax_amount=190),
]


def test_totals_with_net_prices_add_the_tax() -> None:
    assert totals(ITEMS, prices_include_tax=False) == Totals(
        product=12800,  # products and fees before discounts
        adjustment=-1000,  # their discounts
        delivery=1000,  # shipping after its own discount
        tax=2432,
        grand_total=12800 - 1000 + 1000 + 2432,
    )


def test_totals_with_gross_prices_do_not_add_the_tax_again() -> None:
    assert totals(ITEMS, prices_include_tax=True) == Totals(
        product=12800, adjustment=-1000, delivery=1000, tax=2432, grand_total=12800
    )


def test_totals_of_nothing_are_zero() -> None:
    assert totals([], prices_include_tax=False) == Totals(0, 0, 0, 0, 0)


@given(
    st.lists(
        st.builds(
            ItemAmounts,
            st.sampled_from(["product", "fee", "delivery_charge"]),
            st.integers(min_value=0, max_value=10**9),
            st.integers(min_value=-(10**9), max_value=0),
            st.integers(min_value=0, max_value=10**8),
        ),
        max_size=20,
    ),
    st.booleans(),
)
def test_grand_total_is_the_sum_of_the_items(items: list[ItemAmounts], gross: bool) -> None:
    t = totals(items, prices_include_tax=gross)
    net = sum(i.line_amount + i.adjustment_amount for i in items)
    assert t.grand_total == net + (0 if gross else sum(i.tax_amount for i in items))
    assert t.product + t.adjustment + t.delivery == net


# --- line amounts -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("unit_price", "quantity", "currency", "minor"),
    [
        ("0.0350", 500, "EUR", 1750),
        ("0.005", 1, "EUR", 1),  # half a cent rounds up
        ("0.004999", 1, "EUR", 0),
        ("0.0025", 2, "EUR", 1),  # 0.005: rounded once, from the exact product
        ("0.125", 1, "EUR", 13),  # half up, not half even (which would give 12)
        ("0.5", 1, "JPY", 1),
        ("2.5", 1, "JPY", 3),
        ("0.333333", 3, "JPY", 1),
        ("0.0005", 1, "BHD", 1),
        ("0.0015", 1, "KWD", 2),
        ("0.000049", 1, "CLF", 0),
        ("0.00005", 1, "CLF", 1),
        ("0", 1000, "EUR", 0),
        # the largest prices the API takes: 12 integer digits, 6 places, up to a billion pieces
        ("999999999999.999999", 1_000_000_000, "EUR", 99999999999999999900000),
        ("999999999999.995", 1, "EUR", 100000000000000),  # a tie: 99999999999999.5 cents
        ("123456789012.345675", 999_999_999, "EUR", 12345678888888888598765),
    ],
)
def test_line_amount_rounds_half_up_once(unit_price: str, quantity: int, currency: str, minor: int) -> None:
    assert line_amount(Decimal(unit_price), quantity, currency) == minor


@given(
    unit_price=st.decimals(
        min_value=0, max_value=Decimal("999999999999.999999"), places=6, allow_nan=False, allow_infinity=False
    ),
    quantity=st.integers(min_value=1, max_value=1_000_000_000),
    currency=st.sampled_from(["JPY", "EUR", "USD", "BHD", "KWD", "CLF"]),
)
def test_line_amount_equals_the_exact_product_rounded_half_up(
    unit_price: Decimal, quantity: int, currency: str
) -> None:
    exact = Fraction(unit_price) * quantity * 10 ** exponent_of(currency)
    assert line_amount(unit_price, quantity, currency) == floor(exact + Fraction(1, 2))


# --- card numbers -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "4111111111111111",  # Visa test number
        "4111 1111 1111 1111",
        "4111-1111-1111-1111",
        "4111  1111 - 1111  1111",
        "5555555555554444",  # Mastercard
        "378282246310005",  # American Express, 15 digits
        "6011111111111117",  # Discover
        "card 4111111111111111 please",
        "4111111111111111 12/28",  # followed by the expiry
        "4111 1111 1111 1111 123",  # followed by the CVC
        "tok_4111111111111111",
    ],
)
def test_card_numbers_are_recognised(text: str) -> None:
    assert looks_like_card_number(text) is True


def _luhn_valid(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def _random_non_luhn(rng: random.Random) -> str:
    while True:
        digits = "".join(rng.choice("0123456789") for _ in range(16))
        if not _luhn_valid(digits):
            return digits


@pytest.mark.parametrize(
    "text",
    [
        "tok_visa",
        "tok_1N3T00LkdIwHu7ix",
        "4111111111111112",  # fails the Luhn check
        "1234567890123456",
        "41111111111",  # 11 digits: too short for a card
        "2026-11-26 10:00",
        "pm_card_visa",
        "",
        *(_random_non_luhn(random.Random(seed)) for seed in range(5)),
    ],
)
def test_tokens_and_non_card_digits_are_not_card_numbers(text: str) -> None:
    assert looks_like_card_number(text) is False


@given(st.text(alphabet="0123456789", min_size=16, max_size=16))
def test_sixteen_digits_are_a_card_number_exactly_when_luhn_holds(digits: str) -> None:
    # one run of digits is checked as a whole
    assert looks_like_card_number(digits) is _luhn_valid(digits)
    # in groups, every run of consecutive groups with 12 to 19 digits is checked (a number may be
    # preceded or followed by other digits: "4111 1111 1111 1111 123")
    grouped = f"{digits[:4]} {digits[4:8]} {digits[8:12]} {digits[12:]}"
    expected = any(_luhn_valid(run) for run in (digits, digits[:12], digits[4:]))
    assert looks_like_card_number(grouped) is expected


# --- the amounts of an order's lines at intake --------------------------------------------------

P = "delivery_groups[0].lines[1]"
D = Decimal


@pytest.mark.parametrize(
    ("unit_price", "quantity", "currency", "promotions", "adjustments", "taxes", "expected"),
    [
        # plain line: 500 × 0.0350 = 17.50
        ("0.0350", 500, "EUR", [], [], [], LineAmounts(D("0.0350"), 1750, 0, 0, (), (), ())),
        # a promotion and an own discount add up; tax lines add up
        ("2.50", 4, "EUR", [-100], ["-0.50"], ["1.71", "0.19"],
         LineAmounts(D("2.50"), 1000, -150, 190, (-50,), (171, 19), ())),
        # JPY has no minor unit: 3 × 333.5 = 1000.5 rounds half up to 1001
        ("333.5", 3, "JPY", [], [], ["80"], LineAmounts(D("333.5"), 1001, 0, 80, (), (80,), ())),
        # discounts may take the line to exactly zero
        ("1.00", 2, "EUR", [-150], ["-0.50"], [], LineAmounts(D("1.00"), 200, -200, 0, (-50,), (), ())),
        # discounts beyond the line amount are refused on the adjustments
        ("1.00", 2, "EUR", [], ["-2.01"], [],
         LineAmounts(D("1.00"), 200, -201, 0, (-201,), (), (
             (f"{P}.adjustments", "discounts exceed the line amount"),
         ))),
        # an amount with too many decimals is named and counts 0; the others are still checked
        ("1.00", 2, "EUR", [], ["-0.005", "-0.10"], ["0.001"],
         LineAmounts(D("1.00"), 200, -10, 0, (0, -10), (0,), (
             (f"{P}.adjustments[0].amount", "EUR allows at most 2 decimal places"),
             (f"{P}.tax_lines[0].amount", "EUR allows at most 2 decimal places"),
         ))),
        # a line amount beyond 64 bits counts 0, so its discount then exceeds it
        ("1E+18", 10, "EUR", [], ["-1.00"], [],
         LineAmounts(D("1E+18"), 0, -100, 0, (-100,), (), (
             (P, "the line amount is larger than Ordino can store"),
             (f"{P}.adjustments", "discounts exceed the line amount"),
         ))),
    ],
)
def test_a_product_line_adds_up_its_amounts_and_names_what_it_refuses(
    unit_price: str, quantity: int, currency: str, promotions: list[int], adjustments: list[str], taxes: list[str],
    expected: LineAmounts,
) -> None:
    # when the line's amounts are computed
    got = product_line(D(unit_price), quantity, currency, P, promotions=promotions,
                       adjustments=[D(a) for a in adjustments], taxes=[D(t) for t in taxes])
    # then they are exactly these
    assert got == expected


def test_tax_lines_that_add_up_beyond_64_bits_count_zero() -> None:
    # given two tax lines, each storable, together one minor unit too many
    half = D(MAX_MINOR // 2 + 1).scaleb(-2)
    # when the line is computed
    got = product_line(D("1.00"), 1, "EUR", P, taxes=[half, half])
    # then each line keeps its amount, the tax counts 0 and the tax lines are named
    assert (got.taxes, got.tax, got.issues) == (
        (MAX_MINOR // 2 + 1, MAX_MINOR // 2 + 1), 0,
        ((f"{P}.tax_lines", "the tax amounts add up to more than Ordino can store"),),
    )


@pytest.mark.parametrize(
    ("charge", "taxes", "currency", "expected"),
    [
        ("12.50", ["2.38"], "EUR", LineAmounts(D("12.50"), 1250, 0, 238, (), (238,), ())),
        ("0", [], "EUR", LineAmounts(D("0.00"), 0, 0, 0, (), (), ())),
        ("1500", [], "JPY", LineAmounts(D("1500"), 1500, 0, 0, (), (), ())),
        ("1.5", [], "KWD", LineAmounts(D("1.500"), 1500, 0, 0, (), (), ())),
        ("12.505", ["0.5"], "EUR", LineAmounts(D("0.00"), 0, 0, 50, (), (50,), (
            ("delivery_groups[2].shipping_charge", "EUR allows at most 2 decimal places"),
        ))),
    ],
)
def test_a_shipping_charge_is_an_item_of_one_unit_priced_at_the_charge(
    charge: str, taxes: list[str], currency: str, expected: LineAmounts
) -> None:
    got = shipping_charge(D(charge), [D(t) for t in taxes], currency, "delivery_groups[2]")
    assert got == expected
    assert str(got.unit_price) == str(expected.unit_price)  # with the currency's exponent


@pytest.mark.parametrize(
    ("value", "currency", "minor", "issues"),
    [
        ("12.50", "EUR", 1250, []),
        ("-0.01", "EUR", -1, []),
        ("7", "JPY", 7, []),
        ("7.5", "JPY", 0, [("payments[0].amount", "JPY allows at most 0 decimal places")]),
        ("1E+30", "EUR", 0, [("payments[0].amount", "'1E+30' is larger than the largest amount Ordino stores")]),
    ],
)
def test_a_payload_amount_in_minor_units_or_named(
    value: str, currency: str, minor: int, issues: list[tuple[str, str]]
) -> None:
    noted: list[tuple[str, str]] = []
    assert to_minor(D(value), currency, "payments[0].amount", noted) == minor
    assert noted == issues


@pytest.mark.parametrize(
    ("t", "storable"),
    [
        (Totals(1, -1, 1, 1, 2), True),
        (Totals(MAX_MINOR, 0, 0, 0, MAX_MINOR), True),
        (Totals(0, -MAX_MINOR, 0, 0, -MAX_MINOR), True),
        (Totals(0, 0, 0, 0, MAX_MINOR + 1), False),
        (Totals(0, -MAX_MINOR - 1, 0, 0, 0), False),
        (Totals(0, 0, 0, MAX_MINOR + 1, 0), False),
    ],
)
def test_totals_are_storable_within_signed_64_bits(t: Totals, storable: bool) -> None:
    assert t.storable is storable
