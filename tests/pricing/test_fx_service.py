"""FX rates in the database: ECB imports (hand-written files and the shared ECB history), the
rate in force on a day, and conversion through direct, inverse and cross rates."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from ordino.kernel.db import Database
from ordino.kernel.money import Money, is_currency
from ordino.kernel.outbox import OutboxEvent
from ordino.pricing import fx, fx_service
from ordino.pricing.fx import Rate
from ordino.pricing.models import FxRate
from tests.conftest import shared_data

HISTORY = """Date,USD,JPY,CYP,KWD,
2024-05-06,1.0776,165.7,N/A,N/A,
2024-05-03,1.0744,164.62,N/A,0.3301,
2024-05-02,1.0702,165.93,N/A,0.3297,
"""


def import_text(db: Database, text: str, source: str = "ecb") -> dict[str, object]:
    return db.transaction(lambda s: fx_service.import_ecb(s, io.StringIO(text), source).as_doc())


def stored(db: Database) -> list[tuple[str, str, str, date, str]]:
    with db.read() as s:
        rows = s.execute(
            select(FxRate.base, FxRate.quote, FxRate.rate, FxRate.effective_on, FxRate.source).order_by(
                FxRate.effective_on, FxRate.quote
            )
        ).all()
    return [(r.base, r.quote, fx.rate_text(r.rate), r.effective_on, r.source) for r in rows]


def events(db: Database) -> list[tuple[str, dict[str, object]]]:
    with db.read() as s:
        return [(e.type, e.data) for e in s.execute(select(OutboxEvent).order_by(OutboxEvent.position)).scalars()]


def count(db: Database) -> int:
    with db.read() as s:
        return int(s.execute(select(func.count()).select_from(FxRate)).scalar_one())


# ----------------------------------------------------------------------------------------------
# Imports


def test_an_import_stores_every_rate_exactly_and_skips_na_and_withdrawn_currencies(db: Database) -> None:
    # when a small history file is imported
    result = import_text(db, HISTORY)
    # then every cell of an active currency is a EUR-based rate of source ecb
    assert result == {
        "source": "ecb", "days": 3, "currencies": ["USD", "JPY", "KWD"], "skipped_currencies": ["CYP"],
        "missing_cells": 1, "inserted": 8, "updated": 0, "unchanged": 0,
    }
    assert stored(db) == [
        ("EUR", "JPY", "165.93", date(2024, 5, 2), "ecb"),
        ("EUR", "KWD", "0.3297", date(2024, 5, 2), "ecb"),
        ("EUR", "USD", "1.0702", date(2024, 5, 2), "ecb"),
        ("EUR", "JPY", "164.62", date(2024, 5, 3), "ecb"),
        ("EUR", "KWD", "0.3301", date(2024, 5, 3), "ecb"),
        ("EUR", "USD", "1.0744", date(2024, 5, 3), "ecb"),
        ("EUR", "JPY", "165.7", date(2024, 5, 6), "ecb"),
        ("EUR", "USD", "1.0776", date(2024, 5, 6), "ecb"),
    ]
    assert events(db) == [
        ("fx_rates.recorded", {
            "sources": ["ecb"], "inserted": 8, "updated": 0, "unchanged": 0,
            "first_effective_on": "2024-05-02", "last_effective_on": "2024-05-06",
        })
    ]


def test_importing_again_inserts_nothing_and_updates_nothing(db: Database) -> None:
    # given the file imported once
    import_text(db, HISTORY)
    with db.read() as s:
        before = s.execute(select(FxRate.id, FxRate.updated_at).order_by(FxRate.id)).all()
    # when it is imported again
    result = import_text(db, HISTORY)
    # then every rate is unchanged, no row is added or touched, and no second event is sent
    assert (result["inserted"], result["updated"], result["unchanged"]) == (0, 0, 8)
    with db.read() as s:
        assert s.execute(select(FxRate.id, FxRate.updated_at).order_by(FxRate.id)).all() == before
    assert len(events(db)) == 1


def test_a_corrected_cell_updates_that_rate_only(db: Database) -> None:
    import_text(db, HISTORY)
    corrected = HISTORY.replace("2024-05-03,1.0744,", "2024-05-03,1.07440,").replace("164.62", "164.63")
    result = import_text(db, corrected)
    # 1.07440 equals 1.0744 and stays; 164.62 → 164.63 is a correction
    assert (result["inserted"], result["updated"], result["unchanged"]) == (0, 1, 7)
    assert ("EUR", "JPY", "164.63", date(2024, 5, 3), "ecb") in stored(db)
    assert count(db) == 8


def test_another_source_keeps_its_own_rates(db: Database) -> None:
    import_text(db, HISTORY)
    result = import_text(db, HISTORY, source="ecb-check")
    assert (result["inserted"], result["unchanged"]) == (8, 0)
    assert count(db) == 16


def test_a_malformed_file_writes_nothing(db: Database) -> None:
    broken = HISTORY + "2024-05-01,1.07,abc,N/A,0.33,\n"
    with pytest.raises(fx.EcbFormatError) as refused:
        import_text(db, broken)
    assert str(refused.value) == "line 5, JPY: 'abc' is not a decimal number"
    assert count(db) == 0


def test_the_ecb_zip_is_read_like_the_csv_inside(db: Database, tmp_path: Path) -> None:
    archive = tmp_path / "eurofxref.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("eurofxref.csv", "Date, USD, JPY, \n13 April 2026, 1.1684, 186.75, \n")
    result = db.transaction(lambda s: fx_service.import_ecb_file(s, archive).as_doc())
    assert (result["days"], result["inserted"]) == (1, 2)
    assert stored(db) == [
        ("EUR", "JPY", "186.75", date(2026, 4, 13), "ecb"),
        ("EUR", "USD", "1.1684", date(2026, 4, 13), "ecb"),
    ]


def _file_cells(path: Path) -> dict[tuple[date, str], str]:
    """The shared file read independently of Ordino's parser: every cell that is a rate."""
    with path.open(newline="") as f:
        reader = csv.reader(f)
        header = [h.strip() for h in next(reader)]
        cells = {}
        for row in reader:
            day = date.fromisoformat(row[0])
            for code, value in zip(header[1:], row[1:], strict=False):
                if code and value.strip() not in ("", "N/A") and is_currency(code):
                    cells[(day, code)] = value.strip()
    return cells


