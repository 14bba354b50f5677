"""Legal sentences: the English wording the tax engine writes is known, and printed in every language."""

from __future__ import annotations

import re

import pytest
from babel import Locale

from ordino.invoicing.documents.labels import EN, LABELS, NOTE_PATTERNS, REASON_KEYS, legal_text
from ordino.invoicing.documents.rendering import _DEFAULT_EXEMPTIONS
from ordino.tax.domain import EXPORT_TEXT, INTRA_COMMUNITY_TEXT, REVERSE_CHARGE_TEXT
from ordino.tax.eu_vat import UK_EXPORT_TEXT

LANGUAGES = ("de", "fr", "en", "es", "it", "nl", "pl")


def test_the_note_templates_are_the_tax_engines_own_wording():
    # given the engine's fixed notes
    # then the English column of the table says exactly the same
    assert EN["note_reverse_charge"] == REVERSE_CHARGE_TEXT
    assert EN["note_intra_community"] == INTRA_COMMUNITY_TEXT
    assert EN["note_export"] == EXPORT_TEXT
    assert EN["note_uk_export"] == UK_EXPORT_TEXT
    # and every default exemption reason of the documents is known
    assert {reason for reason, _ in _DEFAULT_EXEMPTIONS.values()} <= set(REASON_KEYS)


def test_every_language_has_the_legal_sentences():
    assert set(LABELS) >= set(LANGUAGES)
    for language in LANGUAGES:
        for key in NOTE_PATTERNS:
            # the same placeholders in every language, and a sentence of its own outside English
            assert sorted(_placeholders(LABELS[language][key])) == sorted(_placeholders(EN[key])), (language, key)
            if language != "en":
                assert LABELS[language][key] != EN[key], (language, key)


def _placeholders(text: str) -> list[str]:
    return re.findall(r"\{(\w+)\}", text)


@pytest.mark.parametrize(("language", "expected"), [
    ("de", "Steuerfreie innergemeinschaftliche Lieferung (Art. 138 der Richtlinie 2006/112/EG)"),
    ("fr", "Livraison intracommunautaire de biens exonérée de TVA (article 138 de la directive 2006/112/CE)"),
    ("en", INTRA_COMMUNITY_TEXT),
    ("es", "Entrega intracomunitaria de bienes exenta de IVA (artículo 138 de la Directiva 2006/112/CE)"),
    ("it", "Cessione intracomunitaria di beni non imponibile IVA (articolo 138 della direttiva 2006/112/CE)"),
    ("nl", "Intracommunautaire levering van goederen, vrijgesteld van btw (artikel 138 van Richtlijn 2006/112/EG)"),
    ("pl", "Wewnątrzwspólnotowa dostawa towarów zwolniona z VAT (art. 138 dyrektywy 2006/112/WE)"),
])
def test_an_intra_community_note_in_each_language(language: str, expected: str):
    locale = Locale.parse(language)
    assert legal_text(INTRA_COMMUNITY_TEXT, LABELS[language], locale) == expected


def test_variable_parts_are_kept_and_a_country_is_named_in_the_language():
    de = Locale.parse("de")
    assert legal_text("Canary Islands is outside the EU VAT area: the supply is an export", LABELS["de"], de) == (
        "Canary Islands liegt außerhalb des Mehrwertsteuergebiets der EU: die Lieferung ist eine Ausfuhr")
    assert legal_text("Export from the United States to CH: no US sales tax", LABELS["de"], de) == (
        "Ausfuhr aus den Vereinigten Staaten (Bestimmungsland: Schweiz): keine US-Sales-Tax")
    assert legal_text("Export outside the EU", LABELS["pl"], Locale.parse("pl")) == "Eksport towarów"


def test_text_that_is_no_known_legal_sentence_stays_as_written():
    fr = Locale.parse("fr")
    for text in ("Bitte an Tor 3 liefern", "Reverse charge applies", "Reverse charge: VAT to be accounted for",
                 "Exempt from VAT under exemption certificate"):
        assert legal_text(text, LABELS["fr"], fr) == text
