"""A worked scenario, every amount computed by hand: a 10-line EUR card order at 19 % and 7 % VAT
with a 5 % order discount; a cancel before shipment, two shipments, an RMA return with a restocking
fee, an appeasement and an exchange of one unit for another size; then every change order, invoice,
credit memo, payment and the order's totals are compared with the hand computation, and every
document is validated as an e-invoice.

Rounding is half up throughout (to the cent). Amounts below are in cents unless written in euros.

The order (pricing "order": the channel sends prices, the discount and the VAT lines):

    line  SKU     qty  unit    goods    rate  quota of 3254            discount  net     VAT = round(net × rate)
    1     SKU-01  10   12.00   120.00   19 %  600.0277 → 600           −6.00    114.00   21.66 (21.66)
    2     SKU-02   8    5.00    40.00   19 %  200.0092 → 200           −2.00     38.00    7.22 (7.22)
    3     SKU-03   4   24.90    99.60    7 %  498.0230 → 498           −4.98     94.62    6.62 (6.6234)
    4     SKU-04   2   49.99    99.98   19 %  499.9230 → 499 + 1       −5.00     94.98   18.05 (18.0462)
    5     SKU-05   6   15.00    90.00   19 %  450.0207 → 450           −4.50     85.50   16.25 (16.245)
    6     SKU-06   3    9.99    29.97    7 %  149.8569 → 149 + 1       −1.50     28.47    1.99 (1.9929)
    7     SKU-07   1   89.00    89.00   19 %  445.0205 → 445           −4.45     84.55   16.06 (16.0645)
    8     SKU-08  12    2.50    30.00    7 %  150.0069 → 150           −1.50     28.50    2.00 (1.995)
    9     SKU-09   5    7.77    38.85   19 %  194.2590 → 194           −1.94     36.91    7.01 (7.0129)
    10    SKU-10   1   13.37    13.37    7 %   66.8531 → 66 + 1        −0.67     12.70    0.89 (0.889)
    goods 650.77; 5 % = 32.5385 → 32.54 (3254 cents), allocated in proportion to the goods by largest
    remainder: the floors sum to 3251, the 3 cents left go to the largest
    remainders: lines 4 (.9230), 6 (.8569), 10 (.8531).
    shipping 5.00, VAT 19 % 0.95.

    original: product 650.77, adjustment −32.54, delivery 5.00,
              tax 21.66+7.22+6.62+18.05+16.25+1.99+16.06+2.00+7.01+0.89 = 97.75, + 0.95 = 98.70
              grand total 650.77 − 32.54 + 5.00 + 98.70 = 721.93
"""

# ruff: noqa: F811 (fixtures imported from tests.invoicing.support)

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from ordino.accounts.models import Account
from ordino.invoicing.models import CreditMemo, Invoice
from ordino.kernel.db import Database
from tests import factories
from tests.invoicing.conftest import Validator, en16931, peppol  # noqa: F401
from tests.invoicing.support import (  # noqa: F401
    Sim,
    api,
    credit_memos,
    drain,
    fo_id,
    fo_ids,
    frozen,
    gateways,
    invoices,
    payments,
    place,
    ship,
    sim,
    sim_server,
    summary,
    vat,
    world,
)

RMA = "/api/v1/return-orders"
# (sku, quantity, unit price, VAT rate, discount, VAT) as in the table above
LINES = [
    ("SKU-01", 10, "12.00", "0.19", "-6.00", "21.66"),
    ("SKU-02", 8, "5.00", "0.19", "-2.00", "7.22"),
    ("SKU-03", 4, "24.90", "0.07", "-4.98", "6.62"),
    ("SKU-04", 2, "49.99", "0.19", "-5.00", "18.05"),
    ("SKU-05", 6, "15.00", "0.19", "-4.50", "16.25"),
    ("SKU-06", 3, "9.99", "0.07", "-1.50", "1.99"),
    ("SKU-07", 1, "89.00", "0.19", "-4.45", "16.06"),
    ("SKU-08", 12, "2.50", "0.07", "-1.50", "2.00"),
    ("SKU-09", 5, "7.77", "0.19", "-1.94", "7.01"),
    ("SKU-10", 1, "13.37", "0.07", "-0.67", "0.89"),
]


