"""Cancel, blind return and appeasement through the API: preview = submit, the change orders,
the credit memo and the money that follows, and refusals that write nothing.

The order (tests.invoicing.support.order_payload): 500 bolts at 0.0350 (17.50, VAT 3.33),
3 nuts at 0.333 (1.00, less 0.10, VAT 0.17), shipping 12.50 (VAT 2.38): 36.78 EUR by card.
"""

# ruff: noqa: F811 (fixtures imported from tests.invoicing.support)

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select

from ordino.inventory.models import InventoryReservation
from ordino.kernel.db import Database
from ordino.orders.models import ChangeOrder, OrderItemSummary, OrderItemSummaryChange
from tests.invoicing.support import (  # noqa: F401
    Sim,
    api,
    count,
    credit_memos,
    drain,
    fo_id,
    frozen,
    gateways,
    invoices,
    order_payload,
    place,
    ship,
    sim,
    sim_server,
    summary,
    world,
)

TERMS = [{"method": "invoice", "terms": "net_30"}]


def _post(api: Any, admin: dict[str, str], order: dict[str, Any], path: str, body: dict[str, Any],
          status: int = 201) -> dict[str, Any]:
    r = api.post(f"/api/v1/orders/{order['number']}/{path}", json=body, headers=admin)
    assert r.status_code == status, r.text
    return dict(r.json())


def _order(api: Any, admin: dict[str, str], order: dict[str, Any]) -> dict[str, Any]:
    return dict(api.get(f"/api/v1/orders/{order['number']}", headers=admin).json())


def _buckets(db: Database, order: dict[str, Any]) -> list[tuple[int, int, int, int, int, int, int]]:
    i = OrderItemSummary
    with db.read() as s:
        return [tuple(r) for r in s.execute(  # type: ignore[misc]
            select(i.line_number, i.quantity_ordered, i.quantity_canceled, i.quantity_allocated,
                   i.quantity_fulfilled, i.quantity_return_initiated, i.quantity_returned)
            .where(i.order_summary_id == uuid.UUID(order["id"])).order_by(i.line_number))]


def _reserved(db: Database) -> int:
    with db.read() as s:
        return int(s.execute(select(func.coalesce(func.sum(InventoryReservation.open_quantity), 0))
                             .where(InventoryReservation.status == "active")).scalar_one())


