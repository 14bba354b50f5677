"""Payloads of the fulfilment and routing endpoints."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, field_validator, model_validator

from ordino.kernel.schema import AwareDatetime, Code, Country, DecimalText, Out, Quantity, ShortText, Strict, UuidText
from ordino.orders.schemas import ShipToOut

MAX_PLAN_LINES = 10_000
LocationKind = Literal["warehouse", "store", "drop_ship", "digital"]
Reason = Annotated[str, StringConstraints(min_length=1, max_length=500)]
Sku = Annotated[str, StringConstraints(min_length=1, max_length=64)]


def _not_negative(value: Decimal) -> Decimal:
    if value < 0:
        raise ValueError("cannot be negative")
    return value


# ------------------------------------------------------------------------------------------------
# Routing policy


class LocationCostIn(Strict):
    per_unit: DecimalText = Decimal(0)
    per_shipment: DecimalText = Decimal(0)

    @field_validator("per_unit", "per_shipment")
    @classmethod
    def _costs(cls, value: Decimal) -> Decimal:
        return _not_negative(value)


class RoutingPolicyIn(Strict):
    """A channel's routing rules; every field has the default the router uses without a policy."""

    max_splits: Annotated[int, Field(strict=True, ge=1, le=100)] = 5
    allow_partial: bool = True
    excluded_locations: list[Code] = Field(default_factory=list, max_length=1000)
    excluded_kinds: list[LocationKind] = Field(default_factory=list, max_length=4)
    priorities: dict[Code, Annotated[int, Field(strict=True, ge=-1000, le=1000)]] = Field(default_factory=dict)
    location_costs: dict[Code, LocationCostIn] = Field(default_factory=dict)
    respect_capacity: bool = True
    prefer_overstock: bool = False
    distance: Literal["shipment", "unit"] = "shipment"
    distance_weight: DecimalText = Decimal(1)
    cost_weight: DecimalText = Decimal(0)
    priority_weight: DecimalText = Decimal(0)
    overstock_weight: DecimalText = Decimal(100)
    search_budget: Annotated[int, Field(strict=True, ge=1, le=1_000_000)] = 5_000
    max_routing_attempts: Annotated[int, Field(strict=True, ge=0, le=100)] = 3

    @field_validator("distance_weight", "cost_weight", "priority_weight", "overstock_weight")
    @classmethod
    def _weights(cls, value: Decimal) -> Decimal:
        return _not_negative(value)


# ------------------------------------------------------------------------------------------------
# Routing plans and runs


class PlanLineIn(Strict):
    sku: Sku
    quantity: Quantity


class ShipToIn(Strict):
    """Where the goods go: coordinates, or a postal code / city the project knows the place of."""

    country: Country | None = None
    postal_code: Annotated[str, StringConstraints(min_length=1, max_length=20)] | None = None
    city: ShortText | None = None
    latitude: DecimalText | None = None
    longitude: DecimalText | None = None

    @model_validator(mode="after")
    def _point(self) -> ShipToIn:
        if (self.latitude is None) != (self.longitude is None):
            raise ValueError("give both latitude and longitude, or neither")
        if self.latitude is not None and not Decimal(-90) <= self.latitude <= Decimal(90):
            raise ValueError("latitude must be within -90..90")
        if self.longitude is not None and not Decimal(-180) <= self.longitude <= Decimal(180):
            raise ValueError("longitude must be within -180..180")
        return self


class PlanIn(Strict):
    """Plan an order already placed (`order`), or ad-hoc `lines` to a `ship_to`."""

    order: Annotated[str, StringConstraints(min_length=1, max_length=40)] | None = None
    lines: list[PlanLineIn] | None = Field(default=None, min_length=1, max_length=MAX_PLAN_LINES)
    ship_to: ShipToIn | None = None
    channel: Code | None = None
    exclude_locations: list[Code] = Field(default_factory=list, max_length=1000)

    @model_validator(mode="after")
    def _one_subject(self) -> PlanIn:
        if (self.order is None) == (self.lines is None):
            raise ValueError("give either 'order' or 'lines'")
        if self.order is not None and (self.ship_to is not None or self.channel is not None):
            raise ValueError("an order brings its own ship-to and channel; send only 'order'")
        return self


class RouteIn(Strict):
    exclude_locations: list[Code] = Field(default_factory=list, max_length=1000)


# ------------------------------------------------------------------------------------------------
# Fulfilment order actions


class ActionIn(Strict):
    reason: Reason | None = None


class RejectIn(Strict):
    reason: Reason


class ShipItemIn(Strict):
    fulfillment_order_item_id: uuid.UUID | None = None
    sku: Sku | None = None
    quantity: Quantity

    @model_validator(mode="after")
    def _one_reference(self) -> ShipItemIn:
        if (self.fulfillment_order_item_id is None) == (self.sku is None):
            raise ValueError("name the item by fulfillment_order_item_id or by sku (one of them)")
        return self


class ShipIn(Strict):
    """A shipment. Without `items`, every unit still to ship goes."""

    carrier: Annotated[str, StringConstraints(min_length=1, max_length=60)]
    service: Annotated[str, StringConstraints(min_length=1, max_length=60)] | None = None
    tracking_numbers: list[Annotated[str, StringConstraints(min_length=1, max_length=100)]] = Field(
        default_factory=list, max_length=100
    )
    items: list[ShipItemIn] | None = Field(default=None, min_length=1, max_length=10_000)
    shipped_at: AwareDatetime | None = None


