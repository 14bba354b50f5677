"""Invoices and credit notes as plain values, independent of storage, ready for any renderer.

A `Document` holds what EN 16931 calls the semantic invoice: the parties, the lines, document-level
allowances and charges, the VAT breakdown (one row per category and rate) and the totals. Amounts
are integer minor units of the document's currency; unit prices are `Decimal` major units and may
be more precise than the currency; VAT rates are fractions (`Decimal("0.19")`), as in the tax engine.

Building a document checks its arithmetic and collects every inconsistency in one `DocumentError`,
so no renderer can emit a document whose lines, breakdown and totals disagree.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

import pycountry
from babel import Locale, UnknownLocaleError

from ordino.invoicing.documents.errors import DocumentError
from ordino.kernel.eas import scheme_error
from ordino.kernel.errors import FieldError
from ordino.kernel.money import EXACT, MAX_MINOR, CurrencyError, exponent_of
from ordino.tax.domain import Category, RoundingMode

# Categories that carry VAT; every other category is at 0 % (EN 16931 BR-Z-05, BR-E-05, BR-AE-05 …).
RATED = frozenset({Category.STANDARD})
# Categories whose breakdown row must say why no VAT is charged (BR-E-10, BR-AE-10, BR-IC-10 …).
NEEDS_EXEMPTION_REASON = frozenset(
    {Category.EXEMPT, Category.REVERSE_CHARGE, Category.INTRA_COMMUNITY, Category.EXPORT, Category.OUTSIDE_SCOPE}
)
_EXTRA_COUNTRIES = frozenset({"XI"})  # Northern Ireland, in the EN 16931 country code list since 2021


class DocumentKind(StrEnum):
    INVOICE = "invoice"  # UNTDID 1001 code 380
    CREDIT_NOTE = "credit_note"  # UNTDID 1001 code 381


class PaymentMeans(StrEnum):
    """How the payable amount is to be paid (EN 16931 BT-81, UNTDID 4461 codes)."""

    NOT_DEFINED = "1"
    CASH = "10"
    CREDIT_TRANSFER = "30"
    DEBIT_TRANSFER = "31"
    PAYMENT_TO_BANK_ACCOUNT = "42"
    BANK_CARD = "48"
    DIRECT_DEBIT = "49"
    CREDIT_CARD = "54"
    DEBIT_CARD = "55"
    STANDING_AGREEMENT = "57"
    SEPA_CREDIT_TRANSFER = "58"
    SEPA_DIRECT_DEBIT = "59"
    CLEARING_BETWEEN_PARTNERS = "97"


# Means that need the payee's account (EN 16931 BR-61).
CREDIT_TRANSFERS = frozenset({PaymentMeans.CREDIT_TRANSFER, PaymentMeans.SEPA_CREDIT_TRANSFER})
# Means paid by a payment card (BG-18 carries the card).
CARD_MEANS = frozenset({PaymentMeans.BANK_CARD, PaymentMeans.CREDIT_CARD, PaymentMeans.DEBIT_CARD})


@dataclass(frozen=True, slots=True)
class Address:
    lines: tuple[str, ...]  # street lines, first one first (BT-35, BT-36, BT-162)
    city: str
    country: str  # ISO 3166-1 alpha-2
    postal_code: str | None = None
    region: str | None = None  # country subdivision, as text (BT-39)


@dataclass(frozen=True, slots=True)
class BankAccount:
    iban: str  # payment account identifier (BT-84); an IBAN for SEPA transfers
    bic: str | None = None  # BT-86
    bank_name: str | None = None  # printed only: EN 16931 has no field for it
    account_name: str | None = None  # BT-85; defaults to the seller's name when printed


@dataclass(frozen=True, slots=True)
class Party:
    name: str  # legal (registration) name: BT-27 / BT-44
    address: Address
    vat_id: str | None = None  # with its country prefix, "DE123456789" (BT-31 / BT-48)
    registration_id: str | None = None  # company register number (BT-30 / BT-47)
    tax_number: str | None = None  # seller's national tax number, "201/113/40209" (BT-32)
    legal_info: str | None = None  # seller's additional legal information: court, capital … (BT-33)
    trading_name: str | None = None  # BT-28 / BT-45, when it differs from the legal name
    email: str | None = None  # contact e-mail (BT-43 / BT-58)
    endpoint_id: str | None = None  # electronic address (BT-34 / BT-49) …
    endpoint_scheme: str | None = None  # … and its EAS scheme ("0204", "9930", "EM")
    bank_account: BankAccount | None = None  # where payments to this party go
    contact_name: str | None = None  # seller contact point (BT-41)
    phone: str | None = None  # contact telephone (BT-42 / BT-57)
    register_court: str | None = None  # printed legal mentions: the register's court ("Amtsgericht Berlin")
    managing_directors: str | None = None  # … the managing directors (German "Geschäftsführer")
    share_capital: str | None = None  # … the share capital (French "capital social")
    sepa_creditor_id: str | None = None  # the seller's SEPA creditor identifier, for direct debits (BT-90)
    logo: bytes | None = None  # PNG or JPEG, printed at the top of the PDF


@dataclass(frozen=True, slots=True)
class Card:
    """The card an invoice was paid by (BG-18): the network and the last four digits only (BT-87)."""

    last4: str
    brand: str | None = None  # "visa", "mastercard" … (BT-88 holder name is not kept)


@dataclass(frozen=True, slots=True)
class Mandate:
    """A SEPA direct-debit mandate (BG-19): reference (BT-89) and the debited account (BT-91)."""

    reference: str
    debited_iban: str | None = None


@dataclass(frozen=True, slots=True)
class Delivery:
    """Where and when the goods went (EN 16931 BG-13)."""

    address: Address | None = None
    name: str | None = None  # deliver-to party name (BT-70)
    date: date | None = None  # actual delivery date (BT-72)


@dataclass(frozen=True, slots=True)
class InvoiceReference:
    """A preceding invoice that a credit note (or corrective invoice) refers to (BG-3)."""

    number: str
    issue_date: date | None = None


@dataclass(frozen=True, slots=True)
class Line:
    """One line (BG-25). `net_amount` = quantity × unit_price, rounded half up, − `discount`."""

    id: str
    name: str
    quantity: Decimal
    unit_price: Decimal  # net price per unit, major units (BT-146); never negative
    net_amount: int  # minor units (BT-131)
    category: Category
    rate: Decimal  # fraction: Decimal("0.19")
    unit_code: str = "C62"  # UN/ECE Recommendation 20 ("C62" one, "H87" piece, "KGM" kilogram)
    sku: str | None = None  # seller's item identifier (BT-155)
    description: str | None = None  # BT-154
    discount: int = 0  # line allowance in minor units (BG-27)
    discount_reason: str | None = None


@dataclass(frozen=True, slots=True)
class AllowanceCharge:
    """A document-level allowance (BG-20) or charge (BG-21), with its own VAT category and rate.

    Shipping is a charge with reason code "FC" (freight, UNTDID 7161); an order-level discount is an
    allowance with reason code "95" (UNTDID 5189), one per VAT category and rate it reduces.
    """

    amount: int  # minor units, not negative
    category: Category
    rate: Decimal
    reason: str | None = None
    reason_code: str | None = None


@dataclass(frozen=True, slots=True)
class TaxSubtotal:
    """One row of the VAT breakdown (BG-23): per category and rate."""

    category: Category
    rate: Decimal
    taxable_amount: int  # lines − allowances + charges of this category and rate
    tax_amount: int
    exemption_reason: str | None = None  # BT-120, text
    exemption_reason_code: str | None = None  # BT-121, VATEX code ("VATEX-EU-AE")


@dataclass(frozen=True, slots=True)
class Totals:
    """Document totals (BG-22), all in minor units."""

    line_total: int  # Σ line net amounts (BT-106)
    allowance_total: int  # BT-107
    charge_total: int  # BT-108
    tax_exclusive: int  # line_total − allowance_total + charge_total (BT-109)
    tax_total: int  # Σ breakdown tax amounts (BT-110)
    tax_inclusive: int  # tax_exclusive + tax_total (BT-112)
    prepaid: int  # already paid, e.g. captured card payments (BT-113)
    payable: int  # tax_inclusive − prepaid (BT-115)


@dataclass(frozen=True, slots=True)
class Document:
    kind: DocumentKind
    number: str
    issue_date: date
    currency: str
    language: str  # a CLDR locale: "de", "fr_BE", "pt-BR"
    seller: Party
    buyer: Party
    lines: tuple[Line, ...]
    tax_breakdown: tuple[TaxSubtotal, ...]
    totals: Totals
    due_date: date | None = None
    tax_point_date: date | None = None
    buyer_reference: str | None = None  # BT-10
    purchase_order: str | None = None  # buyer's PO number (BT-13)
    order_number: str | None = None  # seller's order number (BT-14)
    preceding_invoices: tuple[InvoiceReference, ...] = ()
    delivery: Delivery | None = None
    payment_terms: str | None = None  # BT-20, as text
    payment_means: PaymentMeans | None = None
    payment_reference: str | None = None  # remittance information (BT-83)
    card: Card | None = None  # with payment means 48/54/55
    mandate: Mandate | None = None  # with payment means 59
    # The seller's VAT accounting currency when it is not the document's (BT-6), and the VAT total
    # in it (BT-111, minor units of that currency), converted at the tax point date's rate.
    tax_currency: str | None = None
    tax_total_in_tax_currency: int | None = None
    allowances: tuple[AllowanceCharge, ...] = ()
    charges: tuple[AllowanceCharge, ...] = ()
    notes: tuple[str, ...] = ()  # legal mentions and remarks (BT-22)
    tax_rounding: RoundingMode = RoundingMode.PER_RATE_ON_DOCUMENT

    def __post_init__(self) -> None:
        self.check()

    def check(self) -> None:
        """Raise `DocumentError` listing every fault; a document that exists has none."""
        errors = document_errors(self)
        if errors:
            raise DocumentError(errors)

    @property
    def exponent(self) -> int:
        return exponent_of(self.currency)

    @property
    def payee_account(self) -> BankAccount | None:
        """The account the payable amount goes to: the seller's for an invoice, the buyer's for a credit note."""
        payee = self.buyer if self.kind is DocumentKind.CREDIT_NOTE else self.seller
        return payee.bank_account

    @property
    def locale(self) -> Locale:
        return Locale.parse(self.language, sep="-" if "-" in self.language else "_")


# ---- arithmetic shared by the check and by callers that build documents --------------------------


def line_amount(quantity: Decimal, unit_price: Decimal, currency: str) -> int:
    """quantity × unit price in minor units, rounded once, half up."""
    product = EXACT.multiply(quantity, unit_price).scaleb(exponent_of(currency), EXACT)
    return int(product.quantize(Decimal(1), rounding=ROUND_HALF_UP, context=EXACT))


def rate_tax(taxable_amount: int, rate: Decimal) -> int:
    """VAT of one breakdown row: taxable amount × rate, rounded once, half up (EN 16931)."""
    product = EXACT.multiply(Decimal(taxable_amount), rate)
    return int(product.quantize(Decimal(1), rounding=ROUND_HALF_UP, context=EXACT))


RateKey = tuple[Category, Decimal]
_Add = Callable[[str, str], None]


def taxable_amounts(
    lines: Iterable[Line], allowances: Iterable[AllowanceCharge], charges: Iterable[AllowanceCharge]
) -> tuple[dict[RateKey, int], Counter[RateKey]]:
    """Taxable amount per (category, rate), and how many amounts went into each."""
    sums: dict[RateKey, int] = {}
    parts: Counter[RateKey] = Counter()
    for sign, items in ((1, lines), (-1, allowances), (1, charges)):
        for item in items:
            key = (item.category, item.rate)
            amount = item.net_amount if isinstance(item, Line) else item.amount
            sums[key] = sums.get(key, 0) + sign * amount
            parts[key] += 1
    return sums, parts


def compute_breakdown(
    lines: Sequence[Line],
    allowances: Sequence[AllowanceCharge] = (),
    charges: Sequence[AllowanceCharge] = (),
    exemptions: Mapping[Category, tuple[str | None, str | None]] | None = None,
) -> tuple[TaxSubtotal, ...]:
    """The VAT breakdown rounded once per rate; `exemptions` maps a category to (reason, VATEX code)."""
    sums, _ = taxable_amounts(lines, allowances, charges)
    rows = []
    for (category, rate), taxable in sorted(sums.items(), key=lambda kv: (kv[0][0].value, -kv[0][1])):
        reason, code = (exemptions or {}).get(category, (None, None))
        rows.append(TaxSubtotal(category, rate, taxable, rate_tax(taxable, rate), reason, code))
    return tuple(rows)


def compute_totals(
    lines: Sequence[Line],
    breakdown: Sequence[TaxSubtotal],
    allowances: Sequence[AllowanceCharge] = (),
    charges: Sequence[AllowanceCharge] = (),
    prepaid: int = 0,
) -> Totals:
    line_total = sum(ln.net_amount for ln in lines)
    allowance_total = sum(a.amount for a in allowances)
    charge_total = sum(c.amount for c in charges)
    tax_exclusive = line_total - allowance_total + charge_total
    tax_total = sum(row.tax_amount for row in breakdown)
    return Totals(
        line_total, allowance_total, charge_total, tax_exclusive, tax_total,
        tax_exclusive + tax_total, prepaid, tax_exclusive + tax_total - prepaid,
    )


# ---- the check ------------------------------------------------------------------------------------


def document_errors(doc: Document) -> list[FieldError]:
    errors: list[FieldError] = []

    def add(path: str, message: str) -> None:
        errors.append(FieldError(path, message))

    if not doc.number.strip():
        add("number", "is empty")
    try:
        exponent_of(doc.currency)
    except CurrencyError as exc:
        add("currency", str(exc))
        return errors  # every amount check below depends on the currency
    try:
        doc.locale  # noqa: B018
    except (UnknownLocaleError, ValueError):
        add("language", f"'{doc.language}' is not a known locale")
    _tax_currency_errors(doc, add)
    if doc.due_date is not None and doc.due_date < doc.issue_date:
        add("due_date", "is before the issue date")
    for i, ref in enumerate(doc.preceding_invoices):
        if not ref.number.strip():
            add(f"preceding_invoices[{i}].number", "is empty")
    _party_errors(doc.seller, "seller", add)
    _party_errors(doc.buyer, "buyer", add)
    if doc.delivery is not None and doc.delivery.address is not None:
        _address_errors(doc.delivery.address, "delivery.address", add)
    if doc.payment_means in CREDIT_TRANSFERS and doc.payee_account is None:
        payee = "buyer" if doc.kind is DocumentKind.CREDIT_NOTE else "seller"
        add(f"{payee}.bank_account", "a credit transfer needs the account to pay into")
    _payment_errors(doc, add)

    if not doc.lines:
        add("lines", "a document has at least one line")
    seen: set[str] = set()
    for i, ln in enumerate(doc.lines):
        if ln.id in seen:
            add(f"lines[{i}].id", f"'{ln.id}' is used by an earlier line")
        seen.add(ln.id)
        _line_errors(ln, f"lines[{i}]", doc.currency, add)
    for name, items in (("allowances", doc.allowances), ("charges", doc.charges)):
        for i, item in enumerate(items):
            path = f"{name}[{i}]"
            if item.amount < 0:
                add(f"{path}.amount", "cannot be negative")
            if not (item.reason or item.reason_code):
                add(f"{path}.reason", "a reason or a reason code is required")
            _rate_errors(item.category, item.rate, path, add)

    _breakdown_errors(doc, add)
    _totals_errors(doc, add)
    return errors


def _tax_currency_errors(doc: Document, add: _Add) -> None:
    if (doc.tax_currency is None) != (doc.tax_total_in_tax_currency is None):
        add("tax_currency", "the VAT accounting currency and the VAT total in it go together")
    elif doc.tax_currency == doc.currency:
        add("tax_currency", "is the document's currency: leave it out")
    elif doc.tax_currency is not None:
        try:
            exponent_of(doc.tax_currency)
        except CurrencyError as exc:
            add("tax_currency", str(exc))


def _party_errors(party: Party, path: str, add: _Add) -> None:
    if not party.name.strip():
        add(f"{path}.name", "is empty")
    _address_errors(party.address, f"{path}.address", add)
    if party.endpoint_id and not party.endpoint_scheme:
        add(f"{path}.endpoint_scheme", "an electronic address needs its scheme")
    elif party.endpoint_scheme and not party.endpoint_id:
        add(f"{path}.endpoint_id", "an electronic address scheme needs its identifier")
    problem = scheme_error(party.endpoint_scheme)
    if problem:
        add(f"{path}.endpoint_scheme", problem)
    if party.bank_account is not None and not party.bank_account.iban.strip():
        add(f"{path}.bank_account.iban", "is empty")


def _payment_errors(doc: Document, add: _Add) -> None:
    if doc.card is not None and not (len(doc.card.last4) == 4 and doc.card.last4.isdigit()):
        add("card.last4", "must be the card's last four digits")
    if doc.card is not None and doc.payment_means not in CARD_MEANS:
        add("card", "a card goes with payment means 48, 54 or 55")
    if doc.payment_means is PaymentMeans.SEPA_DIRECT_DEBIT and doc.mandate is None:
        add("mandate", "a SEPA direct debit (59) needs the mandate reference")
    if doc.mandate is not None and not doc.mandate.reference.strip():
        add("mandate.reference", "is empty")


def _address_errors(address: Address, path: str, add: _Add) -> None:
    if not address.city.strip():
        add(f"{path}.city", "is empty")
    if not is_country(address.country):
        add(f"{path}.country", f"'{address.country}' is not an ISO 3166-1 alpha-2 country code")


def is_country(code: str) -> bool:
    return code in _EXTRA_COUNTRIES or (
        len(code) == 2 and code.isupper() and pycountry.countries.get(alpha_2=code) is not None
    )


def _line_errors(ln: Line, path: str, currency: str, add: _Add) -> None:
    if not ln.id.strip():
        add(f"{path}.id", "is empty")
    if not ln.name.strip():
        add(f"{path}.name", "is empty")
    if not ln.unit_code.strip():
        add(f"{path}.unit_code", "is empty")
    if not ln.quantity.is_finite():
        add(f"{path}.quantity", "is not a number")
        return
    if not ln.unit_price.is_finite() or ln.unit_price < 0:
        add(f"{path}.unit_price", "must be a number, not negative")
        return
    if ln.discount < 0:
        add(f"{path}.discount", "cannot be negative")
    expected = line_amount(ln.quantity, ln.unit_price, currency) - ln.discount
    if ln.net_amount != expected:
        add(f"{path}.net_amount", f"is {ln.net_amount}, but quantity × unit price − discount is {expected}")
    if abs(ln.net_amount) > MAX_MINOR:
        add(f"{path}.net_amount", "is larger than the largest amount Ordino stores")
    _rate_errors(ln.category, ln.rate, path, add)


def _rate_errors(category: Category, rate: Decimal, path: str, add: _Add) -> None:
    if not rate.is_finite() or not 0 <= rate < 1:
        add(f"{path}.rate", "must be a fraction from 0 up to 1")
    elif category in RATED and rate == 0:
        add(f"{path}.rate", f"category {category.value} needs a rate above zero; use Z, E or O for 0 %")
    elif category not in RATED and rate != 0:
        add(f"{path}.rate", f"category {category.value} is at 0 %")


def _breakdown_errors(doc: Document, add: _Add) -> None:
    sums, _ = taxable_amounts(doc.lines, doc.allowances, doc.charges)
    given: Counter[RateKey] = Counter((row.category, row.rate) for row in doc.tax_breakdown)
    for i, row in enumerate(doc.tax_breakdown):
        path = f"tax_breakdown[{i}]"
        key = (row.category, row.rate)
        if given[key] > 1:
            add(path, f"category {row.category.value} at {row.rate} appears more than once")
        if key not in sums:
            add(path, f"no line, allowance or charge has category {row.category.value} at {row.rate}")
            continue
        if row.taxable_amount != sums[key]:
            add(f"{path}.taxable_amount", f"is {row.taxable_amount}, but its lines, allowances and charges "
                f"sum to {sums[key]}")
        if row.category not in RATED and row.tax_amount != 0:
            add(f"{path}.tax_amount", f"category {row.category.value} carries no VAT")
        elif doc.tax_rounding is RoundingMode.PER_RATE_ON_DOCUMENT:
            if row.tax_amount != rate_tax(row.taxable_amount, row.rate):
                add(f"{path}.tax_amount", f"is {row.tax_amount}, but taxable amount × rate rounded once is "
                    f"{rate_tax(row.taxable_amount, row.rate)}")
        elif abs(row.tax_amount - rate_tax(row.taxable_amount, row.rate)) >= 10 ** doc.exponent:
            # EN 16931 BR-CO-17 accepts a category's VAT less than one major unit off taxable × rate.
            add(f"{path}.tax_amount", f"is {row.tax_amount}, a whole unit or more off taxable amount × rate "
                f"({rate_tax(row.taxable_amount, row.rate)})")
        if row.category in NEEDS_EXEMPTION_REASON and not (row.exemption_reason or row.exemption_reason_code):
            add(f"{path}.exemption_reason", f"category {row.category.value} needs an exemption reason or code")
        if row.category not in NEEDS_EXEMPTION_REASON and (row.exemption_reason or row.exemption_reason_code):
            add(f"{path}.exemption_reason", f"category {row.category.value} takes no exemption reason")
    for category, rate in sums:
        if (category, rate) not in given:
            add("tax_breakdown", f"has no row for category {category.value} at {rate}")


def _totals_errors(doc: Document, add: _Add) -> None:
    t = doc.totals
    expected = compute_totals(doc.lines, doc.tax_breakdown, doc.allowances, doc.charges, t.prepaid)
    for name in ("line_total", "allowance_total", "charge_total", "tax_exclusive", "tax_total",
                 "tax_inclusive", "payable"):
        got, want = getattr(t, name), getattr(expected, name)
        if got != want:
            add(f"totals.{name}", f"is {got}, but the document adds up to {want}")
    for name in ("line_total", "tax_inclusive", "prepaid", "payable"):
        if abs(getattr(t, name)) > MAX_MINOR:
            add(f"totals.{name}", "is larger than the largest amount Ordino stores")
