"""Payloads of the inventory API: location groups, stock records, availability, reservations.

SKUs and location codes in payloads are references: an unknown one is a per-record error in a
stock update and a 422 naming it elsewhere. Quantities are JSON integers (strict: no strings,
no floats); dates are ISO 8601.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from ordino.catalog.schemas import Immutable, NotNull
from ordino.inventory.domain import MAX_QUANTITY
from ordino.kernel.schema import AwareDatetime, Code, Name, Out, Quantity, Strict, UuidText

SkuRef = Annotated[str, StringConstraints(min_length=1, max_length=64)]
LocationRef = Annotated[str, StringConstraints(min_length=1, max_length=40)]
# Opaque references of other capabilities (an order item id, a cart id); they appear in URLs.
Reference = Annotated[
    str, StringConstraints(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:\-]*$")
]
Change = Annotated[int, Field(strict=True, ge=-MAX_QUANTITY, le=MAX_QUANTITY)]
Mode = Literal["absolute", "delta"]
SourcingMode = Literal["none", "location", "location_group"]

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
    mode: SourcingMode
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


# Answers (inventory's services emit them).

ReservationStatus = Literal["active", "fulfilled", "released", "expired", "transferred"]


class LocationGroupOut(Out):
    id: UuidText
    code: str
    name: str
    locations: list[str] = Field(description="the codes of the member locations")
    version: int
    created_at: datetime
    updated_at: datetime


class PositionOut(Out):
    on_hand: int
    reserved: int
    safety_stock: int
    backordered: int
    futures_total: int
    available_to_fulfill: int
    available_to_order: int


class RecordErrorOut(Out):
    field: str
    message: str


class RecordOutcomeOut(Out):
    record_id: str | None
    sku: str
    location: str
    status: Literal["applied", "duplicate", "error"]
    position: PositionOut | None = None
    errors: list[RecordErrorOut] | None = None


class InventoryUpdateOut(Out):
    mode: Mode
    applied: int
    duplicates: int
    errors: int
    records: list[RecordOutcomeOut]


class InventoryImportOut(Out):
    id: UuidText
    format: Literal["csv", "ndjson"]
    mode: Mode
    status: Literal["running", "completed", "failed"]
    rows_total: int
    rows_applied: int
    rows_duplicate: int
    rows_failed: int
    error: str | None
    created_by: str | None
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None


class ImportErrorOut(Out):
    row: int
    field: str
    message: str


class FutureOut(Out):
    quantity: int
    expected_on: date


class AvailabilityRowOut(PositionOut):
    sku: str
    location: str | None = None
    location_group: str | None = None
    futures: list[FutureOut]


class AvailabilityOut(Out):
    locations: list[AvailabilityRowOut]
    location_groups: list[AvailabilityRowOut]


class ReservationOut(Out):
    id: UuidText
    reference: str
    sku: str
    location: str
    status: ReservationStatus
    quantity: int
    open_quantity: int
    backordered_quantity: int
    fulfilled_quantity: int
    released_quantity: int
    transferred_quantity: int
    backordered: bool
    expires_at: datetime | None
    transferred_from_id: UuidText | None
    created_at: datetime
    updated_at: datetime


class ReservationsOut(Out):
    reference: str
    reservations: list[ReservationOut]


class TakeOut(Out):
    reservation_id: UuidText
    sku: str
    location: str
    quantity: int
    backordered_quantity: int


class ReleasedOut(ReservationsOut):
    released: list[TakeOut]


class TransferredOut(ReservationsOut):
    transferred: list[TakeOut]
    to_location: str


class FulfilledOut(ReservationsOut):
    fulfilled: list[TakeOut]


class SourcingOut(Out):
    channel: str
    mode: SourcingMode
    target: str | None


class DailyCapacityOut(Out):
    location: str
    units_per_day: int | None = Field(description="null: no limit")


class DayCapacityOut(Out):
    location: str
    day: date
    capacity: int | None = Field(description="the day's limit; null: no limit")
    held: int
    confirmed: int
    remaining: int | None = Field(description="null: no limit")
