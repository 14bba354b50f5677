"""A client generated from the live OpenAPI document (openapi-python-client) places an order
through the API and reads it back as typed objects: the document describes what clients get."""

from __future__ import annotations

import importlib
import json
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from types import ModuleType
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from ordino.app import create_app
from ordino.kernel.db import Database
from ordino.orders.models import OrderSummary
from ordino.settings import Settings
from tests import factories

PACKAGE = "ordino_generated_client"


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """The client package, generated once into a temporary folder and imported from there."""
    import openapi_python_client as generator  # a pinned dev dependency: missing is a failure, not a skip
    from openapi_python_client.config import Config, ConfigFile, MetaType

    where = tmp_path_factory.mktemp("client")
    document = where / "openapi.json"
    app = create_app(Settings(database_url="sqlite://"), Database("sqlite://"))
    document.write_text(json.dumps(app.openapi()))
    # no post hooks: formatting the generated code is not what is tested
    config = Config.from_sources(
        ConfigFile(post_hooks=[], literal_enums=True, package_name_override=PACKAGE),
        MetaType.NONE, document, "utf-8", True, where / PACKAGE,
    )
    errors = generator.generate(config=config)
    # the only parts left out are binary: the PDF / XML documents and the logo images
    binary = ("application/pdf", "image/png", "image/jpeg")
    assert [e.detail for e in errors if not any(t in str(e.detail) for t in binary)] == []
    sys.path.insert(0, str(where))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(where))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def _module(name: str) -> Any:
    return importlib.import_module(f"{PACKAGE}.{name}")


def _typed_client(generated: ModuleType, test_client: TestClient, headers: dict[str, str]) -> Any:
    test_client.headers.update({**headers, "Idempotency-Key": str(uuid.uuid4())})
    return generated.Client(base_url="http://testserver").set_httpx_client(test_client)


def _order_in() -> Any:
    models = _module("models")
    return models.OrderIn(
        channel="web",
        external_reference="WEB-10001",
        account="ACME",
        currency="EUR",
        po_number="PO-4711",
        ordered_at=datetime(2026, 11, 26, 10, tzinfo=UTC),
        pricing="order",
        delivery_groups=[
            models.DeliveryGroupIn(
                ship_to=models.AddressIn(
                    name="ACME Receiving", line1="Invalidenstraße 1", city="Berlin", postal_code="10115",
                    country="DE",
                ),
                delivery_method="standard",
                shipping_charge="12.50",
                lines=[models.LineIn(sku="BOLT-M8", quantity=500, unit_price="0.0350")],
            )
        ],
        payments=[models.TokenPaymentIn(method="card", gateway="simulator", token="tok_visa")],
    )


def test_a_generated_client_places_an_order_and_reads_it_back_typed(
    generated: ModuleType, db: Database, client: TestClient, admin: dict[str, str]
) -> None:
    # given the records the order names and a client generated from the document
    factories.intake_world(db)
    typed = _typed_client(generated, client, admin)
    place = _module("api.orders.place_order_api_v1_orders_post")
    get = _module("api.orders.get_order_api_v1_orders_order_ref_get")
    models = _module("models")
    # when it places the order
    placed = place.sync_detailed(client=typed, body=_order_in())
    # then the answer is parsed into the generated OrderOut, with the exact values
    assert placed.status_code == 201
    order = placed.parsed
    assert isinstance(order, models.OrderOut)
    assert (order.number, order.status, order.account, order.channel, order.currency) == (
        "SO-000001", "created", "ACME", "web", "EUR"
    )
    assert (order.pricing, order.tax, order.po_number) == ("order", "calculate", "PO-4711")
    assert order.ordered_at == datetime(2026, 11, 26, 10, tzinfo=UTC)
    assert [str(a) for a in order.available_actions] == ["cancel", "appease", "add"]
    assert order.totals.to_dict() == {
        "product": "17.50", "adjustment": "0.00", "delivery": "12.50", "tax": "5.70", "grand_total": "35.70"
    }
    payment = order.payments[0]
    assert isinstance(payment, models.TokenPaymentOut)
    assert (payment.method, payment.gateway, payment.token) == ("card", "simulator", "tok_visa")
    items = order.delivery_groups[0].items
    assert [(i.type_, i.sku, i.unit_price, i.line_amount, i.quantities.ordered) for i in items] == [
        ("product", "BOLT-M8", "0.035", "17.50", 500),
        ("delivery_charge", None, "12.50", "12.50", 1),
    ]
    # when it reads the order back by number
    read = get.sync(client=typed, order_ref=order.number)
    # then it is the same typed order
    assert isinstance(read, models.OrderOut)
    assert read.to_dict() == order.to_dict()


def test_a_generated_client_gets_a_typed_problem_for_an_unknown_order(
    generated: ModuleType, db: Database, client: TestClient, admin: dict[str, str]
) -> None:
    # given no order
    typed = _typed_client(generated, client, admin)
    get = _module("api.orders.get_order_api_v1_orders_order_ref_get")
    # when the client reads one
    answer = get.sync_detailed(client=typed, order_ref="SO-999999")
    # then the refusal is parsed into the generated Problem, and nothing was created
    problem = answer.parsed
    assert answer.status_code == 404
    assert isinstance(problem, _module("models").Problem)
    assert (problem.type_, problem.status, problem.title) == ("https://ordino.dev/problems/not-found", 404, "Not found")
    with db.read() as s:
        assert s.execute(select(func.count()).select_from(OrderSummary)).scalar_one() == 0
