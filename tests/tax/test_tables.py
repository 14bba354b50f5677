"""Ordino's own tax tables against the published originals in ../shared/data/tax (DESIGN §10)."""

from __future__ import annotations

import csv
import json
import re
from datetime import date
from decimal import Decimal
from pathlib import Path

from ordino.tax.rates_eu import EU_MEMBERSHIP, RATE_KINDS, in_eu, territories, vat_period, vat_periods
from ordino.tax.rates_us import (
    ca_city,
    ca_county,
    ca_districts,
    clothing_rules,
    local_city,
    local_county,
    local_rates,
    shipping_rules,
    state_rates,
    zip_county,
    zip_states,
)
from tests.conftest import shared_data

REDUCED_KEYS = ("reduced", "reduced1", "reduced2", "press_publications")
# The statewide local shares Ordino adds to the state-only rates of the state files (SOURCES.md).
STATEWIDE_LOCAL = {"UT": Decimal("0.0125"), "VA": Decimal("0.01"), "CA": Decimal("0.0125")}


def _fraction(value: float | int) -> Decimal:
    """A JSON percentage (a float such as 25.5) as an exact rate fraction."""
    return Decimal(str(value)).scaleb(-2)


def _ibericode() -> dict[str, list[dict[str, object]]]:
    path = shared_data("tax", "eu_vat", "ibericode_vat-rates.json")
    items: dict[str, list[dict[str, object]]] = json.loads(path.read_text(encoding="utf-8"))["items"]
    return items


def _start(period: dict[str, object]) -> date:
    text = str(period["effective_from"])
    return date.min if text.startswith("0000") else date.fromisoformat(text)


def _latest(periods: list[dict[str, object]]) -> dict[str, object]:
    return max(periods, key=_start)


def test_every_country_of_the_source_and_no_other_is_in_the_eu_table() -> None:
    assert set(vat_periods()) == set(_ibericode())
    assert set(vat_periods()) == set(EU_MEMBERSHIP)


def test_every_current_standard_rate_equals_the_latest_period_of_the_source() -> None:
    # given the latest period of each country in ibericode/vat-rates
    for country, periods in _ibericode().items():
        latest = _latest(periods)
        rates = latest["rates"]
        assert isinstance(rates, dict)
        # then the rate Ordino applies today is that period's standard rate
        ours = vat_period(country, date(2026, 3, 2))
        assert ours is not None
        assert ours.effective_from == _start(latest), country
        assert ours.rates["standard"] == _fraction(rates["standard"]), country


def test_every_period_and_rate_kind_matches_the_source() -> None:
    # reduced = the lowest of the source's reduced rates, reduced_alt = the second (tables' header)
    for country, periods in _ibericode().items():
        ours = vat_periods()[country]
        assert len(ours) == len(periods), country
        for period in periods:
            rates = period["rates"]
            assert isinstance(rates, dict)
            mine = vat_period(country, _start(period))
            assert mine is not None
            reduced = sorted(_fraction(rates[k]) for k in REDUCED_KEYS if k in rates)
            expected = {"standard": _fraction(rates["standard"])}
            expected |= dict(zip(("reduced", "reduced_alt"), reduced, strict=False))
            expected |= {k: _fraction(rates[k]) for k in ("super_reduced", "parking") if k in rates}
            assert dict(mine.rates) == expected, (country, period["effective_from"])
            assert set(mine.rates) <= set(RATE_KINDS)


