"""US sales tax on deliveries within the United States.

Sourcing is by destination: the ship-to state, city and county decide the rate; origin-sourced
intrastate sales (e.g. within Texas) are taxed at destination too, a simplification.

- California: the CDTFA rate of the ship-to city; for a place that is not an incorporated city, the
  rate of its county's unincorporated area, the county being the address's or, without one, the
  county of its ZIP code (`rates_us.zip_county`, GeoNames); else the statewide 7.25 %. Each
  fallback with a note.
- Other states with local jurisdictions in the tables (cities of New York and Texas, New York
  City's five counties): their combined rate, by city name, else by county (given or from the ZIP).
- Elsewhere the statewide base rate; where local taxes exist that the tables do not hold, a note
  says so (a deployment that needs them plugs in a `TaxProvider`, see `tax.provider`).

Rounding is per line by default (the usual US practice).

Not taxed, with a 0 % tax line saying why: states without sales tax (O), states where the seller has
no nexus when the policy lists nexus states (O), exempt goods (E), goods under a valid exemption
certificate covering the state (E), and shipping where the state does not tax separately stated
delivery charges (E). Taxable shipping follows the goods: the share carrying exempt goods is exempt.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from ordino.kernel.money import parse_amount
from ordino.tax.computation import ROUNDING_RULES, Part, TaxKey, compute, follow_goods, round_fraction, validate
from ordino.tax.domain import (
    NOTE_CERTIFICATE_EXPIRED,
    NOTE_CERTIFICATE_NOT_COVERING,
    NOTE_CITY_NOT_FOUND,
    NOTE_EXEMPTION_CERTIFICATE,
    NOTE_LOCAL_TAXES_NOT_INCLUDED,
    NOTE_NO_NEXUS,
    NOTE_NO_SALES_TAX,
    NOTE_SHIPPING_NOT_TAXABLE,
    Category,
    RoundingMode,
    TaxClass,
    TaxContext,
    TaxLineInput,
    TaxNote,
    TaxResult,
    percent_text,
)
from ordino.tax.errors import TaxError
from ordino.tax.rates_us import (
    US_TABLES_EFFECTIVE,
    ClothingRule,
    StateRate,
    ca_city,
    ca_county,
    clothing_rules,
    local_city,
    local_county,
    shipping_rules,
    state_rates,
    zip_county,
)

ZERO = Decimal(0)
GENERAL_CLASSES = frozenset(
    {TaxClass.STANDARD, TaxClass.REDUCED, TaxClass.REDUCED_ALT, TaxClass.SUPER_REDUCED, TaxClass.PARKING}
)
EXEMPT_CLASSES = frozenset({TaxClass.EXEMPT, TaxClass.ZERO})


@dataclass(frozen=True, slots=True)
class UsSalesTaxPolicy:
    nexus_states: frozenset[str] | None = None  # None: collect in every state
    default_rounding: RoundingMode = RoundingMode.PER_LINE
    rounding_rule: str = ROUND_HALF_UP

    def __post_init__(self) -> None:
        if self.rounding_rule not in ROUNDING_RULES:
            raise ValueError(f"unsupported rounding rule {self.rounding_rule}")


@dataclass(frozen=True, slots=True)
class _Keys:
    taxed: TaxKey
    exempt: TaxKey


class UsSalesTaxCalculator:
    def __init__(self, policy: UsSalesTaxPolicy | None = None) -> None:
        self.policy = policy or UsSalesTaxPolicy()

    @staticmethod
    def handles(context: TaxContext) -> bool:
        return context.origin.country == "US" and context.ship_to.country == "US"

    def calculate(self, lines: Sequence[TaxLineInput], context: TaxContext) -> TaxResult:
        validate(lines, context)
        if context.ship_to.country != "US":
            raise TaxError("ship_to.country", "US sales tax applies to deliveries within the United States")
        state = self._state(context)
        if context.tax_date < US_TABLES_EFFECTIVE:
            raise TaxError("tax_date", f"Ordino's US sales tax tables start on {US_TABLES_EFFECTIVE}")
        jurisdiction = f"US-{state.state}"
        notes: list[TaxNote] = []
        nexus = self.policy.nexus_states
        if nexus is not None and state.state not in nexus:
            text = f"No sales tax collected: the seller has no nexus in {state.state}"
            key = TaxKey("No sales tax (no nexus)", ZERO, Category.OUTSIDE_SCOPE, jurisdiction)
            return self._all(lines, context, key, [TaxNote(NOTE_NO_NEXUS, text)])
        if not state.rate:
            text = f"{state.name} has no statewide sales tax"
            if state.local_taxes:
                text += "; local sales taxes are not in Ordino's tables"
            key = TaxKey("No sales tax", ZERO, Category.OUTSIDE_SCOPE, jurisdiction)
            return self._all(lines, context, key, [TaxNote(NOTE_NO_SALES_TAX, text)])
        cert = context.exemption_certificate
        if cert is not None:
            if not cert.covers("US", state.state):
                text = f"Exemption certificate {cert.number} does not cover {state.state}: sales tax charged"
                notes.append(TaxNote(NOTE_CERTIFICATE_NOT_COVERING, text))
            elif not cert.valid_on(context.tax_date):
                text = f"Exemption certificate {cert.number} expired on {cert.expires_on}: sales tax charged"
                notes.append(TaxNote(NOTE_CERTIFICATE_EXPIRED, text))
            else:
                text = f"Exempt from sales tax under exemption certificate {cert.number} ({state.state})"
                key = TaxKey("Sales tax exempt (certificate)", ZERO, Category.EXEMPT, jurisdiction)
                return self._all(lines, context, key, [TaxNote(NOTE_EXEMPTION_CERTIFICATE, text)])
        rate, where = self._rate(context, state, notes)
        keys = _Keys(
            TaxKey(f"{state.state} sales tax {percent_text(rate)}%", rate, Category.STANDARD, where),
            TaxKey("Sales tax exempt", ZERO, Category.EXEMPT, jurisdiction),
        )
        goods: list[Part] = []
        for i, line in enumerate(lines):
            if not line.is_shipping:
                goods += self._goods(i, line, state.state, keys, context.currency)
        parts = list(goods)
        rule = shipping_rules()[state.state]
        for i, line in enumerate(lines):
            if not line.is_shipping:
                continue
            if rule.taxable:
                parts += follow_goods(i, line.amount, goods, keys.taxed)
            else:
                key = TaxKey("Shipping not taxable", ZERO, Category.EXEMPT, jurisdiction)
                parts.append(Part(i, line.amount, key))
                text = f"Shipping is not taxable in {state.state} ({rule.condition})"
                notes.append(TaxNote(NOTE_SHIPPING_NOT_TAXABLE, text))
        return self._compute(lines, context, parts, notes)

    # --- where -----------------------------------------------------------------------------------

    @staticmethod
    def _state(context: TaxContext) -> StateRate:
        region = (context.ship_to.region or "").strip().upper().removeprefix("US-")
        if not region:
            raise TaxError("ship_to.region", "a US address needs its state to compute sales tax")
        state = state_rates().get(region)
        if state is None:
            raise TaxError("ship_to.region", f"'{context.ship_to.region}' is not a US state in Ordino's tables")
        return state

    @staticmethod
    def _rate(context: TaxContext, state: StateRate, notes: list[TaxNote]) -> tuple[Decimal, str]:
        """The combined rate at the destination and its jurisdiction."""
        base = f"statewide base rate {percent_text(state.rate)}%"
        ship_to = context.ship_to
        city_name = (ship_to.city or "").strip()
        counties = _counties(state.state, ship_to.county, ship_to.postal_code)
        if state.state == "CA":
            return _california(city_name, counties, state, notes)
        local = local_city(state.state, city_name) if city_name else None
        for county_name, _ in counties:
            local = local or local_county(state.state, county_name)
        if local is not None:
            return local.rate, f"US-{state.state} {local.location}"
        if state.local_taxes:
            text = f"Local sales taxes of {state.state} are not in Ordino's tables: the {base} applies"
            notes.append(TaxNote(NOTE_LOCAL_TAXES_NOT_INCLUDED, text))
        return state.rate, f"US-{state.state}"

    # --- what ------------------------------------------------------------------------------------

    def _goods(self, index: int, line: TaxLineInput, state: str, keys: _Keys, currency: str) -> list[Part]:
        if line.tax_class in GENERAL_CLASSES:
            return [Part(index, line.amount, keys.taxed)]
        if line.tax_class in EXEMPT_CLASSES:
            return [Part(index, line.amount, keys.exempt)]
        if line.tax_class != TaxClass.CLOTHING:
            raise TaxError(f"lines[{index}].tax_class", f"'{line.tax_class}' is not a US sales tax class")
        rule = clothing_rules().get(state)
        if rule is None:
            return [Part(index, line.amount, keys.taxed)]
        taxable = self._clothing_taxable(index, line, rule, currency)
        parts = [Part(index, taxable, keys.taxed), Part(index, line.amount - taxable, keys.exempt)]
        return [p for p in parts if p.base] or [Part(index, line.amount, keys.exempt)]

    @staticmethod
    def _clothing_taxable(index: int, line: TaxLineInput, rule: ClothingRule, currency: str) -> int:
        """The taxable part of a clothing line under a state's clothing exemption."""
        if rule.rule == "exempt" or rule.threshold is None:
            return 0
        if currency != "USD":
            raise TaxError("currency", f"the clothing exemption of {rule.state} is defined in USD")
        threshold = parse_amount(rule.threshold, "USD")
        quantity = Fraction(Decimal(line.quantity))
        unit = Fraction(line.amount) / quantity
        if rule.rule == "exempt_below":
            return line.amount if unit >= threshold else 0
        if rule.rule == "excess_over":
            return max(0, line.amount - round_fraction(threshold * quantity))
        raise ValueError(f"unknown clothing rule {rule.rule} for {rule.state} (index {index})")

    # --- result ----------------------------------------------------------------------------------

    def _all(self, lines: Sequence[TaxLineInput], context: TaxContext, key: TaxKey, notes: list[TaxNote]) -> TaxResult:
        parts = [Part(i, line.amount, key) for i, line in enumerate(lines)]
        return self._compute(lines, context, parts, notes)

    def _compute(
        self, lines: Sequence[TaxLineInput], context: TaxContext, parts: list[Part], notes: list[TaxNote]
    ) -> TaxResult:
        return compute(
            lines, context, parts, regime="us_sales_tax", default_rounding=self.policy.default_rounding,
            notes=notes, rounding_rule=self.policy.rounding_rule,
        )


