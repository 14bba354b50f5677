"""Items added to an order: additions, exchanges and reships through the API, with the money that
follows (the difference authorized next to the first authorization, captured as they ship).

The order (tests.invoicing.support.order_payload): 500 bolts at 0.0350 (17.50, VAT 3.33),
3 nuts at 0.333 (1.00, less 0.10, VAT 0.17), shipping 12.50 (VAT 2.38): 36.78 EUR by card.
"""

# ruff: noqa: F811 (fixtures imported from tests.invoicing.support)

from __future__ import annotations

from typing import Any

from ordino.kernel.db import Database
from ordino.orders.models import ChangeOrder, OrderItemSummary
from tests.invoicing.support import (  # noqa: F401
    Sim,
    api,
    count,
    credit_memos,
    drain,
    fo_ids,
    frozen,
    gateways,
    invoices,
    order_payload,
    payments,
    place,
    ship,
    sim,
    sim_server,
    world,
)


def _vat(amount: str) -> list[dict[str, str]]:
    return [{"name": "VAT 19%", "rate": "0.19", "amount": amount, "category": "S", "jurisdiction": "DE"}]


TEN_NUTS = {"lines": [{"sku": "NUT-M8", "quantity": 10, "unit_price": "0.50", "tax_lines": _vat("0.95")}],
            "reason": "forgot the nuts"}


def _post(api: Any, admin: dict[str, str], order: dict[str, Any], path: str, body: dict[str, Any],
          status: int = 201) -> dict[str, Any]:
    r = api.post(f"/api/v1/orders/{order['number']}/{path}", json=body, headers=admin)
    assert r.status_code == status, r.text
    return dict(r.json())


def _placed(world: Database, gateways: Any) -> dict[str, Any]:
    order = place(world, order_payload())
    drain(world, gateways)
    return order


def _ship_all(world: Database, gateways: Any, api: Any, admin: dict[str, str], order: dict[str, Any]) -> None:
    for fo in fo_ids(world, order["id"]):
        doc = api.get(f"/api/v1/fulfillment-orders/{fo}", headers=admin).json()
        if doc["status"] not in ("fulfilled", "cancelled"):
            ship(api, admin, fo)
    drain(world, gateways)


def test_an_addition_is_priced_taxed_reserved_routed_and_authorized_for_the_difference(
    world: Database, sim: Sim, gateways: Any, api: Any, admin: dict[str, str]
) -> None:
    # given a card order routed and authorized for 36.78
    order = _placed(world, gateways)
    # when 10 nuts at 0.50 with 0.95 VAT are previewed, then added
    preview = _post(api, admin, order, "additions/preview", TEN_NUTS, 200)
    assert count(world, OrderItemSummary) == 3
    done = _post(api, admin, order, "additions", TEN_NUTS)
    # then the addition is a change order of 5.95, as previewed, authorized on the card
    assert (done["totals"], done["money"]) == (preview["totals"], preview["money"])
    assert done["totals"] == {"product": "5.00", "adjustment": "0.00", "delivery": "0.00", "tax": "0.95",
                              "grand_total": "5.95"}
    assert (done["money"]["authorize"], done["change_orders"][0]["kind"]) == ("5.95", "addition")
    assert [(i["line_number"], i["sku"], i["quantity"]) for i in done["change_orders"][0]["items"]] == [
        (4, "NUT-M8", 10)]
    drain(world, gateways)
    # and the first authorization stays as it was, the difference is a second one
    assert payments(world) == [("authorization", "authorized", 3678), ("authorization", "authorized", 595)]
    # and the order stands at 42.73 with a new line, allocated to a fulfilment order
    doc = api.get(f"/api/v1/orders/{order['number']}", headers=admin).json()
    assert (doc["totals"]["grand_total"], doc["original_totals"]["grand_total"]) == ("42.73", "36.78")
    line = doc["delivery_groups"][0]["items"][3]
    assert (line["line_number"], line["sku"], line["quantities"]["allocated"]) == (4, "NUT-M8", 10)
    # when everything ships, the invoices bill the whole new total from the two authorizations
    _ship_all(world, gateways, api, admin, order)
    assert sum(total for _, _, total, _, _ in invoices(world, order["id"])) == 4273
    assert sum(p[2] for p in payments(world) if p[0] == "capture") == 4273
    assert [p for p in payments(world) if p[0] == "authorization"] == [
        ("authorization", "closed", 3678), ("authorization", "closed", 595)]


