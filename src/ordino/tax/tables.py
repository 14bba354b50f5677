"""Reading the engine's own rate tables (package data under `ordino/tax/data/*.csv`).

Each CSV starts with `#` comment lines naming its public source and what its columns mean;
tests/tax/test_tables.py checks every table against the published originals.
"""

from __future__ import annotations

import csv
from decimal import Decimal
from importlib import resources


def read_table(name: str) -> list[dict[str, str]]:
    text = resources.files("ordino.tax").joinpath("data", name).read_text(encoding="utf-8")
    rows = [line for line in text.splitlines() if line and not line.startswith("#")]
    return list(csv.DictReader(rows))


def percent(text: str) -> Decimal:
    """A percentage as printed in the tables ("25.5") to a rate fraction (Decimal("0.255")), exactly."""
    return Decimal(text).scaleb(-2)
