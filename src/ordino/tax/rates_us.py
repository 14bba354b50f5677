"""US sales tax tables: statewide base rates, California district rates, shipping and clothing rules.

- `data/us_state_rates.csv`: every state and DC, effective 2026-01-01 (state revenue departments,
  via mrpartnerai/taxrates-us; UT and VA with their mandatory statewide local shares added).
- `data/us_ca_district_rates.csv`: CDTFA's table of combined rates per city and county.
- `data/us_shipping_taxability.csv`: whether separately stated shipping is taxed, per state.
- `data/us_clothing_exemptions.csv`: states that exempt clothing, fully or up to a price.
- `data/us_local_rates.csv`: combined rates of the local jurisdictions the state files of
  mrpartnerai/taxrates-us list outside California (cities of New York and Texas, New York City's
  counties).
- `data/us_zip_county.csv`: the county of each ZIP code of California and New York, from the
  GeoNames postal code data (https://www.geonames.org, licence CC BY 4.0), so that an address
  without a county still finds its county's rate.
"""

from __future__ import annotations

import re
from bisect import bisect_right
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
class LocalRate:
    state: str
    location: str
    type: str  # City | County
    county: str
    rate: Decimal  # combined: state and local


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
    """A county name without " County" ("Los Angeles County" → "los angeles", "City and County of
    San Francisco" → "san francisco")."""
    return re.sub(r"^city and county of | county( unincorporated area)?$", "", place_key(name))


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


@cache
def _local_tables() -> tuple[dict[tuple[str, str], LocalRate], dict[tuple[str, str], LocalRate]]:
    cities: dict[tuple[str, str], LocalRate] = {}
    counties: dict[tuple[str, str], LocalRate] = {}
    for row in read_table("us_local_rates.csv"):
        local = LocalRate(row["state"], row["location"], row["type"], row["county"], percent(row["rate"]))
        if row["type"] == "City":
            keys, table = [place_key(n) for n in row["names"].split("|")], cities
        else:
            keys, table = [county_key(row["county"])], counties
        for key in keys:
            if (row["state"], key) in table:
                raise ValueError(f"us_local_rates.csv: '{key}' appears twice in {row['state']}")
            table[row["state"], key] = local
    return cities, counties


def local_city(state: str, city: str) -> LocalRate | None:
    return _local_tables()[0].get((state, place_key(city)))


def local_county(state: str, county: str) -> LocalRate | None:
    return _local_tables()[1].get((state, county_key(county)))


def local_rates() -> list[LocalRate]:
    cities, counties = _local_tables()
    return list(dict.fromkeys([*cities.values(), *counties.values()]))


def has_local_rates(state: str) -> bool:
    return any(rate.state == state for rate in local_rates())


_ZIP = re.compile(r"(\d{5})(?:-?\d{4})?")


@cache
def _zip_ranges() -> dict[str, tuple[list[str], list[tuple[str, str]]]]:
    """Per state: the sorted first codes of the runs, and each run's (last code, county)."""
    ranges: dict[str, tuple[list[str], list[tuple[str, str]]]] = {}
    for row in read_table("us_zip_county.csv"):
        starts, runs = ranges.setdefault(row["state"], ([], []))
        starts.append(row["zip_from"])
        runs.append((row["zip_to"], row["county"]))
    for starts, _ in ranges.values():
        if starts != sorted(starts):
            raise ValueError("us_zip_county.csv: the runs of a state must be in ZIP order")
    return ranges


def zip_county(state: str, postal_code: str | None) -> str | None:
    """The county of a ZIP code ("90292" or ZIP+4 "90292-6501") of `state`, if the table has it."""
    match = _ZIP.fullmatch((postal_code or "").strip())
    table = _zip_ranges().get(state)
    if match is None or table is None:
        return None
    code = match.group(1)
    starts, runs = table
    at = bisect_right(starts, code) - 1
    if at < 0 or code > runs[at][0]:
        return None
    return runs[at][1]


def zip_states() -> frozenset[str]:
    return frozenset(_zip_ranges())