def _payload() -> dict[str, Any]:
    body = factories.order_payload(external_reference="WEB-WORKED")
    group = body["delivery_groups"][0]
    group["lines"] = [
        {"sku": sku, "quantity": q, "unit_price": price, "tax_lines": vat(tax, rate),
         "adjustments": [{"name": "Order discount 5 %", "amount": discount, "reference": "ORDER5"}]}
        for sku, q, price, rate, discount, tax in LINES
    ]
    group["shipping_charge"] = "5.00"
    group["shipping_tax_lines"] = vat("0.95")
    body["payments"] = [{"method": "card", "gateway": "simulator", "token": "tok_visa"}]
    return body


def _seller_and_goods(db: Database) -> None:
    """A German seller with what Peppol asks of it, a buyer with a VAT ID, and the ten products."""
    factories.legal_entity(
        db, phone="+49 30 1234567", contact_name="Jana Dvořáková", tax_number="37/123/45678",
        registration_number="HRB 123456 B", register_court="Amtsgericht Charlottenburg",
        managing_directors="Jana Dvořáková", endpoint_scheme="9930", endpoint_id="DE136695976",
    )
    db.transaction(lambda s: s.execute(update(Account).where(Account.number == "ACME").values(
        tax_id="DE811907980", locale="de-DE")))
    for sku, *_ in LINES:
        factories.product(db, sku, name=f"Artikel {sku}")
        factories.position(db, sku, "WH-BER", on_hand=100)


def _post(api: Any, admin: dict[str, str], path: str, body: dict[str, Any] | None = None,
          status: int = 201) -> dict[str, Any]:
    r = api.post(path, json=body, headers=admin)
    assert r.status_code == status, r.text
    return dict(r.json())


def _totals(product: str, adjustment: str, delivery: str, tax: str, grand_total: str) -> dict[str, str]:
    return {"product": product, "adjustment": adjustment, "delivery": delivery, "tax": tax,
            "grand_total": grand_total}


CANCEL = {"lines": [{"line_number": 2, "quantity": 3}], "reason": "customer changed mind"}


def _cancel(api: Any, admin: dict[str, str], order: dict[str, Any]) -> None:
    # Line 2 keeps 5 of 8 units: it keeps round(amount × 5/8) of each amount, the cancel takes the rest.
    #   goods 40.00 × 5/8 = 25.00 → −15.00
    #   discount −2.00 × 5/8 = −1.25 → +0.75 (the cancelled units' discount goes back)
    #   VAT 7.22 × 5/8 = 4.5125 → 4.51 → −2.71
    #   total −15.00 + 0.75 − 2.71 = −16.96
    # Nothing is captured before shipping: 16.96 is never charged and released from the authorization.
    preview = _post(api, admin, f"/api/v1/orders/{order['number']}/cancellations/preview", CANCEL, 200)
    done = _post(api, admin, f"/api/v1/orders/{order['number']}/cancellations", CANCEL)
    assert (done["change_orders"][0]["items"], done["totals"], done["money"]) == (
        preview["change_orders"][0]["items"], preview["totals"], preview["money"])
    item = done["change_orders"][0]["items"][0]
    assert (item["line_number"], item["quantity"], item["stage"], item["line_amount"], item["adjustment_amount"],
            item["tax_amount"], item["total"]) == (2, 3, "in_fulfillment", "-15.00", "0.75", "-2.71", "-16.96")
    assert done["totals"] == _totals("-15.00", "0.75", "0.00", "-2.71", "-16.96")
    assert done["money"] == {"credit": "16.96", "refund": "0.00", "refunds": [], "void": "16.96",
                             "not_charged": "16.96", "open_credit": "0.00"}
    assert (done["change_orders"][0]["number"], done["credit_memo"]) == ("CO-000001", "CM-2026-000001")


