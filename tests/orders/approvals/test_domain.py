"""approval_rules, pure: which rules an order trips, and why."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from ordino.orders.approvals.domain import (
    OrderFacts,
    Reason,
    Rule,
    evaluate,
    merge_reasons,
    month_of,
    valid_reason_kind,
)

BOB, CAROL = uuid.UUID(int=1), uuid.UUID(int=2)
R1, R2, R3 = uuid.UUID(int=11), uuid.UUID(int=12), uuid.UUID(int=13)


def _facts(total: int, skus: tuple[str, ...] = ("BOLT-M8",), buyer: uuid.UUID | None = BOB,
           spent: int = 0, currency: str = "EUR") -> OrderFacts:
    return OrderFacts(currency, total, buyer, frozenset(skus), {currency: spent}, "2026-11")


def test_a_threshold_holds_only_totals_over_it_in_its_currency() -> None:
    rule = Rule(R1, "order_total", "Big", "ACME", amount=100000, currency="EUR")
    assert evaluate([rule], _facts(100000)) == []
    assert evaluate([rule], _facts(100001, currency="USD")) == []
    assert evaluate([rule], _facts(100001)) == [Reason(
        "order_total", "the order total 1000.01 EUR is over 1000.00 EUR (Big)",
        {"threshold": "1000.00", "order_total": "1000.01", "currency": "EUR", "account": "ACME"}, R1,
    )]


def test_a_monthly_limit_counts_the_buyers_month_and_this_order() -> None:
    everyone = Rule(R1, "monthly_spend", "Budget", "ACME-BER", amount=50000, currency="EUR")
    only_carol = Rule(R2, "monthly_spend", "Carol", "ACME-BER", amount=100, currency="EUR", contact_id=CAROL)
    assert evaluate([everyone, only_carol], _facts(10000, spent=40000)) == []
    [reason] = evaluate([everyone, only_carol], _facts(10001, spent=40000))
    assert (reason.kind, reason.rule_id, reason.detail["spent_with_order"], reason.detail["month"]) == (
        "monthly_spend", R1, "500.01", "2026-11")
    # an order without a buyer (placed by staff) is no buyer's spending
    assert evaluate([everyone], _facts(90000, buyer=None)) == []


def test_restricted_products_name_the_ones_in_the_order() -> None:
    rule = Rule(R3, "restricted_products", "Tools", "ACME", skus=frozenset({"DRILL-X", "SAW-Y"}))
    assert evaluate([rule], _facts(1, ("BOLT-M8",))) == []
    [reason] = evaluate([rule], _facts(1, ("SAW-Y", "BOLT-M8", "DRILL-X")))
    assert reason.detail == {"skus": ["DRILL-X", "SAW-Y"], "account": "ACME"}
    assert reason.message == "the order holds products that always need approval: DRILL-X, SAW-Y (Tools)"


def test_every_tripped_rule_is_a_reason_in_the_order_given() -> None:
    rules = [Rule(R3, "restricted_products", "Tools", "ACME-BER", skus=frozenset({"DRILL-X"})),
             Rule(R1, "order_total", "Big", "ACME", amount=0, currency="EUR")]
    assert [r.rule_id for r in evaluate(rules, _facts(1, ("DRILL-X",)))] == [R3, R1]


def test_the_month_is_the_utc_calendar_month() -> None:
    assert month_of(datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC)) == (
        datetime(2026, 12, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))
    assert month_of(datetime(2026, 2, 1, tzinfo=UTC)) == (datetime(2026, 2, 1, tzinfo=UTC),
                                                          datetime(2026, 3, 1, tzinfo=UTC))


def test_reason_kinds_are_an_open_list_of_snake_case_names() -> None:
    assert [valid_reason_kind(k) for k in ("credit_limit", "manual_review2", "Credit", "a-b", "", "x" * 41)] == [
        True, True, False, False, False, False]


def test_merged_reasons_replace_the_same_rule_and_keep_the_others() -> None:
    held = [Reason("order_total", "old", {}, R1).as_dict(), Reason("credit_limit", "old").as_dict()]
    merged = merge_reasons(held, [Reason("credit_limit", "new"), Reason("manual_review", "why")])
    assert [(r["kind"], r["message"]) for r in merged] == [
        ("order_total", "old"), ("credit_limit", "new"), ("manual_review", "why")]


@given(limit=st.integers(0, 10**9), spent=st.integers(0, 10**9), total=st.integers(0, 10**9))
def test_a_monthly_limit_holds_exactly_when_the_month_would_pass_it(limit: int, spent: int, total: int) -> None:
    rule = Rule(R1, "monthly_spend", "Budget", "ACME", amount=limit, currency="EUR")
    assert bool(evaluate([rule], _facts(total, spent=spent))) == (spent + total > limit)
