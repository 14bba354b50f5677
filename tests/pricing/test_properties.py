"""Properties: line amounts round once, half up, for currencies with 0, 2 and 3 decimals (also
through the database); order-level discounts are allocated exactly, never negative and never
more than a line; stacking never makes a line negative; the customer gets the best allowed
combination."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Context, Decimal
from fractions import Fraction
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select

from ordino.kernel.db import Database
from ordino.kernel.money import exponent_of
from ordino.pricing.domain import Line, Offer, apply_promotions, line_amount
from ordino.pricing.models import PriceBook, PriceBookEntry, PriceBookTier
from ordino.pricing.service import PricingLine, price_lines
from tests.pricing.conftest import NOW, account_id, book, entry

CURRENCIES = ("JPY", "EUR", "KWD", "BHD")
BIG = Context(prec=100)

prices = st.decimals(min_value=0, max_value=Decimal("999999.999999"), places=6, allow_nan=False, allow_infinity=False)
quantities = st.integers(min_value=1, max_value=1_000_000_000)
amounts = st.integers(min_value=0, max_value=10**12)
percentages = st.decimals(min_value=Decimal("0.000001"), max_value=100, places=6)


def reference_amount(price: Decimal, quantity: int, currency: str) -> int:
    """The rule stated plainly with Decimal: quantize the exact product, half up, and shift."""
    exp = exponent_of(currency)
    exact = BIG.multiply(price, Decimal(quantity))
    rounded = exact.quantize(Decimal(1).scaleb(-exp), rounding=ROUND_HALF_UP, context=BIG)
    return int(rounded.scaleb(exp, BIG))


@given(price=prices, quantity=quantities, currency=st.sampled_from(CURRENCIES))
def test_line_amount_matches_decimal_half_up(price: Decimal, quantity: int, currency: str) -> None:
    assert line_amount(price, quantity, currency) == reference_amount(price, quantity, currency)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(price=prices, quantity=st.integers(min_value=1, max_value=1_000_000), currency=st.sampled_from(CURRENCIES))
def test_prices_stored_and_priced_through_the_database_round_once_half_up(
    world: Database, price: Decimal, quantity: int, currency: str
) -> None:
    # given the price stored in the currency's standard book (the stored value is exact)
    db = world
    code = f"LIST-{currency}"
    if not _exists(db, code):
        book(db, code, currency, standard=True)
    db.transaction(lambda s: (s.execute(delete(PriceBookTier)), s.execute(delete(PriceBookEntry))))
    entry(db, code, "BOLT-M8", str(price))
    # when a line is priced
    acme = account_id(db, "ACME")
    with db.read() as s:
        priced = price_lines(
            s, account_id=acme, currency=currency, channel_code=None, at=NOW,
            lines=[PricingLine("BOLT-M8", quantity, 0)], coupons=[],
        )
    # then the unit price is the stored one and the amount is rounded once, half up
    assert (priced.lines[0].unit_price, priced.lines[0].line_amount) == (
        price, reference_amount(price, quantity, currency)
    )


def _exists(db: Database, code: str) -> bool:
    with db.read() as s:
        return s.execute(select(PriceBook.id).where(PriceBook.code == code)).first() is not None


lines_strategy = st.lists(
    st.tuples(st.sampled_from(("A", "B", "C")), st.integers(1, 1000), amounts), min_size=1, max_size=8
).map(lambda rows: [Line(i, sku, q, amount) for i, (sku, q, amount) in enumerate(rows)])


@st.composite
def order_offers(draw: Any) -> Offer:
    if draw(st.booleans()):
        return Offer("O", "O", "order", "percentage", "O", percentage=draw(percentages))
    amount = Decimal(draw(st.integers(1, 10**13))).scaleb(-2)
    return Offer("O", "O", "order", "amount", "O", amount=amount)


@given(lines=lines_strategy, offer=order_offers())
def test_order_level_discounts_are_allocated_exactly_and_never_negative(lines: list[Line], offer: Offer) -> None:
    discounts = apply_promotions(lines, [offer], "EUR")
    subtotal = sum(line.amount for line in lines)
    if offer.kind == "percentage":
        assert offer.percentage is not None
        exact = BIG.multiply(Decimal(subtotal), offer.percentage) / 100
        expected = int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP, context=BIG))
    else:
        assert offer.amount is not None
        expected = min(int(offer.amount.scaleb(2)), subtotal)
    parts = {key: sum(a.amount for a in adjustments) for key, adjustments in discounts.by_line.items()}
    # exact to the minor unit
    assert sum(parts.values()) == discounts.total == -expected
    for line in lines:
        part = -parts.get(line.key, 0)
        # never negative, never more than the line
        assert 0 <= part <= line.amount
        # each line's share is its exact proportional share, rounded to a neighbouring unit
        if subtotal:
            assert abs(part - Fraction(expected * line.amount, subtotal)) < 1


@st.composite
def any_offers(draw: Any) -> list[Offer]:
    offers = []
    for i in range(draw(st.integers(0, 5))):
        level = draw(st.sampled_from(("line", "order")))
        kinds = ("percentage", "amount", "buy_x_get_y") if level == "line" else ("percentage", "amount")
        kind = draw(st.sampled_from(kinds))
        fields: dict[str, Any] = {
            "priority": draw(st.integers(-3, 3)),
            "stackable": draw(st.booleans()),
            "skus": frozenset(draw(st.lists(st.sampled_from(("A", "B", "C")), max_size=2))),
        }
        if kind == "percentage":
            fields["percentage"] = draw(percentages)
        elif kind == "amount":
            places = draw(st.integers(0, 2 if level == "order" else 6))
            fields["amount"] = Decimal(draw(st.integers(1, 10**6))).scaleb(-places)
        else:
            fields["buy_quantity"], fields["get_quantity"] = draw(st.integers(1, 20)), draw(st.integers(1, 5))
        offers.append(Offer(f"P{i}", f"P{i}", level, kind, f"P{i}", **fields))
    return offers


@given(lines=lines_strategy, offers=any_offers())
def test_stacked_promotions_never_make_a_line_negative_and_the_best_combination_wins(
    lines: list[Line], offers: list[Offer]
) -> None:
    best = apply_promotions(lines, offers, "EUR")
    for line in lines:
        adjustments = best.by_line.get(line.key, ())
        assert all(a.amount < 0 for a in adjustments)
        assert line.amount + sum(a.amount for a in adjustments) >= 0
    assert best.total == sum(a.amount for adjustments in best.by_line.values() for a in adjustments)
    # no allowed combination gives more: each non-stackable offer alone, or all stackable ones
    stack = [o for o in offers if o.stackable]
    alternatives = [[o] for o in offers if not o.stackable] + ([stack] if stack else [])
    for group in alternatives:
        assert best.total <= apply_promotions(lines, group, "EUR").total
