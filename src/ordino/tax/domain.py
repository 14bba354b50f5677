"""Tax engine types: what goes in (lines and a context), what comes out (tax lines and notes).

The engine is pure: no database, no HTTP, no clock. Amounts are integer minor units of the
context's currency; rates are `Decimal` fractions (0.19 for 19 %). Any engine that implements
`TaxCalculator` (for example an adapter to an external tax service) can replace Ordino's own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Protocol


class TaxClass(StrEnum):
    """Product tax classes. A product carries one; each regime says what it means there.

    EU VAT: the class names the kind of rate (the country's standard, reduced, second reduced,
    super-reduced or parking rate), `zero` is zero-rated (category Z) and `exempt` is exempt
    (category E). US sales tax: every VAT rate kind means taxable goods ("general"); `exempt` and
    `zero` are not taxed; `clothing` follows the per-state clothing table.
    """

    STANDARD = "standard"
    REDUCED = "reduced"
    REDUCED_ALT = "reduced_alt"
    SUPER_REDUCED = "super_reduced"
    PARKING = "parking"
    ZERO = "zero"
    EXEMPT = "exempt"
    CLOTHING = "clothing"


class RoundingMode(StrEnum):
    PER_LINE = "per_line"  # each line's tax rounded on its own (US style)
    PER_RATE_ON_DOCUMENT = "per_rate_on_document"  # EN 16931: once per category and rate


class Category(StrEnum):
    """VAT category codes of EN 16931 (UNCL5305 subset); US lines use S, E and O too."""

    STANDARD = "S"  # standard or reduced rate
    ZERO = "Z"  # zero-rated goods
    EXEMPT = "E"  # exempt from tax
    REVERSE_CHARGE = "AE"  # VAT reverse charge
    INTRA_COMMUNITY = "K"  # intra-community supply of goods (VAT exempt)
    EXPORT = "G"  # free export item, tax not charged
    OUTSIDE_SCOPE = "O"  # services outside scope of tax


class InvalidVatIdPolicy(StrEnum):
    REFUSE = "refuse"  # raise a TaxError naming buyer_vat_id
    TAX_AS_B2C = "tax_as_b2c"  # tax at destination like a consumer sale, with a note


@dataclass(frozen=True, slots=True)
class Address:
    country: str  # ISO 3166-1 alpha-2
    region: str | None = None  # ISO 3166-2 subdivision without the country ("CA" for California)
    postal_code: str | None = None
    city: str | None = None
    county: str | None = None  # US county, used when the city is not in the rate tables


@dataclass(frozen=True, slots=True)
class ExemptionCertificate:
    """A buyer's exemption (resale, non-profit, diplomatic …) on file.

    `regions` holds countries ("FR", "US" for every state) and ISO 3166-2 subdivisions ("US-CA").
    The certificate is valid on the tax date up to and including `expires_on` (None: no expiry).
    """

    number: str
    regions: frozenset[str]
    expires_on: date | None = None

    def covers(self, country: str, region: str | None) -> bool:
        return country in self.regions or (region is not None and f"{country}-{region}" in self.regions)

    def valid_on(self, day: date) -> bool:
        return self.expires_on is None or day <= self.expires_on


@dataclass(frozen=True, slots=True)
class TaxLineInput:
    """One line of a document: an item, or a shipping charge (`is_shipping`).

    `amount` is the line amount in minor units after line discounts: net, or gross when the
    context says prices include tax. It may not be negative: discounts are spread over the lines
    before tax, and credit documents are computed on positive amounts and then negated.
    """

    line_id: str
    amount: int
    quantity: Decimal | int = 1
    tax_class: str = TaxClass.STANDARD
    is_shipping: bool = False


@dataclass(frozen=True, slots=True)
class TaxContext:
    seller: Address  # where the seller is established
    ship_to: Address
    tax_date: date  # date of supply (tax point): picks the rates in force
    currency: str
    ship_from: Address | None = None  # where the goods leave from, when not the seller's country
    buyer_is_business: bool = False
    buyer_vat_id: str | None = None
    exemption_certificate: ExemptionCertificate | None = None
    prices_include_tax: bool = False
    rounding: RoundingMode | None = None  # None: the regime's default

    @property
    def origin(self) -> Address:
        return self.ship_from or self.seller


@dataclass(frozen=True, slots=True)
class TaxLine:
    """One tax on (part of) a line. `taxable_amount` is the net base it was computed on."""

    name: str
    rate: Decimal  # a fraction: Decimal("0.19")
    amount: int  # minor units
    taxable_amount: int  # minor units, net
    jurisdiction: str  # "DE", "US-CA", "US-CA Los Angeles"
    category: Category
    exemption_reason_code: str | None = None  # VATEX code (EN 16931 BT-121) for AE, K, G, O


@dataclass(frozen=True, slots=True)
class LineTax:
    line_id: str
    net_amount: int
    tax_amount: int
    gross_amount: int
    tax_lines: tuple[TaxLine, ...]


@dataclass(frozen=True, slots=True)
class TaxNote:
    """A document-level note: legal mentions for the invoice and reasons for the agent."""

    code: str
    text: str


@dataclass(frozen=True, slots=True)
class TaxSubtotal:
    """One row of the document's tax breakdown (EN 16931 BG-23): per category, rate and jurisdiction."""

    name: str
    category: Category
    rate: Decimal
    jurisdiction: str
    taxable_amount: int
    tax_amount: int
    exemption_reason_code: str | None = None


