"""POST /api/v1/orders refusals: every malformed order is a 4xx problem that names the exact field
and writes nothing (no order, item, event, history row, number or stored idempotent response)."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from ordino.kernel.db import Database
from ordino.kernel.errors import PROBLEM_BASE
from ordino.kernel.idempotency import IdempotencyRecord
from ordino.kernel.numbering import NumberSeries
from ordino.kernel.outbox import OutboxEvent
from ordino.kernel.statemachine import StatusHistory
from ordino.orders.models import (
    OrderDeliveryGroupSummary,
    OrderItemAdjustmentLine,
    OrderItemSummary,
    OrderItemTaxLine,
    OrderSummary,
)
from tests import factories

ORDERS = "/api/v1/orders"
CARD = "4111 1111 1111 1111"
TABLES = (
    OrderSummary,
    OrderDeliveryGroupSummary,
    OrderItemSummary,
    OrderItemAdjustmentLine,
    OrderItemTaxLine,
    OutboxEvent,
    StatusHistory,
    IdempotencyRecord,
)

Body = dict[str, Any]


def _snapshot(db: Database) -> dict[str, Any]:
    """Row counts of everything intake writes, and the order number counters."""
    with db.read() as s:
        counts: dict[str, Any] = {
            m.__tablename__: int(s.execute(select(func.count()).select_from(m)).scalar_one()) for m in TABLES
        }
        counts["number_series"] = sorted(s.execute(select(NumberSeries.name, NumberSeries.last_value)).all())
    return counts


@pytest.fixture
def world(db: Database, client: Any, admin: dict[str, str]) -> dict[str, Any]:
    """The DESIGN §6 records, some that may not be ordered, and one order already placed."""
    factories.intake_world(db)
    factories.account(db, "HOLD", status="on_hold")
    factories.channel(db, "old-web", active=False)
    factories.product(db, "OLD-1", active=False)
    factories.product(db, "NUT-M8", order_multiple=10, minimum_quantity=20)
    r = client.post(ORDERS, json=factories.order_payload(external_reference="WEB-0"), headers=admin)
    assert r.status_code == 201, r.text
    return _snapshot(db)


def _set(path: tuple[Any, ...], value: Any) -> Callable[[Body], None]:
    """A change to the payload: set (or, for ..., delete) the value at `path`."""

    def change(body: Body) -> None:
        node: Any = body
        for part in path[:-1]:
            node = node[part]
        if value is ...:
            del node[path[-1]]
        else:
            node[path[-1]] = value

    return change


LINE = ("delivery_groups", 0, "lines", 0)
GROUP = ("delivery_groups", 0)
SHIP_TO = ("delivery_groups", 0, "ship_to")


def _both(*changes: Callable[[Body], None]) -> Callable[[Body], None]:
    def change(body: Body) -> None:
        for c in changes:
            c(body)

    return change


def _line(**fields: Any) -> Callable[[Body], None]:
    return _both(*(_set((*LINE, k), v) for k, v in fields.items()))


def _err(field: str, message: str) -> list[dict[str, str]]:
    return [{"field": field, "message": message}]


Q = "delivery_groups[0].lines[0].quantity"
P = "delivery_groups[0].lines[0].unit_price"
SKU = "delivery_groups[0].lines[0].sku"

CASES = [
    # references
    pytest.param(_set(("account",), "NOPE"), _err("account", "no account 'NOPE'"), id="unknown-account"),
    pytest.param(_set(("account",), "HOLD"), _err("account", "account 'HOLD' is on_hold"), id="account-on-hold"),
    pytest.param(_set(("channel",), "fax"), _err("channel", "no sales channel 'fax'"), id="unknown-channel"),
    pytest.param(
        _set(("channel",), "old-web"), _err("channel", "sales channel 'old-web' is not active"), id="inactive-channel"
    ),
    pytest.param(_line(sku="NO-SUCH"), _err(SKU, "no product 'NO-SUCH'"), id="unknown-sku"),
    pytest.param(_line(sku="OLD-1"), _err(SKU, "product 'OLD-1' is not active"), id="inactive-product"),
    # quantities
    pytest.param(_line(quantity=0), _err(Q, "Input should be greater than 0"), id="quantity-zero"),
    pytest.param(_line(quantity=-5), _err(Q, "Input should be greater than 0"), id="quantity-negative"),
    pytest.param(_line(quantity=2.5), _err(Q, "Input should be a valid integer"), id="quantity-fractional"),
    pytest.param(_line(quantity=500.0), _err(Q, "Input should be a valid integer"), id="quantity-float"),
    pytest.param(_line(quantity="500"), _err(Q, "Input should be a valid integer"), id="quantity-string"),
    pytest.param(_line(quantity=True), _err(Q, "Input should be a valid integer"), id="quantity-boolean"),
    pytest.param(
        _line(quantity=1_000_000_001), _err(Q, "Input should be less than or equal to 1000000000"), id="quantity-huge"
    ),
    pytest.param(_line(sku="NUT-M8", quantity=25), _err(Q, "must be a multiple of 10"), id="not-order-multiple"),
    pytest.param(_line(sku="NUT-M8", quantity=10), _err(Q, "the minimum quantity is 20"), id="below-minimum"),
    # currencies
    pytest.param(
        _set(("currency",), "ABC"), _err("currency", "'ABC' is not an active ISO 4217 currency"), id="unknown-currency"
    ),
    pytest.param(
        _set(("currency",), "DEM"),
        _err("currency", "'DEM' is not an active ISO 4217 currency"),
        id="withdrawn-currency",
    ),
    pytest.param(
        _set(("currency",), "XAU"), _err("currency", "'XAU' is not an active ISO 4217 currency"), id="gold-currency"
    ),
    pytest.param(
        _set(("currency",), "eur"),
        _err("currency", "String should match pattern '^[A-Z]{3}$'"),
        id="lower-case-currency",
    ),
    # amounts
    pytest.param(
        _set((*GROUP, "shipping_charge"), "1.234"),
        _err("delivery_groups[0].shipping_charge", "EUR allows at most 2 decimal places"),
        id="eur-shipping-3-decimals",
    ),
    pytest.param(
        _both(_set(("currency",), "JPY"), _set((*GROUP, "shipping_charge"), "1.5")),
        _err("delivery_groups[0].shipping_charge", "JPY allows at most 0 decimal places"),
        id="jpy-shipping-decimals",
    ),
    pytest.param(
        _both(_set(("currency",), "KWD"), _set((*GROUP, "shipping_charge"), "1.2345")),
        _err("delivery_groups[0].shipping_charge", "KWD allows at most 3 decimal places"),
        id="kwd-shipping-4-decimals",
    ),
    pytest.param(
        _set((*GROUP, "shipping_charge"), 12.5),
        _err("delivery_groups[0].shipping_charge", 'send amounts as decimal strings such as "12.50", not JSON numbers'),
        id="json-number-shipping",
    ),
    pytest.param(
        _line(unit_price=0.035),
        _err(P, 'send amounts as decimal strings such as "12.50", not JSON numbers'),
        id="json-number-price",
    ),
    pytest.param(_line(unit_price="0.0350001"), _err(P, "at most 6 decimal places"), id="price-7-decimals"),
    pytest.param(_line(unit_price="-0.035"), _err(P, "cannot be negative"), id="negative-price"),
    pytest.param(_line(unit_price="1e3"), _err(P, 'must be a decimal string such as "12.50"'), id="price-exponent"),
    pytest.param(_line(unit_price="NaN"), _err(P, 'must be a decimal string such as "12.50"'), id="price-nan"),
    pytest.param(_line(unit_price="12,50"), _err(P, 'must be a decimal string such as "12.50"'), id="price-comma"),
    pytest.param(
        _line(unit_price="1234567890123"),
        _err(P, "at most 12 digits before the decimal point"),
        id="price-13-digits",
    ),
    pytest.param(
        _set((*GROUP, "shipping_charge"), "999999999999999.99"),
        _err("delivery_groups[0].shipping_charge", "at most 12 digits before the decimal point"),
        id="shipping-beyond-storage",
    ),
    pytest.param(
        _set((*GROUP, "shipping_charge"), "-1.00"),
        _err("delivery_groups[0].shipping_charge", "cannot be negative"),
        id="negative-shipping",
    ),
    pytest.param(
        _line(unit_price="999999999999.999999", quantity=1_000_000_000),
        _err("delivery_groups[0].lines[0]", "the line amount is larger than Ordino can store"),
        id="line-amount-beyond-storage",
    ),
    pytest.param(
        _set(
            (*GROUP, "lines"),
            [{"sku": "BOLT-M8", "quantity": 50_000, "unit_price": "999999999999"}] * 2,
        ),
        _err("delivery_groups", "the order total is larger than Ordino can store"),
        id="order-total-beyond-storage",
    ),
    pytest.param(
        _line(adjustments=[{"name": "Promo", "amount": "5.00"}]),
        _err("delivery_groups[0].lines[0].adjustments[0].amount", "adjustments are discounts: zero or negative"),
        id="positive-adjustment",
    ),
    pytest.param(
        _line(adjustments=[{"name": "Promo", "amount": "-17.51"}]),
        _err("delivery_groups[0].lines[0].adjustments", "discounts exceed the line amount"),
        id="discount-exceeds-line",
    ),
    pytest.param(
        _line(tax_lines=[{"name": "VAT", "amount": "3.325"}]),
        _err("delivery_groups[0].lines[0].tax_lines[0].amount", "EUR allows at most 2 decimal places"),
        id="tax-3-decimals",
    ),
    # structure
    pytest.param(
        _set(("delivery_groups",), []),
        _err("delivery_groups", "List should have at least 1 item after validation, not 0"),
        id="no-delivery-groups",
    ),
    pytest.param(
        _set((*GROUP, "lines"), []),
        _err("delivery_groups[0].lines", "List should have at least 1 item after validation, not 0"),
        id="no-lines",
    ),
    pytest.param(_set(("ordered_at",), ...), _err("ordered_at", "Field required"), id="missing-ordered-at"),
    pytest.param(
        _set((*SHIP_TO, "city"), ...), _err("delivery_groups[0].ship_to.city", "Field required"), id="missing-city"
    ),
    pytest.param(
        _set((*SHIP_TO, "city"), "   "),
        _err("delivery_groups[0].ship_to.city", "String should have at least 1 character"),
        id="blank-city",
    ),
    pytest.param(
        _set((*SHIP_TO, "country"), "XX"),
        _err("delivery_groups[0].ship_to.country", "must be an ISO 3166-1 alpha-2 country code such as DE"),
        id="unknown-country",
    ),
    pytest.param(
        _set((*SHIP_TO, "country"), "de"),
        _err("delivery_groups[0].ship_to.country", "must be an ISO 3166-1 alpha-2 country code such as DE"),
        id="lower-case-country",
    ),
    pytest.param(
        _set(("external_reference",), "R" * 101),
        _err("external_reference", "String should have at most 100 characters"),
        id="long-external-reference",
    ),
    pytest.param(
        _set((*SHIP_TO, "name"), "N" * 201),
        _err("delivery_groups[0].ship_to.name", "String should have at most 200 characters"),
        id="long-ship-to-name",
    ),
    pytest.param(
        _set(("ordered_at",), "2026-11-26T10:00:00"),
        _err("ordered_at", "must carry a timezone, e.g. 2026-11-26T10:00:00Z"),
        id="naive-ordered-at",
    ),
    pytest.param(
        _set(("ordered_at",), "26.11.2026"),
        _err("ordered_at", "Input should be a valid datetime or date, invalid character in year"),
        id="unparsable-ordered-at",
    ),
    pytest.param(_set(("coupon",), "X"), _err("coupon", "Extra inputs are not permitted"), id="unknown-field"),
    pytest.param(
        _set((*LINE, "colour"), "red"),
        _err("delivery_groups[0].lines[0].colour", "Extra inputs are not permitted"),
        id="unknown-line-field",
    ),
    pytest.param(
        _set(("pricing",), "catalog"),
        _err(P, "is set by the price books when pricing is 'catalog'"),
        id="catalog-pricing-with-price",
    ),
    pytest.param(
        _set(("pricing",), "free"),
        _err("pricing", "Input should be 'catalog' or 'order'"),
        id="unknown-pricing",
    ),
    pytest.param(
        _set((*LINE, "unit_price"), ...),
        _err(P, "is required when pricing is 'order'"),
        id="missing-price",
    ),
    # payments
    pytest.param(
        _set(("payments",), [{"method": "card", "gateway": "simulator", "token": CARD}]),
        _err("payments[0].token", "must be a gateway token; card numbers are never accepted"),
        id="card-number-as-token",
    ),
    pytest.param(
        _set(("payments",), [{"method": "card", "gateway": "simulator", "token": "4111111111111111 12/28 123"}]),
        _err("payments[0].token", "must be a gateway token; card numbers are never accepted"),
        id="card-number-expiry-cvc-as-token",
    ),
    pytest.param(
        _set(("payments",), [{"method": "cash"}]),
        _err(
            "payments[0]",
            "Input tag 'cash' found using 'method' does not match any of the expected tags:"
            " 'card', 'wallet', 'invoice'",
        ),
        id="unknown-payment-method",
    ),
    pytest.param(
        _set(("payments",), [{"method": "card", "gateway": "simulator", "token": "tok_visa", "amount": "30.001"}]),
        _err("payments[0].amount", "EUR allows at most 2 decimal places"),
        id="payment-amount-3-decimals",
    ),
    pytest.param(
        _set(("payments",), [{"method": "card", "gateway": "no-such-gateway", "token": "tok_visa"}]),
        _err("payments[0].gateway", "no payment gateway 'no-such-gateway' (this installation has: simulator)"),
        id="unknown-gateway",
    ),
    pytest.param(
        _set(("payments",), [{"method": "invoice"}, {"method": "wallet", "gateway": "Simulator", "token": "t"}]),
        _err("payments[1].gateway", "no payment gateway 'Simulator' (this installation has: simulator)"),
        id="unknown-gateway-second-payment",
    ),
    pytest.param(
        _set(("payments",), [{"method": "card", "gateway": "simulator", "token": "tok_visa", "card_last4": "42424"}]),
        _err("payments[0].card_last4", "must be the card's last four digits"),
        id="card-last4-five-digits",
    ),
    pytest.param(
        _set(("payments",), [{"method": "card", "gateway": "simulator", "token": "tok_visa", "card_last4": "42a4"}]),
        _err("payments[0].card_last4", "must be the card's last four digits"),
        id="card-last4-not-digits",
    ),
    pytest.param(
        _set(("payments",), [{"method": "card", "gateway": "simulator", "token": "tok_visa",
                              "card_brand": "x" * 21}]),
        _err("payments[0].card_brand", "String should have at most 20 characters"),
        id="card-brand-too-long",
    ),
    # input that must not reach the database
    pytest.param(_set(("po_number",), "PO\u0000"), _err("po_number", "must not contain the NUL character (\\u0000)"),
                 id="nul-in-po-number"),
    pytest.param(_line(sku="BOLT\u0000M8"), _err(SKU, "must not contain the NUL character (\\u0000)"), id="nul-in-sku"),
]


@pytest.mark.parametrize(("change", "errors"), CASES)
def test_malformed_order_is_refused_and_nothing_is_written(
    db: Database,
    client: Any,
    admin: dict[str, str],
    world: dict[str, Any],
    change: Callable[[Body], None],
    errors: list[dict[str, str]],
) -> None:
    # given the DESIGN §6 order with one thing wrong
    body = copy.deepcopy(factories.order_payload())
    change(body)
    # when it is placed
    r = client.post(ORDERS, json=body, headers={**admin, "Idempotency-Key": str(uuid.uuid4())})
    # then it is refused, naming the field, and nothing was written
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert problem["type"] == PROBLEM_BASE + "validation"
    assert problem["status"] == 422
    assert problem["errors"] == errors
    assert problem["detail"] == f"{errors[0]['field']}: {errors[0]['message']}"
    assert _snapshot(db) == world


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param(b"", "a JSON body is required", id="empty-body"),
        pytest.param(
            b'{"channel": "web",', "is not valid JSON: EOF while parsing a value at line 1 column 18", id="truncated"
        ),
        pytest.param(
            b"{'channel': 'web'}", "is not valid JSON: key must be a string at line 1 column 2", id="single-quotes"
        ),
        pytest.param(b"[]", "Input should be an object", id="array"),
        pytest.param(b"null", "Input should be an object", id="null"),
    ],
)
def test_a_body_that_is_not_an_order_object_is_refused(
    db: Database, client: Any, admin: dict[str, str], world: dict[str, Any], content: bytes, message: str
) -> None:
    r = client.post(
        ORDERS,
        content=content,
        headers={**admin, "Content-Type": "application/json", "Idempotency-Key": str(uuid.uuid4())},
    )
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["errors"] == [{"field": "body", "message": message}]
    assert _snapshot(db) == world


def test_a_card_number_is_neither_echoed_nor_stored(
    db: Database, client: Any, admin: dict[str, str], world: dict[str, Any]
) -> None:
    body = factories.order_payload(payments=[{"method": "card", "gateway": "simulator", "token": CARD}])
    r = client.post(ORDERS, json=body, headers=admin)
    assert r.status_code == 422
    for form in (CARD, CARD.replace(" ", ""), "1111 1111"):
        assert form not in r.text
    assert _snapshot(db) == world


def test_all_bad_lines_are_reported_at_once(
    db: Database, client: Any, admin: dict[str, str], world: dict[str, Any]
) -> None:
    # given two lines that are both wrong
    body = factories.order_payload()
    body["delivery_groups"][0]["lines"] = [
        {"sku": "BOLT-M8", "quantity": 0, "unit_price": "0.0350"},
        {"sku": "BOLT-M8", "quantity": "ten", "unit_price": "0.0350"},
    ]
    r = client.post(ORDERS, json=body, headers=admin)
    # then both are named
    assert r.status_code == 422
    assert r.json()["detail"] == "2 fields are not valid"
    assert r.json()["errors"] == [
        {"field": "delivery_groups[0].lines[0].quantity", "message": "Input should be greater than 0"},
        {"field": "delivery_groups[0].lines[1].quantity", "message": "Input should be a valid integer"},
    ]
    assert _snapshot(db) == world


def test_all_bad_references_are_reported_at_once(
    db: Database, client: Any, admin: dict[str, str], world: dict[str, Any]
) -> None:
    # given a well-formed order whose account, products and quantities are wrong in four places
    body = factories.order_payload(account="NOPE", channel="old-web")
    body["delivery_groups"][0]["lines"] = [
        {"sku": "NO-SUCH", "quantity": 1, "unit_price": "1.00"},
        {"sku": "NUT-M8", "quantity": 25, "unit_price": "0.01"},
        {"sku": "BOLT-M8", "quantity": 500},
    ]
    r = client.post(ORDERS, json=body, headers=admin)
    assert r.status_code == 422
    assert r.json()["errors"] == [
        {"field": "account", "message": "no account 'NOPE'"},
        {"field": "channel", "message": "sales channel 'old-web' is not active"},
        {"field": "delivery_groups[0].lines[0].sku", "message": "no product 'NO-SUCH'"},
        {"field": "delivery_groups[0].lines[1].quantity", "message": "must be a multiple of 10"},
        {"field": "delivery_groups[0].lines[2].unit_price", "message": "is required when pricing is 'order'"},
    ]
    assert _snapshot(db) == world


def test_all_bad_amounts_are_reported_at_once(
    db: Database, client: Any, admin: dict[str, str], world: dict[str, Any]
) -> None:
    # given two delivery groups, each with an amount finer than the cent
    body = factories.order_payload()
    second = copy.deepcopy(body["delivery_groups"][0])
    body["delivery_groups"][0]["shipping_charge"] = "1.234"
    second["lines"][0]["tax_lines"] = [{"name": "VAT", "amount": "3.325", "rate": "0.19"}]
    body["delivery_groups"].append(second)
    r = client.post(ORDERS, json=body, headers=admin)
    assert r.status_code == 422
    assert r.json()["errors"] == [
        {"field": "delivery_groups[0].shipping_charge", "message": "EUR allows at most 2 decimal places"},
        {"field": "delivery_groups[1].lines[0].tax_lines[0].amount", "message": "EUR allows at most 2 decimal places"},
    ]
    assert _snapshot(db) == world


def test_after_refusals_the_next_order_gets_the_next_number(
    db: Database, client: Any, admin: dict[str, str], world: dict[str, Any]
) -> None:
    # given refused orders
    for change, _ in (c.values for c in CASES[:5]):
        body = factories.order_payload()
        change(body)
        assert client.post(ORDERS, json=body, headers=admin).status_code == 422
    # when a valid one follows, it is numbered right after the one placed before
    r = client.post(ORDERS, json=factories.order_payload(), headers=admin)
    assert r.status_code == 201
    assert r.json()["number"] == "SO-000002"
