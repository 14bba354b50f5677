"""Servicing's pure amounts: cancels from the top, returns from the bottom with their share of the
appeasements (never charging), appeasements split into net and VAT."""

from __future__ import annotations

from decimal import Decimal

from ordino.servicing.domain import APPEASEMENT, Adjustment, Item, Tax, appeasement_split, cancel, give_back

VAT = Tax("t1", "VAT 19%", Decimal("0.19"), "S", "DE", None, 333)


def _bolts(**kw: object) -> Item:
    """500 bolts: 17.50 with 3.33 VAT."""
    base: dict[str, object] = dict(id="i1", line_number=1, type="product", sku="BOLT-M8", name="Bolt",
                                   unit_price=Decimal("0.035"), ordered=500, canceled=0, allocated=500, fulfilled=0,
                                   return_initiated=0, returned=0, line_amount=1750, taxes=(VAT,))
    base.update(kw)
    return Item(**base)  # type: ignore[arg-type]


def test_cancels_take_units_from_the_top_and_add_up_to_the_line() -> None:
    # 100 of 500, then the other 400: 3.50 + 14.00 and 0.67 + 2.66 VAT
    first = cancel(_bolts(), 100, "pre_fulfillment")
    second = cancel(_bolts(canceled=100), 400, "pre_fulfillment")
    assert (first.line_amount, first.tax_amount, second.line_amount, second.tax_amount) == (-350, -67, -1400, -266)


def test_a_cancel_that_leaves_nothing_to_invoice_takes_what_the_invoices_did_not() -> None:
    # 400 invoiced for 14.00 and 2.67 VAT (the invoice's VAT total rounded up a cent): the cancel of
    # the last 100 takes 3.50 and 0.66, so 3.33 VAT in all
    invoiced = _bolts(fulfilled=400, invoiced_units=400, invoiced_line=1400, taxes=(
        Tax("t1", "VAT 19%", Decimal("0.19"), "S", "DE", None, 333, invoiced=267),))
    change = cancel(invoiced, 100, "in_fulfillment")
    assert (change.line_amount, change.tax_amount) == (-350, -66)


def test_a_return_gives_back_its_share_of_the_appeasement_but_never_charges() -> None:
    # 4 units for 0.05, 2 cancelled (0.03 kept), both others shipped and appeased by all of 0.03:
    # a returned unit's share of the line is 0.01 (5/4 → 1), its share of the appeasement 0.02
    # (3/2 → 2); it gives back 0.01 of it, not 0.02, and credits nothing
    item = _bolts(ordered=4, canceled=2, allocated=2, fulfilled=2, line_amount=5, taxes=(),
                  appeased=(Adjustment("a1", "Appeasement: late", "manual", APPEASEMENT, -3),))
    change = give_back(item, 1)
    assert (change.line_amount, change.adjustment_amount, change.total(False)) == (-1, 1, 0)
    # 3 units, 1 shipped, 0.60 off the line: the shipped unit's third of it comes back
    item = _bolts(ordered=3, allocated=3, fulfilled=1, line_amount=99, taxes=(),
                  appeased=(Adjustment("a1", "Appeasement: late", "manual", APPEASEMENT, -60),))
    assert give_back(item, 1).adjustment_amount == 20


def test_an_appeasement_with_tax_is_split_once_into_net_and_vat() -> None:
    # 10.00 with tax at 19 %: 8.40 net (10.00 / 1.19 = 8.403) and 1.60 VAT; without tax: 10.00 + 1.90
    assert appeasement_split(_bolts(), 1000, includes_tax=True, gross_prices=False) == (-840, [-160])
    assert appeasement_split(_bolts(), 1000, includes_tax=False, gross_prices=False) == (-1000, [-190])
