"""Step conditions in CEL: what they see, and what they refuse."""

from __future__ import annotations

import pytest

from ordino.flows.conditions import ConditionError, ConditionFailed, compile_condition

ORDER = {"channel": "POS", "grand_total": 150_000, "payment_methods": ["card"], "country": "DE", "account": "ACME"}
EVENT = {"type": "order.created", "subject": "order/1", "data": {"status": "created"}}


@pytest.mark.parametrize(("source", "holds", "needs_order"), [
    ('order.channel == "POS" && order.grand_total >= 100000', True, True),
    ('order.channel == "POS" && order.grand_total >= 200000', False, True),
    ('"card" in order.payment_methods && order.country in ["DE", "AT"]', True, True),
    ('event.type.startsWith("order.") && event.data.status == "created"', True, False),
    ('order.account != "ACME"', False, True),
])
def test_a_condition_on_the_order_and_the_event(source: str, holds: bool, needs_order: bool) -> None:
    condition = compile_condition(source)

    assert condition.holds(EVENT, ORDER) is holds
    assert condition.needs_order is needs_order


@pytest.mark.parametrize(("source", "message"), [
    ("__import__('os')", "unknown name '__import__' (a condition sees event and order)"),
    ("account.tier == 1", "unknown name 'account' (a condition sees event and order)"),
    ("event.kind == 'x'", "event.kind: event has type, subject, data"),
    ("order.channel ==", "not valid CEL: order.channel =="),
])
def test_what_a_condition_cannot_say_is_refused_when_it_is_read(source: str, message: str) -> None:
    with pytest.raises(ConditionError) as raised:
        compile_condition(source)

    assert str(raised.value) == message


def test_a_condition_that_cannot_be_evaluated_fails_the_step_instead_of_skipping_it() -> None:
    condition = compile_condition("order.grand_total > 100")

    with pytest.raises(ConditionFailed, match=r"^condition `order.grand_total > 100`: no such member"):
        condition.holds(EVENT, None)  # an event without an order


def test_a_condition_that_is_not_true_or_false_fails_the_step() -> None:
    with pytest.raises(ConditionFailed, match=r"gave IntType\(150000\), not true or false"):
        compile_condition("order.grand_total").holds(EVENT, ORDER)