def _return(api: Any, admin: dict[str, str], order: dict[str, Any]) -> None:
    # 2 of line 5's 6 units come back (from the bottom: round(amount × 2/6) of each amount):
    #   goods 90.00 × 2/6 = 30.00 → −30.00
    #   discount −4.50 × 2/6 = −1.50 → +1.50
    #   VAT 16.25 × 2/6 = 5.41667 → 5.42 → −5.42
    #   return total −30.00 + 1.50 − 5.42 = −33.92
    # restocking fee 10 % of the returned goods with tax: 3.392 → 3.39, split at 19 %:
    #   net 3.39 / 1.19 = 2.84874 → 2.85, VAT 3.39 − 2.85 = 0.54; fee change order +3.39
    # credit memo 33.92 − 3.39 = 30.53, refunded to the captures
    rma = _post(api, admin, RMA, {"order": order["number"], "return_location": "WH-BER",
                                  "lines": [{"line_number": 5, "quantity": 2, "reason": "too many"}]})
    assert _post(api, admin, f"{RMA}/{rma['number']}/approve", status=200)["status"] == "approved"
    doc = _post(api, admin, f"{RMA}/{rma['number']}/receipts", {
        "location": "WH-BER", "lines": [{"line_number": 5, "received": 2, "disposition": "restock"}],
        "fees": {"restocking_percent": "10"}})
    assert doc["status"] == "received"
    receipt = doc["receipts"][0]
    assert (receipt["change_order"], receipt["fee_change_order"], receipt["credit_memo"], receipt["restocking_fee"],
            receipt["return_shipping"]) == ("CO-000002", "CO-000003", "CM-2026-000002", "3.39", "0.00")


def _appease(api: Any, admin: dict[str, str], order: dict[str, Any]) -> None:
    # 10.00 with tax off line 7 (19 %): net 10.00 / 1.19 = 8.40336 → 8.40, VAT 10.00 − 8.40 = 1.60;
    # everything invoiced and paid: 10.00 refunded.
    done = _post(api, admin, f"/api/v1/orders/{order['number']}/appeasements",
                 {"lines": [{"line_number": 7, "amount": "10.00"}], "includes_tax": True, "reason": "scratched"})
    assert [(c["number"], c["items"][0]["stage"], c["totals"]) for c in done["change_orders"]] == [
        ("CO-000004", "post_fulfillment", _totals("0.00", "-8.40", "0.00", "-1.60", "-10.00"))]
    assert (done["credit_memo"], done["money"]["credit"], done["money"]["refund"], done["money"]["open_credit"]) == (
        "CM-2026-000003", "10.00", "10.00", "0.00")


EXCHANGE = {"lines": [{"line_number": 9, "quantity": 1, "sku": "SKU-09-L", "unit_price": "7.77",
                       "adjustments": [{"name": "Order discount 5 %", "amount": "-0.39", "reference": "ORDER5"}],
                       "tax_lines": vat("1.40")}], "reason": "another size"}


def _exchange(api: Any, admin: dict[str, str], order: dict[str, Any]) -> None:
    # 1 of line 9's 5 units comes back (from the bottom: round(amount × 1/5) of each amount):
    #   goods 38.85 / 5 = 7.77 → −7.77; discount −1.94 / 5 = −0.388 → −0.39 → +0.39;
    #   VAT 7.01 / 5 = 1.402 → 1.40 → −1.40; return total −8.78, credited and refunded
    # the other size at the same price and discount: 7.77 − 0.39 = 7.38, VAT 7.38 × 0.19 = 1.4022 → 1.40:
    #   +8.78, authorized on the card; the difference is 0.00 (an even exchange)
    preview = _post(api, admin, f"/api/v1/orders/{order['number']}/exchanges/preview", EXCHANGE, 200)
    done = _post(api, admin, f"/api/v1/orders/{order['number']}/exchanges", EXCHANGE)
    assert (done["totals"], done["money"]) == (preview["totals"], preview["money"])
    assert [(c["number"], c["kind"], c["totals"]) for c in done["change_orders"]] == [
        ("CO-000005", "return", _totals("-7.77", "0.39", "0.00", "-1.40", "-8.78")),
        ("CO-000006", "exchange", _totals("7.77", "-0.39", "0.00", "1.40", "8.78")),
    ]
    assert (done["credit_memo"], done["money"]["refund"], done["money"]["authorize"], done["money"]["difference"]) == (
        "CM-2026-000004", "8.78", "8.78", "0.00")


