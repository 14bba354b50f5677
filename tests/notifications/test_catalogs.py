"""The catalogs: every text of the templates is in the .pot and translated, with its placeholders,
in every language; the templates render in each."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from ordino.notifications import domain
from ordino.notifications.rendering import HERE, LOCALE, formatter, render

PLACEHOLDER = re.compile(r"%\((\w+)\)s")
OPTIONS = {"extensions": "jinja2.ext.i18n", "trim_blocks": "True", "lstrip_blocks": "True"}


def _extracted() -> set[str]:
    found = extract_from_dir(str(HERE), method_map=[("templates/**.txt", "jinja2"), ("templates/**.html", "jinja2")],
                             options_map={"templates/**.txt": OPTIONS, "templates/**.html": OPTIONS})
    return {msg if isinstance(msg, str) else msg[0] for _, _, msg, _, _ in found}


def _catalog(path: Path) -> dict[str, str]:
    with path.open("rb") as f:
        return {m.id: m.string for m in read_po(f) if m.id}


def test_the_pot_lists_every_text_of_the_templates() -> None:
    assert set(_catalog(LOCALE / "messages.pot")) == _extracted()


def test_every_language_translates_every_text_with_its_placeholders() -> None:
    texts = _extracted()
    for language in domain.LANGUAGES:
        catalog = _catalog(LOCALE / language / "LC_MESSAGES" / "messages.po")
        assert set(catalog) == texts, language
        for msgid, msgstr in catalog.items():
            assert msgstr, (language, msgid)
            assert sorted(PLACEHOLDER.findall(msgstr)) == sorted(PLACEHOLDER.findall(msgid)), (language, msgid)


def test_the_quote_in_german_and_english() -> None:
    fmt = formatter("de_DE")
    context = {"quote_number": "Q-2026-000007", "total": fmt.money(123450, "EUR"), "valid_until": fmt.day("2026-12-10"),
               "name": "Anna Schmidt", "language": "de"}
    german = render("quote_sent", "de", context)
    assert german.subject == "Ihr Angebot Q-2026-000007"
    assert "Ihr Angebot Q-2026-000007 liegt vor: 1.234,50\xa0€." in german.text
    assert "Es ist gültig bis 10. Dezember 2026." in german.text
    fmt = formatter("en_GB")
    english = render("quote_sent", "en", {**context, "total": fmt.money(123450, "EUR"),
                                          "valid_until": fmt.day("2026-12-10"), "language": "en"})
    assert english.subject == "Your quote Q-2026-000007"
    assert "Your quote Q-2026-000007 is ready: €1,234.50." in english.text
    assert "It is valid until 10 December 2026." in english.text


def test_amounts_in_a_currency_without_decimals_and_an_unknown_locale() -> None:
    assert formatter("ja_JP").money(1001, "JPY") == "￥1,001"
    assert formatter("xx_YY").money(123450, "EUR") == "€1,234.50"
    assert formatter("de_CH").money(123450, "CHF") == "CHF\xa01’234.50"


def test_html_escapes_what_it_is_given() -> None:
    out = render("process_exception", "en", {"category": "payment", "severity": "high", "message": "<b>x</b> & y",
                                             "attached_type": "order", "attached_id": "1", "exception_id": "2",
                                             "name": "", "language": "en"})
    assert "<p>&lt;b&gt;x&lt;/b&gt; &amp; y</p>" in out.html
    assert "<b>x</b> & y" in out.text
