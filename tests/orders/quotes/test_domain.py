"""quotes_domain, pure: the quote lifecycle and the arithmetic of pricing a quote."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ordino.kernel.errors import InvalidTransition
from ordino.orders.quotes.domain import (
    QUOTE_LIFECYCLE,
    CatalogPrice,
    Discount,
    Override,
    QuoteLine,
    is_expired,
    percent_of,
    price_quote,
)

LINES = [QuoteLine(1, "BOLT-M8", 5000), QuoteLine(2, "NUT-M8", 3)]


def test_the_lifecycle_runs_from_draft_to_an_answer() -> None:
    assert QUOTE_LIFECYCLE.actions_from("draft") == ["submit"]
    assert QUOTE_LIFECYCLE.actions_from("requested") == ["price", "reject"]
    assert QUOTE_LIFECYCLE.actions_from("priced") == ["price", "send", "reject", "expire"]
    assert QUOTE_LIFECYCLE.actions_from("sent") == ["price", "accept", "reject", "expire"]
    for done in ("accepted", "rejected", "expired"):
        assert QUOTE_LIFECYCLE.actions_from(done) == []
    with pytest.raises(InvalidTransition):
        QUOTE_LIFECYCLE.target("priced", "accept")


def test_a_quote_is_valid_up_to_but_not_at_its_expiry() -> None:
    until = datetime(2026, 12, 10, tzinfo=UTC)
    assert [is_expired(until, datetime(2026, 12, 9, 23, 59, 59, tzinfo=UTC)), is_expired(until, until),
            is_expired(None, until)] == [False, True, False]


def test_percentages_round_half_up_to_the_minor_unit() -> None:
    assert [percent_of(17980, Decimal("5")), percent_of(1, Decimal("50")), percent_of(3, Decimal("50")),
            percent_of(10000, Decimal("12.345"))] == [899, 1, 2, 1235]


def test_agent_prices_replace_the_catalog_and_its_promotions_and_discounts_come_off_the_rest() -> None:
    promo = Discount("Bolt week", "promotion", "BOLTWEEK", -2000)
    catalog = {1: CatalogPrice(Decimal("0.04"), (promo,)), 2: CatalogPrice(Decimal("1.00"))}
    overrides = {1: Override(discount_amount=500), 2: Override(unit_price=Decimal("0.333333"))}
    priced = price_quote(LINES, catalog, overrides, 2500, "EUR")
    assert priced.errors == ()
    assert [(p.unit_price, p.source, p.line_amount, p.adjustment_amount) for p in priced.lines] == [
        (Decimal("0.04"), "catalog", 20000, -2500), (Decimal("0.333333"), "agent", 100, 0)]
    assert priced.lines[0].discounts[1] == Discount("Quote discount 5.00 EUR", "quote", None, -500)
    assert (priced.product, priced.adjustment, priced.shipping, priced.total) == (20100, -2500, 2500, 20100)


def test_lines_without_any_price_and_discounts_beyond_the_line_are_errors() -> None:
    priced = price_quote(LINES, {}, {2: Override(unit_price=Decimal("1"), discount_amount=301)}, 0, "EUR",
                         {2: "lines[0]"})
    assert priced.errors == (
        ("lines", "line 1 (BOLT-M8) has no catalog price; give it a unit_price"),
        ("lines[0].discount_amount", "line 2: the discount is more than the line's 3.00 EUR"),
    )


@given(
    price=st.decimals(min_value=0, max_value=1000, places=6),
    quantity=st.integers(1, 100_000),
    percent=st.decimals(min_value=0, max_value=100, places=3),
    currency=st.sampled_from(["EUR", "JPY", "KWD"]),
)
def test_a_discounted_line_is_never_negative_and_the_totals_add_up(
    price: Decimal, quantity: int, percent: Decimal, currency: str
) -> None:
    priced = price_quote([QuoteLine(1, "X", quantity)], {1: CatalogPrice(price)},
                         {1: Override(discount_percent=percent)}, 0, currency)
    [line] = priced.lines
    assert 0 <= line.line_amount + line.adjustment_amount <= line.line_amount
    assert priced.total == line.line_amount + line.adjustment_amount