def test_territories_equal_the_exceptions_of_the_source() -> None:
    source = {
        (country, e["name"], e["postcode"], _fraction(e["standard"]))
        for country, periods in _ibericode().items()
        for e in _latest(periods).get("exceptions", [])  # type: ignore[attr-defined]
    }
    ours = {(t.country, t.name, t.pattern.pattern, t.standard) for t in territories()}
    # the table's documented additions: Åland (not in the source), Ceuta and Melilla by province code
    widened = {("ES", "Ceuta"): r"51\d{3}", ("ES", "Melilla"): r"52\d{3}"}
    expected = {(c, n, widened.get((c, n), p), r) for c, n, p, r in source}
    expected.add(("FI", "Åland Islands", r"22\d{3}", Decimal(0)))
    assert ours == expected
    # the widened patterns still take every code of the source
    for country, name, pattern, _ in source:
        if (country, name) in widened:
            for code in ("51001", "51005", "51070", "51071", "51081", "52000", "52006", "52070", "52071", "52081"):
                if re.fullmatch(pattern, code):
                    assert re.fullmatch(widened[country, name], code), (name, code)
    # those with a 0 % standard rate are outside the VAT area (the supply is an export)
    assert {t.name for t in territories() if t.in_vat_area} == {"Jungholz", "Mittelberg", "Madeira", "Azores"}


def test_aland_is_exempted_in_the_second_source() -> None:
    # kdeldycke/vat-rates lists the Åland Islands (AX) with a 0 % standard rate
    path = shared_data("tax", "eu_vat", "kdeldycke_vat_rates.csv")
    with path.open(encoding="utf-8", newline="") as source:
        rows = list(csv.DictReader(source))
    aland = [r for r in rows if "AX" in r["territory_codes"].split()]  # one code per line of the cell
    assert [(r["rate"], r["stop_date"]) for r in aland] == [("0", "")]


def test_membership_dates() -> None:
    assert in_eu("GB", date(2020, 12, 31)) and not in_eu("GB", date(2021, 1, 1))
    assert not in_eu("HR", date(2013, 6, 30)) and in_eu("HR", date(2013, 7, 1))
    assert sum(in_eu(c, date(2026, 1, 1)) for c in EU_MEMBERSHIP) == 27


