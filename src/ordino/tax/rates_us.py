"""US sales tax tables: statewide base rates, California district rates, shipping and clothing rules.

- `data/us_state_rates.csv`: every state and DC, effective 2026-01-01 (state revenue departments,
  via mrpartnerai/taxrates-us; UT and VA with their mandatory statewide local shares added).
- `data/us_ca_district_rates.csv`: CDTFA's table of combined rates per city and county.
- `data/us_shipping_taxability.csv`: whether separately stated shipping is taxed, per state.
- `data/us_clothing_exemptions.csv`: states that exempt clothing, fully or up to a price.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache

from ordino.tax.tables import percent, read_table

US_TABLES_EFFECTIVE = date(2026, 1, 1)  # the tables hold the rates in force from this day


@dataclass(frozen=True, slots=True)
class StateRate:
    state: str
    name: str
    state_rate: Decimal
    statewide_local_rate: Decimal
    local_taxes: bool  # local jurisdictions may add taxes (not in the tables, except California's)
    source: str

    @property
    def rate(self) -> Decimal:
        return self.state_rate + self.statewide_local_rate


@dataclass(frozen=True, slots=True)
class DistrictRate:
    location: str
    county: str
    type: str  # City | County (a county's rate applies to its unincorporated area)
    rate: Decimal


@dataclass(frozen=True, slots=True)
class ShippingRule:
    state: str
    taxable: bool | None  # None: no sales tax in the state
    condition: str


@dataclass(frozen=True, slots=True)
class ClothingRule:
    state: str
    rule: str  # exempt | exempt_below | excess_over
    threshold: Decimal | None  # USD per item


def place_key(name: str) -> str:
    """A place name compared without regard to case and spacing."""
    return re.sub(r"\s+", " ", name).strip().casefold()


def county_key(name: str) -> str:
    """A county name without a trailing " County" ("Los Angeles County" → "los angeles")."""
    return re.sub(r" county( unincorporated area)?$", "", place_key(name))


@cache
def state_rates() -> dict[str, StateRate]:
    return {
        row["state"]: StateRate(
            row["state"], row["name"], percent(row["state_rate"]), percent(row["statewide_local_rate"]),
            row["local_taxes"] == "yes", row["source"],
        )
        for row in read_table("us_state_rates.csv")
    }


@cache
def _ca_tables() -> tuple[dict[str, DistrictRate], dict[str, DistrictRate]]:
    cities: dict[str, DistrictRate] = {}
    counties: dict[str, DistrictRate] = {}
    for row in read_table("us_ca_district_rates.csv"):
        district = DistrictRate(row["location"], row["county"], row["type"], percent(row["rate"]))
        if row["type"] == "City":
            table, key = cities, place_key(row["location"])
        else:
            table, key = counties, county_key(row["county"])
        if key in table:
            raise ValueError(f"us_ca_district_rates.csv: '{row['location']}' appears twice")
        table[key] = district
    return cities, counties


def ca_city(city: str) -> DistrictRate | None:
    return _ca_tables()[0].get(place_key(city))


def ca_county(county: str) -> DistrictRate | None:
    """The rate of a county's unincorporated area."""
    return _ca_tables()[1].get(county_key(county))


def ca_districts() -> list[DistrictRate]:
    cities, counties = _ca_tables()
    return [*cities.values(), *counties.values()]


@cache
def shipping_rules() -> dict[str, ShippingRule]:
    taxable = {"yes": True, "no": False, "none": None}
    return {
        row["state"]: ShippingRule(row["state"], taxable[row["taxable"]], row["condition"])
        for row in read_table("us_shipping_taxability.csv")
    }


@cache
def clothing_rules() -> dict[str, ClothingRule]:
    return {
        row["state"]: ClothingRule(row["state"], row["rule"], Decimal(row["threshold"]) if row["threshold"] else None)
        for row in read_table("us_clothing_exemptions.csv")
    }
