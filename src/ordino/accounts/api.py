"""Account endpoints: /accounts, /accounts/{ref}/contacts, /accounts/{ref}/addresses.

Thin: validate the payload, run the use case in one transaction, answer JSON. Creations are
idempotent by `Idempotency-Key`; updates need `If-Match` with the ETag (the record's version).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import orjson
from fastapi import APIRouter, Depends, Header, Query, Request
from pydantic import BaseModel
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from ordino.accounts import service
from ordino.accounts.schemas import (
    AccountAddressOut,
    AccountIn,
    AccountOut,
    AccountPatch,
    AccountStatus,
    AddressIn,
    AddressKind,
    AddressPatch,
    ContactIn,
    ContactOut,
    ContactPatch,
)
from ordino.kernel.auth import Principal, Role, database, require
from ordino.kernel.endpoint import body_schema, parse_body, read, run_command
from ordino.kernel.http import dumps, etag, json_response
from ordino.kernel.openapi import documented
from ordino.kernel.schema import Page

router = APIRouter(prefix="/api/v1", tags=["accounts"])

READ = require()  # every role; a buyer sees only its own account
WRITE = require(Role.ADMIN, Role.AGENT)

M = TypeVar("M", bound=BaseModel)
Doc = dict[str, Any]
Limit = Annotated[int, Query(ge=1, le=200)]
IfMatch = Annotated[str | None, Header(description="The record's ETag (its version)")]
Reader = Annotated[Principal, Depends(READ)]
Writer = Annotated[Principal, Depends(WRITE)]


def _versioned(doc: Doc, status: int = 200) -> Response:
    return json_response(doc, status, {"ETag": etag(doc["version"])})


async def _create(
    request: Request, principal: Principal, model: type[M], use_case: Callable[[Session, M], Doc]
) -> Response:
    body = await request.body()
    data = parse_body(model, body)
    base = request.url.path

    def work(session: Session) -> tuple[int, bytes]:
        return 201, dumps(use_case(session, data))

    def headers(_status: int, payload: bytes) -> dict[str, str]:
        doc = orjson.loads(payload)
        return {"Location": f"{base}/{doc['id']}", "ETag": etag(doc["version"])}

    return await run_command(request, principal, work, body, headers)


async def _update(
    request: Request, model: type[M], use_case: Callable[[Session, M], Doc]
) -> Response:
    patch = parse_body(model, await request.body())
    doc = await run_in_threadpool(database(request).transaction, lambda s: use_case(s, patch))
    return _versioned(doc)


async def _delete(request: Request, use_case: Callable[[Session], None]) -> Response:
    await run_in_threadpool(database(request).transaction, use_case)
    return Response(status_code=204)


async def _read(request: Request, use_case: Callable[[Session], Doc], *, versioned: bool = True) -> Response:
    doc = await read(request, use_case)
    return _versioned(doc) if versioned else json_response(doc)


# ----------------------------------------------------------------------------------------------
# Accounts


@router.post(
    "/accounts", status_code=201, summary="Create an account", openapi_extra=body_schema(AccountIn),
    responses=documented(AccountOut, 201, problems={404: "The parent account is not known", 409: "In use"}),
)
async def create_account(request: Request, principal: Writer) -> Response:
    return await _create(request, principal, AccountIn, lambda s, d: service.create_account(s, d, principal))


@router.get(
    "/accounts", summary="List accounts, newest first",
    responses=documented(Page[AccountOut]),
)
async def list_accounts(
    request: Request,
    principal: Reader,
    status: AccountStatus | None = None,
    country: str | None = None,
    parent: Annotated[str | None, Query(description="The parent account's number")] = None,
    q: Annotated[str | None, Query(description="Part of the name or number")] = None,
    limit: Limit = 50,
    cursor: str | None = None,
) -> Response:
    f = service.AccountFilter(status, country, parent, q)
    return await _read(request, lambda s: service.list_accounts(s, principal, f, limit, cursor), versioned=False)


@router.get(
    "/accounts/{ref}", summary="Get an account by id or number",
    responses=documented(AccountOut, problems=(404,)),
)
async def get_account(ref: str, request: Request, principal: Reader) -> Response:
    return await _read(request, lambda s: service.get_account(s, ref, principal))


@router.patch(
    "/accounts/{ref}", summary="Change an account", openapi_extra=body_schema(AccountPatch),
    responses=documented(AccountOut, problems=(404, 409, 428)),
)
async def update_account(ref: str, request: Request, principal: Writer, if_match: IfMatch = None) -> Response:
    return await _update(
        request, AccountPatch, lambda s, p: service.update_account(s, ref, p, if_match, principal)
    )


# ----------------------------------------------------------------------------------------------
# Contacts


@router.post(
    "/accounts/{ref}/contacts", status_code=201, summary="Add a contact", openapi_extra=body_schema(ContactIn),
    responses=documented(ContactOut, 201, problems={404: "The account is not known or not visible to the key"}),
)
async def create_contact(ref: str, request: Request, principal: Writer) -> Response:
    return await _create(
        request, principal, ContactIn, lambda s, d: service.create_contact(s, ref, d, principal)
    )


@router.get(
    "/accounts/{ref}/contacts", summary="List an account's contacts, newest first",
    responses=documented(Page[ContactOut], problems={404: "The account is not known or not visible to the key"}),
)
async def list_contacts(
    ref: str,
    request: Request,
    principal: Reader,
    q: Annotated[str | None, Query(description="Part of the name or e-mail")] = None,
    limit: Limit = 50,
    cursor: str | None = None,
) -> Response:
    return await _read(
        request, lambda s: service.list_contacts(s, ref, principal, q, limit, cursor), versioned=False
    )


@router.get(
    "/accounts/{ref}/contacts/{contact_id}", summary="Get a contact",
    responses=documented(ContactOut, problems=(404,)),
)
async def get_contact(ref: str, contact_id: str, request: Request, principal: Reader) -> Response:
    return await _read(request, lambda s: service.get_contact(s, ref, contact_id, principal))


@router.patch(
    "/accounts/{ref}/contacts/{contact_id}", summary="Change a contact", openapi_extra=body_schema(ContactPatch),
    responses=documented(ContactOut, problems=(404, 409, 428)),
)
async def update_contact(
    ref: str, contact_id: str, request: Request, principal: Writer, if_match: IfMatch = None
) -> Response:
    return await _update(
        request, ContactPatch, lambda s, p: service.update_contact(s, ref, contact_id, p, if_match, principal)
    )


@router.delete(
    "/accounts/{ref}/contacts/{contact_id}", status_code=204, summary="Delete a contact",
    responses=documented(None, 204, description="Deleted", problems=(404, 409)),
)
async def delete_contact(
    ref: str, contact_id: str, request: Request, principal: Writer, if_match: IfMatch = None
) -> Response:
    return await _delete(request, lambda s: service.delete_contact(s, ref, contact_id, if_match, principal))


# ----------------------------------------------------------------------------------------------
# Addresses


@router.post(
    "/accounts/{ref}/addresses", status_code=201, summary="Add an address", openapi_extra=body_schema(AddressIn),
    responses=documented(AccountAddressOut, 201, problems={
        404: "The account is not known or not visible to the key",
        409: "The account has an address of this reference, or a default address of this kind, already",
    }),
)
async def create_address(ref: str, request: Request, principal: Writer) -> Response:
    return await _create(
        request, principal, AddressIn, lambda s, d: service.create_address(s, ref, d, principal)
    )


@router.get(
    "/accounts/{ref}/addresses", summary="List an account's addresses, newest first",
    responses=documented(Page[AccountAddressOut], problems={404: "The account is not known or not visible to the key"}),
)
async def list_addresses(
    ref: str,
    request: Request,
    principal: Reader,
    kind: AddressKind | None = None,
    limit: Limit = 50,
    cursor: str | None = None,
) -> Response:
    return await _read(
        request, lambda s: service.list_addresses(s, ref, principal, kind, limit, cursor), versioned=False
    )


@router.get(
    "/accounts/{ref}/addresses/{address_id}", summary="Get an address",
    responses=documented(AccountAddressOut, problems=(404,)),
)
async def get_address(ref: str, address_id: str, request: Request, principal: Reader) -> Response:
    return await _read(request, lambda s: service.get_address(s, ref, address_id, principal))


@router.patch(
    "/accounts/{ref}/addresses/{address_id}",
    summary="Change an address",
    description="Making an address the default of its kind clears the account's previous default.",
    openapi_extra=body_schema(AddressPatch),
    responses=documented(AccountAddressOut, problems=(404, 409, 428)),
)
async def update_address(
    ref: str, address_id: str, request: Request, principal: Writer, if_match: IfMatch = None
) -> Response:
    return await _update(
        request, AddressPatch, lambda s, p: service.update_address(s, ref, address_id, p, if_match, principal)
    )


@router.delete(
    "/accounts/{ref}/addresses/{address_id}", status_code=204, summary="Delete an address",
    responses=documented(None, 204, description="Deleted", problems=(404, 409)),
)
async def delete_address(
    ref: str, address_id: str, request: Request, principal: Writer, if_match: IfMatch = None
) -> Response:
    return await _delete(request, lambda s: service.delete_address(s, ref, address_id, if_match, principal))
