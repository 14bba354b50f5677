"""`price_lines`: which book prices a line (own contract, ancestors', the standard list), validity
dates, tiers, currencies, promotions and coupons; `consume_coupons` counts uses under a limit."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from ordino.kernel.db import Database
from ordino.kernel.errors import Conflict
from ordino.kernel.outbox import OutboxEvent
from ordino.pricing.domain import Adjustment
from ordino.pricing.service import PricedOrder, PricingError, PricingLine, consume_coupons, price_lines
from tests.pricing.conftest import NOW, account_id, book, count, entry, promotion, times_used

NOV1 = datetime(2026, 11, 1, tzinfo=UTC)
DEC1 = datetime(2026, 12, 1, tzinfo=UTC)


def price(
    db: Database,
    account: str,
    lines: Sequence[tuple[str, int]],
    *,
    currency: str = "EUR",
    channel: str | None = "web",
    at: datetime = NOW,
    coupons: Sequence[str] = (),
) -> PricedOrder:
    with db.read() as s:
        return price_lines(
            s, account_id=account_id(db, account), currency=currency, channel_code=channel, at=at,
            lines=[PricingLine(sku, quantity, i) for i, (sku, quantity) in enumerate(lines)], coupons=coupons,
        )


def summary(priced: PricedOrder) -> list[tuple[str, str, int, str]]:
    """(sku, unit price, line amount, book) per line."""
    return [(p.sku, str(p.unit_price.normalize()), p.line_amount, p.price_book) for p in priced.lines.values()]


@pytest.fixture
def books(world: Database, frozen: datetime) -> Database:
    """LIST-EUR (standard): BOLT 0.040 with tiers, NUT 0.010, WASHER 0.005; GROUP-EUR for GROUP:
    BOLT 0.036; ACME-EUR for ACME: NUT 0.008. SCREW has no price."""
    db = world
    book(db, "LIST-EUR", standard=True)
    entry(db, "LIST-EUR", "BOLT-M8", "0.040", {1000: "0.035", 5000: "0.030"})
    entry(db, "LIST-EUR", "NUT-M8", "0.010")
    entry(db, "LIST-EUR", "WASHER-M8", "0.005")
    book(db, "GROUP-EUR", kind="contract", accounts=["GROUP"])
    entry(db, "GROUP-EUR", "BOLT-M8", "0.036")
    book(db, "ACME-EUR", kind="contract", accounts=["ACME"])
    entry(db, "ACME-EUR", "NUT-M8", "0.008")
    return db


ORDER = [("BOLT-M8", 500), ("NUT-M8", 500), ("WASHER-M8", 500)]


# ----------------------------------------------------------------------------------------------
# Resolution order


def test_a_child_account_inherits_its_ancestors_contract_prices_then_the_list(books: Database) -> None:
    # when ACME-BER (child of ACME, grandchild of GROUP) is priced
    priced = price(books, "ACME-BER", ORDER)
    # then BOLT comes from GROUP's book, NUT from ACME's, WASHER from the list
    assert priced.errors == ()
    assert summary(priced) == [
        ("BOLT-M8", "0.036", 1800, "GROUP-EUR"),
        ("NUT-M8", "0.008", 400, "ACME-EUR"),
        ("WASHER-M8", "0.005", 250, "LIST-EUR"),
    ]
    assert (priced.subtotal, priced.adjustment_total, priced.total) == (2450, 0, 2450)
    # and an unrelated account gets list prices
    assert summary(price(books, "OTHER", ORDER)) == [
        ("BOLT-M8", "0.04", 2000, "LIST-EUR"),
        ("NUT-M8", "0.01", 500, "LIST-EUR"),
        ("WASHER-M8", "0.005", 250, "LIST-EUR"),
    ]


def test_an_accounts_own_contract_book_wins_over_its_parents(books: Database) -> None:
    book(books, "BER-EUR", kind="contract", accounts=["ACME-BER"])
    entry(books, "BER-EUR", "BOLT-M8", "0.034")
    entry(books, "BER-EUR", "NUT-M8", "0.009")
    assert summary(price(books, "ACME-BER", ORDER))[:2] == [
        ("BOLT-M8", "0.034", 1700, "BER-EUR"),
        ("NUT-M8", "0.009", 450, "BER-EUR"),
    ]
    # the parent is not affected by its child's book
    assert summary(price(books, "ACME", ORDER))[:2] == [
        ("BOLT-M8", "0.036", 1800, "GROUP-EUR"),
        ("NUT-M8", "0.008", 400, "ACME-EUR"),
    ]


def test_validity_dates_of_books_and_entries_pick_what_is_valid_at_the_pricing_time(books: Database) -> None:
    # given a contract book of ACME that ended on Nov 1st, and list entries that change on Dec 1st
    book(books, "ACME-OLD", kind="contract", accounts=["ACME"], valid_to=NOV1)
    entry(books, "ACME-OLD", "WASHER-M8", "0.001")
    book(books, "ACME-NEXT", kind="contract", accounts=["ACME"], valid_from=DEC1)
    entry(books, "ACME-NEXT", "WASHER-M8", "0.002")
    entry(books, "ACME-EUR", "WASHER-M8", "0.003", valid_from=DEC1)
    lines = [("WASHER-M8", 1000)]
    # then each time sees its own price
    assert summary(price(books, "ACME", lines, at=datetime(2026, 10, 31, 23, 59, tzinfo=UTC))) == [
        ("WASHER-M8", "0.001", 100, "ACME-OLD")
    ]
    assert summary(price(books, "ACME", lines)) == [("WASHER-M8", "0.005", 500, "LIST-EUR")]
    # two books of one account valid at once: the one that started last is tried first
    assert summary(price(books, "ACME", lines, at=DEC1)) == [("WASHER-M8", "0.002", 200, "ACME-NEXT")]


def test_inactive_books_and_books_of_other_currencies_do_not_price(books: Database) -> None:
    book(books, "ACME-OFF", kind="contract", accounts=["ACME"], active=False)
    entry(books, "ACME-OFF", "BOLT-M8", "0.001")
    book(books, "ACME-USD", "USD", kind="contract", accounts=["ACME"])
    entry(books, "ACME-USD", "BOLT-M8", "0.002")
    assert summary(price(books, "ACME", [("BOLT-M8", 100)])) == [("BOLT-M8", "0.036", 360, "GROUP-EUR")]


def test_tiers_count_the_orders_quantity_of_a_sku_over_all_its_lines(books: Database) -> None:
    assert summary(price(books, "OTHER", [("BOLT-M8", 999)])) == [("BOLT-M8", "0.04", 3996, "LIST-EUR")]
    assert summary(price(books, "OTHER", [("BOLT-M8", 600), ("BOLT-M8", 400)])) == [
        ("BOLT-M8", "0.035", 2100, "LIST-EUR"),
        ("BOLT-M8", "0.035", 1400, "LIST-EUR"),
    ]
    assert summary(price(books, "OTHER", [("BOLT-M8", 5000)])) == [("BOLT-M8", "0.03", 15000, "LIST-EUR")]


@pytest.mark.parametrize(
    ("currency", "unit_price", "quantity", "minor"),
    [("JPY", "3.5", 3, 11), ("EUR", "0.035", 11, 39), ("KWD", "0.0125", 3, 38), ("BHD", "1.2345", 1, 1235)],
)
def test_line_amounts_round_once_half_up_in_each_currency(
    world: Database, currency: str, unit_price: str, quantity: int, minor: int
) -> None:
    book(world, f"LIST-{currency}", currency, standard=True)
    entry(world, f"LIST-{currency}", "BOLT-M8", unit_price)
    priced = price(world, "ACME", [("BOLT-M8", quantity)], currency=currency)
    assert summary(priced) == [("BOLT-M8", unit_price, minor, f"LIST-{currency}")]
    assert priced.total == minor


def test_a_line_without_a_price_is_an_error_naming_its_sku_and_nothing_is_discounted(books: Database) -> None:
    promotion(books, "ALL10", "line", "percentage", percentage="10")
    priced = price(books, "ACME", [("BOLT-M8", 100), ("SCREW-4x40", 10)])
    assert priced.errors == (
        PricingError(1, "sku", "no price for 'SCREW-4x40' in EUR for this account on 2026-11-26"),
    )
    assert summary(priced) == [("BOLT-M8", "0.036", 360, "GROUP-EUR")]
    assert priced.lines[0].adjustments == ()
    # a currency without a list book prices nothing
    assert price(books, "ACME", [("BOLT-M8", 1)], currency="USD").errors == (
        PricingError(0, "sku", "no price for 'BOLT-M8' in USD for this account on 2026-11-26"),
    )


def test_an_amount_too_large_to_store_is_an_error_naming_the_quantity(world: Database) -> None:
    book(world, "LIST-EUR", standard=True)
    entry(world, "LIST-EUR", "BOLT-M8", "999999999999.999999")
    priced = price(world, "ACME", [("BOLT-M8", 1_000_000_000)])
    assert priced.errors == (PricingError(0, "quantity", "the line amount is larger than Ordino can store"),)
    assert priced.lines == {}


# ----------------------------------------------------------------------------------------------
# Promotions and coupons


def test_promotions_apply_where_their_limits_allow(books: Database) -> None:
    # given promotions limited to GROUP (and so its descendants), to the edi channel, to USD,
    # and one that ended yesterday
    promotion(books, "GROUP5", "order", "percentage", percentage="5", accounts=["GROUP"])
    promotion(books, "EDI-CENT", "line", "amount", amount="0.001", currency="EUR", channels=["edi"])
    promotion(books, "USD10", "order", "percentage", percentage="10", currency="USD")
    promotion(books, "OLD", "order", "percentage", percentage="50", valid_to=datetime(2026, 11, 25, tzinfo=UTC))
    # when ACME-BER orders on the web
    priced = price(books, "ACME-BER", [("BOLT-M8", 500)])
    # then only GROUP5 applies: 5 % of 18.00 = 0.90
    assert priced.promotions == ("GROUP5",)
    assert priced.lines[0].adjustments == (Adjustment("Group5", "GROUP5", -90),)
    assert (priced.subtotal, priced.total) == (1800, 1710)
    # an account outside GROUP on edi gets only the edi promotion: 0.001 × 500 = 0.50
    other = price(books, "OTHER", [("BOLT-M8", 500)], channel="edi")
    assert (other.promotions, other.lines[0].adjustments) == (("EDI-CENT",), (Adjustment("Edi Cent", "EDI-CENT", -50),))
    # without a channel, channel-limited promotions do not apply
    assert price(books, "OTHER", [("BOLT-M8", 500)], channel=None).promotions == ()


def test_buy_10_get_1_free_of_another_sku(books: Database) -> None:
    promotion(books, "BOLTS-NUTS", "line", "buy_x_get_y", buy_quantity=10, get_quantity=1, get_sku="NUT-M8",
              skus=["BOLT-M8"])
    priced = price(books, "OTHER", [("BOLT-M8", 30), ("NUT-M8", 5)])
    # 3 nuts of 5 are free: 0.05 × 3/5 of the line
    assert priced.lines[1].adjustments == (Adjustment("Bolts Nuts", "BOLTS-NUTS", -3),)
    assert priced.lines[0].adjustments == ()
    assert priced.total == 120 + 5 - 3


def test_a_coupon_matches_ignoring_case_and_becomes_the_reference(books: Database) -> None:
    promotion(books, "WINTER", "order", "amount", amount="1.00", currency="EUR", requires_coupon=True,
              coupons=[("WINTER-ACME", 5)])
    # without the coupon the promotion does not apply
    assert price(books, "OTHER", [("BOLT-M8", 500)]).promotions == ()
    # with it, written in any case
    priced = price(books, "OTHER", [("BOLT-M8", 500), ("NUT-M8", 500)], coupons=[" winter-Acme "])
    assert priced.errors == ()
    assert (priced.promotions, priced.applied_coupons, priced.coupons) == (
        ("WINTER",), ("WINTER-ACME",), ("WINTER-ACME",)
    )
    # 1.00 over 20.00 and 5.00: 80 and 20
    assert [p.adjustments for p in priced.lines.values()] == [
        (Adjustment("Winter", "WINTER-ACME", -80),),
        (Adjustment("Winter", "WINTER-ACME", -20),),
    ]
    # pricing wrote nothing: the coupon is counted only when consumed
    assert (times_used(books, "WINTER-ACME"), count(books, OutboxEvent)) == (0, 0)


def test_coupons_that_cannot_be_used_are_errors_naming_them(books: Database) -> None:
    promotion(books, "ACME-ONLY", "order", "percentage", percentage="5", requires_coupon=True, accounts=["ACME"],
              coupons=[("ACME5", None), ("ACME5-B", None)])
    promotion(books, "USED", "order", "percentage", percentage="5", requires_coupon=True, coupons=[("GONE", 0)])
    promotion(books, "OFF", "order", "percentage", percentage="5", requires_coupon=True, active=False,
              coupons=[("SLEEPY", None)])
    priced = price(books, "OTHER", [("BOLT-M8", 10)], coupons=["nope", "ACME5", "gone", "sleepy", "Nope"])
    assert priced.errors == (
        PricingError(None, "coupons[0]", "no coupon 'NOPE'"),
        PricingError(None, "coupons[1]", "coupon 'ACME5' is not for this account"),
        PricingError(None, "coupons[2]", "coupon 'GONE' has been used up"),
        PricingError(None, "coupons[3]", "coupon 'SLEEPY' is not active"),
        PricingError(None, "coupons[4]", "coupon 'NOPE' is given twice"),
    )
    two = price(books, "ACME", [("BOLT-M8", 10)], coupons=["ACME5", "ACME5-B"])
    assert two.errors == (PricingError(None, "coupons[1]", "coupon 'ACME5-B' is for the same promotion as 'ACME5'"),)


def test_a_coupon_whose_promotion_loses_to_a_better_one_is_not_applied(books: Database) -> None:
    promotion(books, "SMALL", "order", "percentage", percentage="2", requires_coupon=True, stackable=False,
              coupons=[("SMALL2", 1)])
    promotion(books, "BIG", "order", "percentage", percentage="10", stackable=False)
    priced = price(books, "OTHER", [("BOLT-M8", 500)], coupons=["small2"])
    assert (priced.promotions, priced.coupons, priced.applied_coupons) == (("BIG",), ("SMALL2",), ())
    assert priced.lines[0].adjustments == (Adjustment("Big", "BIG", -200),)


# ----------------------------------------------------------------------------------------------
# Consuming coupons


def test_consuming_coupons_counts_each_use_up_to_the_limit(books: Database) -> None:
    promotion(books, "WINTER", "order", "percentage", percentage="5", coupons=[("WINTER-1", 2), ("FREE", None)])
    books.transaction(lambda s: consume_coupons(s, ["winter-1", "free"]))
    books.transaction(lambda s: consume_coupons(s, ["WINTER-1"]))
    assert (times_used(books, "WINTER-1"), times_used(books, "FREE")) == (2, 1)
    # when the limit is reached, the next use is a 409 naming the coupon
    with pytest.raises(Conflict) as refused:
        books.transaction(lambda s: consume_coupons(s, ["FREE", "Winter-1"]))
    assert refused.value.detail == "coupon 'WINTER-1' has been used up"
    assert [e.as_dict() for e in refused.value.errors] == [
        {"field": "coupons", "message": "coupon 'WINTER-1' has been used up"}
    ]
    assert refused.value.extra == {"coupon": "WINTER-1"}
    # and nothing of that transaction was written: FREE was not counted either
    assert (times_used(books, "WINTER-1"), times_used(books, "FREE")) == (2, 1)


def test_consuming_an_unknown_coupon_is_a_409(books: Database) -> None:
    with pytest.raises(Conflict) as refused:
        books.transaction(lambda s: consume_coupons(s, ["NOPE"]))
    assert refused.value.detail == "coupon 'NOPE' does not exist"


def test_price_lines_refuses_naive_times(books: Database) -> None:
    with pytest.raises(ValueError, match="timezone"), books.read() as s:
        price_lines(
            s, account_id=account_id(books, "ACME"), currency="EUR", channel_code=None,
            at=datetime(2026, 11, 26), lines=[PricingLine("BOLT-M8", 1, 0)],  # noqa: DTZ001
        )

