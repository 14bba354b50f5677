"""Pure payment rules: summary formulas, lifecycles, card data, terms, splitting an order total."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ordino.kernel.errors import Conflict
from ordino.payments import domain
from ordino.payments.domain import AuthorizationAmounts, CaptureAmounts, SummaryAmounts


def test_summary_formulas_of_design_section_3() -> None:
    # given 50.00 authorized, 20.00 captured, 5.00 being captured, 10.00 being reversed,
    # 4.00 refunded and 3.00 being refunded
    s = SummaryAmounts(
        authorized=5000, captured=2000, refunded=400, pending_capture=500, pending_refund=300,
        pending_reverse_auth=1000,
    )
    # then available to capture = 5000 − 2000 − 500 − 1000, to refund = 2000 − 400 − 300
    assert s.available_to_capture == 1500
    assert s.available_to_refund == 1300
    assert s.violations() == []


def test_summary_violations_name_each_broken_invariant() -> None:
    s = SummaryAmounts(authorized=1000, captured=1200, refunded=1300, pending_refund=-1)
    assert s.violations() == [
        "pending_refund is negative", "available to capture is negative", "available to refund is negative"
    ]


@given(
    st.integers(0, 10**12), st.integers(0, 10**12), st.integers(0, 10**12), st.integers(0, 10**12),
)
def test_summary_available_amounts_are_the_formulas(authorized: int, captured: int, pending: int, reverse: int) -> None:
    s = SummaryAmounts(authorized=authorized, captured=captured, pending_capture=pending, pending_reverse_auth=reverse)
    assert s.available_to_capture == authorized - captured - pending - reverse
    assert ("available to capture is negative" in s.violations()) == (authorized < captured + pending + reverse)


def test_authorization_and_capture_amounts() -> None:
    assert AuthorizationAmounts(5000, captured=1000, pending_capture=500, reversed=700, pending_reverse=300)\
        .available_to_capture == 2500
    assert CaptureAmounts(3000, refunded=1000, pending_refund=500).available_to_refund == 1500


def test_lifecycles_allow_only_their_transitions() -> None:
    assert domain.AUTHORIZATION.actions_from("pending") == ["approve", "decline"]
    assert domain.AUTHORIZATION.actions_from("authorized") == ["close", "expire"]
    assert domain.AUTHORIZATION.actions_from("closed") == []
    assert domain.CAPTURE.target("pending", "succeed") == "succeeded"
    assert domain.REFUND.target("pending", "fail") == "failed"
    assert domain.AUTHORIZATION.event_type("approve") == "payment_authorization.authorized"
    with pytest.raises(Conflict) as refused:
        domain.CAPTURE.target("succeeded", "fail")
    assert refused.value.detail == "cannot fail a payment capture that is succeeded"
    assert domain.STATUSES == ("authorized", "closed", "declined", "expired", "failed", "pending", "succeeded")


def test_operations_offered_by_a_record() -> None:
    assert domain.operations("authorization", "authorized", 100) == ["capture", "void", "reauthorize"]
    assert domain.operations("authorization", "authorized", 0) == []
    assert domain.operations("authorization", "expired", 0) == ["reauthorize"]
    assert domain.operations("capture", "succeeded", 1) == ["refund"]
    assert domain.operations("capture", "succeeded", 0) == []
    assert domain.operations("refund", "succeeded", 0) == []


@pytest.mark.parametrize(
    "text",
    ["4111111111111111", "4111 1111 1111 1111", "4111-1111-1111-1111", "card 4111111111111111 exp 12/29", "123", "1234",
     "4111 1111 1111 1111 123"],
)
def test_card_data_is_recognised(text: str) -> None:
    assert domain.looks_like_card_data(text) is True


@pytest.mark.parametrize("text", ["tok_visa", "tok_4111", "4111111111111112", "12", "pm_12345", "12345"])
def test_tokens_are_not_card_data(text: str) -> None:
    assert domain.looks_like_card_data(text) is False


def test_redact_replaces_card_data_anywhere_in_a_document() -> None:
    doc = {"token": "4111111111111111", "list": ["ok", "5555 5555 5555 4444"], "n": 3, "cvc": "123"}
    assert domain.redact(doc) == {"token": "[redacted]", "list": ["ok", "[redacted]"], "n": 3, "cvc": "[redacted]"}


@pytest.mark.parametrize(
    ("code", "issued", "due"),
    [
        ("net_30", date(2026, 11, 26), date(2026, 12, 26)),
        ("net_15", date(2026, 12, 20), date(2027, 1, 4)),
        ("net_30_eom", date(2026, 2, 10), date(2026, 3, 30)),
        ("eom", date(2028, 2, 3), date(2028, 2, 29)),
        ("due_on_receipt", date(2026, 11, 26), date(2026, 11, 26)),
    ],
)
def test_payment_terms_give_due_dates(code: str, issued: date, due: date) -> None:
    terms = domain.parse_terms(code)
    assert terms is not None
    assert terms.due_date(issued) == due


@pytest.mark.parametrize("code", ["net_0", "net_366", "net30", "30", "NET_30", "net_30_eoy", ""])
def test_unknown_terms_are_refused(code: str) -> None:
    assert domain.parse_terms(code) is None


def test_split_total_gives_the_rest_to_the_first_instruction_without_an_amount() -> None:
    assert domain.split_total(3000, [1000, None, None]) == domain.Split((1000, 2000, 0))
    assert domain.split_total(3000, [None]) == domain.Split((3000,))
    assert domain.split_total(3000, [1000, 500]) == domain.Split((1000, 500), uncovered=1500)
    too_much = domain.Split((0, 0), error="the payment amounts exceed the order total")
    assert domain.split_total(3000, [2000, 1500]) == too_much
    assert domain.split_total(0, [None]) == domain.Split((0,))
