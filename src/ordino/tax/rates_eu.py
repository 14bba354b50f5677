"""VAT rates of the EU member states and the United Kingdom, by date, and the EU VAT area.

Rates come from `data/eu_vat_rates.csv` (source: ibericode/vat-rates) and special territories from
`data/eu_vat_territories.csv`. Membership dates are those of the accession treaties; the United
Kingdom left the EU VAT area at the end of the transition period (2020-12-31).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache

from ordino.tax.tables import percent, read_table

RATE_KINDS = ("standard", "reduced", "reduced_alt", "super_reduced", "parking")

# Member state → (first day in the EU, last day or None).
EU_MEMBERSHIP: dict[str, tuple[date, date | None]] = {
    **{c: (date(1958, 1, 1), None) for c in ("BE", "DE", "FR", "IT", "LU", "NL")},
    **{c: (date(1973, 1, 1), None) for c in ("DK", "IE")},
    "GB": (date(1973, 1, 1), date(2020, 12, 31)),
    "GR": (date(1981, 1, 1), None),
    **{c: (date(1986, 1, 1), None) for c in ("ES", "PT")},
    **{c: (date(1995, 1, 1), None) for c in ("AT", "FI", "SE")},
    **{c: (date(2004, 5, 1), None) for c in ("CY", "CZ", "EE", "HU", "LT", "LV", "MT", "PL", "SI", "SK")},
    **{c: (date(2007, 1, 1), None) for c in ("BG", "RO")},
    "HR": (date(2013, 7, 1), None),
}

# Territories that are not countries of the EU but belong to a member state's VAT area (Monaco to
# France's, Article 7 of Directive 2006/112/EC) or to the United Kingdom's (the Isle of Man).
VAT_AREA_OF = {"MC": "FR", "IM": "GB"}


def vat_country(country: str) -> str:
    return VAT_AREA_OF.get(country, country)


def in_eu(country: str, on: date) -> bool:
    span = EU_MEMBERSHIP.get(vat_country(country))
    return span is not None and span[0] <= on and (span[1] is None or on <= span[1])


@dataclass(frozen=True, slots=True)
class VatPeriod:
    country: str
    effective_from: date
    rates: Mapping[str, Decimal]  # rate kind → fraction; only the kinds the country has


@dataclass(frozen=True, slots=True)
class Territory:
    country: str
    name: str
    pattern: re.Pattern[str]
    standard: Decimal
    in_vat_area: bool


@cache
def vat_periods() -> dict[str, tuple[VatPeriod, ...]]:
    periods: dict[str, list[VatPeriod]] = {}
    for row in read_table("eu_vat_rates.csv"):
        rates = {kind: percent(row[kind]) for kind in RATE_KINDS if row[kind]}
        period = VatPeriod(row["country"], date.fromisoformat(row["effective_from"]), rates)
        periods.setdefault(row["country"], []).append(period)
    return {c: tuple(sorted(ps, key=lambda p: p.effective_from)) for c, ps in periods.items()}


def vat_period(country: str, on: date) -> VatPeriod | None:
    """The rates of `country` in force on `on`, or None when the tables have none."""
    current = None
    for period in vat_periods().get(vat_country(country), ()):
        if period.effective_from <= on:
            current = period
    return current


@cache
def territories() -> tuple[Territory, ...]:
    return tuple(
        Territory(
            row["country"], row["territory"], re.compile(row["postcode_pattern"]), percent(row["standard"]),
            row["in_vat_area"] == "yes",
        )
        for row in read_table("eu_vat_territories.csv")
    )


def territory_of(country: str, postal_code: str | None) -> Territory | None:
    """The special territory a postal code of `country` lies in, if any."""
    if not postal_code:
        return None
    # "630 86", "9000-018" and "AX-22100" (a country prefix, as Åland's post writes it) all count
    code = re.sub(r"^[A-Za-z]{1,2}(?=\d)", "", re.sub(r"[\s-]", "", postal_code))
    for territory in territories():
        if territory.country == vat_country(country) and territory.pattern.fullmatch(code):
            return territory
    return None