def _serviced(world: Database, gateways: Any, api: Any, admin: dict[str, str]) -> dict[str, Any]:
    """The order of the module's table placed, cancelled in part, shipped in two, returned in part
    through an RMA and appeased, each step checked as it answers."""
    # given the order of the module's table, paid by card, authorized for 721.93
    _seller_and_goods(world)
    factories.product(world, "SKU-09-L", name="Artikel SKU-09 (L)")
    factories.position(world, "SKU-09-L", "WH-BER", on_hand=100)
    order = place(world, _payload())
    drain(world, gateways)
    doc = api.get(f"/api/v1/orders/{order['number']}", headers=admin).json()
    assert doc["original_totals"] == _totals("650.77", "-32.54", "5.00", "98.70", "721.93")
    fo = fo_id(world, order["id"])

    # when 3 units of line 2 are cancelled before shipment (preview, then submit: equal)
    _cancel(api, admin, order)
    drain(world, gateways)

    # and the rest ships in two shipments
    ship(api, admin, fo, SKU_01=4, SKU_02=5, SKU_03=4, SKU_04=2, SKU_05=6)
    drain(world, gateways)
    ship(api, admin, fo, SKU_01=6, SKU_06=3, SKU_07=1, SKU_08=12, SKU_09=5, SKU_10=1)
    drain(world, gateways)

    # and 2 units of line 5 come back through an RMA with a 10 % restocking fee
    _return(api, admin, order)
    drain(world, gateways)

    # and line 7 is appeased by 10.00 with tax
    _appease(api, admin, order)
    drain(world, gateways)

    # and 1 unit of line 9 is exchanged for another size at the same price, and ships
    _exchange(api, admin, order)
    drain(world, gateways)
    ship(api, admin, fo_ids(world, order["id"])[-1])
    drain(world, gateways)
    return order


def test_a_worked_order_matches_the_hand_computation_to_the_cent(
    world: Database, sim: Sim, gateways: Any, api: Any, admin: dict[str, str]
) -> None:
    order = _serviced(world, gateways, api, admin)
    # then the invoices bill what shipped, by the cumulative rule (round(amount × units / ordered)):
    # invoice 1: line 1 4/10: 48.00, discount −6.00 × 4/10 = −2.40, VAT 21.66 × 4/10 = 8.664 → 8.66;
    #   line 2 5/8 (the rest after the cancel): 25.00, −1.25, VAT 4.51; lines 3, 4, 5 whole; shipping.
    #   19 %: base 48.00 − 2.40 + 25.00 − 1.25 + 94.98 + 85.50 + 5.00 = 254.83, × 0.19 = 48.4177 → 48.42
    #         = 8.66 + 4.51 + 18.05 + 16.25 + 0.95 = 48.42 (the VAT lines need no correction)
    #   7 %:  base 94.62, VAT 6.62
    #   total 254.83 + 48.42 + 94.62 + 6.62 = 404.49
    # invoice 2: line 1 the rest: 72.00, −3.60, VAT 21.66 − 8.66 = 13.00; lines 6–10 whole.
    #   19 %: base 68.40 + 84.55 + 36.91 = 189.86, × 0.19 = 36.0734 → 36.07 = 13.00 + 16.06 + 7.01
    #   7 %:  base 28.47 + 28.50 + 12.70 = 69.67, × 0.07 = 4.8769 → 4.88 = 1.99 + 2.00 + 0.89
    #   total 189.86 + 36.07 + 69.67 + 4.88 = 300.48
    # together 404.49 + 300.48 = 704.97 = 721.93 − 16.96 (what the cancel left); each captured, so paid
    # invoice 3: the exchanged size, 7.38 + VAT 1.40 = 8.78
    assert invoices(world, order["id"]) == [("INV-2026-000001", "paid", 40449, 40449, 0),
                                            ("INV-2026-000002", "paid", 30048, 30048, 0),
                                            ("INV-2026-000003", "paid", 878, 878, 0)]
    # and the credit memos: the cancel never charged, the return and the appeasement refunded
    assert credit_memos(world) == [("CM-2026-000001", "closed", 1696, 0, 1696, 0),
                                   ("CM-2026-000002", "closed", 3053, 3053, 0, 0),
                                   ("CM-2026-000003", "closed", 1000, 1000, 0, 0),
                                   ("CM-2026-000004", "closed", 878, 878, 0, 0)]
    # and the change orders, one by one
    listed = api.get(f"/api/v1/orders/{order['number']}/change-orders", headers=admin).json()["items"]
    assert [(c["number"], c["kind"], c["credit_memo"], c["totals"]) for c in listed] == [
        ("CO-000001", "cancel", "CM-2026-000001", _totals("-15.00", "0.75", "0.00", "-2.71", "-16.96")),
        ("CO-000002", "return", "CM-2026-000002", _totals("-30.00", "1.50", "0.00", "-5.42", "-33.92")),
        ("CO-000003", "return_fee", "CM-2026-000002", _totals("0.00", "2.85", "0.00", "0.54", "3.39")),
        ("CO-000004", "appeasement", "CM-2026-000003", _totals("0.00", "-8.40", "0.00", "-1.60", "-10.00")),
        ("CO-000005", "return", "CM-2026-000004", _totals("-7.77", "0.39", "0.00", "-1.40", "-8.78")),
        ("CO-000006", "exchange", None, _totals("7.77", "-0.39", "0.00", "1.40", "8.78")),
    ]
    # and the money: the invoices captured (404.49 + 300.48 + 8.78 = 713.75), refunded
    # 30.53 + 10.00 + 8.78 = 49.31 (the refunds go to the newest capture first)
    assert summary(world, order["id"])[1:] == (71375, 4931)
    assert [p for p in payments(world) if p[0] in ("capture", "refund")] == [
        ("capture", "succeeded", 40449), ("capture", "succeeded", 30048), ("refund", "succeeded", 3053),
        ("refund", "succeeded", 1000), ("refund", "succeeded", 878), ("capture", "succeeded", 878)]
    # and the order's totals are the original plus every change order:
    #   product    650.77 − 15.00 − 30.00                        = 605.77
    #   adjustment −32.54 + 0.75 + 1.50 + 2.85 − 8.40             = −35.84
    #   delivery   5.00
    #   tax        98.70 − 2.71 − 5.42 + 0.54 − 1.60              = 89.51
    #   grand      721.93 − 16.96 − 33.92 + 3.39 − 10.00          = 664.44 (= 605.77 − 35.84 + 5.00 + 89.51)
    doc = api.get(f"/api/v1/orders/{order['number']}", headers=admin).json()
    assert doc["original_totals"] == _totals("650.77", "-32.54", "5.00", "98.70", "721.93")
    assert doc["totals"] == _totals("605.77", "-35.84", "5.00", "89.51", "664.44")
    # (the exchange's return −8.78 and new size +8.78 cancel out)
    # and the money kept is what the customer owes now: captured − refunded = 713.75 − 49.31 = 664.44
    assert api.get(f"/api/v1/payment-summaries?order={order['number']}", headers=admin).json()["items"][0][
        "available_to_refund"] == "664.44"


