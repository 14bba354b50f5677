"""kernel.types: exact decimals and aware UTC datetimes, the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.exc import StatementError

from ordino.catalog.models import Product
from ordino.kernel.db import Database
from ordino.kernel.ids import new_id

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


def _insert_product(db: Database, sku: str, **fields: Any) -> None:
    row = {"id": new_id(), "sku": sku, "name": sku, "created_at": NOW, "updated_at": NOW, **fields}
    db.transaction(lambda s: s.execute(insert(Product), [row]))


def _read(db: Database, column: Any, sku: str) -> Any:
    with db.read() as s:
        return s.execute(select(column).where(Product.sku == sku)).scalar_one()


def _products(db: Database) -> int:
    with db.read() as s:
        return int(s.execute(select(func.count()).select_from(Product)).scalar_one())


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("0.0035"), "0.003500"),
        (Decimal("123456789.123456"), "123456789.123456"),
        (Decimal("-123456789.123456"), "-123456789.123456"),
        (Decimal("-0.000001"), "-0.000001"),
        (Decimal("0"), "0.000000"),
        (Decimal("12.50"), "12.500000"),
        (Decimal("9223372036854.775807"), "9223372036854.775807"),  # the largest value stored
        (Decimal("-9223372036854.775807"), "-9223372036854.775807"),
    ],
)
def test_exact_decimal_round_trips_exactly(db: Database, value: Decimal, text: str) -> None:
    # given a decimal with up to 6 places, when it is stored and read back
    _insert_product(db, "W-1", weight_kg=value)
    stored = _read(db, Product.weight_kg, "W-1")
    # then it is the same number, as a Decimal with 6 places, on either database
    assert isinstance(stored, Decimal)
    assert stored == value
    assert str(stored) == text


def test_exact_decimal_stores_null(db: Database) -> None:
    _insert_product(db, "W-1", weight_kg=None)
    assert _read(db, Product.weight_kg, "W-1") is None


@pytest.mark.parametrize(
    ("value", "error", "message"),
    [
        (0.0035, TypeError, "ExactDecimal takes Decimal values, never floats"),
        (1, TypeError, "ExactDecimal takes Decimal values, never floats"),
        (Decimal("0.0000001"), ValueError, "1E-7 has more than 6 decimal places"),
        (Decimal("123456789.1234561"), ValueError, "123456789.1234561 has more than 6 decimal places"),
        # one micro-unit beyond a signed 64-bit integer: refused on both databases alike
        (
            Decimal("9223372036854.775808"),
            ValueError,
            "9223372036854.775808 is out of range (at most 9223372036854.775807)",
        ),
        (Decimal("NaN"), ValueError, "NaN is not a finite number"),
        (Decimal("Infinity"), ValueError, "Infinity is not a finite number"),
    ],
)
def test_exact_decimal_refuses_floats_extra_places_and_out_of_range(
    db: Database, value: Any, error: type[Exception], message: str
) -> None:
    # when a value that cannot be stored exactly is written
    with pytest.raises(StatementError) as exc:
        _insert_product(db, "W-1", weight_kg=value)
    # then the write is refused with the reason, and no row exists
    assert isinstance(exc.value.orig, error)
    assert str(exc.value.orig) == message
    assert _products(db) == 0


@pytest.mark.parametrize(
    "written",
    [
        datetime(2026, 11, 26, 10, 0, 0, 123456, tzinfo=UTC),
        datetime(2026, 11, 26, 11, 0, 0, 123456, tzinfo=timezone(timedelta(hours=1))),
        datetime(2026, 11, 26, 5, 30, 0, 123456, tzinfo=timezone(timedelta(hours=-4, minutes=-30))),
    ],
)
def test_utc_datetime_returns_aware_utc(db: Database, written: datetime) -> None:
    # given an aware datetime in any offset, when it is stored and read back
    _insert_product(db, "W-1", created_at=written)
    stored = _read(db, Product.created_at, "W-1")
    # then it is the same instant, in UTC, to the microsecond
    assert stored == datetime(2026, 11, 26, 10, 0, 0, 123456, tzinfo=UTC)
    assert stored.tzinfo is UTC
    assert stored.utcoffset() == timedelta(0)


def test_utc_datetime_refuses_naive_datetimes(db: Database) -> None:
    with pytest.raises(StatementError) as exc:
        _insert_product(db, "W-1", created_at=datetime(2026, 11, 26, 10, 0))  # noqa: DTZ001
    assert isinstance(exc.value.orig, ValueError)
    assert str(exc.value.orig) == "naive datetimes are not stored"
    assert _products(db) == 0


def test_exact_decimal_sorts_numerically(db: Database) -> None:
    # SQLite stores micro-units as integers, so ordering in SQL is numeric, negative numbers included
    for sku, weight in [("A", "10.5"), ("B", "-2.25"), ("C", "0.000001"), ("D", "9.999999")]:
        _insert_product(db, sku, weight_kg=Decimal(weight))
    with db.read() as s:
        skus = s.execute(select(Product.sku).order_by(Product.weight_kg)).scalars().all()
    assert skus == ["B", "C", "D", "A"]
