"""GET /api/v1/orders/{id|number} and GET /api/v1/orders: documents, filters, cursors, scoping."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import func, select

from ordino.kernel.auth import Role
from ordino.kernel.db import Database
from ordino.kernel.errors import PROBLEM_BASE
from ordino.kernel.outbox import OutboxEvent
from ordino.kernel.statemachine import apply
from ordino.orders.domain import ORDER_LIFECYCLE
from ordino.orders.models import OrderItemSummary, OrderSummary
from tests import factories
from tests.conftest import api_key

ORDERS = "/api/v1/orders"

# number → (account, channel, external reference, ordered at)
PLACED = {
    "SO-000001": ("ACME", "web", "WEB-1", "2026-11-01T10:00:00Z"),
    "SO-000002": ("ACME", "edi", "EDI-2", "2026-11-02T10:00:00Z"),
    "SO-000003": ("BETA", "web", "WEB-3", "2026-11-03T10:00:00Z"),
    "SO-000004": ("ACME", "web", "WEB-4", "2026-11-04T10:00:00Z"),
    "SO-000005": ("BETA", "edi", "EDI-5", "2026-11-05T10:00:00Z"),
}


def _count(db: Database, model: Any) -> int:
    with db.read() as s:
        return int(s.execute(select(func.count()).select_from(model)).scalar_one())


@pytest.fixture
def orders(db: Database, client: Any, admin: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Five orders of two accounts on two channels, one a day; SO-000004 is approved.
    Returns the documents POST answered, by number."""
    factories.intake_world(db)
    factories.account(db, "BETA")
    factories.channel(db, "edi", kind="edi")
    placed = {}
    for number, (account, channel, reference, at) in PLACED.items():
        body = factories.order_payload(account=account, channel=channel, external_reference=reference, ordered_at=at)
        r = client.post(ORDERS, json=body, headers=admin)
        assert r.status_code == 201, r.text
        assert r.json()["number"] == number
        placed[number] = r.json()
    approved = uuid.UUID(placed["SO-000004"]["id"])
    db.transaction(lambda s: apply(s, ORDER_LIFECYCLE, s.get_one(OrderSummary, approved), "approve"))
    return placed


def _numbers(page: dict[str, Any]) -> list[str]:
    return [item["number"] for item in page["items"]]