def test_the_shared_ecb_history_loads_whole_and_matches_its_cells(db: Database) -> None:
    # given the ECB history (1999–2026) and its cells read with the csv module
    path = shared_data("currency", "ecb_fx", "eurofxref-hist.csv")
    cells = _file_cells(path)
    # when it is imported
    result = db.transaction(lambda s: fx_service.import_ecb_file(s, path).as_doc())
    # then every cell is a rate, and sampled cells are stored exactly
    assert (result["days"], result["inserted"], result["updated"]) == (6983, len(cells), 0)
    assert count(db) == len(cells)
    samples = [(date(2024, 5, 3), "USD"), (date(2024, 5, 3), "JPY"), (date(1999, 1, 4), "GBP"),
               (date(2026, 4, 13), "IDR"), (date(2008, 12, 31), "RUB"), (date(2000, 1, 3), "KRW")]
    with db.read() as s:
        for day, code in samples:
            found = fx_service.rate_in_force(s, "EUR", code, day, "ecb")
            assert found is not None and found.effective_on == day
            assert found.rate == Decimal(cells[(day, code)]), (day, code)


def test_the_shared_latest_file_parses_with_the_daily_layout(db: Database) -> None:
    path = shared_data("currency", "ecb_fx", "eurofxref_latest.csv")
    result = db.transaction(lambda s: fx_service.import_ecb_file(s, path).as_doc())
    assert result["days"] == 1
    with path.open() as f:
        header, row = ([c.strip() for c in line.split(",")] for line in f.read().splitlines()[:2])
    day = fx._ecb_date(row[0], 2)
    with db.read() as s:
        found = fx_service.rate_in_force(s, "EUR", "USD", day)
    assert found is not None and found.rate == Decimal(row[header.index("USD")])


