"""Ordino's tax engine: picks the regime by where the goods leave from and where they go.

- from the EU or the United Kingdom: VAT (`EuVatCalculator`), including exports;
- from the US to the US: sales tax (`UsSalesTaxCalculator`);
- from the US elsewhere: an export, no US sales tax (category O, with a note);
- from anywhere else: no regime is configured; no tax, category O, with a note saying so.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from ordino.tax.computation import Part, TaxKey, compute, validate
from ordino.tax.domain import (
    NOTE_OUTSIDE_SCOPE,
    Category,
    RoundingMode,
    TaxContext,
    TaxLineInput,
    TaxNote,
    TaxResult,
)
from ordino.tax.eu_vat import EuVatCalculator, EuVatPolicy
from ordino.tax.us_sales_tax import UsSalesTaxCalculator, UsSalesTaxPolicy


class OrdinoTaxCalculator:
    """The default `TaxCalculator`."""

    def __init__(self, eu_policy: EuVatPolicy | None = None, us_policy: UsSalesTaxPolicy | None = None) -> None:
        self.vat = EuVatCalculator(eu_policy)
        self.sales_tax = UsSalesTaxCalculator(us_policy)

    def calculate(self, lines: Sequence[TaxLineInput], context: TaxContext) -> TaxResult:
        if self.vat.handles(context):
            return self.vat.calculate(lines, context)
        if self.sales_tax.handles(context):
            return self.sales_tax.calculate(lines, context)
        origin = context.origin.country
        if origin == "US":
            text = f"Export from the United States to {context.ship_to.country}: no US sales tax"
        else:
            text = f"Ordino has no tax regime for supplies from {origin}: no tax computed"
        return outside_scope(lines, context, origin, text)


def outside_scope(lines: Sequence[TaxLineInput], context: TaxContext, jurisdiction: str, text: str) -> TaxResult:
    """Every line untaxed (category O) with one note saying why."""
    validate(lines, context)
    key = TaxKey("Not subject to tax", Decimal(0), Category.OUTSIDE_SCOPE, jurisdiction, "VATEX-EU-O")
    parts = [Part(i, line.amount, key) for i, line in enumerate(lines)]
    return compute(
        lines, context, parts, regime="none", default_rounding=RoundingMode.PER_LINE,
        notes=[TaxNote(NOTE_OUTSIDE_SCOPE, text)],
    )
