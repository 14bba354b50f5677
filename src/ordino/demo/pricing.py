"""Demo prices, shipping charges and taxes: exact, in each account's currency.

List prices are in EUR; other currencies use fixed demo exchange rates (close to the ECB reference
rates of 2025), so the demo is the same whenever it is loaded. Taxes are computed the way each
regime asks: VAT (EU, GB, CH) and Japan's consumption tax once per rate on the document (EN 16931:
category amount = taxable amount × rate, rounded once, then allocated to the lines by largest
remainder); US sales tax per line and per jurisdiction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from ordino.kernel.money import Money, allocate_minor, format_minor

EUR_RATES = {
    "EUR": Decimal(1), "GBP": Decimal("0.85"), "CHF": Decimal("0.94"), "USD": Decimal("1.10"),
    "JPY": Decimal(165), "PLN": Decimal("4.25"), "SEK": Decimal("11.20"),
}

# Standard rate and the rate of the "reduced" class (printed books) per country, in percent.
VAT_RATES: dict[str, tuple[str, str]] = {
    "DE": ("19", "7"), "AT": ("20", "10"), "FR": ("20", "5.5"), "NL": ("21", "9"), "IT": ("22", "4"),
    "PL": ("23", "5"), "SE": ("25", "6"), "GB": ("20", "0"), "CH": ("8.1", "2.6"), "JP": ("10", "10"),
}
VAT_LABEL = {"DE": "USt.", "AT": "USt.", "FR": "TVA", "NL": "btw", "IT": "IVA", "PL": "VAT", "SE": "Moms",
             "GB": "VAT", "CH": "MWST", "JP": "Consumption tax"}


@dataclass(frozen=True, slots=True)
class Jurisdiction:
    name: str
    rate: str  # percent
    jurisdiction: str


@dataclass(frozen=True, slots=True)
class SalesTax:
    jurisdictions: tuple[Jurisdiction, ...]
    taxes_shipping: bool  # Texas taxes delivery charges of taxable goods; Illinois does not


_CHICAGO = SalesTax((
    Jurisdiction("Illinois state sales tax", "6.25", "US-IL"),
    Jurisdiction("Cook County sales tax", "1.75", "Cook County, IL"),
    Jurisdiction("Chicago home rule sales tax", "1.25", "Chicago, IL"),
    Jurisdiction("RTA sales tax", "1", "Regional Transportation Authority, IL"),
), taxes_shipping=False)
_DALLAS = SalesTax((
    Jurisdiction("Texas state sales tax", "6.25", "US-TX"),
    Jurisdiction("Dallas city sales tax", "1", "Dallas, TX"),
    Jurisdiction("DART transit sales tax", "1", "Dallas Area Rapid Transit, TX"),
), taxes_shipping=True)
# US sales tax is due where the goods are delivered: by ship-to ZIP code.
US_SALES_TAX = {"60608": _CHICAGO, "60609": _CHICAGO, "75207": _DALLAS, "75212": _DALLAS}


def unit_price(price_eur: Decimal, factor: Decimal, currency: str) -> Decimal:
    """A list price at a contract level in `currency`: 4 places below one unit, else the
    currency's own (sub-yen prices of small parts keep 2 places)."""
    value = price_eur * factor * EUR_RATES[currency]
    if currency == "JPY":
        places = Decimal("0.01") if value < 100 else Decimal(1)
    else:
        places = Decimal("0.0001") if value < 1 else Decimal("0.01")
    return value.quantize(places, ROUND_HALF_UP)


def shipping_charge(method: str, weight_kg: Decimal, net_eur: Decimal, currency: str) -> Money:
    """Carrier charges by weight band, free standard delivery from 500 EUR net."""
    if method == "pickup" or (method == "standard" and net_eur >= 500):
        eur = Decimal(0)
    elif method == "freight":
        eur = Decimal(69) + (weight_kg * Decimal("0.08")).quantize(Decimal("0.01"), ROUND_HALF_UP)
    else:
        bands = ((5, "6.90"), (20, "9.90"), (50, "19.90"), (150, "39.00"))
        eur = next((Decimal(p) for limit, p in bands if weight_kg <= limit), Decimal("59.00"))
        if method == "express":
            eur = eur * 2 + Decimal(10)
    return Money.from_decimal(eur * EUR_RATES[currency], currency)


def to_eur(amount: Money) -> Decimal:
    return amount.amount / EUR_RATES[amount.currency]


@dataclass(frozen=True, slots=True)
class Taxable:
    """One line of a document for tax: its net amount (after discounts) and its tax class."""

    minor: int
    tax_class: str  # standard | reduced | shipping
    ship_to_postal_code: str | None = None  # where US sales tax is due


@dataclass(frozen=True, slots=True)
class TaxLine:
    name: str
    rate: Decimal  # a fraction: 0.19
    amount: Money
    jurisdiction: str
    category: str | None

    def payload(self) -> dict[str, str | None]:
        return {"name": self.name, "amount": format_minor(self.amount.minor, self.amount.currency),
                "rate": str(self.rate), "jurisdiction": self.jurisdiction, "category": self.category}


def _fraction(percent: str) -> Decimal:
    return Decimal(percent) / 100


def document_taxes(country: str, currency: str, lines: Sequence[Taxable]) -> list[list[TaxLine]]:
    """The tax lines of each line of one order (same order as `lines`)."""
    if country == "US":
        return _sales_tax(currency, lines)
    return _vat(country, currency, lines)


def _vat(country: str, currency: str, lines: Sequence[Taxable]) -> list[list[TaxLine]]:
    standard, reduced = VAT_RATES[country]
    percent_of = {"standard": standard, "shipping": standard, "reduced": reduced}
    by_rate: dict[str, list[int]] = defaultdict(list)
    for i, line in enumerate(lines):
        by_rate[percent_of[line.tax_class]].append(i)
    out: list[list[TaxLine]] = [[] for _ in lines]
    for percent, members in by_rate.items():
        rate = _fraction(percent)
        taxable = Money(sum(lines[i].minor for i in members), currency)
        total = taxable.times(rate)  # once per rate, half up
        weights = [lines[i].minor for i in members]
        shares = allocate_minor(total.minor, weights) if any(weights) else [0] * len(members)
        category = "S" if rate else "Z"
        for i, share in zip(members, shares, strict=True):
            out[i].append(TaxLine(f"{VAT_LABEL[country]} {percent}%", rate, Money(share, currency),
                                  country, category))
    return out


def _sales_tax(currency: str, lines: Sequence[Taxable]) -> list[list[TaxLine]]:
    out: list[list[TaxLine]] = [[] for _ in lines]
    for i, line in enumerate(lines):
        regime = US_SALES_TAX.get(line.ship_to_postal_code or "")
        if regime is None or (line.tax_class == "shipping" and not regime.taxes_shipping):
            continue
        for j in regime.jurisdictions:
            rate = _fraction(j.rate)
            out[i].append(TaxLine(j.name, rate, Money(line.minor, currency).times(rate), j.jurisdiction, None))
    return out
