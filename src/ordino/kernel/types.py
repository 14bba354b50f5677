"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import MAX_EMAX, MAX_PREC, MIN_EMIN, Context, Decimal
from typing import Any

from sqlalchemy import BigInteger, DateTime, Dialect, Numeric
from sqlalchemy.types import TypeDecorator, TypeEngine

PRICE_PLACES = 6
_SCALE = Decimal(10) ** PRICE_PLACES
_EXACT = Context(prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN)
_MAX_SCALED = 2**63 - 1
MAX_EXACT_DECIMAL = Decimal(_MAX_SCALED).scaleb(-PRICE_PLACES)  # 9223372036854.775807


class ExactDecimal(TypeDecorator[Decimal]):
    """A Decimal with up to 6 places, stored exactly on both databases.

    PostgreSQL keeps NUMERIC(24, 6). SQLite has no exact decimal type (its NUMERIC is a float),
    so the value is stored as a scaled 64-bit integer (micro-units), which also sorts correctly.
    """

    impl = Numeric
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(Numeric(24, PRICE_PLACES, asdecimal=True))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, Decimal):
            raise TypeError("ExactDecimal takes Decimal values, never floats")
        if not value.is_finite():
            raise ValueError(f"{value} is not a finite number")
        scaled = value.scaleb(PRICE_PLACES, _EXACT)
        if scaled != scaled.to_integral_value(context=_EXACT):
            raise ValueError(f"{value} has more than {PRICE_PLACES} decimal places")
        # The same range on both databases: what SQLite's 64-bit integer holds in micro-units.
        if abs(scaled) > _MAX_SCALED:
            raise ValueError(f"{value} is out of range (at most {MAX_EXACT_DECIMAL})")
        if dialect.name == "sqlite":
            return int(scaled)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return (Decimal(int(value)) / _SCALE).quantize(Decimal(1).scaleb(-PRICE_PLACES))
        return Decimal(value).quantize(Decimal(1).scaleb(-PRICE_PLACES))


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on both databases (SQLite stores them naive, in UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("naive datetimes are not stored")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        stored: datetime = value
        if stored.tzinfo is None:
            return stored.replace(tzinfo=UTC)
        return stored.astimezone(UTC)
