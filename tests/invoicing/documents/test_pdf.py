"""Printed invoices and credit notes: language, formats, Unicode, and a 10,000-line invoice.

The text is read back from the PDF itself: each page's content stream is inflated and its glyph
codes are mapped to characters through the ToUnicode table fpdf2 writes for each font.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import replace

import pytest
from babel import Locale

from ordino.invoicing.documents.domain import Document
from ordino.invoicing.documents.labels import EN, LABELS, labels_for, unit_text
from ordino.invoicing.documents.pdf import render_pdf
from ordino.tax.domain import Category
from tests.invoicing.conftest import (
    BUYER_PL,
    SCENARIOS,
    build,
    credit_note,
    dinar,
    domestic,
    export,
    intra_community,
    line,
    paid_by_card,
    reverse_charge,
    shipping_and_discount,
    yen,
)

_OBJECT = re.compile(rb"(?:^|\n)(\d+) 0 obj\n")
_ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}
_TEXT_OPS = re.compile(rb"/(F\d+) [\d.]+ Tf|\(((?:\\.|[^\\)])*)\) Tj|\bET\b", re.S)


def _objects(pdf: bytes) -> dict[int, tuple[bytes, bytes]]:
    """Object number → (dictionary, stream data inflated); streams are cut by their /Length."""
    found = {}
    pos = 0
    while match := _OBJECT.search(pdf, pos):
        start = match.end()
        end = pdf.index(b"endobj", start)
        stream = pdf.find(b"stream\n", start, end)
        head, data = pdf[start:end], b""
        if stream >= 0:
            head = pdf[start:stream]
            length = int(re.search(rb"/Length (\d+)", head).group(1))  # type: ignore[union-attr]
            data = pdf[stream + 7:stream + 7 + length]
            end = pdf.index(b"endobj", stream + 7 + length)  # binary data may hold anything
            if b"/FlateDecode" in head:
                data = zlib.decompress(data)
        found[int(match.group(1))] = (head, data)
        pos = end
    return found


def _unescape(literal: bytes) -> bytes:
    out, i = bytearray(), 0
    while i < len(literal):
        c = literal[i:i + 1]
        if c != b"\\":
            out += c
            i += 1
            continue
        nxt = literal[i + 1:i + 2]
        if nxt.isdigit():
            digits = re.match(rb"[0-7]{1,3}", literal[i + 1:i + 4])
            assert digits
            out.append(int(digits.group(), 8))
            i += 1 + len(digits.group())
        else:
            out += _ESCAPES.get(nxt, nxt)
            i += 2
    return bytes(out)


def _cmap(data: bytes) -> dict[int, str]:
    table = {}
    for block in re.findall(rb"beginbfchar(.*?)endbfchar", data, re.S):
        for code, text in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
            table[int(code, 16)] = bytes.fromhex(text.decode()).decode("utf-16-be")
    return table


def pdf_pages(pdf: bytes) -> list[list[str]]:
    """The text pieces (one per text object, i.e. per printed line) of every page, in page order."""
    objects = _objects(pdf)
    root = next(head for head, _ in objects.values() if re.search(rb"/Type /Pages\b", head))
    pages = []
    for page_ref in re.findall(rb"(\d+) 0 R", root.split(b"/Kids", 1)[1].split(b"]", 1)[0]):
        head = objects[int(page_ref)][0]
        contents = int(re.search(rb"/Contents (\d+) 0 R", head).group(1))  # type: ignore[union-attr]
        resources = int(re.search(rb"/Resources (\d+) 0 R", head).group(1))  # type: ignore[union-attr]
        fonts = {}
        for name, ref in re.findall(rb"/(F\d+) (\d+) 0 R", objects[resources][0]):
            to_unicode = re.search(rb"/ToUnicode (\d+) 0 R", objects[int(ref)][0])
            fonts[name] = _cmap(objects[int(to_unicode.group(1))][1])  # type: ignore[union-attr]
        pieces: list[str] = []
        font: dict[int, str] = {}
        piece = ""
        for match in _TEXT_OPS.finditer(objects[contents][1]):
            if match.group(1):
                font = fonts[match.group(1)]
            elif match.group(2) is not None:
                raw = _unescape(match.group(2))
                piece += "".join(font[int.from_bytes(raw[i:i + 2], "big")] for i in range(0, len(raw), 2))
            elif piece:  # ET closes a text object: one piece per printed line
                pieces.append(piece)
                piece = ""
        pages.append(pieces)
    return pages


def text_of(doc: Document) -> list[str]:
    """All text pieces of a one-page document."""
    pages = pdf_pages(render_pdf(doc))
    assert len(pages) == 1
    return pages[0]


# ---- the reader itself ----


def test_the_reader_finds_what_was_printed_and_nothing_else():
    pieces = text_of(domestic())
    assert "Rechnung" in pieces
    assert "Invoice" not in pieces
    assert pieces[-1] == "Seite 1 von 1"


# ---- language and formats ----


def test_a_german_invoice():
    pieces = text_of(domestic())
    for expected in (
        "Rechnung", "INV-2026-000042", "Rechnungsempfänger", "Müller & Söhne KG", "Leopoldstraße 8", "80802 München",
        "USt-IdNr.: DE811907980", "Lieferanschrift", "02.03.2026", "Fällig am", "01.04.2026", "PO-4711",
        "SO-000123", "Pos.", "Bezeichnung", "Menge", "Einzelpreis", "Betrag",
        "Sechskantschraube M5 verzinkt", "Art.-Nr. BOLT-00001", "500", "Stk.", "0,035\xa0€", "19\xa0%", "17,50\xa0€",
        "Rabatt −20,00\xa0€ (Mengenrabatt)", "429,70\xa0€", "7\xa0%", "101,40\xa0€",
        "Gesamt netto", "548,60\xa0€", "Summe Umsatzsteuer", "92,07\xa0€", "Gesamt brutto", "640,67\xa0€",
        "S – Regel- oder ermäßigter Satz", "447,20\xa0€", "84,97\xa0€", "7,10\xa0€",
        "Zahlungsbedingungen", "Zahlbar innerhalb von 30 Tagen ohne Abzug", "SEPA-Überweisung",
        "Commerzbank Berlin", "DE89 3704 0044 0532 0130 00", "COBADEFFXXX", "Verwendungszweck",
    ):
        assert expected in pieces, expected


@pytest.mark.parametrize(("language", "title", "total", "date", "page"), [
    ("en", "Invoice", "€640.67", "Mar 2, 2026", "Page 1 of 1"),
    ("de", "Rechnung", "640,67\xa0€", "02.03.2026", "Seite 1 von 1"),
    ("fr", "Facture", "640,67\xa0€", "2 mars 2026", "Page 1 sur 1"),
    ("es", "Factura", "640,67\xa0€", "2 mar 2026", "Página 1 de 1"),
    ("it", "Fattura", "640,67\xa0€", "2 mar 2026", "Pagina 1 di 1"),
    ("nl", "Factuur", "€\xa0640,67", "2 mrt 2026", "Pagina 1 van 1"),
    ("pl", "Faktura", "640,67\xa0€", "2 mar 2026", "Strona 1 z 1"),
    ("de_CH", "Rechnung", "EUR\xa0640.67", "02.03.2026", "Seite 1 von 1"),
    ("pt-BR", "Invoice", "€\xa0640,67", "2 de mar. de 2026", "Page 1 of 1"),
])
def test_words_come_from_the_language_and_formats_from_the_locale(language, title, total, date, page):
    pieces = text_of(replace(domestic(), language=language))
    assert title in pieces
    assert total in pieces
    assert date in pieces
    assert pieces[-1] == page


def test_every_language_has_every_label():
    assert {code: sorted(set(EN) - set(table)) for code, table in LABELS.items()} == {code: [] for code in LABELS}
    assert {code: sorted(set(table) - set(EN)) for code, table in LABELS.items()} == {code: [] for code in LABELS}
    assert set(LABELS) >= {"en", "de", "fr", "es", "it", "nl"}
    assert labels_for(Locale.parse("de_AT"))["invoice"] == "Rechnung"
    assert labels_for(Locale.parse("ja"))["invoice"] == "Invoice"
    assert [unit_text(code, LABELS["de"]) for code in ("H87", "KGM", "DAY", "XYZ")] == ["Stk.", "kg", "Tag", "XYZ"]


def test_a_credit_note_in_italian_refers_to_its_invoice():
    pieces = text_of(credit_note())
    for expected in ("Nota di credito", "CN-2026-000007", "Riferita alla fattura", "Totale IVA inclusa",
                     "26,41\xa0€", "Reso merce danneggiata, RMA-000311", "Bonifico SEPA",
                     "DE02 1203 0000 0000 2020 51", "Müller & Söhne KG"):
        assert expected in pieces, expected
    assert "INV-2026-000042 del 2 mar" in pieces  # the reference wraps before the year
    assert "DE89 3704 0044 0532 0130 00" not in pieces  # the seller's account is not where a refund goes


def test_reverse_charge_prints_the_category_reason_and_legal_note():
    pieces = text_of(reverse_charge())
    for expected in ("AE – Reverse charge", "Reverse charge · VATEX-EU-AE", "Notes", "VAT ID: ATU13585627",
                     "Montage und Inbetriebnahme", "16", "h", "€1,520.00", "Austria"):
        assert expected in pieces, expected
    assert "Reverse charge: VAT to be accounted for by the recipient (Article 196, Directive 2006/112/EC)" in pieces


def test_an_export_in_swiss_francs_printed_in_french():
    pieces = text_of(export())
    for expected in ("Facture", "Facturé à", "Zürcher Präzision AG", "Suisse", "2\u202f498,00\xa0CHF",
                     "3\u202f248,00\xa0CHF", "G – Exportation hors UE exonérée", "Total TTC", "1\u202f249,00\xa0CHF"):
        assert expected in pieces, expected


def test_money_keeps_exactly_the_currencys_minor_units():
    assert {"¥333.5", "¥1,001", "¥18,761"} <= set(text_of(yen()))
    assert {"KWD1.235", "KWD2.470"} <= set(text_of(dinar()))
    assert {"€\xa0-12,45", "€\xa0-2,50", "+ Verzending (19%)", "− Orderkorting 5 % (7%)", "Totaal regels",
            "€\xa0347,20"} <= set(text_of(shipping_and_discount()))


def test_a_paid_invoice_shows_what_was_paid_and_no_account_to_pay_into():
    pieces = text_of(paid_by_card())
    assert {"Already paid", "-€640.67", "Amount due", "€0.00", "Bank card"} <= set(pieces)
    assert "IBAN" not in pieces


def test_polish_czech_and_greek_names_print_as_they_are():
    # given a Polish buyer and lines named in Polish, Czech and Greek
    names = ("Śruba sześciokątna M8 ocynkowana", "Šroubek M8 – žluťoučký kůň",
             "Βίδα από ανοξείδωτο χάλυβα", "Zażółć gęślą jaźń")
    k = Category.INTRA_COMMUNITY
    doc = build(
        [line(n, 1, "3.80", "0", k, name=name) for n, name in enumerate(names, start=1)],
        exemptions={k: ("Wewnątrzwspólnotowa dostawa towarów", "VATEX-EU-IC")}, buyer=BUYER_PL, language="pl",
        delivery=intra_community().delivery,
    )

    # then they come back from the PDF character for character
    pieces = text_of(doc)
    assert set(names) <= set(pieces)
    assert {BUYER_PL.name, "ul. Piotrkowska 104", "90-926 Łódź", "Polska", "Faktura", "Nabywca",
            "K – Wewnątrzwspólnotowa dostawa towarów"} <= set(pieces)


def test_long_names_wrap_inside_their_column():
    name = "Sechskantschraube " + "sehr lang " * 12 + "Ende"
    doc = domestic()
    pieces = text_of(replace(doc, lines=(replace(doc.lines[0], name=name), *doc.lines[1:])))
    start = pieces.index("Sechskantschraube sehr lang sehr lang sehr")
    assert pieces[start:start + 5] == [
        "Sechskantschraube sehr lang sehr lang sehr", "lang sehr lang sehr lang sehr lang sehr lang",
        "sehr lang sehr lang sehr lang sehr lang sehr", "lang Ende", "Art.-Nr. BOLT-00001",
    ]


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_every_document_renders_the_same_bytes_every_time(name: str):
    doc = SCENARIOS[name]()
    first = render_pdf(doc)
    assert first.startswith(b"%PDF-1.")
    assert render_pdf(doc) == first
    assert doc.number in pdf_pages(first)[0]


# ---- a 10,000-line invoice ----


def test_a_10000_line_invoice_has_every_line_a_header_on_every_page_and_page_x_of_y(big_document: Document):
    pages = pdf_pages(render_pdf(big_document))
    count = len(pages)

    # then every page says "page x of y"
    assert [page[-1] for page in pages] == [f"Seite {n} von {count}" for n in range(1, count + 1)]
    # and every line is printed once, in order, under a table header repeated on every page of the table
    skus = [p for page in pages for p in page if p.startswith("Art.-Nr. BOLT-")]
    assert skus == [f"Art.-Nr. {ln.sku}" for ln in big_document.lines]
    table_pages = [page for page in pages if any(p.startswith("Art.-Nr. BOLT-") for p in page)]
    assert len(table_pages) == count - 1
    assert all(page[2:9] == ["Pos.", "Bezeichnung", "Menge", "Einheit", "Einzelpreis", "USt.", "Betrag"]
               for page in table_pages[1:])
    assert count == 573
    # the last line (5 × 1.0000 at 19 %, a long name wrapped over three lines) and the totals end the invoice
    last = pages[-2]
    row = last[last.index("10000"):last.index("Art.-Nr. BOLT-10000")]
    assert row[:6] == ["10000", "5", "Stk.", "1,00\xa0€", "19\xa0%", "5,00\xa0€"]
    assert " ".join(row[6:]) == big_document.lines[-1].name
    assert len(row[6:]) == 3
    totals_page = next(page for page in pages if "Gesamt brutto" in page)
    assert totals_page in pages[-2:]
    assert "1.195.805,69\xa0€" in totals_page
    assert {"Umsatzsteuer", "693.241,12\xa0€", "346.587,63\xa0€", "131.715,81\xa0€", "24.261,13\xa0€"} <= set(
        next(page for page in pages if "Umsatzsteuer" in page))
