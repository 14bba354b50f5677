"""Printable invoices and credit notes (PDF) in the document's language.

Words come from `labels`; numbers, dates, percentages, money and country names are formatted for
the document's locale by Babel (CLDR). Text is set in the bundled DejaVu Sans, so any Latin, Greek
or Cyrillic name prints. The lines table repeats its header on every page, and every page says
"page x of y". The output is deterministic: the same document gives the same bytes.

Legal sentences that reach the document in English (the tax engine's notes, default exemption
reasons) print in the document's language (`labels.legal_text`). The footer carries the seller's
legal mentions: VAT ID, tax number, the company register as the seller's country names it (German
"Handelsregister" with its court, French "RCS" with its city …), managing directors, share capital.
The seller's logo (PNG or JPEG), when it has one, heads the first page.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path

from babel import Locale
from babel.dates import format_date
from babel.numbers import format_currency, format_decimal, format_percent
from fpdf import FPDF
from PIL import Image

from ordino.invoicing.documents.domain import Address, Document, DocumentKind, Line, Party, PaymentMeans
from ordino.invoicing.documents.labels import labels_for, legal_text, unit_text
from ordino.tax.domain import Category

FONT_DIR = Path(__file__).with_name("fonts")
FAMILY = "DejaVu"
MARGIN = 15.0
WIDTH = 180.0  # A4 width minus both margins, in mm
BOTTOM = 24.0  # room for the footer, when it takes at most two lines
FOOTER_LINE = 3.0
LOGO_BOX = (50.0, 16.0)  # the logo fits in this width × height (mm), kept in proportion
GREY = (110, 110, 110)
RULE = (170, 170, 170)
LINE_H = 3.9
# The lines table: (key of the heading label, width in mm, alignment)
COLUMNS = (("position", 10.0, "L"), ("item", 68.0, "L"), ("quantity", 18.0, "R"), ("unit", 13.0, "L"),
           ("unit_price", 25.0, "R"), ("vat", 12.0, "R"), ("amount", 34.0, "R"))
# Postal address layouts that put the city before the postal code.
_CITY_FIRST = frozenset({"US", "CA", "AU"})
_POSTCODE_LAST_LINE = frozenset({"GB", "IE"})
_BREAKABLE = re.compile(r"[ \t\r\n\f\v]+")
# Means by which the amount is taken, not paid in: no account to pay into is printed.
_COLLECTED = frozenset({PaymentMeans.BANK_CARD, PaymentMeans.DIRECT_DEBIT, PaymentMeans.SEPA_DIRECT_DEBIT})


def render_pdf(doc: Document) -> bytes:
    """The document as a PDF (A4), in `doc.language`."""
    return _DocumentPdf(doc).render()


class _Format:
    """Locale-aware text of numbers, money and dates."""

    def __init__(self, doc: Document) -> None:
        self.locale: Locale = doc.locale
        self.currency = doc.currency
        self.exponent = doc.exponent

    def money(self, minor: int) -> str:
        # No quantization: the value already has exactly the currency's decimals, and nothing is rounded.
        return format_currency(Decimal(minor).scaleb(-self.exponent), self.currency, locale=self.locale,
                               decimal_quantization=False)

    def price(self, value: Decimal) -> str:
        return format_currency(value, self.currency, locale=self.locale, decimal_quantization=False)

    def quantity(self, value: Decimal) -> str:
        return format_decimal(value, locale=self.locale, decimal_quantization=False)

    def percent(self, rate: Decimal) -> str:
        return format_percent(rate, locale=self.locale, decimal_quantization=False)

    def date(self, day: date) -> str:
        return format_date(day, "medium", locale=self.locale)

    def country(self, code: str) -> str:
        return str(self.locale.territories.get(code, code))


class _DocumentPdf(FPDF):
    def __init__(self, doc: Document) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.doc = doc
        self.fmt = _Format(doc)
        self.t: Mapping[str, str] = labels_for(self.fmt.locale)
        self.title_text = self.t["credit_note" if doc.kind is DocumentKind.CREDIT_NOTE else "invoice"]
        self.in_table = False
        self.widths: dict[tuple[str, float, str], float] = {}
        self.footer_lines: list[str] = []
        self.set_margins(MARGIN, MARGIN, MARGIN)
        self.set_auto_page_break(True, margin=BOTTOM)
        self.add_font(FAMILY, "", FONT_DIR / "DejaVuSans.ttf")
        self.add_font(FAMILY, "B", FONT_DIR / "DejaVuSans-Bold.ttf")
        self.alias_nb_pages("{nb}")
        self.set_creation_date(datetime.combine(doc.issue_date, time(), tzinfo=UTC))
        self.set_title(f"{self.title_text} {doc.number}")
        self.set_author(doc.seller.name)
        self.set_creator("Ordino")
        self.set_lang(str(self.fmt.locale).replace("_", "-"))

    def render(self) -> bytes:
        self.font(6.5, grey=True)  # the footer is the same on every page: wrapped once, and room kept for it
        self.footer_lines = [part for text in _seller_footer(self.doc.seller, self.fmt, self.t)
                             for part in self.wrap(text, WIDTH)]
        self.set_auto_page_break(True, margin=self.bottom)
        self.add_page()
        self.heading()
        self.lines_table()
        self.totals()
        self.breakdown()
        self.payment()
        self.notes()
        return bytes(self.output())

    # ---- page furniture ----

    def header(self) -> None:
        if self.page_no() == 1:
            return
        self.font(7.5, grey=True)
        self.cell(WIDTH / 2, 5, f"{self.title_text} {self.doc.number} ({self.t['continued']})")
        self.cell(WIDTH / 2, 5, self.doc.seller.name, align="R", new_x="LMARGIN", new_y="NEXT")
        self.ln(2)
        if self.in_table:
            self.table_head()

    @property
    def bottom(self) -> float:
        return max(BOTTOM, 18 + FOOTER_LINE * len(self.footer_lines))

    def footer(self) -> None:
        self.set_y(-self.bottom + 6)
        self.rule()
        self.font(6.5, grey=True)
        y = self.get_y() + 0.6
        for text in self.footer_lines:
            self.text(MARGIN + (WIDTH - self.text_width(text)) / 2, y + 2.2, text)
            y += FOOTER_LINE
        self.set_xy(MARGIN, self.h - 10)  # a cell, not text(): fpdf2 fills in the page count only in cells
        self.cell(WIDTH, LINE_H, self.t["page_of"].format(page=self.page_no(), pages="{nb}"), align="R")

    def font(self, size: float, bold: bool = False, grey: bool = False) -> None:
        self.set_font(FAMILY, "B" if bold else "", size)
        self.set_text_color(*(GREY if grey else (0, 0, 0)))

    def rule(self) -> None:
        self.set_draw_color(*RULE)
        self.line(MARGIN, self.get_y(), MARGIN + WIDTH, self.get_y())

    def text_width(self, text: str) -> float:
        key = (self.font_style, self.font_size_pt, text)
        width = self.widths.get(key)
        if width is None:
            width = self.widths[key] = self.get_string_width(text)
        return width

    def wrap(self, text: str, width: float) -> list[str]:
        """The lines `text` takes in a column `width` wide, in the current font: greedy, by words.

        fpdf2's own line breaking (multi_cell) re-measures the line at every character; on a
        10,000-line invoice it took most of the time. Word widths are cached instead.
        """
        text = " ".join(_BREAKABLE.split(text.strip(" \t\r\n\f\v")))  # no-break spaces (in money, dates) stay unbroken
        room = width - 2 * self.c_margin
        if self.get_string_width(text) <= room:
            return [text]
        space = self.text_width(" ")
        lines: list[str] = []
        current, used = "", 0.0
        for word in text.split(" "):
            size = self.text_width(word)
            if current and used + space + size <= room:
                current, used = f"{current} {word}", used + space + size
                continue
            if current:
                lines.append(current)
            while size > room:  # a word wider than the column is cut where it must be
                cut = 1
                while cut < len(word) and self.get_string_width(word[: cut + 1]) <= room:
                    cut += 1
                lines.append(word[:cut])
                word = word[cut:]
                size = self.text_width(word)
            current, used = word, size
        if current:
            lines.append(current)
        return lines

    def put(self, x: float, y: float, width: float, text: str, align: str = "L") -> None:
        """One line of text in a column, without a cell: many times cheaper for the lines table."""
        if align == "R":
            x += width - self.c_margin - self.text_width(text)
        else:
            x += self.c_margin
        self.text(x, y + 0.5 * LINE_H + 0.3 * self.font_size, text)

    def block(self, x: float, y: float, width: float, rows: list[tuple[str, float, bool, bool]]) -> float:
        """Text rows (text, size, bold, grey) at (x, y), wrapped to `width`; returns the y below them."""
        for text, size, bold, grey in rows:
            self.font(size, bold, grey)
            for part in self.wrap(text, width):
                self.set_xy(x, y)
                self.cell(width, size * 0.45, part)
                y += size * 0.45
        return y

    # ---- first page: parties and references ----

    def heading(self) -> None:
        doc, t, fmt = self.doc, self.t, self.fmt
        self.font(18, bold=True)
        self.set_xy(MARGIN + WIDTH / 2, MARGIN)
        self.cell(WIDTH / 2, 8, self.title_text, align="R")
        top = self.logo()
        left = self.block(MARGIN, top, WIDTH / 2 + 10, [
            (doc.seller.trading_name or doc.seller.name, 12, True, False),
            *[(row, 8, False, True) for row in _party_rows(doc.seller, fmt, t, doc.seller.address.country)],
        ])
        y = max(left, MARGIN + 12) + 8
        rows: list[tuple[str, float, bool, bool]] = [(t["bill_to"], 7, False, True), (doc.buyer.name, 9, True, False)]
        rows += [(row, 8.5, False, False) for row in _party_rows(doc.buyer, fmt, t, doc.seller.address.country)]
        if doc.delivery is not None and doc.delivery.address is not None:
            rows += [("", 4, False, False), (t["ship_to"], 7, False, True)]
            if doc.delivery.name:
                rows.append((doc.delivery.name, 8.5, True, False))
            rows += [(row, 8.5, False, False)
                     for row in _address_rows(doc.delivery.address, fmt, doc.seller.address.country)]
        left = self.block(MARGIN, y, 95, rows)
        right = self.meta(MARGIN + 100, y)
        self.set_xy(MARGIN, max(left, right) + 8)

    def logo(self) -> float:
        """The seller's logo at the top left, if it has one; returns the y below it."""
        data = self.doc.seller.logo
        if not data:
            return MARGIN
        try:
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
        except (OSError, ValueError, Image.DecompressionBombError):
            return MARGIN  # a logo that does not decode is left out rather than failing the document
        if width <= 0 or height <= 0:
            return MARGIN
        scale = min(LOGO_BOX[0] / width, LOGO_BOX[1] / height)
        w, h = width * scale, height * scale
        self.image(io.BytesIO(data), x=MARGIN, y=MARGIN, w=w, h=h)
        return MARGIN + h + 3

    def meta(self, x: float, y: float) -> float:
        doc, t, fmt = self.doc, self.t, self.fmt
        rows = [(t["number"], doc.number), (t["issue_date"], fmt.date(doc.issue_date))]
        if doc.due_date:
            rows.append((t["due_date"], fmt.date(doc.due_date)))
        if doc.tax_point_date:
            rows.append((t["tax_point_date"], fmt.date(doc.tax_point_date)))
        if doc.delivery is not None and doc.delivery.date:
            rows.append((t["delivery_date"], fmt.date(doc.delivery.date)))
        # The buyer's PO once, as theirs; Ordino's order number as ours; a buyer reference only
        # when it says something else.
        if doc.purchase_order:
            rows.append((t["purchase_order"], doc.purchase_order))
        if doc.buyer_reference and doc.buyer_reference not in (doc.purchase_order, doc.order_number):
            rows.append((t["buyer_reference"], doc.buyer_reference))
        if doc.order_number:
            rows.append((t["order_number"], doc.order_number))
        for ref in doc.preceding_invoices:
            dated = f" {t['of_date']} {fmt.date(ref.issue_date)}" if ref.issue_date else ""
            rows.append((t["preceding_invoice"], ref.number + dated))
        for label, value in rows:
            self.font(8, grey=True)
            self.set_xy(x, y)
            self.cell(36, 4.4, label)
            self.font(8, bold=label == t["number"])
            lines = self.wrap(value, 44)
            for part in lines:
                self.set_xy(x + 36, y)
                self.cell(44, 4.4, part, align="R")
                y += 4.4
        return y

    # ---- the lines ----

    def table_head(self) -> None:
        self.font(7.5, bold=True)
        y = self.get_y()
        x = MARGIN
        for key, width, align in COLUMNS:
            self.set_xy(x, y)
            self.cell(width, 5.5, self.t[key], align=align)
            x += width
        self.set_xy(MARGIN, y + 5.5)
        self.rule()
        self.set_y(y + 6.5)

    def lines_table(self) -> None:
        self.table_head()
        self.in_table = True
        for ln in self.doc.lines:
            self.table_row(ln)
        self.in_table = False
        self.rule()
        self.ln(3)

    def item_rows(self, ln: Line) -> tuple[list[str], list[str]]:
        """The lines of the item column: the name, then details in small grey type."""
        width = COLUMNS[1][1]
        self.font(8)
        name = self.wrap(ln.name, width)
        details = []
        if ln.sku:
            details.append(f"{self.t['sku']} {ln.sku}")
        if ln.description:
            details.append(ln.description)
        if ln.discount:
            reason = f" ({ln.discount_reason})" if ln.discount_reason else ""
            details.append(f"{self.t['discount']} −{self.fmt.money(ln.discount)}{reason}")
        self.font(7, grey=True)
        return name, [part for text in details for part in self.wrap(text, width)]

    def table_row(self, ln: Line) -> None:
        fmt = self.fmt
        name, details = self.item_rows(ln)
        height = (len(name) + len(details)) * LINE_H + 1.2
        if self.get_y() + height > self.page_break_trigger:
            self.add_page()
        y = self.get_y()
        vat = fmt.percent(ln.rate) if ln.category in (Category.STANDARD, Category.ZERO) else ln.category.value
        cells = (ln.id, "", fmt.quantity(ln.quantity), unit_text(ln.unit_code, self.t), fmt.price(ln.unit_price),
                 vat, fmt.money(ln.net_amount))
        self.font(8)
        x = MARGIN
        for (_, width, align), text in zip(COLUMNS, cells, strict=True):
            if text:
                self.put(x, y, width, text, align)
            x += width
        x, row_y = MARGIN + COLUMNS[0][1], y
        for text in name:
            self.put(x, row_y, COLUMNS[1][1], text)
            row_y += LINE_H
        if details:
            self.font(7, grey=True)
            for text in details:
                self.put(x, row_y, COLUMNS[1][1], text)
                row_y += LINE_H
        self.set_y(y + height)

    # ---- totals, VAT breakdown, payment and notes ----

    def totals(self) -> None:
        doc, t, fmt = self.doc, self.t, self.fmt
        totals = doc.totals
        rows: list[tuple[str, int, bool]] = []
        if doc.allowances or doc.charges:
            rows.append((t["line_total"], totals.line_total, False))
        for allowance in doc.allowances:
            label = allowance.reason or t["allowance"]
            rows.append((f"− {label} ({_rate_text(allowance.category, allowance.rate, fmt)})", -allowance.amount,
                         False))
        for charge in doc.charges:
            label = charge.reason or t["charge"]
            rows.append((f"+ {label} ({_rate_text(charge.category, charge.rate, fmt)})", charge.amount, False))
        rows += [(t["net_total"], totals.tax_exclusive, False), (t["total_vat"], totals.tax_total, False),
                 (t["total_incl_vat"], totals.tax_inclusive, not totals.prepaid)]
        if totals.prepaid:
            payable = t["amount_credited" if doc.kind is DocumentKind.CREDIT_NOTE else "amount_due"]
            rows += [(t["prepaid"], -totals.prepaid, False), (payable, totals.payable, True)]
        if self.will_page_break(5 * len(rows)):  # the totals stay together
            self.add_page()
        for label, minor, bold in rows:
            self.font(8.5, bold=bold)
            self.set_x(MARGIN + WIDTH - 110)
            self.cell(76, 5, label, align="R")
            self.cell(34, 5, fmt.money(minor), align="R", new_x="LMARGIN", new_y="NEXT")
        self.ln(4)

    def section(self, title: str, height: float) -> None:
        if self.will_page_break(height + 6):
            self.add_page()
        self.font(9, bold=True)
        self.cell(WIDTH, 5.5, title, new_x="LMARGIN", new_y="NEXT")

    def breakdown(self) -> None:
        t, fmt = self.t, self.fmt
        widths = (86.0, 20.0, 37.0, 37.0)
        rows = self.doc.tax_breakdown
        reasons = sum(1 for row in rows if row.exemption_reason or row.exemption_reason_code)
        self.section(t["vat_breakdown"], 7 + 4.5 * len(rows) + 7 * reasons)  # kept on one page when it fits
        self.font(7.5, bold=True)
        for key, width in zip(("category", "rate", "taxable_amount", "tax_amount"), widths, strict=True):
            self.cell(width, 5, t[key], align="L" if key == "category" else "R")
        self.ln(5)
        self.rule()
        self.ln(1)
        for row in rows:
            given = row.exemption_reason and self.legal(row.exemption_reason)
            reason = " · ".join(x for x in (given, row.exemption_reason_code) if x)
            if self.will_page_break(10 if reason else 5):
                self.add_page()
            self.font(8)
            self.cell(widths[0], 4.5, f"{row.category.value} – {t['category_' + row.category.value]}")
            self.cell(widths[1], 4.5, _rate_text(row.category, row.rate, fmt), align="R")
            self.cell(widths[2], 4.5, fmt.money(row.taxable_amount), align="R")
            self.cell(widths[3], 4.5, fmt.money(row.tax_amount), align="R", new_x="LMARGIN", new_y="NEXT")
            if reason:
                self.font(7, grey=True)
                self.multi_cell(widths[0], 3.5, reason, align="L", new_x="LMARGIN", new_y="NEXT")
        self.ln(4)

    def payment(self) -> None:
        doc, t, fmt = self.doc, self.t, self.fmt
        rows: list[tuple[str, str]] = []
        if doc.payment_terms:
            rows.append((t["payment_terms"], doc.payment_terms))
        if doc.due_date:
            rows.append((t["due_date"], fmt.date(doc.due_date)))
        if doc.payment_means is not None:
            means = t.get("means_" + doc.payment_means.value)
            rows.append((t["payment_means"], means or doc.payment_means.value))
        if doc.card is not None:
            brand = (doc.card.brand or "").replace("_", " ").title()
            rows.append((t["card"], f"{brand} •••• {doc.card.last4}".strip()))
        if doc.mandate is not None:
            rows.append((t["mandate_reference"], doc.mandate.reference))
            if doc.seller.sepa_creditor_id:
                rows.append((t["creditor_id"], doc.seller.sepa_creditor_id))
            if doc.mandate.debited_iban:
                rows.append((t["debited_account"], _grouped(doc.mandate.debited_iban)))
        account = doc.payee_account
        # Only an amount still to pay needs an account; a credit note's refund goes to the buyer's;
        # a card or a direct debit takes the amount: nothing is paid into an account.
        collected = doc.payment_means in _COLLECTED or doc.card is not None or doc.mandate is not None
        if account is not None and doc.totals.payable > 0 and not collected and (
            doc.kind is DocumentKind.INVOICE or doc.payment_means is not None
        ):
            payee = doc.buyer if doc.kind is DocumentKind.CREDIT_NOTE else doc.seller
            if account.bank_name:
                rows.append((t["bank"], account.bank_name))
            rows.append((t["account_holder"], account.account_name or payee.name))
            rows.append((t["iban"], _grouped(account.iban)))
            if account.bic:
                rows.append((t["bic"], account.bic))
        if doc.payment_reference:
            rows.append((t["payment_reference"], doc.payment_reference))
        if not rows:
            return
        self.section(t["payment"], 5 * min(len(rows), 4))
        for label, value in rows:
            self.font(8, grey=True)
            self.cell(45, 4.5, label)
            self.font(8)
            self.multi_cell(WIDTH - 45, 4.5, value, align="L", new_x="LMARGIN", new_y="NEXT")
        self.ln(4)

    def notes(self) -> None:
        if not self.doc.notes:
            return
        self.section(self.t["notes"], 10)
        self.font(8)
        for note in self.doc.notes:
            self.multi_cell(WIDTH, 4.2, self.legal(note), align="L", new_x="LMARGIN", new_y="NEXT")
            self.ln(1)

    def legal(self, text: str) -> str:
        return legal_text(text, self.t, self.fmt.locale)


