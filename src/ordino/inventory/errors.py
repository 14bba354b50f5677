"""The inventory engine's refusals (RFC 9457 problem types)."""

from __future__ import annotations

from ordino.kernel.errors import Conflict


class OutOfStock(Conflict):
    """Not enough stock to reserve what was asked; `unavailable` lists each SKU's shortfall."""

    slug = "out-of-stock"
    title = "Out of stock"


class InsufficientReservation(Conflict):
    """A release, transfer or fulfilment asks for more units than the reference holds."""

    slug = "insufficient-reservation"


class InsufficientStock(Conflict):
    """A shipment takes more units than are on hand at the location; count the stock first."""

    slug = "insufficient-stock"


class CapacityExhausted(Conflict):
    """A location's capacity for the day cannot hold the units asked for."""

    slug = "capacity-exhausted"


class CapacityNotHeld(Conflict):
    """Confirming or releasing more capacity units than are held."""

    slug = "capacity-not-held"
