"""The dispatching calculator, the replaceable interface and the refusals every regime shares."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import pytest

from ordino.tax import (
    Address,
    Category,
    LineTax,
    OrdinoTaxCalculator,
    RoundingMode,
    TaxCalculator,
    TaxContext,
    TaxError,
    TaxLine,
    TaxLineInput,
    TaxResult,
    TaxSubtotal,
)
from tests.tax.builders import context, item, shipping, us_context

engine = OrdinoTaxCalculator()


class FlatProvider:
    """A stand-in for an external tax service: 10 % on everything."""

    def calculate(self, lines: Sequence[TaxLineInput], context: TaxContext) -> TaxResult:
        rate = Decimal("0.1")
        taxed = [
            LineTax(ln.line_id, ln.amount, ln.amount // 10, ln.amount + ln.amount // 10,
                    (TaxLine("Flat", rate, ln.amount // 10, ln.amount, "XX", Category.STANDARD),))
            for ln in lines
        ]
        subtotal = TaxSubtotal("Flat", Category.STANDARD, rate, "XX", sum(ln.amount for ln in lines),
                               sum(t.tax_amount for t in taxed))
        return TaxResult(context.currency, "flat", RoundingMode.PER_LINE, False, tuple(taxed), (subtotal,))


def order_tax(calculator: TaxCalculator, amount: int) -> int:
    """How order pricing uses whichever calculator it is given."""
    return calculator.calculate([item("a", amount)], context()).tax_total


def test_an_external_provider_can_replace_the_engine() -> None:
    assert order_tax(engine, 10000) == 1900
    assert order_tax(FlatProvider(), 10000) == 1000


@pytest.mark.parametrize(
    ("seller", "ship_to", "regime"),
    [("DE", "FR", "eu_vat"), ("GB", "GB", "uk_vat"), ("GB", "US", "uk_vat"), ("FR", "CH", "eu_vat")],
)
def test_the_regime_follows_the_origin(seller: str, ship_to: str, regime: str) -> None:
    assert engine.calculate([item("a", 100)], context(seller, ship_to)).regime == regime


def test_us_sales_to_the_us_use_sales_tax() -> None:
    assert engine.calculate([item("a", 100)], us_context("TX")).regime == "us_sales_tax"


def test_us_exports_and_unknown_origins_are_outside_scope_with_a_note() -> None:
    # given a US seller shipping to Germany, and a Swiss seller shipping to Switzerland
    export = engine.calculate([item("a", 10000), shipping(500)], context("US", "DE", currency="USD"))
    swiss = engine.calculate([item("a", 10000)], context("CH", "CH", currency="CHF"))
    # then no tax, category O, and a note says why
    assert (export.regime, export.tax_total) == ("none", 0)
    assert {t.category for ln in export.lines for t in ln.tax_lines} == {Category.OUTSIDE_SCOPE}
    assert [n.text for n in export.notes] == ["Export from the United States to DE: no US sales tax"]
    assert [n.text for n in swiss.notes] == ["Ordino has no tax regime for supplies from CH: no tax computed"]


def test_a_us_warehouse_of_a_german_seller_ships_under_us_sales_tax() -> None:
    ctx = context("DE", Address("US", region="TX"), ship_from=Address("US", region="NJ"), currency="USD")
    assert engine.calculate([item("a", 10000)], ctx).tax_total == 625


@pytest.mark.parametrize(
    ("lines", "changes", "field"),
    [
        ([item("a", -1)], {}, "lines[0].amount"),
        ([item("a", 1), item("a", 2)], {}, "lines[1].line_id"),
        ([item("a", 1, quantity=0)], {}, "lines[0].quantity"),
        ([item("a", 1)], {"currency": "XXX"}, "currency"),
        ([item("a", 1)], {"currency": "DEM"}, "currency"),
        ([item("a", 1)], {"ship_to": Address("germany")}, "ship_to.country"),
    ],
)
def test_invalid_input_is_refused_naming_the_field(
    lines: list[TaxLineInput], changes: dict[str, Any], field: str
) -> None:
    with pytest.raises(TaxError) as refused:
        engine.calculate(lines, context(**changes))
    assert refused.value.field == field
    assert refused.value.status == 400
    assert refused.value.body()["errors"][0]["field"] == field


def test_an_empty_document_has_no_tax() -> None:
    result = engine.calculate([], context())
    assert (result.lines, result.breakdown, result.tax_total) == ((), (), 0)


def test_zero_amount_lines_get_a_zero_tax_line() -> None:
    result = engine.calculate([item("free", 0), shipping(0)], context())
    assert [(ln.tax_amount, len(ln.tax_lines)) for ln in result.lines] == [(0, 1), (0, 1)]
