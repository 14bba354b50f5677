"""Printed labels of invoices and credit notes, per language (the table is `data/labels.csv`).

Every language has every key of English (a test checks it). A locale without its own table uses
its language's ("de_CH" → "de"), then English; numbers, dates and money are formatted for the
locale itself by Babel, whatever table the words come from.

Legal sentences reach documents in English (the tax engine's notes, the default exemption
reasons): `legal_text` knows them by their English wording (the `note_*` rows, whose English
column is the engine's text with its variable parts as `{placeholders}`) and prints them in the
document's language. Any other text (an order's remark, a reason someone typed) stays as written.
"""

from __future__ import annotations

import csv
import io
import re
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


# The tax engine's short exemption reasons (invoicing.documents.rendering) → the label saying the same.
REASON_KEYS = {"Reverse charge": "category_AE", "Intra-community supply": "category_K",
               "Export outside the EU": "category_G", "Not subject to VAT": "category_O",
               "Exempt from tax": "category_E"}
_PLACEHOLDER = re.compile(r"\\\{(\w+)\\\}")


def _pattern(template: str) -> re.Pattern[str]:
    """The English template as a pattern: each `{name}` matches any text (as the group `name`)."""
    return re.compile(_PLACEHOLDER.sub(lambda m: f"(?P<{m.group(1)}>.+?)", re.escape(template)) + r"\Z")


NOTE_PATTERNS: dict[str, re.Pattern[str]] = {
    key: _pattern(text) for key, text in EN.items() if key.startswith("note_")
}


def legal_text(text: str, labels: Mapping[str, str], locale: Locale) -> str:
    """A known legal sentence in the labels' language (a country code it names as the country's
    name); any other text as it is."""
    key = REASON_KEYS.get(text)
    if key is not None:
        return labels[key]
    for key, pattern in NOTE_PATTERNS.items():
        match = pattern.match(text)
        if match is not None:
            values = {name: str(locale.territories.get(value, value)) if name == "country" else value
                      for name, value in match.groupdict().items()}
            return labels[key].format(**values)
    return text


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