def _list(client: Any, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    r = client.get(ORDERS, params=params, headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/json"
    return dict(r.json())


# --- one order ----------------------------------------------------------------------------------


def test_get_by_id_and_by_number_returns_the_document_post_returned(
    db: Database, client: Any, admin: dict[str, str]
) -> None:
    # given an order with an adjustment, a tax line and a bill-to address
    factories.intake_world(db)
    body = factories.order_payload(
        bill_to={"name": "ACME GmbH", "line1": "Invalidenstraße 1", "city": "Berlin", "country": "DE"}
    )
    body["delivery_groups"][0]["lines"][0]["adjustments"] = [{"name": "Promo", "amount": "-1.50", "reference": "P1"}]
    body["delivery_groups"][0]["lines"][0]["tax_lines"] = [
        {"name": "VAT 19%", "amount": "3.04", "rate": "0.19", "category": "S", "jurisdiction": "DE"}
    ]
    placed = client.post(ORDERS, json=body, headers=admin)
    assert placed.status_code == 201, placed.text
    doc = placed.json()
    # when it is read by id and by number
    by_id = client.get(f"{ORDERS}/{doc['id']}", headers=admin)
    by_number = client.get(f"{ORDERS}/SO-000001", headers=admin)
    # then both give the very document that placement answered
    assert by_id.status_code == 200
    assert by_id.json() == doc
    assert by_number.json() == doc
    item = doc["delivery_groups"][0]["items"][0]
    assert (item["adjustments"][0]["amount"], item["tax_lines"][0]["rate"], item["tax_lines"][0]["amount"]) == (
        "-1.50",
        "0.19",
        "3.04",
    )
    assert doc["totals"] == {
        "product": "17.50",
        "adjustment": "-1.50",
        "delivery": "12.50",
        "tax": "3.04",
        "grand_total": "31.54",
    }


@pytest.mark.parametrize("ref", ["SO-000009", "so-000001", str(uuid.UUID(int=1)), "01a2163a"])
def test_unknown_orders_are_404(
    client: Any, admin: dict[str, str], orders: dict[str, dict[str, Any]], ref: str
) -> None:
    r = client.get(f"{ORDERS}/{ref}", headers=admin)
    assert r.status_code == 404
    assert r.json()["type"] == "https://ordino.dev/problems/not-found"


# --- the list -----------------------------------------------------------------------------------


def test_list_is_newest_first_with_one_line_per_order(
    client: Any, admin: dict[str, str], orders: dict[str, dict[str, Any]]
) -> None:
    page = _list(client, admin)
    assert _numbers(page) == ["SO-000005", "SO-000004", "SO-000003", "SO-000002", "SO-000001"]
    assert page["next_cursor"] is None
    assert page["items"][1] == {
        "id": orders["SO-000004"]["id"],
        "number": "SO-000004",
        "status": "approved",
        "account": "ACME",
        "channel": "web",
        "external_reference": "WEB-4",
        "po_number": "PO-4711",
        "currency": "EUR",
        "grand_total": "35.70",
        "ordered_at": "2026-11-04T10:00:00+00:00",
    }


def test_cursor_pagination_walks_every_order_once(
    client: Any, admin: dict[str, str], orders: dict[str, dict[str, Any]]
) -> None:
    # when the list is read two at a time
    pages = []
    cursor = None
    while True:
        page = _list(client, admin, limit=2, **({"cursor": cursor} if cursor else {}))
        pages.append(_numbers(page))
        cursor = page["next_cursor"]
        if cursor is None:
            break
        assert len(pages) < 5
    # then the pages hold 2, 2 and 1 orders, newest first, none twice, none left out
    assert pages == [["SO-000005", "SO-000004"], ["SO-000003", "SO-000002"], ["SO-000001"]]


def test_a_page_that_ends_exactly_at_the_last_order_has_no_next_cursor(
    client: Any, admin: dict[str, str], orders: dict[str, dict[str, Any]]
) -> None:
    page = _list(client, admin, limit=5)
    assert len(page["items"]) == 5
    assert page["next_cursor"] is None
    assert _numbers(_list(client, admin, limit=4)) == ["SO-000005", "SO-000004", "SO-000003", "SO-000002"]


@pytest.mark.parametrize(
    ("params", "numbers"),
    [
        ({"account": "BETA"}, ["SO-000005", "SO-000003"]),
        ({"account": "NOPE"}, []),
        ({"channel": "edi"}, ["SO-000005", "SO-000002"]),
        ({"status": "approved"}, ["SO-000004"]),
        ({"status": "created"}, ["SO-000005", "SO-000003", "SO-000002", "SO-000001"]),
        ({"status": "closed"}, []),
        ({"account": "ACME", "channel": "web"}, ["SO-000004", "SO-000001"]),
        # from is inclusive, to is exclusive
        (
            {"placed_from": "2026-11-02T10:00:00Z", "placed_to": "2026-11-04T10:00:00Z"},
            ["SO-000003", "SO-000002"],
        ),
        # the same instants in other offsets
        (
            {"placed_from": "2026-11-02T11:00:00+01:00", "placed_to": "2026-11-04T05:00:00-05:00"},
            ["SO-000003", "SO-000002"],
        ),
        ({"placed_from": "2026-11-04T10:00:00.000001Z"}, ["SO-000005"]),
        ({"placed_to": "2026-11-01T10:00:00.000001Z"}, ["SO-000001"]),
        ({"placed_from": "2026-12-01T00:00:00Z"}, []),
    ],
)
def test_list_filters(
    client: Any, admin: dict[str, str], orders: dict[str, dict[str, Any]], params: dict[str, str], numbers: list[str]
) -> None:
    page = _list(client, admin, **params)
    assert _numbers(page) == numbers
    assert page["next_cursor"] is None


def test_filters_and_cursor_together(client: Any, admin: dict[str, str], orders: dict[str, dict[str, Any]]) -> None:
    first = _list(client, admin, account="ACME", limit=2)
    assert _numbers(first) == ["SO-000004", "SO-000002"]
    second = _list(client, admin, account="ACME", limit=2, cursor=first["next_cursor"])
    assert _numbers(second) == ["SO-000001"]
    assert second["next_cursor"] is None


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"limit": 0}, {"field": "limit", "message": "Input should be greater than or equal to 1"}),
        ({"limit": 201}, {"field": "limit", "message": "Input should be less than or equal to 200"}),
        ({"limit": -1}, {"field": "limit", "message": "Input should be greater than or equal to 1"}),
        ({"cursor": "not-a-cursor"}, {"field": "cursor", "message": "is not a cursor this API returned"}),
        ({"cursor": "AAAA"}, {"field": "cursor", "message": "is not a cursor this API returned"}),
        (
            {"status": "shipped"},
            {
                "field": "status",
                "message": "must be one of approved, cancelled, closed, created, fulfilled, partially_fulfilled,"
                " pending_approval",
            },
        ),
        # a time without an offset is ambiguous: refused, not a 500
        (
            {"placed_from": "2026-11-02T10:00:00"},
            {"field": "placed_from", "message": "must carry a timezone, e.g. 2026-11-26T10:00:00Z"},
        ),
        (
            {"placed_to": "2026-11-02T10:00:00"},
            {"field": "placed_to", "message": "must carry a timezone, e.g. 2026-11-26T10:00:00Z"},
        ),
        (
            {"placed_from": "yesterday"},
            {"field": "placed_from", "message": "Input should be a valid datetime or date, input is too short"},
        ),
    ],
)
def test_bad_list_parameters_are_422(
    client: Any, admin: dict[str, str], orders: dict[str, dict[str, Any]], params: dict[str, Any], error: dict[str, str]
) -> None:
    r = client.get(ORDERS, params=params, headers=admin)
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["type"] == PROBLEM_BASE + "validation"
    assert r.json()["errors"] == [error]


