"""Return order (RMA) endpoints. Commands run under the request's Idempotency-Key."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from ordino.kernel.auth import Principal, Role, require
from ordino.kernel.endpoint import body_schema, parse_body, read_json, run_command
from ordino.kernel.http import dumps
from ordino.kernel.openapi import documented
from ordino.kernel.schema import Page
from ordino.servicing.returns import service
from ordino.servicing.returns.schemas import ReceiptIn, ReturnOrderCancelIn, ReturnOrderIn, ReturnOrderOut, Status

router = APIRouter(prefix="/api/v1/return-orders", tags=["servicing"])

Servicer = Annotated[Principal, Depends(require(Role.ADMIN, Role.AGENT))]
Requester = Annotated[Principal, Depends(require(Role.ADMIN, Role.AGENT, Role.BUYER))]
Limit = Annotated[int, Query(ge=1, le=200)]
_PROBLEMS = {404: "The return order (or order) is not known", 409: "More than available, or the return order's "
             "status does not allow it", 422: "A field is wrong (named in `errors`)"}


async def _command(request: Request, principal: Principal, status: int,
                   use_case: Callable[[Session], dict[str, Any]]) -> Response:
    body = await request.body()

    def work(session: Session) -> tuple[int, bytes]:
        return status, dumps(use_case(session))

    return await run_command(request, principal, work, body)


@router.post("", status_code=201, summary="Create a return order (RMA) for shipped units",
             openapi_extra=body_schema(ReturnOrderIn), responses=documented(ReturnOrderOut, 201, problems=_PROBLEMS))
async def create_return_order(request: Request, principal: Requester) -> Response:
    data = parse_body(ReturnOrderIn, await request.body())
    return await _command(request, principal, 201, lambda s: service.create(s, data, principal))


@router.get("", summary="List return orders, newest first (filter by order, status)",
            responses=documented(Page[ReturnOrderOut]))
async def list_return_orders(request: Request, principal: Requester, order: str | None = None,
                             status: Status | None = None, limit: Limit = 50, cursor: str | None = None) -> Response:
    return await read_json(request, lambda s: service.list_return_orders(
        s, principal, order=order, status=status, limit=limit, cursor=cursor))


@router.get("/{ref}", summary="Get a return order (by id or number) with its lines and receipts",
            responses=documented(ReturnOrderOut, problems=(404,)))
async def get_return_order(ref: str, request: Request, principal: Requester) -> Response:
    return await read_json(request, lambda s: service.get(s, ref, principal))


@router.post("/{ref}/approve", summary="Approve a requested return order",
             responses=documented(ReturnOrderOut, problems=_PROBLEMS))
async def approve_return_order(ref: str, request: Request, principal: Servicer) -> Response:
    return await _command(request, principal, 200, lambda s: service.approve(s, ref, principal))


@router.post("/{ref}/cancel", summary="Cancel a requested or approved return order (its units become "
             "available to return again)", openapi_extra=body_schema(ReturnOrderCancelIn),
             responses=documented(ReturnOrderOut, problems=_PROBLEMS))
async def cancel_return_order(ref: str, request: Request, principal: Servicer) -> Response:
    data = parse_body(ReturnOrderCancelIn, await request.body() or b"{}")
    return await _command(request, principal, 200, lambda s: service.cancel(s, ref, data, principal))


@router.post("/{ref}/receipts", status_code=201, summary="Receive returned goods: restock, credit, charge fees",
             description="Received units become returned and are credited (a `return` change order) less the fees "
             "(a `return_fee` change order), in one credit memo; rejected units are available to return again.",
             openapi_extra=body_schema(ReceiptIn), responses=documented(ReturnOrderOut, 201, problems=_PROBLEMS))
async def receive_return_order(ref: str, request: Request, principal: Servicer) -> Response:
    data = parse_body(ReceiptIn, await request.body())
    return await _command(request, principal, 201, lambda s: service.receive(s, ref, data, principal))
