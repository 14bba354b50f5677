"""Approval rules and order approvals.

POST /orders/{ref}/approve and /reject decide an order held for approval (staff, or an approver
of the order's account or of an account above it; never the buyer who placed it). GET /approvals
lists approval requests (a buyer key sees its account's; approvers and account admins also those
of the accounts below). /approval-rules are managed by staff and the account's admins.
Decisions and creations are idempotent by `Idempotency-Key`; rule updates need `If-Match`.
"""

from __future__ import annotations

from typing import Annotated, Literal

import orjson
from fastapi import APIRouter, Depends, Header, Query, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from ordino.kernel.auth import Principal, Role, database, require
from ordino.kernel.endpoint import body_schema, parse_body, read, read_json, run_command
from ordino.kernel.http import dumps, etag, json_response
from ordino.kernel.openapi import documented
from ordino.kernel.schema import Page
from ordino.orders.approvals import rules
from ordino.orders.approvals import service as approvals
from ordino.orders.approvals.schemas import ApprovalOut, ApproveIn, RejectIn, RuleIn, RuleKind, RuleOut, RulePatch

router = APIRouter(prefix="/api/v1", tags=["approvals"])

Reader = Annotated[Principal, Depends(require())]
Decider = Annotated[Principal, Depends(require(Role.ADMIN, Role.AGENT, Role.BUYER))]
Limit = Annotated[int, Query(ge=1, le=200)]
IfMatch = Annotated[str | None, Header(description="The rule's ETag (its version)")]


@router.post(
    "/orders/{order_ref}/approve",
    summary="Approve an order held for approval",
    description=(
        "The order moves to approved and `order.approved` follows: it is routed and its payments are "
        'authorized. Optional body: `{"note": "…"}`. An order not waiting for approval is 409.'
    ),
    openapi_extra={"requestBody": {**body_schema(ApproveIn)["requestBody"], "required": False}},
    responses=documented(ApprovalOut, problems={404: "The order is not known", 409: "The order awaits no approval"}),
)
async def approve(order_ref: str, request: Request, principal: Decider) -> Response:
    body = await request.body()
    data = parse_body(ApproveIn, body) if body else ApproveIn()

    def work(session: Session) -> tuple[int, bytes]:
        return 200, dumps(approvals.approve(session, order_ref, principal, data.note))

    return await run_command(request, principal, work, body)


@router.post(
    "/orders/{order_ref}/reject",
    summary="Reject an order held for approval",
    description="The order is cancelled with the reason (`order.rejected`) and its stock is released.",
    openapi_extra=body_schema(RejectIn),
    responses=documented(ApprovalOut, problems={404: "The order is not known", 409: "The order awaits no approval"}),
)
async def reject(order_ref: str, request: Request, principal: Decider) -> Response:
    body = await request.body()
    data = parse_body(RejectIn, body)

    def work(session: Session) -> tuple[int, bytes]:
        return 200, dumps(approvals.reject(session, order_ref, principal, data.reason))

    return await run_command(request, principal, work, body)


@router.get(
    "/approvals", summary="List approval requests, newest first",
    responses=documented(Page[ApprovalOut]),
)
async def list_approvals(
    request: Request,
    principal: Reader,
    status: Literal["pending", "approved", "rejected"] | None = None,
    account: Annotated[str | None, Query(description="An account number")] = None,
    order: Annotated[str | None, Query(description="An order id or number")] = None,
    limit: Limit = 50,
    cursor: str | None = None,
) -> Response:
    f = approvals.RequestFilter(status, account, order)

    return await read_json(request, lambda s: approvals.list_requests(s, principal, f, limit, cursor))


@router.get(
    "/approvals/{request_id}", summary="Get an approval request",
    responses=documented(ApprovalOut, problems=(404,)),
)
async def get_approval(request_id: str, request: Request, principal: Reader) -> Response:
    return await read_json(request, lambda session: approvals.get_request(session, request_id, principal))



# ----------------------------------------------------------------------------------------------
# Approval rules


def _versioned(doc: dict[str, object]) -> Response:
    return json_response(doc, headers={"ETag": etag(int(str(doc["version"])))})


@router.post(
    "/approval-rules",
    status_code=201,
    summary="Create an approval rule",
    description=(
        "kind order_total (`amount`, `currency`): orders over the amount wait; monthly_spend (`amount`, "
        "`currency`, optional `contact`): a buyer's orders of the calendar month over the limit wait; "
        "restricted_products (`products`: SKUs or ids): orders holding any of them wait. "
        "Rules of an account apply to its child accounts too."
    ),
    openapi_extra=body_schema(RuleIn),
    responses=documented(RuleOut, 201, problems={404: "The account or contact is not known"}),
)
async def create_rule(request: Request, principal: Decider) -> Response:
    body = await request.body()
    data = parse_body(RuleIn, body)
    base = request.url.path

    def work(session: Session) -> tuple[int, bytes]:
        return 201, dumps(rules.create_rule(session, data, principal))

    def headers(_status: int, payload: bytes) -> dict[str, str]:
        doc = orjson.loads(payload)
        return {"Location": f"{base}/{doc['id']}", "ETag": etag(doc["version"])}

    return await run_command(request, principal, work, body, headers)


@router.get(
    "/approval-rules", summary="List approval rules, newest first",
    responses=documented(Page[RuleOut]),
)
async def list_rules(
    request: Request,
    principal: Decider,
    account: Annotated[str | None, Query(description="An account number")] = None,
    kind: RuleKind | None = None,
    active: bool | None = None,
    limit: Limit = 50,
    cursor: str | None = None,
) -> Response:
    f = rules.RuleFilter(account, kind, active)
    return await read_json(request, lambda session: rules.list_rules(session, principal, f, limit, cursor))



@router.get(
    "/approval-rules/{rule_id}", summary="Get an approval rule",
    responses=documented(RuleOut, problems=(404,)),
)
async def get_rule(rule_id: str, request: Request, principal: Decider) -> Response:
    return _versioned(await read(request, lambda session: rules.get_rule(session, rule_id, principal)))


@router.patch(
    "/approval-rules/{rule_id}",
    summary="Change an approval rule",
    description="The kind and the account cannot change. Changing the currency keeps the amount in major units.",
    openapi_extra=body_schema(RulePatch),
    responses=documented(RuleOut, problems=(404, 409, 428)),
)
async def update_rule(rule_id: str, request: Request, principal: Decider, if_match: IfMatch = None) -> Response:
    patch = parse_body(RulePatch, await request.body())
    doc = await run_in_threadpool(
        database(request).transaction, lambda s: rules.update_rule(s, rule_id, patch, if_match, principal)
    )
    return _versioned(doc)


@router.delete(
    "/approval-rules/{rule_id}", status_code=204, summary="Delete an approval rule",
    responses=documented(None, 204, description="Deleted", problems=(404, 409, 428)),
)
async def delete_rule(rule_id: str, request: Request, principal: Decider, if_match: IfMatch = None) -> Response:
    await run_in_threadpool(
        database(request).transaction, lambda s: rules.delete_rule(s, rule_id, if_match, principal)
    )
    return Response(status_code=204)
