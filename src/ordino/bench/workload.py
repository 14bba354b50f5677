"""The intake workload: 5-line orders in the shape of DESIGN §6, priced and taxed by the sender
("pricing": "order", as a marketplace or web shop that computes its own VAT sends them) or by the
price books, promotions and tax engine ("pricing": "catalog").

Both load generators (HTTP and raw SQL) draw their orders from here, so that both place the same
kind of order: a random account, 5 distinct random products, random quantities (and prices and
their tax lines, sent with order pricing only), a shipping charge, a card payment, and a unique
external reference.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import orjson

from ordino.bench.seed import World

LINES = 5
SHIPPING_CHARGE = "12.50"
ORDERED_AT = "2026-11-26T10:00:00Z"
SHIP_TO: dict[str, Any] = {
    "name": "Receiving dock 3",
    "line1": "Invalidenstraße 1",
    "city": "Berlin",
    "postal_code": "10115",
    "country": "DE",
    "region": None,
}
PAYMENTS: list[dict[str, Any]] = [{"method": "card", "gateway": "simulator", "token": "tok_visa"}]
# The tax line a sender that taxes itself puts on every line and on the shipping charge: German
# VAT at the standard rate, 19 % of the line's amount rounded half up to the cent.
VAT_NAME, VAT_RATE, VAT_JURISDICTION, VAT_CATEGORY = "VAT 19%", Decimal("0.19"), "DE", "S"
_CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class Line:
    sku: str
    quantity: int
    unit_price: str  # decimal string, up to 4 places


@dataclass(frozen=True, slots=True)
class OrderSpec:
    external_reference: str
    account: str
    lines: tuple[Line, ...]
    pricing: str = "order"

    def _line(self, line: Line) -> dict[str, Any]:
        if self.pricing == "catalog":
            return {"sku": line.sku, "quantity": line.quantity}
        return {"sku": line.sku, "quantity": line.quantity, "unit_price": line.unit_price,
                "tax_lines": [tax_line(line_amount_cents(line))]}

    def payload(self, channel: str) -> dict[str, Any]:
        if self.pricing == "catalog":
            tax: dict[str, Any] = {"tax": "calculate"}
            shipping_tax: dict[str, Any] = {}
        else:
            tax, shipping_tax = {"tax": "given"}, {"shipping_tax_lines": [tax_line(SHIPPING_CHARGE_CENTS)]}
        return {
            "channel": channel,
            "external_reference": self.external_reference,
            "account": self.account,
            "currency": "EUR",
            "po_number": f"PO-{self.external_reference}",
            "ordered_at": ORDERED_AT,
            "pricing": self.pricing,
            "prices_include_tax": False,
            **tax,
            "delivery_groups": [
                {
                    "ship_to": SHIP_TO,
                    "delivery_method": "standard",
                    "shipping_charge": SHIPPING_CHARGE,
                    **shipping_tax,
                    "lines": [self._line(ln) for ln in self.lines],
                }
            ],
            "payments": PAYMENTS,
        }

    def body(self, channel: str) -> bytes:
        return orjson.dumps(self.payload(channel))


def line_amount_cents(line: Line) -> int:
    """unit price × quantity, rounded half up to the cent (what Ordino computes for EUR)."""
    return int((Decimal(line.unit_price) * line.quantity).quantize(_CENT, ROUND_HALF_UP) * 100)


SHIPPING_CHARGE_CENTS = int(Decimal(SHIPPING_CHARGE) * 100)


def vat_cents(amount_cents: int) -> int:
    """The sender's VAT of an amount: 19 %, rounded half up to the cent."""
    return int((Decimal(amount_cents) * VAT_RATE).quantize(Decimal(1), ROUND_HALF_UP))


def tax_line(amount_cents: int) -> dict[str, str]:
    """The tax line the sender puts on an amount (in cents)."""
    vat = vat_cents(amount_cents)
    return {"name": VAT_NAME, "amount": f"{vat // 100}.{vat % 100:02d}", "rate": str(VAT_RATE),
            "jurisdiction": VAT_JURISDICTION, "category": VAT_CATEGORY}


class OrderSource:
    """Random orders with references `<prefix>-<n>`; one source per client (not thread-safe)."""

    def __init__(self, world: World, prefix: str, seed: int) -> None:
        self.world = world
        self.prefix = prefix
        self.rng = random.Random(seed)

    def make(self, n: int) -> OrderSpec:
        rng = self.rng
        lines = tuple(
            Line(sku, rng.randint(1, 100), f"{rng.randint(10, 99_999) / 100:.2f}")
            for sku in rng.sample(self.world.skus, LINES)
        )
        return OrderSpec(f"{self.prefix}-{n:07d}", rng.choice(self.world.accounts), lines, self.world.pricing)
