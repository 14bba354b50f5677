"""API key endpoints (admins only): create (the secret is shown once), list, get, revoke."""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from ordino.accounts import service
from ordino.accounts.schemas import ApiKeyIn, ApiKeyOut, NewApiKeyOut
from ordino.kernel.auth import Principal, Role, database, forget_cached_keys, require_unscoped
from ordino.kernel.endpoint import body_schema, parse_body, read_json, run_command
from ordino.kernel.http import dumps, raw_json
from ordino.kernel.openapi import documented
from ordino.kernel.schema import Page

router = APIRouter(prefix="/api/v1/api-keys", tags=["api keys"])

Admin = Annotated[Principal, Depends(require_unscoped(Role.ADMIN, what="manage API keys"))]


@router.post(
    "",
    status_code=201,
    summary="Create an API key",
    description=(
        "Answers with the secret in `key`, once: only its digest is stored. A request replayed by "
        "its `Idempotency-Key` answers with the key's record and `key: null`."
    ),
    openapi_extra=body_schema(ApiKeyIn),
    responses=documented(NewApiKeyOut, 201),
)
async def create_api_key(request: Request, principal: Admin) -> Response:
    body = await request.body()
    data = parse_body(ApiKeyIn, body)
    secret: list[str] = []  # the secret of the committed attempt; never part of the stored response

    def work(session: Session) -> tuple[int, bytes]:
        doc, new_secret = service.create_api_key(session, data, actor=principal)
        secret[:] = [new_secret]
        return 201, dumps({**doc, "key": None})

    def location(_status: int, payload: bytes) -> dict[str, str]:
        return {"Location": f"{request.url.path}/{orjson.loads(payload)['id']}"}

    response = await run_command(request, principal, work, body, location)
    if response.headers.get("idempotent-replayed") or not secret:
        return response
    stored = bytes(response.body)
    return raw_json(dumps({**orjson.loads(stored), "key": secret[0]}), 201, location(201, stored))


@router.get(
    "", summary="List API keys, newest first (never their secrets)",
    responses=documented(Page[ApiKeyOut]),
)
async def list_api_keys(
    request: Request,
    principal: Admin,
    role: Role | None = None,
    revoked: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> Response:
    return await read_json(
        request, lambda session: service.list_api_keys(session, role.value if role else None, revoked, limit, cursor)
    )



@router.get(
    "/{key_id}", summary="Get an API key (never its secret)",
    responses=documented(ApiKeyOut, problems=(404,)),
)
async def get_api_key(key_id: str, request: Request, principal: Admin) -> Response:
    return await read_json(request, lambda session: service.get_api_key(session, key_id))



@router.delete(
    "/{key_id}", status_code=204, summary="Revoke an API key",
    responses=documented(None, 204, description="Revoked", problems=(404,)),
)
async def revoke_api_key(key_id: str, request: Request, principal: Admin) -> Response:
    await run_in_threadpool(database(request).transaction, lambda s: service.revoke_api_key(s, key_id, actor=principal))
    forget_cached_keys()  # after commit, so no request can cache the key again as still valid
    return Response(status_code=204)
