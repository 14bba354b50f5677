"""Printed labels of invoices and credit notes, per language (the table is `data/labels.csv`).

Every language has every key of English (a test checks it). A locale without its own table uses
its language's ("de_CH" → "de"), then English; numbers, dates and money are formatted for the
locale itself by Babel, whatever table the words come from.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from importlib import resources

from babel import Locale


def _tables() -> dict[str, dict[str, str]]:
    """The label tables, one column per language, from `data/labels.csv` (key, en, de, …)."""
    text = resources.files("ordino.invoicing.documents").joinpath("data/labels.csv").read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    languages = rows[0][1:]
    return {lang: {row[0]: row[i + 1] for row in rows[1:]} for i, lang in enumerate(languages)}


LABELS: dict[str, dict[str, str]] = _tables()
EN = LABELS["en"]

UNIT_WORDS = {"C62": "unit_piece", "H87": "unit_piece", "EA": "unit_piece", "DAY": "unit_day",
              "MON": "unit_month", "SET": "unit_set", "PR": "unit_pair"}
UNIT_SYMBOLS = {"KGM": "kg", "GRM": "g", "TNE": "t", "MTR": "m", "CMT": "cm", "MMT": "mm", "MTK": "m²",
                "MTQ": "m³", "LTR": "l", "HUR": "h", "MIN": "min", "KWH": "kWh"}


def labels_for(locale: Locale) -> Mapping[str, str]:
    """The table for the locale's language, falling back to English."""
    return LABELS.get(str(locale), LABELS.get(locale.language, EN))


def unit_text(code: str, labels: Mapping[str, str]) -> str:
    word = UNIT_WORDS.get(code)
    return labels[word] if word else UNIT_SYMBOLS.get(code, code)


def terms_text(days: int, end_of_month: bool, labels: Mapping[str, str]) -> str:
    """Payment terms in words: "Net 30 days", "Zahlbar zum Monatsende"."""
    if end_of_month:
        return labels["terms_net_eom"].format(days=days) if days else labels["terms_eom"]
    return labels["terms_net"].format(days=days) if days else labels["terms_receipt"]