def _counties(state: str, given: str | None, postal_code: str | None) -> list[tuple[str, str | None]]:
    """The county names to try, each with the ZIP code it was derived from (None: given)."""
    counties: list[tuple[str, str | None]] = []
    if given and given.strip():
        counties.append((given.strip(), None))
    derived = zip_county(state, postal_code)
    if derived is not None:
        counties.append((derived, (postal_code or "").strip()))
    return counties


def _california(
    city_name: str, counties: list[tuple[str, str | None]], state: StateRate, notes: list[TaxNote]
) -> tuple[Decimal, str]:
    """CDTFA's rate of the city, else of the county's unincorporated area (given or from the ZIP code)."""
    city = ca_city(city_name) if city_name else None
    if city is not None:
        return city.rate, f"US-CA {city.location}"
    for county_name, zip_code in counties:
        county = ca_county(county_name)
        if county is None:
            continue
        text = (f"City '{city_name}' is not an incorporated city in CDTFA's table: the rate of "
                f"{county.county} County's unincorporated area ({percent_text(county.rate)}%) applies")
        if zip_code is not None:
            text += f" (the county of ZIP code {zip_code})"
        notes.append(TaxNote(NOTE_CITY_NOT_FOUND, text))
        return county.rate, f"US-CA {county.location}"
    text = (f"City '{city_name}' is not in CDTFA's table and no known county was given: the statewide base rate "
            f"{percent_text(state.rate)}% applies; district taxes of the place may be due")
    notes.append(TaxNote(NOTE_CITY_NOT_FOUND, text))
    return state.rate, "US-CA"