def _state_files() -> dict[str, dict[str, object]]:
    folder = shared_data("tax", "us_sales_tax", "taxrates-us-state-json")
    return {p.name[:2].upper(): json.loads(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.json"))}


def _state_row(doc: dict[str, object]) -> dict[str, object] | None:
    rows = [j for j in doc["jurisdictions"] if j["type"] == "State"]  # type: ignore[attr-defined]
    return rows[0] if rows else None


def test_every_state_and_dc_is_in_the_table() -> None:
    files = _state_files()
    assert len(files) == 51
    assert set(state_rates()) == set(files) == set(shipping_rules())


def test_every_state_rate_equals_the_state_file_except_the_documented_statewide_local_shares() -> None:
    for code, doc in _state_files().items():
        ours = state_rates()[code]
        assert ours.source == doc["metadata"]["source"], code  # type: ignore[index]
        assert doc["metadata"]["effectiveDate"] == "2026-01-01"  # type: ignore[index]
        assert ours.statewide_local_rate == STATEWIDE_LOCAL.get(code, Decimal(0)), code
        row = _state_row(doc)
        if code == "CA":  # the CA file lists only cities and counties; see the CDTFA test below
            assert row is None
            continue
        assert row is not None
        assert ours.state_rate == Decimal(str(row["rate"])), code
    assert state_rates()["UT"].rate == Decimal("0.061")
    assert state_rates()["VA"].rate == Decimal("0.053")


def test_local_taxes_flag_agrees_with_the_state_files() -> None:
    for code, doc in _state_files().items():
        row = _state_row(doc)
        notes = str(row["notes"]) if row else ""
        if "No additional local" in notes or "No other local" in notes or "no state or local" in notes:
            assert not state_rates()[code].local_taxes, code


def test_no_sales_tax_states_agree_with_the_shipping_table() -> None:
    for code, state in state_rates().items():
        assert (shipping_rules()[code].taxable is None) == (state.rate == 0), code


def _cdtfa_rows() -> list[dict[str, str]]:
    path: Path = shared_data("tax", "us_sales_tax", "california_cdtfa", "SalesTaxRates1-1-26.csv")
    lines = path.read_text(encoding="utf-8").splitlines()[2:]  # two preamble lines before the header
    return list(csv.DictReader(lines))


def _cdtfa_rate(text: str) -> Decimal | None:
    try:
        return Decimal(text).quantize(Decimal("0.00001"))  # the export prints binary floats
    except ArithmeticError:
        return None


def test_california_city_and_county_rates_equal_the_cdtfa_rows() -> None:
    rows = _cdtfa_rows()
    assert len(rows) == 546
    with_rate = [(r, rate) for r in rows if (rate := _cdtfa_rate(r["Rate"])) is not None]
    assert len(with_rate) == len(ca_districts()) == 541
    for row, rate in with_rate:
        ours = ca_city(row["Location"]) if row["Type"] == "City" else ca_county(row["County"])
        assert ours is not None, row["Location"]
        assert (ours.location, ours.county, ours.rate) == (row["Location"], row["County"], rate)


def test_the_california_statewide_base_is_the_lowest_cdtfa_rate() -> None:
    lowest = min(rate for r in _cdtfa_rows() if (rate := _cdtfa_rate(r["Rate"])) is not None)
    assert state_rates()["CA"].rate == lowest == Decimal("0.07250")


def test_clothing_rules_are_for_known_states() -> None:
    assert set(clothing_rules()) <= set(state_rates())
    assert {s: r.rule for s, r in clothing_rules().items()} == {
        "MA": "excess_over", "MN": "exempt", "NJ": "exempt", "NY": "exempt_below", "PA": "exempt",
        "RI": "excess_over", "VT": "exempt",
    }


# Ordino's addition to the state files: New York City's rate in its five counties (us_local_rates.csv).
NYC_COUNTIES = {"New York", "Kings", "Queens", "Bronx", "Richmond"}


def test_local_rates_equal_the_city_rows_of_the_state_files() -> None:
    # given every City jurisdiction and lookup name of the state files outside California
    expected = set()
    for code, doc in _state_files().items():
        if code == "CA":
            continue
        for row in doc["jurisdictions"]:  # type: ignore[attr-defined]
            if row["type"] == "City":
                expected.add((code, row["location"], row["county"], Decimal(str(row["rate"]))))
        for name, row in doc["lookup"]["byCity"].items():  # type: ignore[index]
            # then each name an address may carry finds its row's rate
            ours = local_city(code, name)
            assert ours is not None, (code, name)
            assert (ours.location, ours.rate) == (row["location"], Decimal(str(row["rate"]))), (code, name)
    cities = {(r.state, r.location, r.county, r.rate) for r in local_rates() if r.type == "City"}
    assert cities == expected
    assert {r.state for r in local_rates()} == {"NY", "TX"}
    # and the counties are New York City's, at its rate
    counties = {(r.state, r.county, r.location, r.rate) for r in local_rates() if r.type == "County"}
    assert counties == {("NY", c, "New York City", Decimal("0.08875")) for c in NYC_COUNTIES}


def _geonames() -> list[dict[str, str]]:
    path = shared_data("geo", "us_zip_geonames", "us_zip_codes.csv")
    with path.open(encoding="utf-8", newline="") as source:
        return list(csv.DictReader(source))


def test_every_zip_code_of_the_states_in_the_table_has_its_geonames_county() -> None:
    rows = [r for r in _geonames() if r["state_code"] in zip_states()]
    assert zip_states() == {"CA", "NY"}
    assert len(rows) == 2593 + 2154
    for row in rows:
        assert zip_county(row["state_code"], row["zip_code"]) == row["county"], row["zip_code"]
    # every California county of the ZIP codes has a CDTFA rate for its unincorporated area
    assert all(ca_county(r["county"]) is not None for r in rows if r["state_code"] == "CA")
    # and the five counties of New York City are those of the local table
    assert {r["county"] for r in rows if local_county("NY", r["county"]) is not None} == NYC_COUNTIES


def test_zip_codes_of_other_states_and_malformed_codes_have_no_county() -> None:
    assert zip_county("TX", "77002") is None
    assert [zip_county("CA", code) for code in ("90292", "90292-6501", "902926501", "9029", "ABCDE", None)] == [
        "Los Angeles", "Los Angeles", "Los Angeles", None, None, None
    ]
