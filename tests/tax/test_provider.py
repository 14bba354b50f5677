"""Loading the tax provider a deployment names in ORDINO_TAX_PROVIDER."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from ordino.tax import InvalidVatIdPolicy, OrdinoTaxProvider, SellerTaxSettings, TaxContext, TaxLineInput, TaxResult
from ordino.tax.provider import TaxProviderError, checked, configured_provider, load_provider
from tests.tax.builders import context, item, us_context


class Echo:
    """A provider that hands the work to Ordino's engine (what an adapter with a fallback might do)."""

    def calculate(self, lines: Sequence[TaxLineInput], context: TaxContext, seller: SellerTaxSettings) -> TaxResult:
        return OrdinoTaxProvider().calculate(lines, context, seller)


def make_echo() -> Echo:
    return Echo()



def test_without_the_setting_the_built_in_engine_taxes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ORDINO_TAX_PROVIDER", raising=False)
    provider = configured_provider()
    assert isinstance(provider, OrdinoTaxProvider)
    assert provider.calculate([item("a", 10000)], context(), SellerTaxSettings()).tax_total == 1900


def test_the_seller_settings_reach_the_engine() -> None:
    # given a seller with nexus in California only
    seller = SellerTaxSettings(InvalidVatIdPolicy.REFUSE, frozenset({"CA"}))
    # then Texas is not taxed and California is
    assert OrdinoTaxProvider().calculate([item("a", 10000)], us_context("TX"), seller).tax_total == 0
    assert OrdinoTaxProvider().calculate([item("a", 10000)], us_context("CA", "Los Angeles"), seller).tax_total == 975


def test_a_factory_or_a_class_is_loaded_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORDINO_TAX_PROVIDER", f"{__name__}:make_echo")
    first = configured_provider()
    assert isinstance(first, Echo) and configured_provider() is first
    assert isinstance(load_provider(f"{__name__}:Echo"), Echo)


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("no_colon", "ORDINO_TAX_PROVIDER: 'no_colon' is not of the form module:callable"),
        ("ordino.nowhere:make",
         "ORDINO_TAX_PROVIDER: cannot load 'ordino.nowhere:make': No module named 'ordino.nowhere'"),
        (f"{__name__}:missing", f"ORDINO_TAX_PROVIDER: cannot load '{__name__}:missing': module '{__name__}' has no "
                                "attribute 'missing'"),
    ],
)
def test_a_setting_that_names_nothing_usable_says_why(target: str, message: str) -> None:
    with pytest.raises(TaxProviderError) as refused:
        load_provider(target)
    assert str(refused.value) == message


def test_a_callable_that_returns_no_provider_is_refused() -> None:
    with pytest.raises(TaxProviderError, match="returned int, not a TaxProvider"):
        load_provider("builtins:int")


def test_an_answer_for_other_lines_is_refused() -> None:
    result = OrdinoTaxProvider().calculate([item("a", 100)], context(), SellerTaxSettings())
    assert checked(result, [item("a", 100)]) is result
    with pytest.raises(TaxProviderError, match=r"answered lines \['a'\] for lines \['a', 'b'\]"):
        checked(result, [item("a", 100), item("b", 100)])