def _placed(world: Database, gateways: Any, payments: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    order = place(world, order_payload(payments))
    drain(world, gateways)
    return order


CANCEL_100 = {"lines": [{"line_number": 1, "quantity": 100}], "reason": "customer changed mind"}


def test_a_cancel_previews_then_submits_the_same_balances_and_reduces_the_authorization(
    world: Database, sim: Sim, gateways: Any, api: Any, admin: dict[str, str]
) -> None:
    # given a card order routed, nothing shipped (500 bolts reserved and allocated)
    order = _placed(world, gateways)
    # when 100 bolts are previewed for cancelling
    preview = _post(api, admin, order, "cancellations/preview", CANCEL_100, 200)
    # then nothing is written
    assert (count(world, ChangeOrder), _buckets(world, order)[0]) == (0, (1, 500, 0, 500, 0, 0, 0))
    # and the balances are 100/500 of the line from the top: 3.50 and VAT 3.33 − round(2.664) = 0.67
    assert preview["previewed"] is True
    assert preview["change_orders"][0]["items"] == [{
        "order_item_id": preview["change_orders"][0]["items"][0]["order_item_id"], "line_number": 1,
        "type": "product", "sku": "BOLT-M8", "quantity": 100, "stage": "in_fulfillment", "line_amount": "-3.50",
        "adjustment_amount": "0.00", "tax_amount": "-0.67", "total": "-4.17"}]
    # nothing was captured: nothing to refund, 4.17 never charged and released from the authorization
    assert preview["money"] == {"credit": "4.17", "refund": "0.00", "refunds": [], "void": "4.17",
                                "not_charged": "4.17", "open_credit": "0.00"}
    # when it is submitted with the same body
    done = _post(api, admin, order, "cancellations", CANCEL_100)
    # then the balances are the preview's
    assert (done["change_orders"][0]["items"], done["totals"], done["money"]) == (
        preview["change_orders"][0]["items"], preview["totals"], preview["money"])
    assert (done["change_orders"][0]["number"], done["credit_memo"], done["order_status"]) == (
        "CO-000001", "CM-2026-000001", "approved")
    # and the units are cancelled, deallocated and no longer reserved
    assert _buckets(world, order)[0] == (1, 500, 100, 400, 0, 0, 0)
    assert _reserved(world) == 400 + 3
    # and the order shows its totals as they stand, and the original
    doc = _order(api, admin, order)
    assert (doc["totals"]["grand_total"], doc["original_totals"]["grand_total"]) == ("32.61", "36.78")
    # and the credit memo settles as never charged
    drain(world, gateways)
    assert credit_memos(world) == [("CM-2026-000001", "closed", 417, 0, 417, 0)]
    # and the change order is listed with its stage
    listed = api.get(f"/api/v1/orders/{order['number']}/change-orders", headers=admin).json()["items"]
    assert [(c["number"], c["kind"], c["credit_memo"], c["totals"]["grand_total"], c["items"][0]["stage"])
            for c in listed] == [("CO-000001", "cancel", "CM-2026-000001", "-4.17", "in_fulfillment")]


def test_cancelling_the_whole_rest_cancels_the_order_and_its_shipping(
    world: Database, sim: Sim, gateways: Any, api: Any, admin: dict[str, str]
) -> None:
    # given a card order routed, nothing shipped
    order = _placed(world, gateways)
    # when every unit is cancelled
    body = {"lines": [{"line_number": 1, "quantity": 500}, {"line_number": 2, "quantity": 3}], "reason": "fraud"}
    done = _post(api, admin, order, "cancellations", body)
    # then the shipping charge goes too, the credit is the whole order and the order is cancelled
    assert [(i["line_number"], i["type"], i["total"]) for i in done["change_orders"][0]["items"]] == [
        (1, "product", "-20.83"), (2, "product", "-1.07"), (3, "delivery_charge", "-14.88")]
    assert (done["totals"]["grand_total"], done["order_status"]) == ("-36.78", "cancelled")
    assert _reserved(world) == 0
    doc = _order(api, admin, order)
    assert (doc["totals"]["grand_total"], doc["available_actions"]) == ("0.00", [])
    # and its fulfilment order is cancelled
    fo = api.get(f"/api/v1/fulfillment-orders/{fo_id(world, order['id'])}", headers=admin).json()
    assert fo["status"] == "cancelled"


def test_a_cancel_of_more_than_is_left_is_refused_naming_the_line_and_writes_nothing(
    world: Database, sim: Sim, gateways: Any, api: Any, admin: dict[str, str]
) -> None:
    # given a card order with 100 of 500 bolts shipped
    order = _placed(world, gateways)
    ship(api, admin, fo_id(world, order["id"]), BOLT_M8=100)
    drain(world, gateways)
    before = _buckets(world, order)
    # when 401 bolts are cancelled
    r = api.post(f"/api/v1/orders/{order['number']}/cancellations", headers=admin,
                 json={"lines": [{"line_number": 1, "quantity": 401}], "reason": "x"})
    # then 409 names the line and what is available
    assert r.status_code == 409
    assert (r.json()["type"].rsplit("/", 1)[1], r.json()["lines"], r.json()["errors"]) == (
        "not-available", [{"line_number": 1, "requested": 401, "available": 400}],
        [{"field": "lines[0].quantity", "message": "at most 400 (available to cancel on line 1)"}])
    # and nothing is written
    assert (count(world, ChangeOrder), _buckets(world, order)) == (0, before)
    # when an unknown line is named: 422 naming the field
    r = api.post(f"/api/v1/orders/{order['number']}/cancellations", headers=admin,
                 json={"lines": [{"line_number": 9, "quantity": 1}], "reason": "x"})
    assert (r.status_code, r.json()["errors"]) == (422, [{"field": "lines[0].line_number",
                                                          "message": "no line 9 on this order"}])


def test_a_picked_fulfilment_order_gives_units_back_only_when_the_location_confirms(
    world: Database, sim: Sim, gateways: Any, api: Any, admin: dict[str, str]
) -> None:
    # given a card order whose fulfilment order is picked
    order = _placed(world, gateways)
    fo = fo_id(world, order["id"])
    for step in ("assign", "pick"):
        assert api.post(f"/api/v1/fulfillment-orders/{fo}/{step}", json={}, headers=admin).status_code == 200
    # when 10 bolts are cancelled without the location's confirmation: 409, nothing written
    body = {"lines": [{"line_number": 1, "quantity": 10}], "reason": "too many"}
    r = api.post(f"/api/v1/orders/{order['number']}/cancellations", json=body, headers=admin)
    assert (r.status_code, r.json()["type"].rsplit("/", 1)[1]) == (409, "location-must-confirm")
    assert count(world, ChangeOrder) == 0
    # when it confirmed: the units come back from the fulfilment order
    done = _post(api, admin, order, "cancellations", {**body, "location_confirmed": True})
    assert done["totals"]["grand_total"] == "-0.42"
    fo_doc = api.get(f"/api/v1/fulfillment-orders/{fo}", headers=admin).json()
    assert [(i["sku"], i["quantity"], i["quantity_canceled"]) for i in fo_doc["items"]][:1] == [("BOLT-M8", 500, 10)]


def test_a_blind_return_credits_the_invoiced_share_and_refunds_the_card(
    world: Database, sim: Sim, gateways: Any, api: Any, admin: dict[str, str]
) -> None:
    # given a card order shipped, invoiced and captured in full
    order = _placed(world, gateways)
    ship(api, admin, fo_id(world, order["id"]))
    drain(world, gateways)
    # when 1 nut is returned: 0.333 of the line (0.33), its discount share (+0.03) and VAT (0.06)
    body = {"lines": [{"line_number": 2, "quantity": 1}], "reason": "broken"}
    preview = _post(api, admin, order, "returns/preview", body, 200)
    done = _post(api, admin, order, "returns", body)
    # then the balances are the preview's and the money goes back to the capture
    assert (done["totals"], done["money"]) == (preview["totals"], preview["money"])
    assert done["totals"] == {"product": "-0.33", "adjustment": "0.03", "delivery": "0.00", "tax": "-0.06",
                              "grand_total": "-0.36"}
    assert (done["money"]["refund"], done["money"]["open_credit"]) == ("0.36", "0.00")
    assert _buckets(world, order)[1] == (2, 3, 0, 3, 3, 1, 1)
    drain(world, gateways)
    assert credit_memos(world) == [("CM-2026-000001", "closed", 36, 36, 0, 0)]
    assert summary(world, order["id"])[1:] == (3678, 36)
    # when more than is left to return is asked: 409, nothing written
    r = api.post(f"/api/v1/orders/{order['number']}/returns", headers=admin,
                 json={"lines": [{"line_number": 2, "quantity": 3}], "reason": "x"})
    assert (r.status_code, r.json()["lines"]) == (409, [{"line_number": 2, "requested": 3, "available": 2}])
    assert count(world, ChangeOrder) == 1


def test_an_appeasement_with_tax_splits_net_and_vat_and_a_return_gives_back_its_share(
    world: Database, sim: Sim, gateways: Any, api: Any, admin: dict[str, str]
) -> None:
    # given a card order shipped and paid
    order = _placed(world, gateways)
    ship(api, admin, fo_id(world, order["id"]))
    drain(world, gateways)
    # when the bolts are appeased by 1.19 with tax: 1.00 net and 0.19 VAT
    done = _post(api, admin, order, "appeasements", {"lines": [{"line_number": 1, "amount": "1.19"}],
                                                     "reason": "late delivery"})
    assert [(c["kind"], c["items"][0]["quantity"], c["items"][0]["stage"], c["totals"])
            for c in done["change_orders"]] == [
        ("appeasement", 0, "post_fulfillment", {"product": "0.00", "adjustment": "-1.00", "delivery": "0.00",
                                                "tax": "-0.19", "grand_total": "-1.19"})]
    assert done["money"]["refund"] == "1.19"
    # when half the bolts come back: half the line and half the appeasement
    back = _post(api, admin, order, "returns", {"lines": [{"line_number": 1, "quantity": 250}], "reason": "late"})
    assert back["totals"] == {"product": "-8.75", "adjustment": "0.50", "delivery": "0.00", "tax": "-1.57",
                              "grand_total": "-9.82"}
    # then the order's totals are the original plus both changes
    doc = _order(api, admin, order)
    assert doc["totals"] == {"product": "9.75", "adjustment": "-0.60", "delivery": "12.50", "tax": "4.12",
                             "grand_total": "25.77"}
    # and every change is a row per item and stage
    with world.read() as s:
        rows = s.execute(select(OrderItemSummaryChange.change_type, OrderItemSummaryChange.stage,
                                OrderItemSummaryChange.quantity).order_by(OrderItemSummaryChange.id)).all()
    assert [tuple(r) for r in rows] == [("appeasement", "post_fulfillment", 0), ("return", "post_fulfillment", 250)]


def test_an_appeasement_cannot_take_off_more_than_the_line_is_worth(
    world: Database, sim: Sim, gateways: Any, api: Any, admin: dict[str, str]
) -> None:
    order = _placed(world, gateways)
    r = api.post(f"/api/v1/orders/{order['number']}/appeasements", headers=admin,
                 json={"lines": [{"line_number": 2, "amount": "1.00", }], "includes_tax": False, "reason": "x"})
    assert (r.status_code, r.json()["errors"]) == (409, [
        {"field": "lines[0].amount", "message": "at most 0.90 (what is left of line 2)"}])
    r = api.post(f"/api/v1/orders/{order['number']}/appeasements", headers=admin,
                 json={"lines": [{"line_number": 2, "amount": "-1.00"}], "reason": "x"})
    assert (r.status_code, r.json()["errors"][0]["field"]) == (422, "lines[0].amount")
    assert count(world, ChangeOrder) == 0


def test_a_whole_order_appeasement_is_spread_over_the_lines_by_value(
    world: Database, sim: Sim, gateways: Any, api: Any, admin: dict[str, str]
) -> None:
    # given a card order, nothing shipped
    order = _placed(world, gateways)
    # when 10 % of the whole order is given back (of 17.50 + 3.33 and 0.90 + 0.17, with tax)
    done = _post(api, admin, order, "appeasements", {"percent": "10", "reason": "goodwill"})
    # then each line takes 10 % of its value with tax, at the stage of its units (allocated)
    assert [(i["line_number"], i["stage"], i["total"]) for c in done["change_orders"] for i in c["items"]] == [
        (1, "in_fulfillment", "-2.08"), (2, "in_fulfillment", "-0.11")]


def test_a_submit_replayed_with_its_idempotency_key_changes_the_order_once(
    world: Database, sim: Sim, gateways: Any, api: Any, admin: dict[str, str]
) -> None:
    order = _placed(world, gateways)
    headers = {**admin, "Idempotency-Key": "cancel-1"}
    first = api.post(f"/api/v1/orders/{order['number']}/cancellations", json=CANCEL_100, headers=headers)
    again = api.post(f"/api/v1/orders/{order['number']}/cancellations", json=CANCEL_100, headers=headers)
    assert (first.status_code, again.status_code, again.headers.get("Idempotent-Replayed")) == (201, 201, "true")
    assert first.json() == again.json()
    assert (count(world, ChangeOrder), _buckets(world, order)[0][2]) == (1, 100)


def test_an_order_on_terms_cancelled_in_part_before_shipping_owes_less(
    world: Database, sim: Sim, gateways: Any, api: Any, admin: dict[str, str]
) -> None:
    # given an order on invoice terms
    order = _placed(world, gateways, TERMS)
    # when 100 bolts are cancelled and the rest ships
    done = _post(api, admin, order, "cancellations", CANCEL_100)
    assert done["money"] == {"credit": "4.17", "refund": "0.00", "refunds": [], "void": "0.00",
                             "not_charged": "4.17", "open_credit": "0.00"}
    ship(api, admin, fo_id(world, order["id"]))
    drain(world, gateways)
    # then its invoice bills exactly what is left
    assert invoices(world, order["id"]) == [("INV-2026-000001", "open", 3261, 0, 3261)]


def test_a_return_of_part_of_an_appeased_line_gives_back_its_units_share_of_the_appeasement(
    world: Database, sim: Sim, gateways: Any, api: Any, admin: dict[str, str]
) -> None:
    # given 3 nuts (1.00 − 0.10 = 0.90 net, VAT 0.17), 1 shipped, the line appeased by 0.60 net
    order = _placed(world, gateways)
    ship(api, admin, fo_id(world, order["id"]), NUT_M8=1)
    drain(world, gateways)
    _post(api, admin, order, "appeasements", {"lines": [{"line_number": 2, "amount": "0.60"}], "includes_tax": False,
                                              "reason": "late"})
    # when the shipped nut comes back
    back = _post(api, admin, order, "returns", {"lines": [{"line_number": 2, "quantity": 1}], "reason": "late"})
    # then it credits its share of the line (0.33 − 0.03, VAT 0.06) less a third of the appeasement
    # (the 3 live units share 0.60 and its 0.11 VAT: 0.20 and 0.04): 0.30 − 0.20 + 0.06 − 0.04 = 0.12
    assert back["totals"] == {"product": "-0.33", "adjustment": "0.23", "delivery": "0.00", "tax": "-0.02",
                              "grand_total": "-0.12"}