@dataclass(frozen=True, slots=True)
class TaxResult:
    currency: str
    regime: str  # eu_vat | uk_vat | us_sales_tax | none
    rounding: RoundingMode
    prices_include_tax: bool
    lines: tuple[LineTax, ...]
    breakdown: tuple[TaxSubtotal, ...]
    notes: tuple[TaxNote, ...] = field(default=())

    @property
    def tax_total(self) -> int:
        return sum(ln.tax_amount for ln in self.lines)

    @property
    def net_total(self) -> int:
        return sum(ln.net_amount for ln in self.lines)

    @property
    def gross_total(self) -> int:
        return sum(ln.gross_amount for ln in self.lines)

    def line(self, line_id: str) -> LineTax:
        for ln in self.lines:
            if ln.line_id == line_id:
                return ln
        raise KeyError(line_id)

    def has_note(self, code: str) -> bool:
        return any(n.code == code for n in self.notes)


class TaxCalculator(Protocol):
    """What order pricing calls. Ordino's engine implements it; an external provider can too."""

    def calculate(self, lines: Sequence[TaxLineInput], context: TaxContext) -> TaxResult: ...


# Note codes.
NOTE_REVERSE_CHARGE = "reverse_charge"
NOTE_INTRA_COMMUNITY = "intra_community_supply"
NOTE_EXPORT = "export"
NOTE_OUTSIDE_SCOPE = "outside_scope"
NOTE_DISTANCE_SALE = "distance_sale"
NOTE_INVALID_VAT_ID = "invalid_vat_id"
NOTE_TERRITORY = "special_territory"
NOTE_STANDARD_RATE = "standard_rate_applies"
NOTE_EXEMPTION_CERTIFICATE = "exemption_certificate"
NOTE_CERTIFICATE_EXPIRED = "exemption_certificate_expired"
NOTE_CERTIFICATE_NOT_COVERING = "exemption_certificate_not_covering"
NOTE_EXEMPT_SUPPLY = "exempt_supply"
NOTE_LOCAL_TAXES_NOT_INCLUDED = "local_taxes_not_included"
NOTE_CITY_NOT_FOUND = "city_not_found"
NOTE_NO_SALES_TAX = "no_sales_tax"
NOTE_NO_NEXUS = "no_nexus"
NOTE_SHIPPING_NOT_TAXABLE = "shipping_not_taxable"

REVERSE_CHARGE_TEXT = "Reverse charge: VAT to be accounted for by the recipient (Article 196, Directive 2006/112/EC)"
INTRA_COMMUNITY_TEXT = "Intra-community supply of goods, exempt from VAT (Article 138, Directive 2006/112/EC)"
EXPORT_TEXT = "Export outside the EU: exempt from VAT (Article 146, Directive 2006/112/EC)"


def percent_text(rate: Decimal) -> str:
    """0.255 → "25.5", 0.19 → "19", 0 → "0"."""
    value = (rate * 100).normalize()
    return f"{value:f}" if value else "0"
