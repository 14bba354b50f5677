"""Fulfilment endpoints: fulfilment orders and their actions, routing plans, routing runs and
decisions, channel routing policies. Thin: validate, run the use case in one transaction."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Header, Query, Request
from pydantic import BaseModel
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from ordino.fulfillment import service
from ordino.fulfillment.domain import FO_STATUSES
from ordino.fulfillment.schemas import (
    ActionIn,
    DeliverIn,
    FulfillmentOrderOut,
    FulfillmentOrderRowOut,
    PlanIn,
    RejectIn,
    RoutedOrderOut,
    RouteIn,
    RoutingDecisionsOut,
    RoutingPlanOut,
    RoutingPolicyIn,
    RoutingPolicyOut,
    ShipIn,
)
from ordino.kernel.auth import Principal, Role, database, require
from ordino.kernel.endpoint import body_schema, parse_body, read, run_command
from ordino.kernel.http import dumps, etag, json_response
from ordino.kernel.openapi import documented, one_of
from ordino.kernel.schema import Page

router = APIRouter(prefix="/api/v1", tags=["fulfillment"])

Fulfiller = Annotated[Principal, Depends(require(Role.ADMIN, Role.AGENT, Role.FULFILLMENT))]
Planner = Annotated[Principal, Depends(require(Role.ADMIN, Role.AGENT, Role.FULFILLMENT, Role.INTEGRATION))]
Admin = Annotated[Principal, Depends(require(Role.ADMIN))]
Limit = Annotated[int, Query(ge=1, le=200)]
M = TypeVar("M", bound=BaseModel)
Doc = dict[str, Any]
FO_PROBLEMS = {404: "The fulfillment order is not known", 409: "The status does not allow the action"}


def _optional(model: type[M], body: bytes) -> M:
    return parse_body(model, body) if body.strip() else model()


async def _command(request: Request, principal: Principal, use_case: Callable[[Session], Doc]) -> Response:
    body = await request.body()

    def work(session: Session) -> tuple[int, bytes]:
        return 200, dumps(use_case(session))

    return await run_command(request, principal, work, body)


# ------------------------------------------------------------------------------------------------
# Fulfilment orders


@router.get(
    "/fulfillment-orders", summary="List fulfillment orders, newest first", tags=["fulfillment orders"],
    responses=documented(Page[FulfillmentOrderRowOut]),
)
async def list_fulfillment_orders(
    request: Request,
    principal: Fulfiller,
    location: str | None = None,
    status: Annotated[str | None, one_of(FO_STATUSES)] = None,
    order: Annotated[str | None, Query(description="An order id or number")] = None,
    limit: Limit = 50,
    cursor: str | None = None,
) -> Response:
    f = service.FulfillmentOrderFilter(location, status, order)
    return json_response(await read(request, lambda s: service.list_fulfillment_orders(s, principal, f, limit, cursor)))


@router.get("/fulfillment-orders/{ref}", summary="Get a fulfillment order by id or number",
            tags=["fulfillment orders"],
    responses=documented(FulfillmentOrderOut, problems=(404,)),
)
async def get_fulfillment_order(ref: str, request: Request, principal: Fulfiller) -> Response:
    return json_response(await read(request, lambda s: service.fulfillment_order_doc(s, ref, principal)))


def _advance(action: str) -> Any:
    async def endpoint(ref: str, request: Request, principal: Fulfiller) -> Response:
        data = _optional(ActionIn, await request.body())
        return await _command(request, principal, lambda s: service.advance(s, ref, action, principal, data.reason))

    endpoint.__name__ = f"{action}_fulfillment_order"
    return endpoint


for _action, _summary in (("assign", "Assign a fulfillment order to its location's staff"),
                          ("pick", "Report a fulfillment order picked"),
                          ("pack", "Report a fulfillment order packed")):
    router.add_api_route(
        f"/fulfillment-orders/{{ref}}/{_action}", _advance(_action), methods=["POST"], summary=_summary,
        tags=["fulfillment orders"], openapi_extra=body_schema(ActionIn),
        responses=documented(FulfillmentOrderOut, problems=FO_PROBLEMS),
    )


@router.post(
    "/fulfillment-orders/{ref}/ship", summary="Ship all or part of a fulfillment order", tags=["fulfillment orders"],
    description=(
        "Creates a shipment with carrier, tracking numbers and items (by `fulfillment_order_item_id` or `sku`). "
        "Without `items`, every unit still to ship goes. Stock is fulfilled at the location; the fulfillment "
        "order becomes `partially_shipped` or `fulfilled`, the order `partially_fulfilled` or `fulfilled`."
    ),
    openapi_extra=body_schema(ShipIn),
    responses=documented(FulfillmentOrderOut, problems=FO_PROBLEMS),
)
async def ship(ref: str, request: Request, principal: Fulfiller) -> Response:
    data = parse_body(ShipIn, await request.body())
    return await _command(request, principal, lambda s: service.ship(s, ref, data, principal))


@router.post("/fulfillment-orders/{ref}/deliver", summary="Report a shipment delivered",
             tags=["fulfillment orders"], openapi_extra=body_schema(DeliverIn),
    responses=documented(FulfillmentOrderOut, problems=FO_PROBLEMS),
)
async def deliver(ref: str, request: Request, principal: Fulfiller) -> Response:
    data = _optional(DeliverIn, await request.body())
    return await _command(request, principal, lambda s: service.deliver(s, ref, data, principal))


@router.post(
    "/fulfillment-orders/{ref}/reject", summary="Reject a fulfillment order: the location cannot ship it",
    tags=["fulfillment orders"],
    description=(
        "Releases the unshipped units at the location and routes them again without every location that "
        "rejected the delivery group. After the channel's `max_routing_attempts` re-routes, a process "
        "exception (category fulfillment) is raised instead. The answer is the fulfillment order with a "
        "`rerouting` member."
    ),
    openapi_extra=body_schema(RejectIn),
    responses=documented(FulfillmentOrderOut, problems=FO_PROBLEMS),
)
async def reject(ref: str, request: Request, principal: Fulfiller) -> Response:
    data = parse_body(RejectIn, await request.body())
    return await _command(request, principal, lambda s: service.reject(s, ref, data.reason, principal))


@router.post("/fulfillment-orders/{ref}/cancel", summary="Cancel a fulfillment order's unshipped units",
             tags=["fulfillment orders"], openapi_extra=body_schema(ActionIn),
    responses=documented(FulfillmentOrderOut, problems=FO_PROBLEMS),
)
async def cancel(ref: str, request: Request, principal: Fulfiller) -> Response:
    data = _optional(ActionIn, await request.body())
    return await _command(request, principal, lambda s: service.cancel(s, ref, principal, data.reason))


# ------------------------------------------------------------------------------------------------
# Routing


@router.post(
    "/routing/plan", summary="Plan a routing without writing anything", tags=["routing"],
    description=(
        "For `order` (id or number): the plan of each delivery group's unallocated units, as routing would make "
        "it now. For `lines` and a `ship_to` (coordinates, or a city / postal code of a known place): an ad-hoc "
        "plan under the `channel`'s policy (the defaults without one)."
    ),
    openapi_extra=body_schema(PlanIn),
    responses=documented(RoutingPlanOut, problems={404: "The order is not known"}),
)
async def plan(request: Request, principal: Planner) -> Response:
    data = parse_body(PlanIn, await request.body())
    return json_response(await read(request, lambda s: service.preview(s, data, principal)))


@router.post("/orders/{ref}/routing", summary="Route an order's unallocated units now", tags=["routing"],
             openapi_extra=body_schema(RouteIn),
    responses=documented(RoutedOrderOut, problems=(404, 409)),
)
async def route(ref: str, request: Request, principal: Fulfiller) -> Response:
    data = _optional(RouteIn, await request.body())
    return await _command(request, principal, lambda s: service.route_now(s, ref, principal, data.exclude_locations))


@router.get("/orders/{ref}/routing-decisions", summary="An order's routing decisions, oldest first",
            tags=["routing"],
    responses=documented(RoutingDecisionsOut, problems=(404,)),
)
async def routing_decisions(ref: str, request: Request, principal: Fulfiller) -> Response:
    return json_response(await read(request, lambda s: service.routing_decisions(s, ref, principal)))


@router.get(
    "/routing/policies/{channel}", summary="A channel's routing policy", tags=["routing"],
    responses=documented(RoutingPolicyOut, problems={404: "The channel is not known"}),
)
async def get_policy(channel: str, request: Request, principal: Planner) -> Response:
    doc = await read(request, lambda s: service.get_policy(s, channel))
    headers = {"ETag": etag(doc["version"])} if doc["version"] is not None else None
    return json_response(doc, headers=headers)


@router.put(
    "/routing/policies/{channel}", summary="Set a channel's routing policy", tags=["routing"],
    description="Replaces the policy. Replacing a stored policy needs `If-Match` with its ETag.",
    openapi_extra=body_schema(RoutingPolicyIn),
    responses=documented(RoutingPolicyOut, problems=(404, 409, 428)),
)
async def put_policy(
    channel: str, request: Request, principal: Admin,
    if_match: Annotated[str | None, Header(description="The policy's ETag")] = None,
) -> Response:
    data = parse_body(RoutingPolicyIn, await request.body())
    doc = await run_in_threadpool(
        database(request).transaction, lambda s: service.put_policy(s, channel, data, if_match)
    )
    return json_response(doc, headers={"ETag": etag(doc["version"])})
