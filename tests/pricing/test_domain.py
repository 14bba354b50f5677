"""The pure pricing rules: tiers, line amounts, book order, buy X get Y, promotions and stacking."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from ordino.kernel.errors import FieldError
from ordino.pricing.domain import (
    Adjustment,
    Book,
    BookRef,
    Entry,
    Limits,
    Line,
    Offer,
    Terms,
    Tier,
    apply_promotions,
    check_terms,
    free_units,
    line_amount,
    overlapping,
    refusal,
    resolution_order,
    resolve_price,
)

AT = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
JAN = datetime(2026, 1, 1, tzinfo=UTC)
DEC = datetime(2026, 12, 1, tzinfo=UTC)


def offer(code: str, level: str, kind: str, **kw: Any) -> Offer:
    for name in ("percentage", "amount"):
        if name in kw:
            kw[name] = Decimal(kw[name])
    kw.setdefault("name", code)
    return Offer(code=code, level=level, kind=kind, reference=kw.pop("reference", code), **kw)


# ----------------------------------------------------------------------------------------------
# Tiers and line amounts


@pytest.mark.parametrize(
    ("quantity", "price"),
    [(1, "0.0400"), (999, "0.0400"), (1000, "0.0350"), (4999, "0.0350"), (5000, "0.0300"), (10**9, "0.0300")],
)
def test_the_highest_tier_not_above_the_quantity_wins(quantity: int, price: str) -> None:
    # given tiers listed out of order
    e = Entry("BOLT-M8", Decimal("0.0400"), (Tier(5000, Decimal("0.0300")), Tier(1000, Decimal("0.0350"))))
    # then the price is the one of the highest from_quantity reached
    assert e.price_for(quantity) == Decimal(price)


@pytest.mark.parametrize(
    ("price", "quantity", "currency", "minor"),
    [
        ("0.035", 500, "EUR", 1750),
        ("0.035", 11, "EUR", 39),  # 0.385 → 0.39 (half up)
        ("0.0349", 10, "EUR", 35),  # 0.349 → 0.35
        ("12.5", 1, "JPY", 13),  # 12.5 → 13
        ("1.4", 3, "JPY", 4),  # 4.2 → 4
        ("0.0125", 3, "KWD", 38),  # 0.0375 → 0.038
        ("1.2345", 1, "BHD", 1235),  # 1.2345 → 1.235
        ("0.000001", 1, "EUR", 0),
        ("999999999999.999999", 1, "EUR", 100000000000000),
    ],
)
def test_a_line_amount_is_rounded_once_half_up(price: str, quantity: int, currency: str, minor: int) -> None:
    assert line_amount(Decimal(price), quantity, currency) == minor


# ----------------------------------------------------------------------------------------------
# Which book prices a line


def _ref(code: str, depth: int | None, valid_from: datetime | None = None, *, n: int) -> BookRef:
    return BookRef(uuid.UUID(int=n), code, depth, valid_from)


def test_books_are_tried_nearest_account_first_then_the_standard_book() -> None:
    refs = [
        _ref("LIST-EUR", None, n=1),
        _ref("GROUP-2026", 2, n=2),
        _ref("ACME-2025", 1, datetime(2025, 1, 1, tzinfo=UTC), n=3),
        _ref("ACME-2026", 1, JAN, n=4),
        _ref("ACME-OPEN", 1, None, n=5),
        _ref("BER", 0, n=6),
        _ref("GROUP-2026", 1, n=2),  # the same book assigned again, nearer: counted at the nearer depth
    ]
    order = [r.code for r in resolution_order(refs)]
    # depth 1: the latest start first (ACME-2026, ACME-2025), then the books without a start,
    # newest (highest UUIDv7) first: ACME-OPEN, GROUP-2026
    assert order == ["BER", "ACME-2026", "ACME-2025", "ACME-OPEN", "GROUP-2026", "LIST-EUR"]


def test_the_first_book_with_a_valid_entry_wins() -> None:
    contract = Book("ACME", {"BOLT-M8": [Entry("BOLT-M8", Decimal("0.030"), valid_to=JAN)]})  # expired
    parent = Book("GROUP", {"NUT-M8": [Entry("NUT-M8", Decimal("0.010"))]})
    standard = Book("LIST", {"BOLT-M8": [Entry("BOLT-M8", Decimal("0.040"))], "NUT-M8": [Entry("NUT-M8", Decimal(1))]})
    books = [contract, parent, standard]
    assert resolve_price(books, "BOLT-M8", 10, AT) == resolve_price([standard], "BOLT-M8", 10, AT)
    assert resolve_price(books, "BOLT-M8", 10, AT).book == "LIST"  # type: ignore[union-attr]
    assert resolve_price(books, "NUT-M8", 10, AT).unit_price == Decimal("0.010")  # type: ignore[union-attr]
    assert resolve_price(books, "BOLT-M8", 10, datetime(2025, 6, 1, tzinfo=UTC)).book == "ACME"  # type: ignore[union-attr]
    assert resolve_price(books, "WASHER-M8", 10, AT) is None


def test_a_window_is_half_open() -> None:
    book = Book("B", {"X": [Entry("X", Decimal(1), valid_to=AT), Entry("X", Decimal(2), valid_from=AT)]})
    assert resolve_price([book], "X", 1, AT).unit_price == Decimal(2)  # type: ignore[union-attr]


def test_overlapping_windows_are_found() -> None:
    windows = [(None, JAN), (JAN, DEC), (AT, None), (DEC, None)]
    # [JAN, DEC) and [AT, ∞) overlap; [DEC, ∞) overlaps [AT, ∞); (−∞, JAN) touches [JAN, DEC) only
    assert overlapping(windows) == [(1, 2), (2, 3)]


# ----------------------------------------------------------------------------------------------
# Buy X get Y


def test_buy_10_get_1_of_the_same_sku_counts_groups_of_11() -> None:
    bxgy = offer("B10G1", "line", "buy_x_get_y", buy_quantity=10, get_quantity=1)
    for quantity, free in [(10, 0), (11, 1), (21, 1), (22, 2), (110, 10)]:
        assert free_units(bxgy, [Line("a", "BOLT-M8", quantity, 0)]) == ({"a": free} if free else {})


def test_free_units_of_one_sku_over_several_lines_fill_the_earlier_lines_first() -> None:
    bxgy = offer("B10G1", "line", "buy_x_get_y", buy_quantity=10, get_quantity=2)
    lines = [Line("a", "BOLT-M8", 1, 0), Line("b", "BOLT-M8", 23, 0), Line("c", "NUT-M8", 30, 0)]
    # BOLT: 24 units, two groups of 12, 4 free: 1 on a, 3 on b; NUT: 30 units, 4 free
    assert free_units(bxgy, lines) == {"a": 1, "b": 3, "c": 4}


def test_buying_one_sku_makes_units_of_another_free_as_far_as_the_order_holds_them() -> None:
    bxgy = offer("BOLTS-NUTS", "line", "buy_x_get_y", buy_quantity=10, get_quantity=1, get_sku="NUT-M8",
                 skus=frozenset({"BOLT-M8"}))
    assert free_units(bxgy, [Line("a", "BOLT-M8", 25, 0), Line("b", "NUT-M8", 5, 0)]) == {"b": 2}
    assert free_units(bxgy, [Line("a", "BOLT-M8", 25, 0), Line("b", "NUT-M8", 1, 0)]) == {"b": 1}
    assert free_units(bxgy, [Line("a", "BOLT-M8", 25, 0)]) == {}
    assert free_units(bxgy, [Line("a", "BOLT-M8", 9, 0), Line("b", "NUT-M8", 5, 0)]) == {}


# ----------------------------------------------------------------------------------------------
# Promotions


LINES = [Line("bolts", "BOLT-M8", 500, 1750), Line("nuts", "NUT-M8", 333, 333)]


def test_a_line_percentage_takes_its_share_of_each_qualifying_line() -> None:
    ten = offer("TEN", "line", "percentage", percentage="10", skus=frozenset({"BOLT-M8"}))
    d = apply_promotions(LINES, [ten], "EUR")
    assert d.by_line == {"bolts": (Adjustment("TEN", "TEN", -175),)}
    assert (d.total, [o.code for o in d.applied]) == (-175, ["TEN"])


def test_a_line_amount_is_per_unit_and_never_more_than_the_line() -> None:
    off = offer("HALF-CENT", "line", "amount", amount="0.005")
    d = apply_promotions(LINES, [off], "EUR")
    # bolts: 0.005 × 500 = 2.50; nuts: 0.005 × 333 = 1.665 → 1.67
    assert d.by_line == {"bolts": (Adjustment("HALF-CENT", "HALF-CENT", -250),),
                         "nuts": (Adjustment("HALF-CENT", "HALF-CENT", -167),)}
    big = offer("BIG", "line", "amount", amount="1")
    assert apply_promotions(LINES, [big], "EUR").total == -(1750 + 333)


def test_an_order_percentage_is_rounded_once_and_allocated_by_largest_remainder() -> None:
    ten = offer("ORDER10", "order", "percentage", percentage="10")
    d = apply_promotions(LINES, [ten], "EUR")
    # 10 % of 20.83 = 2.083 → 2.08; 208 × 1750/2083 = 174.75 and 208 × 333/2083 = 33.25 → 175 + 33
    assert d.by_line == {"bolts": (Adjustment("ORDER10", "ORDER10", -175),),
                         "nuts": (Adjustment("ORDER10", "ORDER10", -33),)}


def test_an_order_amount_is_allocated_exactly_and_capped_at_the_subtotal() -> None:
    five = offer("FIVE", "order", "amount", amount="5.00")
    d = apply_promotions(LINES, [five], "EUR")
    # 500 × 1750/2083 = 420.07 and 500 × 333/2083 = 79.93 → 420 + 80
    assert {k: a[0].amount for k, a in d.by_line.items()} == {"bolts": -420, "nuts": -80}
    huge = offer("HUGE", "order", "amount", amount="100.00")
    assert {k: a[0].amount for k, a in apply_promotions(LINES, [huge], "EUR").by_line.items()} == {
        "bolts": -1750, "nuts": -333,
    }


def test_an_order_promotion_limited_to_skus_counts_and_discounts_only_those_lines() -> None:
    five = offer("NUTS5", "order", "amount", amount="1.00", skus=frozenset({"NUT-M8"}), min_subtotal=333)
    assert {k: a[0].amount for k, a in apply_promotions(LINES, [five], "EUR").by_line.items()} == {"nuts": -100}
    short = offer("NUTS5", "order", "amount", amount="1.00", skus=frozenset({"NUT-M8"}), min_subtotal=334)
    assert apply_promotions(LINES, [short], "EUR").by_line == {}


def test_buy_x_get_y_takes_the_free_units_share_of_the_line() -> None:
    bxgy = offer("B10G1", "line", "buy_x_get_y", buy_quantity=10, get_quantity=1)
    # 11 × 0.035 = 0.385 → 0.39; the 10 paid units' share is 39 × 10/11 = 35.45 → 35; 4 off
    d = apply_promotions([Line("a", "BOLT-M8", 11, 39)], [bxgy], "EUR")
    assert d.by_line == {"a": (Adjustment("B10G1", "B10G1", -4),)}


def test_stackable_promotions_apply_line_level_first_each_on_what_is_left() -> None:
    line10 = offer("LINE10", "line", "percentage", percentage="10")
    order5 = offer("ORDER5", "order", "percentage", percentage="5", priority=99)
    d = apply_promotions([Line("a", "BOLT-M8", 500, 1750)], [order5, line10], "EUR")
    # 10 % of 17.50 = 1.75; 5 % of 15.75 = 0.7875 → 0.79
    assert d.by_line == {"a": (Adjustment("LINE10", "LINE10", -175), Adjustment("ORDER5", "ORDER5", -79))}
    assert [o.code for o in d.applied] == ["LINE10", "ORDER5"]


def test_higher_priority_applies_first_among_stackable_promotions() -> None:
    line = [Line("a", "X", 10, 1000)]
    half = offer("HALF", "line", "percentage", percentage="50", priority=10)
    thirty = offer("THIRTY", "line", "amount", amount="0.30", priority=0)
    assert apply_promotions(line, [half, thirty], "EUR").total == -800  # 500 off, then 300
    first = offer("THIRTY", "line", "amount", amount="0.30", priority=20)
    assert apply_promotions(line, [half, first], "EUR").total == -650  # 300 off, then 350


def test_the_best_of_the_stack_and_each_non_stackable_promotion_wins() -> None:
    line = [Line("a", "BOLT-M8", 500, 1750)]
    stack = [
        offer("LINE10", "line", "percentage", percentage="10"),
        offer("ORDER5", "order", "percentage", percentage="5"),
    ]
    exclusive15 = offer("VIP15", "order", "percentage", percentage="15", stackable=False)
    exclusive12 = offer("VIP12", "order", "percentage", percentage="12", stackable=False)
    # the stack takes 2.54; 15 % is 2.625 → 2.63 and wins; 12 % is 2.10 and loses
    won = apply_promotions(line, [*stack, exclusive15, exclusive12], "EUR")
    assert (won.total, [o.code for o in won.applied]) == (-263, ["VIP15"])
    lost = apply_promotions(line, [*stack, exclusive12], "EUR")
    assert (lost.total, [o.code for o in lost.applied]) == (-254, ["LINE10", "ORDER5"])


def test_equal_discounts_go_to_the_higher_priority_then_the_code() -> None:
    line = [Line("a", "X", 1, 1000)]
    a = offer("A", "order", "amount", amount="1.00", stackable=False)
    b = offer("B", "order", "amount", amount="1.00", stackable=False, priority=1)
    c = offer("C", "order", "amount", amount="1.00", stackable=False, priority=1)
    assert [o.code for o in apply_promotions(line, [a, c, b], "EUR").applied] == ["B"]


def test_a_coupon_promotion_names_the_coupon_as_reference() -> None:
    coupon = offer("WINTER", "order", "percentage", percentage="10", reference="WINTER-ACME", coupon="WINTER-ACME")
    d = apply_promotions([Line("a", "X", 1, 1000)], [coupon], "EUR")
    assert d.by_line == {"a": (Adjustment("WINTER", "WINTER-ACME", -100),)}


def test_nothing_to_discount_gives_no_adjustments() -> None:
    zero = [Line("a", "X", 5, 0)]
    offers = [offer("P", "line", "percentage", percentage="10"), offer("O", "order", "amount", amount="1")]
    assert apply_promotions(zero, offers, "EUR") == apply_promotions(zero, [], "EUR")
    assert apply_promotions(zero, offers, "EUR").by_line == {}


# ----------------------------------------------------------------------------------------------
# Where promotions apply, and their terms


def test_refusals_name_the_reason() -> None:
    acme, other = uuid.UUID(int=1), uuid.UUID(int=2)
    kw: dict[str, Any] = {"at": AT, "currency": "EUR", "accounts": [acme], "channel": "web"}
    assert refusal(Limits(), **kw) is None
    assert refusal(Limits(active=False), **kw) == "is not active"
    assert refusal(Limits(valid_to=AT), **kw) == "is not valid on 2026-11-26"
    assert refusal(Limits(currency="USD"), **kw) == "is for orders in USD"
    assert refusal(Limits(accounts=frozenset({other})), **kw) == "is not for this account"
    assert refusal(Limits(accounts=frozenset({other, acme})), **kw) is None
    assert refusal(Limits(channels=frozenset({"edi"})), **kw) == "is not for this sales channel"


def test_terms_are_checked_field_by_field() -> None:
    assert check_terms(Terms("order", "percentage", percentage=Decimal("12.5"))) == []
    assert check_terms(Terms("order", "percentage", percentage=Decimal(101), amount=Decimal(1))) == [
        FieldError("amount", "is only used by kind 'amount'; leave it out or set it to null"),
        FieldError("percentage", "must be more than 0 and at most 100"),
    ]
    assert check_terms(Terms("order", "amount", amount=Decimal("0.005"), currency="EUR")) == [
        FieldError("amount", "EUR allows at most 2 decimal places")
    ]
    assert check_terms(Terms("line", "amount", amount=Decimal("0.005"))) == [
        FieldError("currency", "is required for kind 'amount'")
    ]
    assert check_terms(Terms("order", "buy_x_get_y", buy_quantity=10)) == [
        FieldError("level", "buy X get Y is a line-level promotion"),
        FieldError("get_quantity", "is required for kind 'buy_x_get_y'"),
    ]
    assert check_terms(
        Terms("line", "percentage", percentage=Decimal(5), min_subtotal=Decimal(100), valid_from=DEC, valid_to=JAN)
    ) == [
        FieldError("min_subtotal", "is only used by order-level promotions"),
        FieldError("valid_to", "must be later than valid_from"),
    ]
    assert check_terms(Terms("order", "percentage", percentage=Decimal(5), min_subtotal=Decimal("100.001"),
                             currency="EUR")) == [
        FieldError("min_subtotal", "must be an amount of EUR and not negative")
    ]
