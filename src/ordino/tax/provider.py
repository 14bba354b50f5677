"""Who computes an order's tax: Ordino's own engine, or an external tax service.

A deployment that needs what Ordino's tables do not hold (local US taxes outside California's, New
York's and Texas's listed jurisdictions, for instance) plugs in an adapter to a tax service:

    ORDINO_TAX_PROVIDER=mycompany.tax:make_provider

names a callable that takes no arguments and returns a `TaxProvider` (a class that implements the
protocol will do). It is imported once per value of the setting. Unset or empty: `OrdinoTaxProvider`,
the built-in engine. The provider gets the same lines and context as the engine, plus the seller's
own tax settings; it answers a `TaxResult` with one `LineTax` per line, or raises `TaxError` naming
the input it cannot tax (the order is then refused with 422 naming that field).
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Protocol, runtime_checkable

from ordino.tax.calculator import OrdinoTaxCalculator
from ordino.tax.domain import InvalidVatIdPolicy, TaxContext, TaxLineInput, TaxResult
from ordino.tax.eu_vat import EuVatPolicy
from ordino.tax.us_sales_tax import UsSalesTaxPolicy

SETTING = "ORDINO_TAX_PROVIDER"


@dataclass(frozen=True, slots=True)
class SellerTaxSettings:
    """What the seller (the order's legal entity) has chosen for its own tax."""

    invalid_vat_id: InvalidVatIdPolicy = InvalidVatIdPolicy.REFUSE
    us_nexus_states: frozenset[str] | None = None  # None: collect in every state


@runtime_checkable
class TaxProvider(Protocol):
    """Computes the tax of one document (a delivery group of an order)."""

    def calculate(
        self, lines: Sequence[TaxLineInput], context: TaxContext, seller: SellerTaxSettings
    ) -> TaxResult: ...


class OrdinoTaxProvider:
    """The built-in engine (`OrdinoTaxCalculator`) with the seller's policies."""

    def calculate(self, lines: Sequence[TaxLineInput], context: TaxContext, seller: SellerTaxSettings) -> TaxResult:
        return _engine(seller).calculate(lines, context)


@cache
def _engine(seller: SellerTaxSettings) -> OrdinoTaxCalculator:
    return OrdinoTaxCalculator(
        EuVatPolicy(invalid_vat_id=seller.invalid_vat_id), UsSalesTaxPolicy(nexus_states=seller.us_nexus_states)
    )


class TaxProviderError(RuntimeError):
    """ORDINO_TAX_PROVIDER names nothing usable, or the provider answered something unusable."""


def configured_provider() -> TaxProvider:
    """The provider the deployment's ORDINO_TAX_PROVIDER names (read at each call, loaded once)."""
    return load_provider(os.environ.get(SETTING, "").strip())


@cache
def load_provider(target: str) -> TaxProvider:
    """`module:callable` → the provider the callable returns; "" → the built-in engine."""
    if not target:
        return OrdinoTaxProvider()
    module_name, _, attribute = target.partition(":")
    if not module_name or not attribute:
        raise TaxProviderError(f"{SETTING}: '{target}' is not of the form module:callable")
    try:
        factory = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        raise TaxProviderError(f"{SETTING}: cannot load '{target}': {exc}") from None
    provider = factory()
    if not isinstance(provider, TaxProvider):
        raise TaxProviderError(f"{SETTING}: '{target}' returned {type(provider).__name__}, not a TaxProvider")
    return provider


def checked(result: TaxResult, lines: Sequence[TaxLineInput]) -> TaxResult:
    """`result`, once it is known to tax exactly the given lines."""
    given = [line.line_id for line in lines]
    answered = [line.line_id for line in result.lines]
    if sorted(answered) != sorted(given):
        raise TaxProviderError(f"the tax provider answered lines {answered} for lines {given}")
    return result
