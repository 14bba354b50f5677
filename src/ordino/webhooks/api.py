"""Webhook subscriptions and their deliveries (admins only).

A subscription's secret is answered once, by the POST that creates it and by each rotation.
Changes need `If-Match` with the subscription's ETag; creations are idempotent by `Idempotency-Key`.
"""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, Header, Query, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from ordino.kernel.auth import Principal, Role, database, require_unscoped
from ordino.kernel.endpoint import body_schema, parse_body, read, read_json, run_command
from ordino.kernel.http import dumps, etag, json_response
from ordino.kernel.openapi import documented
from ordino.kernel.schema import Page
from ordino.webhooks import reads, service
from ordino.webhooks.schemas import (
    DeliveryOut,
    DeliveryStatus,
    RotateIn,
    WebhookIn,
    WebhookOut,
    WebhookPatch,
    WebhookSecretOut,
)

router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"])

Admin = Annotated[Principal, Depends(require_unscoped(Role.ADMIN, what="manage webhooks"))]
Limit = Annotated[int, Query(ge=1, le=200)]
IfMatch = Annotated[str | None, Header(description="The subscription's ETag (its version)")]


def _allow_private(request: Request) -> bool:
    return bool(request.app.state.settings.webhooks_allow_private)


def _versioned(doc: dict[str, object], status: int = 200) -> Response:
    return json_response(doc, status, headers={"ETag": etag(int(str(doc["version"])))})


@router.post(
    "", status_code=201, summary="Subscribe an endpoint to events",
    description="The answer holds the signing secret (`whsec_…`), shown this once. Deliveries are "
                "CloudEvents 1.0 JSON, signed as Standard Webhooks says (`webhook-id`, `webhook-timestamp`, "
                "`webhook-signature`).",
    openapi_extra=body_schema(WebhookIn),
    responses=documented(WebhookSecretOut, 201),
)
async def create_webhook(request: Request, principal: Admin) -> Response:
    body = await request.body()
    data = parse_body(WebhookIn, body)
    allow_private, base = _allow_private(request), request.url.path

    def work(session: Session) -> tuple[int, bytes]:
        return 201, dumps(service.create_subscription(session, data, principal, allow_private))

    def headers(_status: int, payload: bytes) -> dict[str, str]:
        doc = orjson.loads(payload)
        return {"Location": f"{base}/{doc['id']}", "ETag": etag(doc["version"])}

    response = await run_command(request, principal, work, body, headers)
    reads.forget_targets()
    return response


@router.get("", summary="List webhook subscriptions, newest first", responses=documented(Page[WebhookOut]))
async def list_webhooks(
    request: Request, principal: Admin, enabled: bool | None = None, limit: Limit = 50, cursor: str | None = None,
) -> Response:
    return await read_json(request, lambda s: reads.list_subscriptions(s, enabled, limit, cursor))


@router.get(
    "/{webhook_id}", summary="Get a webhook subscription", responses=documented(WebhookOut, problems=(404,)),
)
async def get_webhook(webhook_id: str, request: Request, principal: Admin) -> Response:
    return _versioned(await read(request, lambda s: reads.get_subscription(s, webhook_id)))


@router.patch(
    "/{webhook_id}", summary="Change a webhook subscription",
    description="Enabling a subscription disabled by a 410 answer clears `disabled_reason`.",
    openapi_extra=body_schema(WebhookPatch),
    responses=documented(WebhookOut, problems=(404, 409, 428)),
)
async def update_webhook(webhook_id: str, request: Request, principal: Admin, if_match: IfMatch = None) -> Response:
    patch = parse_body(WebhookPatch, await request.body())
    allow_private = _allow_private(request)
    doc = await run_in_threadpool(
        database(request).transaction,
        lambda s: service.update_subscription(s, webhook_id, patch, if_match, allow_private),
    )
    reads.forget_targets()
    return _versioned(doc)


@router.delete(
    "/{webhook_id}", status_code=204, summary="Delete a webhook subscription with its deliveries",
    responses=documented(None, 204, description="Deleted", problems=(404, 409)),
)
async def delete_webhook(webhook_id: str, request: Request, principal: Admin, if_match: IfMatch = None) -> Response:
    await run_in_threadpool(
        database(request).transaction, lambda s: service.delete_subscription(s, webhook_id, if_match)
    )
    reads.forget_targets()
    return Response(status_code=204)


@router.post(
    "/{webhook_id}/rotate-secret", summary="Issue a new signing secret",
    description='The previous secret signs too for `overlap_hours` (default 24): `webhook-signature` then '
                'carries both signatures. Optional body: `{"overlap_hours": 0…168}`. The new secret is shown '
                "this once. Idempotent by `Idempotency-Key`.",
    openapi_extra={"requestBody": {**body_schema(RotateIn)["requestBody"], "required": False}},
    responses=documented(WebhookSecretOut, problems=(404,)),
)
async def rotate_secret(webhook_id: str, request: Request, principal: Admin) -> Response:
    body = await request.body()
    data = parse_body(RotateIn, body) if body else RotateIn()

    def work(session: Session) -> tuple[int, bytes]:
        return 200, dumps(service.rotate_secret(session, webhook_id, data))

    return await run_command(request, principal, work, body, lambda _s, p: {"ETag": etag(orjson.loads(p)["version"])})


@router.get(
    "/{webhook_id}/deliveries", summary="List a subscription's deliveries with their attempts, newest first",
    responses=documented(Page[DeliveryOut], problems=(404,)),
)
async def list_deliveries(
    webhook_id: str, request: Request, principal: Admin, status: DeliveryStatus | None = None,
    limit: Limit = 50, cursor: str | None = None,
) -> Response:
    return await read_json(request, lambda s: reads.list_deliveries(s, webhook_id, status, limit, cursor))


@router.post(
    "/{webhook_id}/deliveries/{delivery_id}/replay", status_code=202, summary="Send a delivery again",
    description="Queued for an attempt now, with the same `webhook-id` and body (signed afresh); if it "
                "fails, the retry schedule starts again. No body.",
    responses=documented(DeliveryOut, 202, problems={
        404: "The subscription or delivery is not known", 409: "The subscription is disabled (webhook-disabled)"}),
)
async def replay_delivery(webhook_id: str, delivery_id: str, request: Request, principal: Admin) -> Response:
    body = await request.body()

    def work(session: Session) -> tuple[int, bytes]:
        return 202, dumps(service.replay(session, webhook_id, delivery_id))

    return await run_command(request, principal, work, body)
