"""Fixtures of the catalog tests."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from ordino.kernel import clock

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
NOW_TEXT = "2026-11-26T10:00:00+00:00"


@pytest.fixture
def frozen() -> Iterator[datetime]:
    """The clock stands at NOW, so timestamps can be asserted exactly."""
    clock.set_clock(lambda: NOW)
    yield NOW
    clock.set_clock(None)