def test_the_cancel_releases_its_share_of_the_authorization(
    world: Database, sim: Sim, gateways: Any, api: Any, admin: dict[str, str]
) -> None:
    # given the worked order, serviced (the cancel answered void 16.96)
    order = _serviced(world, gateways, api, admin)
    # then the authorization of 721.93 was reduced by the cancel's 16.96 to 704.97, all of it captured
    # (404.49 + 300.48), so nothing more can be captured on the card
    # (and the exchange's 8.78 was authorized on its own, and captured)
    assert summary(world, order["id"]) == (71375, 71375, 4931)
    doc = api.get(f"/api/v1/payment-summaries?order={order['number']}", headers=admin).json()["items"][0]
    assert (doc["authorized"], doc["available_to_capture"]) == ("713.75", "0.00")


def test_every_document_of_the_worked_order_is_a_valid_peppol_e_invoice(
    world: Database, sim: Sim, gateways: Any, api: Any, admin: dict[str, str], en16931: Validator,
    peppol: Validator,
) -> None:
    # given the worked order, invoiced three times and credited four times
    _serviced(world, gateways, api, admin)
    # when each invoice and credit memo is asked for as UBL, then EN 16931 and Peppol BIS 3 find nothing fatal
    with world.read() as s:
        numbers = [("invoices", n) for n in s.execute(select(Invoice.number).order_by(Invoice.number)).scalars()]
        numbers += [("credit-memos", n)
                    for n in s.execute(select(CreditMemo.number).order_by(CreditMemo.number)).scalars()]
    assert len(numbers) == 7
    found: dict[str, list[str]] = {}
    for path, number in numbers:
        r = api.get(f"/api/v1/{path}/{number}/document?format=ubl", headers=admin)
        assert r.status_code == 200, r.text
        fatal = sorted(f"{a.rule}: {a.text}" for v in (en16931, peppol) for a in v.fatal(r.content))
        if fatal:
            found[number] = fatal
    assert found == {}
