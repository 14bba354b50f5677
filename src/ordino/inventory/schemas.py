"""Payloads of the inventory API: location groups, stock records, availability, reservations.

SKUs and location codes in payloads are references: an unknown one is a per-record error in a
stock update and a 422 naming it elsewhere. Quantities are JSON integers (strict: no strings,
no floats); dates are ISO 8601.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from ordino.catalog.schemas import Immutable, NotNull
from ordino.inventory.domain import MAX_QUANTITY
from ordino.kernel.schema import AwareDatetime, Code, Name, Quantity, Strict

SkuRef = Annotated[str, StringConstraints(min_length=1, max_length=64)]
LocationRef = Annotated[str, StringConstraints(min_length=1, max_length=40)]
# Opaque references of other capabilities (an order item id, a cart id); they appear in URLs.
Reference = Annotated[
    str, StringConstraints(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:\-]*$")
]
Change = Annotated[int, Field(strict=True, ge=-MAX_QUANTITY, le=MAX_QUANTITY)]
Mode = Literal["absolute", "delta"]

MAX_RECORDS = 10_000
MAX_FUTURES = 100
MAX_SKUS = 10_000
MAX_LOCATIONS = 1_000
MAX_GROUPS = 200
MAX_CELLS = 2_000_000  # skus × (locations + groups) in one availability call
MAX_LINES = 1_000
MAX_HOLD_SECONDS = 30 * 24 * 3600


# ------------------------------------------------------------------------------------------------
# Location groups


class LocationGroupIn(Strict):
    code: Code
    name: Name
    locations: list[LocationRef] = Field(default_factory=list, max_length=MAX_LOCATIONS)


class LocationGroupPatch(Strict):
    code: Immutable = None
    name: NotNull[Name] = None
    locations: NotNull[Annotated[list[LocationRef], Field(max_length=MAX_LOCATIONS)]] = None


# ------------------------------------------------------------------------------------------------
# Stock records


class FutureIn(Strict):
    quantity: Quantity
    expected_on: date


class StockRecordIn(Strict):
    record_id: uuid.UUID
    sku: SkuRef
    location: LocationRef
    on_hand: Change | None = None
    safety_stock: Change | None = None
    futures: Annotated[list[FutureIn], Field(max_length=MAX_FUTURES)] | None = None


class InventoryUpdateIn(Strict):
    mode: Mode
    records: Annotated[list[StockRecordIn], Field(min_length=1, max_length=MAX_RECORDS)]


class ImportRecordIn(Strict):
    """One line of an NDJSON import: a stock record; `record_id` and `mode` are optional."""

    record_id: uuid.UUID | None = None
    mode: Mode | None = None
    sku: SkuRef
    location: LocationRef
    on_hand: Change | None = None
    safety_stock: Change | None = None
    futures: Annotated[list[FutureIn], Field(max_length=MAX_FUTURES)] | None = None


# ------------------------------------------------------------------------------------------------
# Availability


class AvailabilityIn(Strict):
    skus: Annotated[list[SkuRef], Field(min_length=1, max_length=MAX_SKUS)]
    locations: Annotated[list[LocationRef], Field(max_length=MAX_LOCATIONS)] = Field(default_factory=list)
    location_groups: Annotated[list[LocationRef], Field(max_length=MAX_GROUPS)] = Field(default_factory=list)


# ------------------------------------------------------------------------------------------------
# Reservations


class ReservationLineIn(Strict):
    sku: SkuRef
    location: LocationRef
    quantity: Quantity


class ReserveIn(Strict):
    reference: Reference
    lines: Annotated[list[ReservationLineIn], Field(min_length=1, max_length=MAX_LINES)]
    expires_in_seconds: Annotated[int, Field(strict=True, ge=1, le=MAX_HOLD_SECONDS)] | None = None
    expires_at: AwareDatetime | None = None


class ReleaseIn(Strict):
    sku: SkuRef | None = None
    location: LocationRef | None = None
    quantity: Quantity | None = None


class TransferIn(Strict):
    reservation_id: uuid.UUID | None = None
    sku: SkuRef | None = None
    from_location: LocationRef | None = None
    to_location: LocationRef
    quantity: Quantity


class FulfilIn(Strict):
    lines: Annotated[list[ReservationLineIn], Field(min_length=1, max_length=MAX_LINES)]


class SourcingIn(Strict):
    mode: Literal["none", "location", "location_group"]
    target: Annotated[str, StringConstraints(min_length=1, max_length=40)] | None = None


# ------------------------------------------------------------------------------------------------
# Daily capacity

CapacityUnits = Annotated[int, Field(strict=True, ge=0, le=1_000_000_000)]


class DailyCapacityIn(Strict):
    """The location's capacity units per day; null: no limit."""

    units_per_day: CapacityUnits | None


class DayCapacityIn(Strict):
    """One day's capacity, overriding the location's; null: the location's again."""

    capacity: CapacityUnits | None


class CapacityUnitsIn(Strict):
    units: Quantity


class CapacityReleaseIn(Strict):
    units: Quantity
    confirmed: bool = False  # give back confirmed units (e.g. a cancelled shipment) instead of held ones
