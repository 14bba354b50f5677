"""Printed invoices and credit notes: language, formats, Unicode, and a 10,000-line invoice.

The text is read back from the PDF itself: each page's content stream is inflated and its glyph
codes are mapped to characters through the ToUnicode table fpdf2 writes for each font.
"""

from __future__ import annotations

import io
import re
import zlib
from dataclasses import replace

import pytest
from babel import Locale
from PIL import Image

from ordino.invoicing.documents.domain import Address, Card, Document, Mandate, PaymentMeans
from ordino.invoicing.documents.labels import EN, LABELS, labels_for, unit_text
from ordino.invoicing.documents.pdf import register_text, render_pdf
from ordino.tax.domain import EXPORT_TEXT, REVERSE_CHARGE_TEXT, Category
from tests.invoicing.conftest import (
    BUYER_PL,
    SCENARIOS,
    SELLER,
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


# ---- as an accountant reads it: legal sentences, the seller's legal mentions, references, logo ----

REVERSE_CHARGE_NOTES = {
    "de": ("Steuerschuldnerschaft des Leistungsempfängers: Die Umsatzsteuer schuldet der Leistungsempfänger "
           "(Art. 196 der Richtlinie 2006/112/EG)"),
    "fr": "Autoliquidation : TVA due par le preneur (article 196 de la directive 2006/112/CE)",
    "en": "Reverse charge: VAT to be accounted for by the recipient (Article 196, Directive 2006/112/EC)",
    "es": "Inversión del sujeto pasivo: el IVA lo declara el destinatario (artículo 196 de la Directiva 2006/112/CE)",
    "it": "Inversione contabile: IVA a carico del destinatario (articolo 196 della direttiva 2006/112/CE)",
    "nl": "Btw verlegd: de btw wordt voldaan door de afnemer (artikel 196 van Richtlijn 2006/112/EG)",
    "pl": "Odwrotne obciążenie: VAT rozlicza nabywca (art. 196 dyrektywy 2006/112/WE)",
}
REVERSE_CHARGE_REASONS = {
    "de": "Steuerschuldnerschaft des Leistungsempfängers", "fr": "Autoliquidation", "en": "Reverse charge",
    "es": "Inversión del sujeto pasivo", "it": "Inversione contabile", "nl": "Btw verlegd",
    "pl": "Odwrotne obciążenie",
}


@pytest.mark.parametrize("language", sorted(REVERSE_CHARGE_NOTES))
def test_the_reverse_charge_note_and_reason_print_in_the_buyers_language(language: str):
    # given a reverse-charge invoice whose note and exemption reason come from the tax engine in English
    doc = replace(reverse_charge(), language=language)
    assert doc.notes == (REVERSE_CHARGE_TEXT,)
    assert doc.tax_breakdown[0].exemption_reason == "Reverse charge"

    # when it is printed
    pieces = text_of(doc)

    # then the legal sentence (wrapped where it must be) and the reason are in the document's language
    assert REVERSE_CHARGE_NOTES[language] in " ".join(pieces)
    assert f"{REVERSE_CHARGE_REASONS[language]} · VATEX-EU-AE" in pieces
    assert f"AE – {REVERSE_CHARGE_REASONS[language]}" in pieces
    if language != "en":
        assert not [p for p in pieces if "Reverse charge" in p or "Directive" in p]


def test_a_french_export_invoice_carries_no_english_legal_text():
    # given an export in CHF printed in French, with the engine's English export note
    doc = export()
    assert doc.notes == (EXPORT_TEXT,)

    # then the note is the French legal mention
    pieces = text_of(doc)
    assert "Exportation hors de l'UE : exonération de TVA (article 146 de la directive 2006/112/CE)" in pieces
    assert EXPORT_TEXT not in pieces


def test_known_legal_notes_are_recognised_with_their_variable_parts_and_other_notes_stay_as_written():
    # given notes from the tax engine with a country and a certificate number, and a remark of the order
    doc = replace(domestic(), language="fr", notes=(
        "Distance sale: VAT of AT charged at destination (One-Stop Shop, Article 33, Directive 2006/112/EC)",
        "Exempt from VAT under exemption certificate EX-2026-17",
        "Bitte an Tor 3 liefern",
    ))

    # then the legal ones are in French (the country by its French name) and the remark as written
    pieces = text_of(doc)
    assert ("Vente à distance : TVA du pays de destination (Autriche) appliquée (guichet unique OSS, "
            "article 33 de la directive 2006/112/CE)") in " ".join(pieces)
    assert "Exonéré de TVA en vertu de l'attestation d'exonération EX-2026-17" in pieces
    assert "Bitte an Tor 3 liefern" in pieces


def test_a_german_sellers_footer_has_its_pflichtangaben():
    # given the German GmbH's invoice, printed in German and in French
    german, french = text_of(domestic()), text_of(replace(domestic(), language="fr"))

    # then its register is the Handelsregister with its court, whatever the language, and never "RCS";
    # managing directors and phone are there, labelled in the document's language
    assert german[-3:-1] == [
        "Ordino Demo GmbH · Friedrichstraße 123, 10117 Berlin · Tel. +49 30 1234567 · billing@ordino.example",
        "USt-IdNr. DE136695976 · Steuernummer 37/123/45678 · Handelsregister: Amtsgericht Charlottenburg "
        "HRB 123456 B · Geschäftsführer: Jana Dvořáková",
    ]
    assert french[-3:-1] == [
        "Ordino Demo GmbH · Friedrichstraße 123, 10117 Berlin · Tél. +49 30 1234567 · billing@ordino.example",
        "N° TVA DE136695976 · N° fiscal 37/123/45678 · Handelsregister: Amtsgericht Charlottenburg HRB 123456 B"
        " · Dirigeants: Jana Dvořáková",
    ]
    assert not [p for p in french if "RCS" in p]


def test_a_french_sellers_footer_has_its_rcs_and_share_capital():
    # given a French SAS with its RCS number, registry city and share capital, invoicing in German
    seller = replace(SELLER, name="Ordino France SAS", address=Address(("12 rue de la Paix",), "Paris", "FR", "75002"),
                     vat_id="FR40303265045", tax_number=None, registration_id="303 265 045", register_court="Paris",
                     managing_directors=None, share_capital="50 000 €", phone="+33 1 23 45 67 89")
    pieces = text_of(replace(domestic(), seller=seller))

    # then the footer says RCS Paris and the capital, labelled in German
    assert pieces[-2] == "USt-IdNr. FR40303265045 · RCS Paris 303 265 045 · Stammkapital: 50 000 €"


@pytest.mark.parametrize(("country", "court", "number", "expected"), [
    ("DE", "Amtsgericht Charlottenburg", "HRB 123456 B", "Handelsregister: Amtsgericht Charlottenburg HRB 123456 B"),
    ("DE", None, "HRB 123456 B", "Handelsregister: HRB 123456 B"),
    ("FR", None, "552 120 222", "RCS Lyon 552 120 222"),
    ("AT", "Handelsgericht Wien", "FN 123456a", "Firmenbuch: FN 123456a, Handelsgericht Wien"),
    ("NL", None, "12345678", "KvK 12345678"),
    ("BE", "Bruxelles", "0403.170.701", "KBO/BCE 0403.170.701 · RPR/RPM Bruxelles"),
    ("IT", "MI", "1234567", "REA MI 1234567"),
    ("ES", "Madrid", "Tomo 1234, Hoja M-56789", "Registro Mercantil de Madrid, Tomo 1234, Hoja M-56789"),
    ("US", None, "C1234567", "Firmenregister: C1234567"),
    ("DE", None, None, None),
])
def test_the_register_is_named_as_the_sellers_country_names_it(country, court, number, expected):
    seller = replace(SELLER, address=Address(("Rue 1",), "Lyon", country, "69001"), register_court=court,
                     registration_id=number)
    assert register_text(seller, LABELS["de"]) == expected


@pytest.mark.parametrize(("language", "ours", "theirs"), [
    ("de", "Unsere Auftragsnummer", "Ihre Bestellung"), ("fr", "Notre numéro de commande", "Votre commande"),
    ("en", "Our order number", "Your purchase order"), ("es", "Nuestro número de pedido", "Su pedido"),
    ("it", "Nostro numero d'ordine", "Vostro ordine"), ("nl", "Ons ordernummer", "Uw bestelling"),
    ("pl", "Nasz numer zamówienia", "Wasze zamówienie"),
])
def test_the_buyers_po_prints_once_and_our_order_number_as_ours(language, ours, theirs):
    # given an invoice whose buyer reference is the PO (as Ordino fills it)
    doc = replace(domestic(), language=language, buyer_reference="PO-4711")

    # then the PO is printed once, as the buyer's order; Ordino's number as ours; no "your reference"
    pieces = text_of(doc)
    assert pieces.count("PO-4711") == 1
    assert pieces[pieces.index("PO-4711") - 1] == theirs
    assert pieces[pieces.index("SO-000123") - 1] == ours
    assert LABELS[language]["buyer_reference"] not in pieces


def test_without_a_po_our_order_number_is_not_printed_as_the_buyers_reference():
    # given an order without PO: the buyer reference is Ordino's order number
    pieces = text_of(replace(domestic(), language="fr", purchase_order=None, buyer_reference="SO-000123"))

    # then it is printed once, as our order number
    assert pieces.count("SO-000123") == 1
    assert pieces[pieces.index("SO-000123") - 1] == "Notre numéro de commande"
    assert "Votre référence" not in pieces
    assert "Votre commande" not in pieces


def test_a_buyer_reference_of_its_own_is_printed_as_theirs():
    pieces = text_of(replace(domestic(), language="fr"))
    assert pieces[pieces.index("Abteilung 4711") - 1] == "Votre référence"


def _image(kind: str, size: tuple[int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 40)).save(out, kind)
    return out.getvalue()


def _images(pdf: bytes) -> list[bytes]:
    return [head for head, _ in _objects(pdf).values() if b"/Subtype /Image" in head]


@pytest.mark.parametrize("kind", ["PNG", "JPEG"])
def test_the_sellers_logo_heads_the_first_page(kind: str):
    # given a seller with a wide logo (400 × 100 px)
    doc = replace(domestic(), seller=replace(SELLER, logo=_image(kind, (400, 100))))

    # when the invoice is printed
    pdf = render_pdf(doc)

    # then the PDF holds the image once, at its size in pixels, and the text is all still there
    images = _images(pdf)
    assert len(images) == 1
    assert b"/Width 400" in images[0] and b"/Height 100" in images[0]
    assert (b"/DCTDecode" in images[0]) is (kind == "JPEG")
    assert pdf_pages(pdf)[0][:3] == ["Rechnung", "Ordino Demo GmbH", "Friedrichstraße 123"]
    assert render_pdf(doc) == pdf
    assert _images(render_pdf(domestic())) == []


def test_a_logo_that_does_not_decode_is_left_out():
    pdf = render_pdf(replace(domestic(), seller=replace(SELLER, logo=b"\x89PNG\r\n\x1a\nbroken")))
    assert _images(pdf) == []
    assert pdf_pages(pdf)[0][0] == "Rechnung"


def test_a_card_payment_and_a_direct_debit_show_how_they_are_paid_and_no_account_to_pay_into():
    # given an invoice paid by card (nothing left to pay) and one collected by SEPA direct debit
    card = replace(paid_by_card(), card=Card("4242", "visa"))
    debit = replace(domestic(), payment_means=PaymentMeans.SEPA_DIRECT_DEBIT,
                    mandate=Mandate("MANDATE-0042", "DE02120300000000202051"),
                    seller=replace(SELLER, sepa_creditor_id="DE98ZZZ09999999999"))

    # then the card's last digits, and the mandate with creditor ID and debited account, are printed
    assert {"Card", "Visa •••• 4242"} <= set(text_of(card))
    pieces = text_of(debit)
    assert {"SEPA-Lastschrift", "Mandatsreferenz", "MANDATE-0042", "Gläubiger-ID", "DE98ZZZ09999999999",
            "Belastetes Konto", "DE02 1203 0000 0000 2020 51"} <= set(pieces)
    assert "DE89 3704 0044 0532 0130 00" not in pieces