def test_limit_200_is_allowed(client: Any, admin: dict[str, str], orders: dict[str, dict[str, Any]]) -> None:
    assert len(_list(client, admin, limit=200)["items"]) == 5


# --- a buyer sees only its own account ----------------------------------------------------------


@pytest.fixture
def acme_buyer(db: Database, orders: dict[str, dict[str, Any]]) -> dict[str, str]:
    with db.read() as s:
        acme = s.execute(select(OrderSummary.account_id).where(OrderSummary.number == "SO-000001")).scalar_one()
    return api_key(db, Role.BUYER, acme)


@pytest.mark.parametrize("ref_of", [lambda doc: doc["id"], lambda doc: doc["number"]], ids=["by-id", "by-number"])
def test_a_buyer_gets_404_for_another_accounts_order(
    client: Any, acme_buyer: dict[str, str], orders: dict[str, dict[str, Any]], ref_of: Any
) -> None:
    # when ACME's buyer asks for BETA's order
    r = client.get(f"{ORDERS}/{ref_of(orders['SO-000003'])}", headers=acme_buyer)
    # then it does not exist, exactly as an order that really does not exist
    assert r.status_code == 404
    missing = client.get(f"{ORDERS}/SO-000099", headers=acme_buyer)
    assert {k: v for k, v in r.json().items() if k != "instance"} == {
        k: v for k, v in missing.json().items() if k != "instance"
    }
    # and its own orders are there
    own = client.get(f"{ORDERS}/{ref_of(orders['SO-000004'])}", headers=acme_buyer)
    assert own.status_code == 200
    assert own.json()["id"] == orders["SO-000004"]["id"]


def test_a_buyer_lists_only_its_own_accounts_orders(
    client: Any, acme_buyer: dict[str, str], orders: dict[str, dict[str, Any]]
) -> None:
    assert _numbers(_list(client, acme_buyer)) == ["SO-000004", "SO-000002", "SO-000001"]
    assert _numbers(_list(client, acme_buyer, account="BETA")) == []
    first = _list(client, acme_buyer, limit=2)
    assert _numbers(first) == ["SO-000004", "SO-000002"]
    assert _numbers(_list(client, acme_buyer, limit=2, cursor=first["next_cursor"])) == ["SO-000001"]


def test_a_buyer_cannot_place_an_order_for_another_account(
    db: Database, client: Any, acme_buyer: dict[str, str], orders: dict[str, dict[str, Any]]
) -> None:
    before = (_count(db, OrderSummary), _count(db, OrderItemSummary), _count(db, OutboxEvent))
    # when ACME's buyer places an order for BETA
    body = factories.order_payload(account="BETA", external_reference="WEB-99")
    r = client.post(ORDERS, json=body, headers={**acme_buyer, "Idempotency-Key": str(uuid.uuid4())})
    # then BETA is as unknown as an account that does not exist, and nothing is written
    assert r.status_code == 422
    assert r.json()["errors"] == [{"field": "account", "message": "no account 'BETA'"}]
    assert (_count(db, OrderSummary), _count(db, OrderItemSummary), _count(db, OutboxEvent)) == before
    # while an order for its own account goes through
    own = client.post(ORDERS, json=factories.order_payload(external_reference="WEB-99"), headers=acme_buyer)
    assert own.status_code == 201
    assert own.json()["account"] == "ACME"
