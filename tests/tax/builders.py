"""Small builders for tax tests: a context with sensible defaults and lines by amount."""

from __future__ import annotations

from datetime import date
from typing import Any

from ordino.tax import Address, TaxContext, TaxLineInput

TAX_DATE = date(2026, 3, 2)
VALID_FR_VAT_ID = "FR40303265045"  # check digits valid (python-stdnum)
VALID_DE_VAT_ID = "DE136695976"
VALID_GR_VAT_ID = "EL094259216"


def context(seller: str = "DE", ship_to: Address | str = "DE", **changes: Any) -> TaxContext:
    fields: dict[str, Any] = {
        "seller": Address(seller),
        "ship_to": Address(ship_to) if isinstance(ship_to, str) else ship_to,
        "tax_date": TAX_DATE,
        "currency": "EUR",
    }
    fields.update(changes)
    return TaxContext(**fields)


def us_context(state: str, city: str | None = None, **changes: Any) -> TaxContext:
    ship_to = Address("US", region=state, city=city, county=changes.pop("county", None))
    changes.setdefault("currency", "USD")
    return context("US", ship_to, **changes)


def item(line_id: str, amount: int, tax_class: str = "standard", quantity: int = 1) -> TaxLineInput:
    return TaxLineInput(line_id, amount, quantity=quantity, tax_class=tax_class)


def shipping(amount: int, line_id: str = "shipping") -> TaxLineInput:
    return TaxLineInput(line_id, amount, is_shipping=True)
