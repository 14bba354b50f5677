"""Timezone-aware UTC time, replaceable in tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

_now: Callable[[], datetime] = lambda: datetime.now(UTC)  # noqa: E731


def now() -> datetime:
    return _now()


def set_clock(fn: Callable[[], datetime] | None) -> None:
    """Install a clock (tests); None restores the system clock."""
    global _now
    _now = fn if fn is not None else (lambda: datetime.now(UTC))


def ensure_utc(value: datetime) -> datetime:
    """Refuse naive datetimes; convert aware ones to UTC."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("datetime must carry a timezone")
    return value.astimezone(UTC)