# ----------------------------------------------------------------------------------------------
# The rate in force and conversion


def record(db: Database, *rates: tuple[str, str, str, date, str]) -> None:
    db.transaction(lambda s: fx_service.write_rates(s, [Rate(b, q, Decimal(r), d, src) for b, q, r, d, src in rates]))


FRI, SAT, MON = date(2024, 5, 3), date(2024, 5, 4), date(2024, 5, 6)


def test_the_rate_in_force_is_the_latest_on_or_before_the_day(db: Database) -> None:
    record(db, ("EUR", "USD", "1.0744", FRI, "ecb"), ("EUR", "USD", "1.0776", MON, "ecb"),
           ("EUR", "USD", "1.0750", SAT, "treasury"))
    with db.read() as s:
        assert fx_service.rate_in_force(s, "EUR", "USD", date(2024, 5, 2)) is None
        assert fx_service.rate_in_force(s, "EUR", "USD", FRI) == Rate("EUR", "USD", Decimal("1.0744"), FRI, "ecb")
        # Saturday: the ECB publishes nothing, so Friday's rate is in force for source ecb
        assert fx_service.rate_in_force(s, "EUR", "USD", SAT, "ecb") == Rate(
            "EUR", "USD", Decimal("1.0744"), FRI, "ecb"
        )
        # of any source, the newest date wins
        assert fx_service.rate_in_force(s, "EUR", "USD", SAT) == Rate(
            "EUR", "USD", Decimal("1.0750"), SAT, "treasury"
        )
        assert [d["rate"] for d in fx_service.rates_in_force(s, SAT, base="EUR", source="ecb")] == ["1.0744"]


def test_conversion_uses_direct_inverse_and_cross_rates(db: Database) -> None:
    record(db, ("EUR", "USD", "1.0723", FRI, "ecb"), ("EUR", "JPY", "164.50", FRI, "ecb"),
           ("EUR", "KWD", "0.3298", FRI, "ecb"))
    with db.read() as s:
        direct = fx_service.convert(s, Money.of("100.00", "EUR"), "USD", SAT)
        inverse = fx_service.convert(s, Money.of("108.23", "USD"), "EUR", SAT)
        cross = fx_service.convert(s, Money.of("12.34", "USD"), "JPY", SAT, corporate="EUR")
        three = fx_service.convert(s, Money(1000, "JPY"), "KWD", SAT)
        same = fx_service.convert(s, Money.of("5.00", "USD"), "USD", SAT)
    assert direct.result == Money.of("107.23", "USD")
    assert inverse.result == Money.of("100.93", "EUR")  # 108.23 / 1.0723 = 100.9325…
    assert cross.result == Money(1893, "JPY")
    assert [(leg.rate.quote, leg.inverted) for leg in cross.legs] == [("USD", True), ("JPY", False)]
    assert three.result == Money(2005, "KWD")
    assert (same.result, same.legs) == (Money.of("5.00", "USD"), ())


def test_a_pivot_other_than_eur_is_found(db: Database) -> None:
    # given rates quoted against USD only
    record(db, ("USD", "CAD", "1.3700", FRI, "treasury"), ("USD", "MXN", "17.0000", FRI, "treasury"))
    with db.read() as s:
        conversion = fx_service.convert(s, Money.of("137.00", "CAD"), "MXN", FRI, corporate="EUR")
    # 137.00 CAD = 100 USD = 1700.00 MXN
    assert conversion.result == Money.of("1700.00", "MXN")


def test_no_rate_is_a_clear_problem(db: Database) -> None:
    record(db, ("EUR", "USD", "1.0723", MON, "ecb"))
    with db.read() as s, pytest.raises(fx_service.RateNotFound) as refused:
        fx_service.convert(s, Money.of("1.00", "USD"), "EUR", FRI)
    assert refused.value.status == 422
    assert refused.value.detail == "no exchange rate from USD to EUR on or before 2024-05-03"
