"""Every list with an `order` filter takes the order's id or its number, and answers the same page
for both; an order that does not exist gives an empty page (not 404, not 422)."""

# ruff: noqa: F811 (fixtures imported from tests.invoicing.support)

from __future__ import annotations

import uuid
from typing import Any

from ordino.orders.process_exceptions.service import raise_process_exception
from tests.invoicing.support import (  # noqa: F401
    Sim,
    api,
    change_order,
    drain,
    fo_id,
    frozen,
    gateways,
    item_ids,
    order_payload,
    place,
    ship,
    sim,
    sim_server,
    world,
)

CARD = [{"method": "card", "gateway": "simulator", "token": "tok_visa"}]
LISTS = ("fulfillment-orders", "invoices", "credit-memos", "payment-summaries", "payments", "process-exceptions",
         "approvals")


def _order_of(path: str, item: dict[str, Any]) -> str:
    """The order id an item of the list names."""
    if path in ("payment-summaries", "payments"):
        return str(item["order_summary_id"])  # payments refers to orders by opaque id
    return str(item["order"]["id"])


def test_every_order_filter_takes_an_id_or_a_number(world: Any, sim: Sim, gateways: Any, api: Any,
                                                     admin: dict[str, str]) -> None:
    # given a card order shipped (fulfilment order, invoice, authorization and capture), with a
    # credited return and a process exception
    shipped = place(world, order_payload(CARD, reference="WEB-1"))
    drain(world, gateways)
    ship(api, admin, fo_id(world, shipped["id"]))
    drain(world, gateways)
    co = change_order(world, shipped["id"], "return", [(item_ids(world, shipped["id"])["BOLT-M8"], 100, -350, 0, -67)])
    memo = api.post("/api/v1/credit-memos", json={"order": shipped["number"], "change_orders": [str(co)]},
                    headers=admin)
    assert memo.status_code == 201, memo.text
    world.transaction(lambda s: raise_process_exception(
        s, category="fulfillment", message="Pallet damaged", attached_to_type="order_summary",
        attached_to_id=uuid.UUID(shipped["id"]), order_summary_id=uuid.UUID(shipped["id"])))
    # and an order held for approval by a rule on its account
    rule = {"account": "ACME", "kind": "order_total", "name": "Large orders", "amount": "10.00", "currency": "EUR"}
    assert api.post("/api/v1/approval-rules", json=rule, headers=admin).status_code == 201
    held = place(world, order_payload(CARD, reference="WEB-2"))
    assert held["status"] == "pending_approval"
    orders = {"approvals": held}
    for path in LISTS:
        order = orders.get(path, shipped)

        def items(ref: str, path: str = path) -> list[dict[str, Any]]:
            r = api.get(f"/api/v1/{path}?order={ref}", headers=admin)
            assert r.status_code == 200, (path, r.text)
            return list(r.json()["items"])

        # when the list is filtered by the order's id and by its number
        by_id, by_number = items(order["id"]), items(order["number"])
        # then both give the same items, all of that order
        assert by_number == by_id, path
        assert by_id != [], path
        assert {_order_of(path, i) for i in by_id} == {order["id"]}, path
        # and an unknown number or id gives an empty page
        assert items("SO-999999") == [], path
        assert items(str(uuid.UUID(int=7))) == [], path
