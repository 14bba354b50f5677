"""The places table against the public postal-code datasets it names (DESIGN §10)."""

from __future__ import annotations

import csv
import re
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from ordino.catalog.places import PLACES, place
from tests.conftest import shared_data

MICRO = Decimal("0.000001")
TOLERANCE = Decimal("0.2")  # degrees between a city's coordinates and its postal code's centroid

POSTAL_CODE = {
    "AT": r"\d{4}",
    "CH": r"\d{4}",
    "DE": r"\d{5}",
    "ES": r"\d{5}",
    "FR": r"\d{5}",
    "GB": r"[A-Z]{1,2}\d[A-Z\d]? \d[A-Z]{2}",
    "IT": r"\d{5}",
    "JP": r"\d{3}-\d{4}",
    "NL": r"\d{4} [A-Z]{2}",
    "PL": r"\d{2}-\d{3}",
    "SE": r"\d{3} \d{2}",
    "US": r"\d{5}",
}


def test_every_place_is_well_formed() -> None:
    # given the table, then codes are unique and every field has its format
    assert len({p.code for p in PLACES}) == len(PLACES)
    for p in PLACES:
        assert p.region.startswith(f"{p.country}-"), p
        assert re.fullmatch(POSTAL_CODE[p.country], p.postal_code), p
        assert Decimal(-90) <= p.lat <= Decimal(90), p
        assert Decimal(-180) <= p.lon <= Decimal(180), p
        assert p.lat == p.lat.quantize(MICRO) and p.lon == p.lon.quantize(MICRO), p  # fits ExactDecimal
        assert ZoneInfo(p.timezone).key == p.timezone


def test_lookup_by_code() -> None:
    assert place("CHI").city == "Chicago"
    assert place("CHI").subdivision == "IL"
    with pytest.raises(KeyError, match="no place 'XXX'"):
        place("XXX")


def _close(a: Decimal, b: Decimal) -> bool:
    return abs(a - b) <= TOLERANCE


def test_us_cities_match_geonames_zip_codes() -> None:
    # given the GeoNames US ZIP code centroids
    path = shared_data("geo", "us_zip_geonames", "us_zip_codes.csv")
    with path.open(newline="", encoding="utf-8") as f:
        rows = {row["zip_code"]: row for row in csv.DictReader(f)}
    us = [p for p in PLACES if p.country == "US"]
    assert len(us) == 6
    for p in us:
        # then each ZIP exists, lies in that city and state, and near the city's coordinates
        row = rows[p.postal_code]
        assert (row["city"], row["state_code"]) == (p.city, p.subdivision), p
        assert _close(p.lat, Decimal(row["latitude"])), (p, row)
        assert _close(p.lon, Decimal(row["longitude"])), (p, row)


def test_uk_cities_match_postcode_outcodes() -> None:
    # given the UK postcode districts (outcodes) with their centroids
    path = shared_data("geo", "uk_postcode_outcodes", "postcode-outcodes.csv")
    with path.open(newline="", encoding="utf-8-sig") as f:
        rows = {row["Post Code"]: row for row in csv.DictReader(f)}
    uk = [p for p in PLACES if p.country == "GB"]
    assert len(uk) == 3
    for p in uk:
        # then each postcode's district exists and lies near the city's coordinates
        row = rows[p.postal_code.split()[0]]
        assert _close(p.lat, Decimal(row["latitude"])), (p, row)
        assert _close(p.lon, Decimal(row["longitude"])), (p, row)
