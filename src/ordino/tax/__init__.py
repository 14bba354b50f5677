"""Tax: a pure engine (no database, no HTTP) for EU / UK VAT and US sales tax, on dated rate tables.

Call `OrdinoTaxCalculator().calculate(lines, context)`; anything implementing `TaxCalculator` can
replace it. Order intake asks the deployment's `TaxProvider` (`tax.provider`, setting
ORDINO_TAX_PROVIDER), by default this engine.
"""

from ordino.tax.calculator import OrdinoTaxCalculator, outside_scope
from ordino.tax.domain import (
    Address,
    Category,
    ExemptionCertificate,
    InvalidVatIdPolicy,
    LineTax,
    RoundingMode,
    TaxCalculator,
    TaxClass,
    TaxContext,
    TaxLine,
    TaxLineInput,
    TaxNote,
    TaxResult,
    TaxSubtotal,
)
from ordino.tax.errors import TaxError
from ordino.tax.eu_vat import EuVatCalculator, EuVatPolicy, check_vat_id
from ordino.tax.provider import OrdinoTaxProvider, SellerTaxSettings, TaxProvider
from ordino.tax.us_sales_tax import UsSalesTaxCalculator, UsSalesTaxPolicy

__all__ = [
    "Address",
    "Category",
    "EuVatCalculator",
    "EuVatPolicy",
    "ExemptionCertificate",
    "InvalidVatIdPolicy",
    "LineTax",
    "OrdinoTaxCalculator",
    "OrdinoTaxProvider",
    "RoundingMode",
    "SellerTaxSettings",
    "TaxCalculator",
    "TaxClass",
    "TaxContext",
    "TaxError",
    "TaxLine",
    "TaxLineInput",
    "TaxNote",
    "TaxProvider",
    "TaxResult",
    "TaxSubtotal",
    "UsSalesTaxCalculator",
    "UsSalesTaxPolicy",
    "check_vat_id",
    "outside_scope",
]
