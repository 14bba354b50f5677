"""Servicing endpoints: cancellations, returns and appeasements (each with a preview that writes
nothing), and an order's change orders. Submits run under the request's Idempotency-Key."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel
from sqlalchemy.orm import Session
from starlette.responses import Response

from ordino.kernel.auth import Principal, Role, require
from ordino.kernel.endpoint import body_schema, parse_body, read_json, run_command
from ordino.kernel.http import dumps
from ordino.kernel.openapi import documented
from ordino.servicing import additions, reads, service
from ordino.servicing.schemas import (
    AdditionIn,
    AppeasementIn,
    CancelIn,
    ChangeOrdersOut,
    ExchangeIn,
    ReshipIn,
    ReturnIn,
    ServicingOut,
)

router = APIRouter(prefix="/api/v1/orders", tags=["servicing"])

Servicer = Annotated[Principal, Depends(require(Role.ADMIN, Role.AGENT))]
Reader = Annotated[Principal, Depends(require(Role.ADMIN, Role.AGENT, Role.FINANCE, Role.BUYER))]

_PROBLEMS = {404: "The order is not known", 409: "A line has less available than asked, or the order's status "
             "does not allow it", 422: "A field is wrong (named in `errors`)"}
_ACTIONS: list[tuple[str, str, type[BaseModel], str]] = [
    ("cancellations", "cancel", CancelIn, "Cancel unshipped units (and shipping charges)"),
    ("returns", "return", ReturnIn, "Return shipped units without goods expected back (blind return)"),
    ("appeasements", "appeasement", AppeasementIn, "Lower the price of lines or of the whole order (appeasement)"),
    ("additions", "addition", AdditionIn, "Add lines before the order is fulfilled"),
    ("exchanges", "exchange", ExchangeIn, "Exchange shipped units for other products"),
    ("reships", "reship", ReshipIn, "Ship units again at no charge (lost or damaged)"),
]
_USE_CASES: dict[str, Callable[..., dict[str, Any]]] = {
    "addition": additions.addition, "exchange": additions.exchange, "reship": additions.reship,
}


def _run(session: Session, kind: str, ref: str, data: Any, principal: Principal, submit: bool) -> dict[str, Any]:
    if kind in _USE_CASES:
        return _USE_CASES[kind](session, ref, data, principal, submit=submit)
    return service.service(session, kind, ref, data, principal, submit=submit)


def _routes(path: str, kind: str, model: type[BaseModel], summary: str) -> None:
    @router.post(
        f"/{{order_ref}}/{path}/preview", summary=f"Preview: {summary[0].lower()}{summary[1:]}",
        description="The change orders, their balances and the money consequence, without writing anything.",
        openapi_extra=body_schema(model), responses=documented(ServicingOut, problems=_PROBLEMS),
        name=f"preview_{kind}",
    )
    async def preview(order_ref: str, request: Request, principal: Servicer) -> Response:
        data = parse_body(model, await request.body())
        return await read_json(request, lambda s: _run(s, kind, order_ref, data, principal, False))

    @router.post(
        f"/{{order_ref}}/{path}", status_code=201, summary=summary,
        description="Writes exactly what the preview with the same body shows, credits it and refunds what "
        "was captured (ensure refunds).",
        openapi_extra=body_schema(model), responses=documented(ServicingOut, 201, problems=_PROBLEMS),
        name=f"submit_{kind}",
    )
    async def submit(order_ref: str, request: Request, principal: Servicer) -> Response:
        body = await request.body()
        data = parse_body(model, body)

        def work(session: Session) -> tuple[int, bytes]:
            doc = _run(session, kind, order_ref, data, principal, True)
            return 201, dumps(doc)

        return await run_command(request, principal, work, body)


for _path, _kind, _model, _summary in _ACTIONS:
    _routes(_path, _kind, _model, _summary)


@router.get(
    "/{order_ref}/change-orders", summary="An order's change orders (cancels, returns, appeasements…), oldest first",
    responses=documented(ChangeOrdersOut, problems=(404,)),
)
async def list_change_orders(order_ref: str, request: Request, principal: Reader) -> Response:
    return await read_json(request, lambda s: reads.change_orders(s, order_ref, principal))
