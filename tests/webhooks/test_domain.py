"""Pure webhook rules: patterns, targets, the retry schedule, message ids, an event's account."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from ordino.webhooks import domain
from ordino.webhooks.domain import AccountRef


@pytest.mark.parametrize(("patterns", "event_type", "expected"), [
    (["*"], "order.created", True),
    (["order.*"], "order.created", True),
    (["order.*"], "order.payment.failed", True),
    (["order.*"], "orders.created", False),
    (["order.*"], "order", False),
    (["order.created"], "order.created", True),
    (["order.created"], "order.cancelled", False),
    (["invoice.created", "fulfillment_order.*"], "fulfillment_order.fulfilled", True),
    (["invoice.created", "fulfillment_order.*"], "fulfillment.created", False),
    ([], "order.created", False),
])
def test_patterns_match_types_exactly_or_by_prefix(patterns: list[str], event_type: str, expected: bool) -> None:
    # given patterns and an event type
    # when they are matched
    # then `*` is every type, `x.*` every type under `x.`, anything else the type itself
    assert domain.matches(patterns, event_type) is expected


@pytest.mark.parametrize("pattern", ["*", "order.*", "order.created", "fulfillment_order.partially_shipped"])
def test_patterns_of_the_three_kinds_are_accepted(pattern: str) -> None:
    assert domain.pattern_error(pattern) is None


@pytest.mark.parametrize("pattern", ["Order.created", "order.", "*.created", "order*", "order..created", "", " "])
def test_other_patterns_are_refused(pattern: str) -> None:
    assert domain.pattern_error(pattern) == (
        "must be an event type (order.created), a prefix with a wildcard (order.*) or *")


@pytest.mark.parametrize(("url", "allow_private", "error"), [
    ("https://hooks.example.com/ordino", False, None),
    ("https://93.184.215.14/hook", False, None),
    ("http://hooks.example.com/ordino", False, "must be an https:// URL (http:// only to a loopback host)"),
    ("http://127.0.0.1:8080/hook", True, None),
    ("http://localhost/hook", True, None),
    ("http://[::1]:9000/hook", True, None),
    ("http://127.0.0.1:8080/hook", False,
     "names a loopback or private network address, which this installation does not allow"),
    ("https://10.1.2.3/hook", False,
     "names a loopback or private network address, which this installation does not allow"),
    ("https://169.254.169.254/latest/meta-data", False,
     "names a loopback or private network address, which this installation does not allow"),
    ("https://[::ffff:192.168.0.1]/hook", False,
     "names a loopback or private network address, which this installation does not allow"),
    ("https://10.1.2.3/hook", True, None),
    ("http://10.1.2.3/hook", True, "must be an https:// URL (http:// only to a loopback host)"),
    ("https://user:pw@hooks.example.com/", False, "may not carry a user name or password"),
    ("ftp://hooks.example.com/", False, "must be an https:// URL"),
    ("hooks.example.com/ordino", False, "must be an https:// URL"),
    ("https://hooks.example.com:99999/", False, "is not a URL"),
])
def test_targets_are_https_and_public_unless_private_ones_are_allowed(
    url: str, allow_private: bool, error: str | None
) -> None:
    assert domain.target_error(url, allow_private) == error


def test_the_retry_schedule_spans_about_three_days_then_gives_up() -> None:
    # given the waits after each failed attempt
    waits = [domain.retry_delay(n) for n in range(1, 11)]
    # then they grow from 5 seconds to 14 hours, the last attempt some 69 hours after the first
    assert waits == [timedelta(seconds=5), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2),
                     timedelta(hours=5), timedelta(hours=10), timedelta(hours=10), timedelta(hours=14),
                     timedelta(hours=14), timedelta(hours=14)]
    assert sum(waits, timedelta()) == timedelta(hours=69, minutes=35, seconds=5)  # type: ignore[arg-type]
    # and after the eleventh failed attempt there is no other
    assert domain.retry_delay(11) is None


def test_a_message_id_is_stable_per_event_and_subscription() -> None:
    event, first, second = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    assert domain.message_id(event, first) == domain.message_id(event, first)
    assert domain.message_id(event, first) != domain.message_id(event, second)
    assert domain.message_id(event, first).startswith("msg_")


def test_a_secret_is_whsec_and_32_random_bytes() -> None:
    secret = domain.new_secret()
    assert secret.startswith("whsec_")
    assert len(secret) == len("whsec_") + 44
    assert secret != domain.new_secret()
    assert domain.secret_hint(secret) == secret[:10] + "…"


ACCOUNT, ORDER = uuid.UUID(int=0xACC), uuid.UUID(int=0x0DE)  # fixed: test ids must match across workers


@pytest.mark.parametrize(("subject", "data", "refs"), [
    # order.created, invoice.created: the account's id
    (f"order/{ORDER}", {"id": str(ORDER), "account": "ACME", "account_id": str(ACCOUNT)},
     [AccountRef("account_id", ACCOUNT), AccountRef("order_id", ORDER), AccountRef("account_number", "ACME")]),
    # fulfillment_order.*: the order's id
    ("fulfillment_order/x", {"order_id": str(ORDER), "number": "FO-1"}, [AccountRef("order_id", ORDER)]),
    (None, {"order_summary_id": str(ORDER)}, [AccountRef("order_id", ORDER)]),
    # account.updated: the subject
    (f"account/{ACCOUNT}", {"id": str(ACCOUNT), "number": "ACME"}, [AccountRef("account_id", ACCOUNT)]),
    # contact.created: the account's number
    ("contact/x", {"account": "ACME"}, [AccountRef("account_number", "ACME")]),
    # product.created: none
    ("product/x", {"sku": "BOLT-M8", "account": {"nested": 1}, "order_id": "not an id"}, []),
])
def test_an_event_names_its_account_most_directly_first(
    subject: str | None, data: dict[str, object], refs: list[AccountRef]
) -> None:
    assert domain.account_refs(subject, data) == refs


def test_an_excerpt_keeps_the_start() -> None:
    assert domain.excerpt("abcdef", 3) == "abc…"
    assert domain.excerpt("abc", 3) == "abc"
