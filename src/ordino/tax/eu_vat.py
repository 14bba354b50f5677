"""EU VAT (and UK VAT for sellers in Great Britain) on supplies of goods.

Where the goods go decides the treatment, the date of supply picks the rates:

- inside one country (origin = destination): that country's VAT, to businesses and consumers;
- to a consumer in another member state: the destination's VAT (distance sale, One-Stop Shop);
- to a business in another member state with a valid VAT ID of that state: no VAT, category AE
  with the reverse-charge note (or K, intra-community supply, if the policy says so); a missing or
  invalid VAT ID is refused or taxed as a consumer sale, as the policy says, and never silently;
- out of the EU (or out of the UK for UK sellers), and to EU territories outside the VAT area
  (Canary Islands, Åland, Büsingen …, recognised by the postcode): export, zero, category G;
- a valid exemption certificate covering the destination: exempt, category E.

A rate kind the country does not have (a book to Denmark, which has no reduced rate) takes the
country's standard rate, with a note.

Shipping follows the goods it carries: it takes their rate, and when the goods have several rates
the charge is split in proportion to the goods' amounts (`computation.follow_goods`).

The origin is the ship-from country when given, else the seller's. Not modelled: the EUR 10,000
threshold under which a small seller may charge its own VAT on distance sales (Ordino always taxes
at destination), Northern Ireland's place in the EU VAT area for goods, sellers located in special
territories, and a VIES check of VAT IDs (do it when the account is set up; the engine stays pure).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from stdnum.eu import vat as eu_vat_id

from ordino.tax.computation import ROUNDING_RULES, Part, TaxKey, compute, follow_goods, validate
from ordino.tax.domain import (
    EXPORT_TEXT,
    INTRA_COMMUNITY_TEXT,
    NOTE_CERTIFICATE_EXPIRED,
    NOTE_CERTIFICATE_NOT_COVERING,
    NOTE_DISTANCE_SALE,
    NOTE_EXEMPT_SUPPLY,
    NOTE_EXEMPTION_CERTIFICATE,
    NOTE_EXPORT,
    NOTE_INTRA_COMMUNITY,
    NOTE_INVALID_VAT_ID,
    NOTE_REVERSE_CHARGE,
    NOTE_STANDARD_RATE,
    NOTE_TERRITORY,
    REVERSE_CHARGE_TEXT,
    Category,
    InvalidVatIdPolicy,
    RoundingMode,
    TaxClass,
    TaxContext,
    TaxLineInput,
    TaxNote,
    TaxResult,
    percent_text,
)
from ordino.tax.errors import TaxError
from ordino.tax.rates_eu import Territory, in_eu, territory_of, vat_country, vat_period

UK_EXPORT_TEXT = "Export of goods from the United Kingdom: zero-rated (Value Added Tax Act 1994, section 30(6))"
ZERO = Decimal(0)

# Product tax class → rate kind per country ("*": every country). A rate kind is one of the table's
# columns (standard, reduced, reduced_alt, super_reduced, parking), or "zero" or "exempt".
DEFAULT_TAX_CLASSES: Mapping[str, Mapping[str, str]] = {
    TaxClass.STANDARD: {"*": "standard"},
    TaxClass.REDUCED: {"*": "reduced"},
    TaxClass.REDUCED_ALT: {"*": "reduced_alt"},
    TaxClass.SUPER_REDUCED: {"*": "super_reduced"},
    TaxClass.PARKING: {"*": "parking"},
    TaxClass.ZERO: {"*": "zero"},
    TaxClass.EXEMPT: {"*": "exempt"},
    TaxClass.CLOTHING: {"*": "standard"},
}


@dataclass(frozen=True, slots=True)
class EuVatPolicy:
    invalid_vat_id: InvalidVatIdPolicy = InvalidVatIdPolicy.REFUSE
    # AE (reverse charge, the product's default) or K (intra-community supply of goods, Art. 138).
    intra_eu_b2b_category: Category = Category.REVERSE_CHARGE
    tax_classes: Mapping[str, Mapping[str, str]] = field(default_factory=lambda: DEFAULT_TAX_CLASSES)
    default_rounding: RoundingMode = RoundingMode.PER_RATE_ON_DOCUMENT
    rounding_rule: str = ROUND_HALF_UP

    def __post_init__(self) -> None:
        if self.intra_eu_b2b_category not in (Category.REVERSE_CHARGE, Category.INTRA_COMMUNITY):
            raise ValueError("intra_eu_b2b_category is AE or K")
        if self.rounding_rule not in ROUNDING_RULES:
            raise ValueError(f"unsupported rounding rule {self.rounding_rule}")


def check_vat_id(vat_id: str | None, country: str) -> tuple[bool, str]:
    """Whether `vat_id` passes the check-digit test of python-stdnum and belongs to `country`.

    Returns (True, the compact VAT ID) or (False, why not). Greek VAT IDs start with EL.
    """
    if not vat_id or not vat_id.strip():
        return False, "is missing: a sale to a business in another member state needs the buyer's VAT ID"
    if not eu_vat_id.is_valid(vat_id):
        return False, f"'{vat_id}' is not a valid EU VAT ID"
    compact = str(eu_vat_id.compact(vat_id))
    prefix = compact[:2].upper()
    issuer = "GR" if prefix == "EL" else prefix
    if issuer != country:
        return False, f"'{vat_id}' is a VAT ID of {issuer}, not of the ship-to country {country}"
    return True, compact


@dataclass(slots=True)
class _Treatment:
    country: str  # whose VAT (and jurisdiction of the tax lines)
    fixed: TaxKey | None = None  # every line gets this key (exports, reverse charge, exemption)
    territory: Territory | None = None  # an in-area territory with its own standard rate
    notes: list[TaxNote] = field(default_factory=list)


def _vat_key(country: str, rate: Decimal, territory: Territory | None = None) -> TaxKey:
    where = f"{country} {territory.name}" if territory else country
    category = Category.STANDARD if rate else Category.ZERO
    return TaxKey(f"VAT {percent_text(rate)}%", rate, category, where)


class EuVatCalculator:
    """VAT for sellers (or ship-from locations) in the EU or the United Kingdom."""

    def __init__(self, policy: EuVatPolicy | None = None) -> None:
        self.policy = policy or EuVatPolicy()

    @staticmethod
    def handles(context: TaxContext) -> bool:
        origin = vat_country(context.origin.country)
        return in_eu(origin, context.tax_date) or origin == "GB"

    def calculate(self, lines: Sequence[TaxLineInput], context: TaxContext) -> TaxResult:
        validate(lines, context)
        origin = vat_country(context.origin.country)
        if not self.handles(context):
            where = "ship_from.country" if context.ship_from else "seller.country"
            raise TaxError(where, f"{origin} is neither in the EU nor the United Kingdom on {context.tax_date}")
        regime = "eu_vat" if in_eu(origin, context.tax_date) else "uk_vat"
        treatment = self._treatment(context, origin, regime)
        parts = self._parts(lines, context, treatment)
        return compute(
            lines, context, parts, regime=regime, default_rounding=self.policy.default_rounding,
            notes=treatment.notes, rounding_rule=self.policy.rounding_rule,
        )

    # --- where the goods go ----------------------------------------------------------------------

    def _treatment(self, ctx: TaxContext, origin: str, regime: str) -> _Treatment:
        dest = vat_country(ctx.ship_to.country)
        day = ctx.tax_date
        if regime == "uk_vat" and dest != "GB":
            key = TaxKey("VAT export", ZERO, Category.EXPORT, origin, "VATEX-EU-G")
            return _Treatment(origin, key, notes=[TaxNote(NOTE_EXPORT, UK_EXPORT_TEXT)])
        if regime == "eu_vat" and not in_eu(dest, day):
            return self._export(origin)
        territory = territory_of(dest, ctx.ship_to.postal_code) if regime == "eu_vat" else None
        if territory and not territory.in_vat_area:
            treatment = self._export(origin)
            treatment.notes.append(
                TaxNote(NOTE_TERRITORY, f"{territory.name} is outside the EU VAT area: the supply is an export")
            )
            return treatment
        exempt, notes = self._certificate(ctx, dest)
        if exempt is not None:
            return exempt
        if dest == origin:
            return _Treatment(dest, territory=territory, notes=notes)
        if ctx.buyer_is_business:
            ok, detail = check_vat_id(ctx.buyer_vat_id, dest)
            if ok:
                return self._intra_community(dest)
            if self.policy.invalid_vat_id is InvalidVatIdPolicy.REFUSE:
                raise TaxError("buyer_vat_id", f"{detail}; reverse charge cannot apply")
            text = f"Buyer VAT ID {detail}: taxed as a sale to a consumer in {dest}"
            notes.append(TaxNote(NOTE_INVALID_VAT_ID, text))
        text = f"Distance sale: VAT of {dest} charged at destination (One-Stop Shop, Article 33, Directive 2006/112/EC)"
        return _Treatment(dest, territory=territory, notes=[*notes, TaxNote(NOTE_DISTANCE_SALE, text)])

    @staticmethod
    def _export(origin: str) -> _Treatment:
        key = TaxKey("VAT export", ZERO, Category.EXPORT, origin, "VATEX-EU-G")
        return _Treatment(origin, key, notes=[TaxNote(NOTE_EXPORT, EXPORT_TEXT)])

    def _intra_community(self, dest: str) -> _Treatment:
        if self.policy.intra_eu_b2b_category is Category.INTRA_COMMUNITY:
            key = TaxKey("VAT intra-community supply", ZERO, Category.INTRA_COMMUNITY, dest, "VATEX-EU-IC")
            return _Treatment(dest, key, notes=[TaxNote(NOTE_INTRA_COMMUNITY, INTRA_COMMUNITY_TEXT)])
        key = TaxKey("VAT reverse charge", ZERO, Category.REVERSE_CHARGE, dest, "VATEX-EU-AE")
        return _Treatment(dest, key, notes=[TaxNote(NOTE_REVERSE_CHARGE, REVERSE_CHARGE_TEXT)])

    @staticmethod
    def _certificate(ctx: TaxContext, dest: str) -> tuple[_Treatment | None, list[TaxNote]]:
        """An exempt treatment under a valid certificate covering `dest`, or the notes on why not."""
        cert = ctx.exemption_certificate
        if cert is None:
            return None, []
        if not cert.covers(dest, ctx.ship_to.region):
            text = f"Exemption certificate {cert.number} does not cover {dest}: VAT charged"
            return None, [TaxNote(NOTE_CERTIFICATE_NOT_COVERING, text)]
        if not cert.valid_on(ctx.tax_date):
            text = f"Exemption certificate {cert.number} expired on {cert.expires_on}: VAT charged"
            return None, [TaxNote(NOTE_CERTIFICATE_EXPIRED, text)]
        key = TaxKey("VAT exempt", ZERO, Category.EXEMPT, dest)
        text = f"Exempt from VAT under exemption certificate {cert.number}"
        return _Treatment(dest, key, notes=[TaxNote(NOTE_EXEMPTION_CERTIFICATE, text)]), []

    # --- which rate on which line ------------------------------------------------------------------

    def _parts(self, lines: Sequence[TaxLineInput], ctx: TaxContext, treatment: _Treatment) -> list[Part]:
        if treatment.fixed is not None:
            return [Part(i, line.amount, treatment.fixed) for i, line in enumerate(lines)]
        goods: list[Part] = []
        for i, line in enumerate(lines):
            if not line.is_shipping:
                kind = self._kind(i, line, treatment.country)
                goods.append(Part(i, line.amount, self._key(treatment, kind, ctx.tax_date, f"lines[{i}].tax_class")))
        parts = list(goods)
        for i, line in enumerate(lines):
            if line.is_shipping:
                standard = self._key(treatment, "standard", ctx.tax_date, f"lines[{i}].tax_class")
                parts += follow_goods(i, line.amount, goods, standard)
        if any(p.key.category is Category.EXEMPT for p in parts):
            treatment.notes.append(TaxNote(NOTE_EXEMPT_SUPPLY, "Exempt from VAT"))
        return parts

    def _kind(self, index: int, line: TaxLineInput, country: str) -> str:
        per_country = self.policy.tax_classes.get(line.tax_class)
        kind = None if per_country is None else per_country.get(country, per_country.get("*"))
        if kind is None:
            raise TaxError(f"lines[{index}].tax_class", f"'{line.tax_class}' is not a VAT tax class for {country}")
        return kind

    @staticmethod
    def _key(treatment: _Treatment, kind: str, day: date, field_name: str) -> TaxKey:
        country, territory = treatment.country, treatment.territory
        if kind == "zero":
            return TaxKey("VAT 0%", ZERO, Category.ZERO, country)
        if kind == "exempt":
            return TaxKey("VAT exempt", ZERO, Category.EXEMPT, country)
        if territory is not None:
            if kind != "standard":
                raise TaxError(field_name, f"Ordino's tables hold only the standard VAT rate of {territory.name}")
            return _vat_key(country, territory.standard, territory)
        period = vat_period(country, day)
        if period is None:
            raise TaxError("tax_date", f"no VAT rates of {country} are known for {day}")
        rate = period.rates.get(kind)
        if rate is None:
            # Goods the country does not tax at a lower rate are taxed at its standard rate
            # (Article 96 of Directive 2006/112/EC; the reduced rates of Article 98 are optional).
            rate = period.rates["standard"]
            missing = kind.replace("_", " ")
            text = f"{country} has no {missing} VAT rate: its standard rate {percent_text(rate)}% applies"
            treatment.notes.append(TaxNote(NOTE_STANDARD_RATE, text))
        return _vat_key(country, rate)
