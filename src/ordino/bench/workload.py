"""The intake workload: 5-line orders in the shape of DESIGN §6, priced by the sender
("pricing": "order") or by the price books, promotions and tax engine ("pricing": "catalog").

Both load generators (HTTP and raw SQL) draw their orders from here, so that both place the same
kind of order: a random account, 5 distinct random products, random quantities (and prices, sent
with order pricing only), a shipping charge, a card payment, and a unique external reference.
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
        return {"sku": line.sku, "quantity": line.quantity, "unit_price": line.unit_price}

    def payload(self, channel: str) -> dict[str, Any]:
        tax = {"tax": "calculate"} if self.pricing == "catalog" else {}
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