def test_an_addition_of_an_unknown_product_names_the_field_and_writes_nothing(
    world: Database, sim: Sim, gateways: Any, api: Any, admin: dict[str, str]
) -> None:
    order = _placed(world, gateways)
    r = api.post(f"/api/v1/orders/{order['number']}/additions", headers=admin,
                 json={"lines": [{"sku": "NOPE", "quantity": 1, "unit_price": "1.00"}], "reason": "x"})
    assert (r.status_code, r.json()["errors"]) == (422, [{"field": "lines[0].sku", "message": "no product 'NOPE'"}])
    assert (count(world, ChangeOrder), count(world, OrderItemSummary)) == (0, 3)


def test_nothing_is_added_to_a_cancelled_order(
    world: Database, sim: Sim, gateways: Any, api: Any, admin: dict[str, str]
) -> None:
    order = _placed(world, gateways)
    _post(api, admin, order, "cancellations", {"lines": [{"line_number": 1, "quantity": 500},
                                                         {"line_number": 2, "quantity": 3}], "reason": "fraud"})
    r = api.post(f"/api/v1/orders/{order['number']}/additions", json=TEN_NUTS, headers=admin)
    assert (r.status_code, r.json()["current_status"]) == (409, "cancelled")
    assert count(world, ChangeOrder) == 1


def test_an_uneven_exchange_credits_the_returned_unit_and_charges_the_new_one(
    world: Database, sim: Sim, gateways: Any, api: Any, admin: dict[str, str]
) -> None:
    # given a card order shipped and paid
    order = _placed(world, gateways)
    _ship_all(world, gateways, api, admin, order)
    # when 1 nut (0.33 − 0.03 + VAT 0.06 = 0.36) is exchanged for 1 bolt at 0.05 + VAT 0.01
    body = {"lines": [{"line_number": 2, "quantity": 1, "sku": "BOLT-M8", "unit_price": "0.05",
                       "tax_lines": _vat("0.01")}], "reason": "wrong size"}
    preview = _post(api, admin, order, "exchanges/preview", body, 200)
    done = _post(api, admin, order, "exchanges", body)
    # then a return change order and an exchange change order, as previewed
    assert (done["totals"], done["money"]) == (preview["totals"], preview["money"])
    assert [(c["kind"], c["totals"]["grand_total"]) for c in done["change_orders"]] == [
        ("return", "-0.36"), ("exchange", "0.06")]
    assert (done["money"]["refund"], done["money"]["authorize"], done["money"]["difference"]) == (
        "0.36", "0.06", "-0.30")
    assert (done["credit_memo"], done["order_status"]) == ("CM-2026-000001", "partially_fulfilled")
    drain(world, gateways)
    # and the returned unit is refunded, the new one authorized and routed in a new delivery group
    assert credit_memos(world) == [("CM-2026-000001", "closed", 36, 36, 0, 0)]
    assert payments(world)[-2:] == [("refund", "succeeded", 36), ("authorization", "authorized", 6)]
    doc = api.get(f"/api/v1/orders/{order['number']}", headers=admin).json()
    assert [(g["items"][0]["sku"], g["items"][0]["quantities"]["allocated"]) for g in doc["delivery_groups"]][1:] == [
        ("BOLT-M8", 1)]
    # when it ships: invoiced 0.06 and captured, and the order is fulfilled again
    _ship_all(world, gateways, api, admin, order)
    assert invoices(world, order["id"])[-1][1:] == ("paid", 6, 6, 0)
    doc = api.get(f"/api/v1/orders/{order['number']}", headers=admin).json()
    assert (doc["status"], doc["totals"]["grand_total"]) == ("fulfilled", "36.48")


def test_a_reship_sends_units_again_at_no_charge(
    world: Database, sim: Sim, gateways: Any, api: Any, admin: dict[str, str]
) -> None:
    # given a card order shipped and paid
    order = _placed(world, gateways)
    _ship_all(world, gateways, api, admin, order)
    # when 5 bolts lost in transit are reshipped, with a carrier claim
    done = _post(api, admin, order, "reships", {"lines": [{"line_number": 1, "quantity": 5}], "reason": "lost",
                                                "carrier_claim": "DHL-4711"})
    # then a zero change order, its reason with the claim, a new line at no charge, routed
    co = done["change_orders"][0]
    assert (co["kind"], co["reason"], co["totals"]["grand_total"], done["money"]["authorize"]) == (
        "reship", "lost (carrier claim DHL-4711)", "0.00", "0.00")
    assert [(i["line_number"], i["sku"], i["quantity"], i["total"]) for i in co["items"]] == [
        (4, "BOLT-M8", 5, "0.00")]
    assert done["order_status"] == "partially_fulfilled"
    # when it ships: a zero invoice, paid at once; no money moved
    _ship_all(world, gateways, api, admin, order)
    assert invoices(world, order["id"])[-1][1:] == ("paid", 0, 0, 0)
    assert [p for p in payments(world) if p[0] != "capture"] == [("authorization", "closed", 3678)]
    # more than was shipped cannot be reshipped
    r = api.post(f"/api/v1/orders/{order['number']}/reships", headers=admin,
                 json={"lines": [{"line_number": 2, "quantity": 4}], "reason": "lost"})
    assert (r.status_code, r.json()["lines"]) == (409, [{"line_number": 2, "requested": 4, "available": 3}])