def _rate_text(category: Category, rate: Decimal, fmt: _Format) -> str:
    return "–" if category is Category.OUTSIDE_SCOPE else fmt.percent(rate)


def _grouped(iban: str) -> str:
    compact = iban.replace(" ", "")
    return " ".join(compact[i:i + 4] for i in range(0, len(compact), 4))


def _address_rows(address: Address, fmt: _Format, home_country: str) -> list[str]:
    rows = [ln for ln in address.lines if ln.strip()]
    postal = address.postal_code or ""
    if address.country in _CITY_FIRST:
        rows.append(" ".join(x for x in (f"{address.city},", address.region, postal) if x).rstrip(","))
    elif address.country in _POSTCODE_LAST_LINE:
        rows += [x for x in (address.city, address.region, postal) if x]
    else:
        rows.append(f"{postal} {address.city}".strip())
        if address.region:
            rows.append(address.region)
    if address.country != home_country:
        rows.append(fmt.country(address.country))
    return rows


def _seller_footer(seller: Party, fmt: _Format, t: Mapping[str, str]) -> list[str]:
    """The seller's identity and contact, then its legal mentions (each a paragraph)."""
    contact = [seller.name, ", ".join(_address_rows(seller.address, fmt, seller.address.country))]
    if seller.phone:
        contact.append(f"{t['phone']} {seller.phone}")
    if seller.email:
        contact.append(seller.email)
    legal = []
    if seller.vat_id:
        legal.append(f"{t['vat_id']} {seller.vat_id}")
    if seller.tax_number:
        legal.append(f"{t['tax_number']} {seller.tax_number}")
    register = register_text(seller, t)
    if register:
        legal.append(register)
    if seller.managing_directors:
        legal.append(f"{t['managing_directors']}: {seller.managing_directors}")
    if seller.share_capital:
        legal.append(f"{t['share_capital']}: {seller.share_capital}")
    paragraphs = [" · ".join(contact)] + ([" · ".join(legal)] if legal else [])
    return paragraphs + ([seller.legal_info] if seller.legal_info else [])


