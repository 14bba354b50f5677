"""A cancel and a return of 5,000 lines of a 10,000-line order, each in one call (Salesforce caps a
credit memo at 500 lines)."""

# ruff: noqa: F811 (fixtures imported from tests.invoicing.support)

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from ordino.invoicing.models import CreditMemoLine
from ordino.kernel.db import Database
from ordino.orders.models import ChangeOrderItem
from tests import factories
from tests.invoicing.support import (  # noqa: F401
    Sim,
    api,
    drain,
    fo_id,
    frozen,
    gateways,
    place,
    ship,
    sim,
    sim_server,
    vat,
    world,
)

LINES = 10_000
SKUS = [f"SCREW-{n:03d}" for n in range(50)]


def _big_order(world: Database) -> dict[str, Any]:
    for sku in SKUS:
        factories.product(world, sku, name=f"Screw {sku}")
        factories.position(world, sku, "WH-BER", on_hand=1_000_000)
    body = factories.order_payload(external_reference="BIG-1")
    # line n: 2 units at 1.00 with 0.38 VAT: 2.38 each
    body["delivery_groups"][0]["lines"] = [
        {"sku": SKUS[n % len(SKUS)], "quantity": 2, "unit_price": "1.00", "tax_lines": vat("0.38")}
        for n in range(LINES)
    ]
    body["delivery_groups"][0]["shipping_charge"] = "0"
    body["payments"] = [{"method": "invoice", "terms": "net_30"}]
    return place(world, body)


def _count(db: Database, model: Any) -> int:
    with db.read() as s:
        return int(s.execute(select(func.count()).select_from(model)).scalar_one())


def test_half_of_a_10000_line_order_is_cancelled_and_the_rest_returned_in_one_call_each(
    world: Database, sim: Sim, gateways: Any, api: Any, admin: dict[str, str]
) -> None:
    # given a 10,000-line order (23,800.00 EUR), routed
    order = _big_order(world)
    drain(world, gateways)
    # when the first 5,000 lines are cancelled in one call
    lines = [{"line_number": n, "quantity": 2} for n in range(1, LINES // 2 + 1)]
    r = api.post(f"/api/v1/orders/{order['number']}/cancellations", headers=admin,
                 json={"lines": lines, "reason": "project cancelled"})
    # then one change order of 5,000 items takes off 11,900.00, credited by one credit memo of 5,000 lines
    assert r.status_code == 201, r.text
    assert (r.json()["totals"]["grand_total"], len(r.json()["change_orders"][0]["items"])) == ("-11900.00", 5000)
    assert (_count(world, ChangeOrderItem), _count(world, CreditMemoLine)) == (5000, 5000)
    # when the rest ships and 5,000 lines come back in one call
    ship(api, admin, fo_id(world, order["id"]))
    drain(world, gateways)
    lines = [{"line_number": n, "quantity": 2} for n in range(LINES // 2 + 1, LINES + 1)]
    r = api.post(f"/api/v1/orders/{order['number']}/returns", headers=admin, json={"lines": lines, "reason": "wrong"})
    assert r.status_code == 201, r.text
    assert r.json()["totals"]["grand_total"] == "-11900.00"
    assert (_count(world, ChangeOrderItem), _count(world, CreditMemoLine)) == (10000, 10000)
    doc = api.get(f"/api/v1/orders/{order['number']}", headers=admin).json()
    assert (doc["totals"]["grand_total"], doc["original_totals"]["grand_total"]) == ("0.00", "23800.00")