def test_an_exchange_linked_to_a_return_order_sends_the_new_items_and_the_receipt_credits_the_old(
    world: Database, sim: Sim, gateways: Any, api: Any, admin: dict[str, str]
) -> None:
    # given a card order shipped and paid, and a return order expecting 100 bolts
    order = _placed(world, gateways)
    _ship_all(world, gateways, api, admin, order)
    r = api.post("/api/v1/return-orders", headers=admin, json={
        "order": order["number"], "lines": [{"line_number": 1, "quantity": 100, "reason": "wrong size"}]})
    assert r.status_code == 201, r.text
    rma = r.json()["number"]
    # when 100 bolts are exchanged for 100 of another size at the same price, linked to it
    body = {"lines": [{"line_number": 1, "quantity": 100, "sku": "BOLT-M8", "unit_price": "0.0350",
                       "tax_lines": _vat("0.67")}], "reason": "another size", "return_order": rma}
    done = _post(api, admin, order, "exchanges", body)
    # then only the new items are a change order: the return order will credit the old ones
    assert [(c["kind"], c["reason"], c["totals"]["grand_total"]) for c in done["change_orders"]] == [
        ("exchange", f"another size (returned with {rma})", "4.17")]
    # the 100 bolts' share of the line is 3.50 + 0.67 VAT: an even exchange
    assert (done["credit_memo"], done["money"]["refund"], done["money"]["difference"]) == (None, "0.00", "0.00")
    # when more than the return order still expects is exchanged: 409 naming the line
    r = api.post(f"/api/v1/orders/{order['number']}/exchanges", headers=admin,
                 json={**body, "lines": [{**body["lines"][0], "quantity": 101}]})
    assert (r.status_code, r.json()["lines"]) == (409, [{"line_number": 1, "requested": 101, "available": 100}])
    # when the return order is received, its receipt credits the returned bolts
    assert api.post(f"/api/v1/return-orders/{rma}/approve", headers=admin).status_code == 200
    r = api.post(f"/api/v1/return-orders/{rma}/receipts", headers=admin, json={
        "location": "WH-BER", "lines": [{"line_number": 1, "received": 100, "disposition": "restock"}]})
    assert r.status_code == 201, r.text
    drain(world, gateways)
    assert credit_memos(world) == [("CM-2026-000001", "closed", 417, 417, 0, 0)]
    # an unknown return order is named
    r = api.post(f"/api/v1/orders/{order['number']}/exchanges", headers=admin, json={**body, "return_order": "RMA-X"})
    assert (r.status_code, r.json()["errors"]) == (422, [{"field": "return_order",
                                                          "message": "no return order 'RMA-X' of this order"}])


def test_an_addition_that_brings_an_approved_order_over_an_approval_rule_is_refused(
    world: Database, sim: Sim, gateways: Any, api: Any, admin: dict[str, str]
) -> None:
    # given ACME's orders over 40.00 EUR need approval, and an approved order of 36.78
    r = api.post("/api/v1/approval-rules", headers=admin, json={
        "account": "ACME", "kind": "order_total", "name": "Over 40", "amount": "40.00", "currency": "EUR"})
    assert r.status_code == 201, r.text
    order = _placed(world, gateways)
    assert api.get(f"/api/v1/orders/{order['number']}", headers=admin).json()["status"] == "approved"
    # when 5.95 of nuts would be added (42.73): 409 naming the rule, nothing written
    r = api.post(f"/api/v1/orders/{order['number']}/additions", json=TEN_NUTS, headers=admin)
    assert (r.status_code, r.json()["type"].rsplit("/", 1)[1]) == (409, "approval-required")
    assert "Over 40" in r.json()["detail"]
    assert (count(world, ChangeOrder), count(world, OrderItemSummary)) == (0, 3)
    # and its preview answers the same
    r = api.post(f"/api/v1/orders/{order['number']}/additions/preview", json=TEN_NUTS, headers=admin)
    assert (r.status_code, r.json()["type"].rsplit("/", 1)[1]) == (409, "approval-required")