class DeliverIn(Strict):
    shipment_id: uuid.UUID | None = None
    delivered_at: AwareDatetime | None = None


# Answers (fulfillment.documents and the routing services emit them).

FulfillmentOrderStatus = Literal[
    "draft", "allocated", "assigned", "picked", "packed", "partially_shipped", "fulfilled", "cancelled", "rejected"
]
FulfillmentAction = Literal["assign", "pick", "pack", "ship", "deliver", "reject", "cancel"]


class OrderRefOut(Out):
    id: UuidText
    number: str


class FulfillmentOrderItemOut(Out):
    id: UuidText
    order_item_summary_id: UuidText
    line_number: int
    sku: str | None
    name: str
    quantity: int
    quantity_fulfilled: int
    quantity_canceled: int
    quantity_remaining: int


class ShipmentItemOut(Out):
    fulfillment_order_item_id: UuidText
    order_item_summary_id: UuidText
    sku: str | None
    quantity: int


class ShipmentOut(Out):
    id: UuidText
    number: str
    status: Literal["shipped", "delivered"]
    carrier: str | None
    service: str | None
    tracking_numbers: list[str]
    shipped_at: datetime
    delivered_at: datetime | None
    items: list[ShipmentItemOut]


class FulfillmentOrderOut(Out):
    id: UuidText
    number: str
    status: FulfillmentOrderStatus
    status_reason: str | None
    available_actions: list[FulfillmentAction]
    order: OrderRefOut
    delivery_group_id: UuidText
    delivery_method: str
    ship_to: ShipToOut
    location: str
    routing_decision_id: UuidText | None
    items: list[FulfillmentOrderItemOut]
    shipments: list[ShipmentOut]
    capacity_day: date | None
    version: int
    created_at: datetime
    updated_at: datetime
    rerouting: ReroutingOut | None = Field(default=None, description="after a rejection: how it was routed again")


class FulfillmentOrderRowOut(Out):
    id: UuidText
    number: str
    status: FulfillmentOrderStatus
    order: OrderRefOut
    delivery_group_id: UuidText
    location: str
    created_at: datetime
    updated_at: datetime


class PointOut(Out):
    latitude: float
    longitude: float


class AllocationOut(Out):
    location: str
    sku: str
    quantity: int


class UnroutableOut(Out):
    sku: str
    quantity: int
    reason: str


class PlanOut(Out):
    splits: int
    locations: list[str]
    allocations: list[AllocationOut]
    unroutable: list[UnroutableOut]
    total_distance_km: float
    average_distance_km: float
    total_cost: str
    optimal: bool
    reason: str | None


class PlannedGroupOut(Out):
    id: UuidText
    position: int
    ship_to_point: PointOut | None
    units: int
    plan: PlanOut | None


class PlannedOrderOut(OrderRefOut):
    status: str


class RoutingPlanOut(Out):
    """For an order: `order` and `delivery_groups`; for ad-hoc lines: `ship_to_point` and `plan`."""

    order: PlannedOrderOut | None = None
    delivery_groups: list[PlannedGroupOut] | None = None
    ship_to_point: PointOut | None = None
    plan: PlanOut | None = None


class RoutedFulfillmentOrderOut(Out):
    id: UuidText
    number: str
    location: str
    lines: int
    units: int


class RoutingOutcomeOut(Out):
    delivery_group_id: UuidText
    decision_id: UuidText | None
    attempt: int
    routed_units: int
    unroutable_units: int
    reason: str | None
    fulfillment_orders: list[RoutedFulfillmentOrderOut]
    process_exception_id: UuidText | None


class RoutedOrderOut(Out):
    order: OrderRefOut
    routings: list[RoutingOutcomeOut]


class RoutingDecisionOut(Out):
    id: UuidText
    order_id: UuidText
    delivery_group_id: UuidText
    attempt: int
    trigger: Literal["order_created", "rejection", "manual", "stock_arrived"]
    excluded_locations: list[str]
    ship_to_point: PointOut | None
    routed_units: int
    unroutable_units: int
    optimal: bool | None
    reason: str | None
    plan: PlanOut | None
    actor: str | None
    created_at: datetime


class RoutingDecisionsOut(Out):
    order: OrderRefOut
    items: list[RoutingDecisionOut]


class LocationCostOut(Out):
    per_unit: str
    per_shipment: str


class RoutingPolicyOut(Out):
    channel: str
    stored: bool
    version: int | None
    max_splits: int
    allow_partial: bool
    excluded_locations: list[str]
    excluded_kinds: list[LocationKind]
    priorities: dict[str, int]
    location_costs: dict[str, LocationCostOut]
    respect_capacity: bool
    prefer_overstock: bool
    distance: Literal["shipment", "unit"]
    distance_weight: str
    cost_weight: str
    priority_weight: str
    overstock_weight: str
    search_budget: int
    max_routing_attempts: int


class ReroutingOut(Out):
    routing_attempts: int
    max_routing_attempts: int
    routing: RoutingOutcomeOut | None
    process_exception_id: UuidText | None
