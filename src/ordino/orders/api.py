"""Order endpoints: intake, read, list."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from ordino.kernel.auth import Principal, Role, require
from ordino.kernel.endpoint import body_schema, command, parse_body, read_json, run_combined
from ordino.kernel.openapi import Page, documented, one_of
from ordino.orders import placing
from ordino.orders import reads as service
from ordino.orders.domain import ORDER_STATUSES
from ordino.orders.intake import check_gateways
from ordino.orders.schemas import OrderIn, OrderOut, OrderRowOut
from ordino.payments.gateway import gateways_of

router = APIRouter(prefix="/api/v1/orders", tags=["orders"])

PLACE = require(Role.ADMIN, Role.AGENT, Role.INTEGRATION, Role.BUYER)
READ = require()


@router.post(
    "",
    status_code=201,
    summary="Place an order",
    description=(
        "Creates an order summary. Idempotent by `Idempotency-Key` and by (channel, "
        "external_reference): an order already placed under that reference answers 200 with it."
    ),
    openapi_extra=body_schema(OrderIn),
    responses=documented(
        OrderOut, 201, description="The order placed", also={200: "The order already existed"},
        problems={404: "The channel, account or a SKU is unknown",
                  409: "Refused by the order's state or rules (stock, credit, a key in use)"},
    ),
)
async def place_order(request: Request, principal: Annotated[Principal, Depends(PLACE)]) -> Response:
    body = await request.body()
    order = parse_body(OrderIn, body)
    check_gateways(order.payments, gateways_of(request))
    call = placing.PlaceCall(command(request, principal, body), principal, order)
    return await run_combined(request, "orders", placing.run_calls, call)


@router.get("/{order_ref}", summary="Get an order by id or number", responses=documented(OrderOut, problems=(404,)))
async def get_order(order_ref: str, request: Request, principal: Annotated[Principal, Depends(READ)]) -> Response:
    return await read_json(request, lambda session: service.get_order(session, order_ref, principal))



@router.get("", summary="List orders, newest first", responses=documented(Page[OrderRowOut]))
async def list_orders(
    request: Request,
    principal: Annotated[Principal, Depends(READ)],
    account: str | None = None,
    status: Annotated[str | None, one_of(ORDER_STATUSES)] = None,
    channel: str | None = None,
    placed_from: datetime | None = None,
    placed_to: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> Response:
    f = service.OrderFilter(account, status, channel, placed_from, placed_to)

    return await read_json(request, lambda s: service.list_orders(s, principal, f, limit, cursor))