def register_text(seller: Party, t: Mapping[str, str]) -> str | None:
    """The seller's company register entry as its country writes it.

    The register's own name is a proper name and stays as the country writes it ("Handelsregister",
    "RCS"); a country without a known register gets the neutral label in the document's language.
    """
    number, court = seller.registration_id, seller.register_court
    if not number and not court:
        return None
    entry = " ".join(x for x in (court, number) if x)
    match seller.address.country:
        case "DE":  # § 35a GmbHG, § 37a HGB: register court and number
            return f"Handelsregister: {entry}"
        case "FR":  # art. R123-237 code de commerce: "RCS" and the city of the registry
            return " ".join(x for x in ("RCS", court or seller.address.city, number) if x)
        case "AT":  # § 14 UGB: Firmenbuchnummer and Firmenbuchgericht
            return f"Firmenbuch: {', '.join(x for x in (number, court) if x)}"
        case "NL":
            return f"KvK {entry}"
        case "BE":  # enterprise number, and the register of legal entities (RPR/RPM) of its court
            return " · ".join(x for x in (f"KBO/BCE {number}" if number else None,
                                          f"RPR/RPM {court}" if court else None) if x)
        case "IT":
            return f"REA {entry}"
        case "ES":
            return f"Registro Mercantil de {court}, {number}" if court and number else f"Registro Mercantil {entry}"
        case _:
            return f"{t['registration_id']}: {entry}"


def _party_rows(party: Party, fmt: _Format, t: Mapping[str, str], home_country: str) -> list[str]:
    rows = _address_rows(party.address, fmt, home_country)
    if party.vat_id:
        rows.append(f"{t['vat_id']}: {party.vat_id}")
    if party.email:
        rows.append(party.email)
    if party.contact_name:
        rows.append(f"{t['contact']}: {party.contact_name}")
    return rows
