"""Demo orders: payloads in the shape of `POST /api/v1/orders`, drawn from one seeded generator.

Every draw comes from `rng` in a fixed sequence that does not depend on the date, so one seed
gives the same orders (accounts, lines, prices, taxes, totals) whenever it runs; only
`ordered_at` moves with the clock (the last 90 days before `now`).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from decimal import ROUND_CEILING, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from ordino.catalog.places import place
from ordino.demo.companies import COMPANIES, LOCATIONS, AddressSpec, CompanySpec
from ordino.demo.pricing import Taxable, TaxLine, document_taxes, shipping_charge, to_eur, unit_price
from ordino.demo.products import ProductSpec, families
from ordino.kernel.money import Money, format_minor, format_price
from ordino.orders.domain import line_amount

DAYS = 88  # order dates fall on the last DAYS days (and a day more when today's hour is still ahead)

FAMILY_WEIGHTS = {
    "hex_bolts": 24, "hex_nuts": 10, "washers": 10, "socket_screws": 10, "chipboard_screws": 6,
    "cable_ties": 8, "safety_gloves": 7, "drill_bits": 6, "anchors": 6, "adhesives": 4, "paper": 3,
    "packaging": 4, "labels": 3, "pallets": 1, "books": 1,
}
MIN_LINE_EUR = Decimal(15)
PACKS = (1, 1, 1, 2, 2, 2, 3, 3, 4, 5, 6, 8, 10, 12, 20)  # how many order multiples a line takes
REFERENCE_PREFIX = {"web": "WEB", "marketplace": "MKT", "pos": "POS", "edi": "EDI", "phone": "TEL"}


@dataclass(frozen=True, slots=True)
class DemoOrder:
    ordered_at: datetime
    payload: dict[str, Any]


@dataclass(slots=True)
class _Line:
    spec: ProductSpec
    quantity: int
    unit_price: Decimal
    amount: int  # minor units
    adjustment: int  # minor units, ≤ 0
    adjustment_name: str | None = None


def _pick(rng: random.Random, weights: dict[str, int]) -> str:
    keys = list(weights)
    return rng.choices(keys, weights=[weights[k] for k in keys])[0]


def _quantity(rng: random.Random, spec: ProductSpec) -> int:
    packs = rng.choice(PACKS)
    if spec.unit == "PAL" or spec.family == "books":
        packs = 1 + packs % 3
    # Nobody orders one box of M3 washers for 0.35 EUR: small parts come in at least MIN_LINE_EUR.
    least = (MIN_LINE_EUR / (spec.price_eur * spec.multiple)).to_integral_value(ROUND_CEILING)
    return max(spec.minimum, spec.multiple * max(packs, int(least)))


def _ordered_at(rng: random.Random, company: CompanySpec, channel: str, now: datetime) -> datetime:
    """Business hours in the buyer's time zone; EDI and phone orders only on working days."""
    working_days_only = channel in ("edi", "phone")
    back = rng.randrange(DAYS * 5 // 7 if working_days_only else DAYS)  # days (or working days) ago
    seconds = rng.randrange(7 * 3600, 18 * 3600)
    zone = ZoneInfo(place(company.place).timezone)
    day = now.astimezone(zone).date()
    while back or (working_days_only and day.weekday() >= 5):
        back -= 0 if working_days_only and day.weekday() >= 5 else 1
        day -= timedelta(days=1)
    local = datetime.combine(day, time(seconds // 3600, seconds // 60 % 60, seconds % 60), tzinfo=zone)
    while local > now or (working_days_only and local.weekday() >= 5):
        local -= timedelta(days=1)  # same wall-clock time, a day earlier
    return local.astimezone(UTC)


def _address(spec: AddressSpec, country: str, phone: str | None = None) -> dict[str, Any]:
    return {"name": spec.name, "line1": spec.line1, "city": spec.city, "postal_code": spec.postal_code,
            "region": spec.region, "country": country, "phone": phone}


def _store_address(code: str, company: CompanySpec) -> dict[str, Any]:
    loc = next(s for s in LOCATIONS if s.code == code)
    where = place(loc.place)
    return {"name": f"{company.name} (collect at {loc.name})", "line1": loc.line1, "city": where.city,
            "postal_code": where.postal_code, "region": None, "country": where.country, "phone": None}


def _lines(rng: random.Random, company: CompanySpec, count: int) -> list[_Line]:
    catalog = families()
    factor = Decimal(company.price_factor)
    chosen: list[_Line] = []
    seen: set[str] = set()
    while len(chosen) < count:
        spec = rng.choice(catalog[_pick(rng, FAMILY_WEIGHTS)])
        if spec.sku in seen:
            continue
        seen.add(spec.sku)
        quantity = _quantity(rng, spec)
        price = unit_price(spec.price_eur, factor, company.currency)
        amount = line_amount(price, quantity, company.currency)
        line = _Line(spec, quantity, price, amount, 0)
        roll = rng.random()
        if roll < 0.08 and quantity >= 10 * spec.multiple:
            _discount(line, "Volume discount", Decimal(5), company.currency)
        elif roll > 0.95:
            _discount(line, "Project discount", Decimal(10), company.currency)
        chosen.append(line)
    return chosen


def _discount(line: _Line, name: str, percent: Decimal, currency: str) -> None:
    minor = Money(line.amount, currency).times(percent / 100).minor
    if minor:
        line.adjustment, line.adjustment_name = -minor, f"{name} {percent}%"


def _groups(rng: random.Random, company: CompanySpec, channel: str) -> list[tuple[dict[str, Any], str]]:
    """(ship-to, delivery method) of each delivery group."""
    phone = company.contacts[-1].phone
    if channel == "pos" and company.store:
        return [(_store_address(company.store, company), "pickup")]
    count = rng.choices((1, 2, 3), weights=(70, 22, 8))[0]
    sites = company.shipping
    out = []
    for g in range(count):
        site = sites[g % len(sites)]
        method = "express" if g >= len(sites) or rng.random() < 0.1 else "standard"
        out.append((_address(site, company.country, phone), method))
    return out


def _order(rng: random.Random, company: CompanySpec, channel: str, reference: str) -> dict[str, Any]:
    currency = company.currency
    groups_in: list[dict[str, Any]] = []
    taxables: list[Taxable] = []
    shipped: list[tuple[dict[str, Any], list[_Line], Money]] = []
    for ship_to, method in _groups(rng, company, channel):
        lines = _lines(rng, company, rng.choices(range(1, 9), weights=(20, 20, 16, 12, 10, 8, 7, 7))[0])
        weight = sum((ln.spec.weight_kg * ln.quantity for ln in lines), Decimal(0))
        net = Money(sum(ln.amount + ln.adjustment for ln in lines), currency)
        if method != "pickup" and (weight > 300 or any(ln.spec.unit == "PAL" for ln in lines)):
            method = "freight"
        charge = shipping_charge(method, weight, to_eur(net), currency)
        shipped.append(({"ship_to": ship_to, "delivery_method": method}, lines, charge))
        postal = ship_to["postal_code"]
        taxables += [Taxable(ln.amount + ln.adjustment, ln.spec.tax_class, postal) for ln in lines]
        if charge.minor:
            taxables.append(Taxable(charge.minor, "shipping", postal))
    taxes = iter(document_taxes(company.country, currency, taxables))
    for group, lines, charge in shipped:
        payload_lines = []
        for ln in lines:
            tax_lines: list[TaxLine] = next(taxes)
            payload_lines.append({
                "sku": ln.spec.sku, "quantity": ln.quantity, "unit_price": format_price(ln.unit_price, currency),
                "adjustments": [{"name": ln.adjustment_name, "amount": format_minor(ln.adjustment, currency)}]
                if ln.adjustment else [],
                "tax_lines": [t.payload() for t in tax_lines],
            })
        shipping_taxes = [t.payload() for t in next(taxes)] if charge.minor else []
        groups_in.append({**group, "shipping_charge": format_minor(charge.minor, currency),
                          "shipping_tax_lines": shipping_taxes, "lines": payload_lines})
    return {
        "channel": channel, "external_reference": reference, "account": company.number, "currency": currency,
        "po_number": _po_number(rng, company, channel), "pricing": "order", "prices_include_tax": False,
        "bill_to": _address(company.billing, company.country) | {"email": f"invoices@{company.domain}"},
        "delivery_groups": groups_in, "payments": [_payment(rng, company, channel)],
    }


def _po_number(rng: random.Random, company: CompanySpec, channel: str) -> str | None:
    if channel == "pos":
        return None
    if company.channels.get("edi"):
        return f"45{rng.randrange(10**8):08d}"  # SAP-style purchase order numbers
    return None if rng.random() < 0.2 else f"PO-{rng.randrange(10000, 100000)}"


def _payment(rng: random.Random, company: CompanySpec, channel: str) -> dict[str, Any]:
    card = rng.randrange(100) < (50 if channel == "pos" else company.card_share)
    if channel in ("web", "marketplace", "pos") and card:
        return {"method": "card", "gateway": "simulator", "token": "tok_visa", "card_brand": "visa",
                "card_last4": "4242"}
    return {"method": "invoice", "terms": company.terms}


def generate(rng: random.Random, count: int, now: datetime) -> list[DemoOrder]:
    """`count` orders in the order they were drawn (external references count up per channel)."""
    counters = dict.fromkeys(REFERENCE_PREFIX, 100000)
    weights = [c.weight for c in COMPANIES]
    out = []
    for _ in range(count):
        company = rng.choices(COMPANIES, weights=weights)[0]
        channel = _pick(rng, company.channels)
        counters[channel] += 1
        reference = f"{REFERENCE_PREFIX[channel]}-{counters[channel]}"
        ordered_at = _ordered_at(rng, company, channel, now)
        payload = _order(rng, company, channel, reference)
        payload["ordered_at"] = ordered_at.isoformat().replace("+00:00", "Z")
        out.append(DemoOrder(ordered_at, payload))
    return out
