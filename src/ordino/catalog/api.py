"""Catalog endpoints: /products, /channels (sales channels), /locations, /legal-entities.

Thin: validate the payload, run the use case in one transaction, answer JSON. Creations are
idempotent by `Idempotency-Key`; updates need `If-Match` with the ETag (the record's version).
Nothing is deleted: records are deactivated with `PATCH {"active": false}`. A legal entity's
logo is set with its image as the body (`PUT /legal-entities/{ref}/logo`) and can be removed.
"""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Header, Query, Request
from pydantic import BaseModel
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from ordino.catalog import logos, service
from ordino.catalog.schemas import (
    ChannelIn,
    ChannelKind,
    ChannelOut,
    ChannelPatch,
    LegalEntityIn,
    LegalEntityOut,
    LegalEntityPatch,
    LocationIn,
    LocationKind,
    LocationOut,
    LocationPatch,
    ProductIn,
    ProductOut,
    ProductPatch,
)
from ordino.catalog.service import CHANNEL, LEGAL_ENTITY, LOCATION, PRODUCT, Resource
from ordino.kernel.auth import Principal, Role, database, require
from ordino.kernel.endpoint import body_schema, parse_body, read, run_command
from ordino.kernel.errors import BodyTooLarge, FieldError, UnsupportedMediaType
from ordino.kernel.http import dumps, etag, json_response
from ordino.kernel.openapi import documented
from ordino.kernel.schema import Page

router = APIRouter(prefix="/api/v1", tags=["catalog"])

STAFF = (Role.ADMIN, Role.AGENT, Role.FULFILLMENT, Role.FINANCE, Role.INTEGRATION)
ProductReader = Annotated[Principal, Depends(require())]  # buyers too: active products only
ProductWriter = Annotated[Principal, Depends(require(Role.ADMIN, Role.AGENT))]
StaffReader = Annotated[Principal, Depends(require(*STAFF))]
AdminWriter = Annotated[Principal, Depends(require(Role.ADMIN))]

Doc = dict[str, Any]
Limit = Annotated[int, Query(ge=1, le=200)]
IfMatch = Annotated[str | None, Header(description="The record's ETag (its version)")]
CREATE_PROBLEMS = {409: "The SKU or code is in use"}


def _versioned(doc: Doc) -> Response:
    return json_response(doc, headers={"ETag": etag(doc["version"])})


async def _create(request: Request, principal: Principal, res: Resource[Any], model: type[BaseModel]) -> Response:
    body = await request.body()
    data = parse_body(model, body)
    base = request.url.path

    def work(session: Session) -> tuple[int, bytes]:
        return 201, dumps(service.create(session, res, data))

    def headers(_status: int, payload: bytes) -> dict[str, str]:
        doc = orjson.loads(payload)
        return {"Location": f"{base}/{doc['id']}", "ETag": etag(doc["version"])}

    return await run_command(request, principal, work, body, headers)


async def _update(
    request: Request, res: Resource[Any], model: type[BaseModel], ref: str, if_match: str | None
) -> Response:
    patch = parse_body(model, await request.body())
    doc = await run_in_threadpool(
        database(request).transaction, lambda s: service.update(s, res, ref, patch, if_match)
    )
    return _versioned(doc)




# ----------------------------------------------------------------------------------------------
# Products


@router.post(
    "/products", status_code=201, summary="Create a product", openapi_extra=body_schema(ProductIn),
    responses=documented(ProductOut, 201, problems=CREATE_PROBLEMS),
)
async def create_product(request: Request, principal: ProductWriter) -> Response:
    return await _create(request, principal, PRODUCT, ProductIn)


@router.get(
    "/products", summary="List products, newest first",
    responses=documented(Page[ProductOut]),
)
async def list_products(
    request: Request,
    principal: ProductReader,
    active: bool | None = None,
    q: Annotated[str | None, Query(description="Part of the SKU or name")] = None,
    tax_class: str | None = None,
    limit: Limit = 50,
    cursor: str | None = None,
) -> Response:
    f = service.ProductFilter(active, q, tax_class)
    return json_response(await read(request, lambda s: service.list_products(s, principal, f, limit, cursor)))


@router.get(
    "/products/{ref}", summary="Get a product by SKU or id",
    responses=documented(ProductOut, problems=(404,)),
)
async def get_product(ref: str, request: Request, principal: ProductReader) -> Response:
    return _versioned(await read(request, lambda s: service.get_product(s, ref, principal)))


@router.patch(
    "/products/{ref}",
    summary="Change a product",
    description='The SKU cannot change. Deactivate a product with `{"active": false}`.',
    openapi_extra=body_schema(ProductPatch),
    responses=documented(ProductOut, problems=(404, 409, 428)),
)
async def update_product(ref: str, request: Request, principal: ProductWriter, if_match: IfMatch = None) -> Response:
    return await _update(request, PRODUCT, ProductPatch, ref, if_match)


# ----------------------------------------------------------------------------------------------
# Sales channels


@router.post(
    "/channels", status_code=201, summary="Create a sales channel", openapi_extra=body_schema(ChannelIn),
    responses=documented(ChannelOut, 201, problems=CREATE_PROBLEMS),
)
async def create_channel(request: Request, principal: AdminWriter) -> Response:
    return await _create(request, principal, CHANNEL, ChannelIn)


@router.get(
    "/channels", summary="List sales channels, newest first",
    responses=documented(Page[ChannelOut]),
)
async def list_channels(
    request: Request,
    principal: StaffReader,
    active: bool | None = None,
    kind: ChannelKind | None = None,
    limit: Limit = 50,
    cursor: str | None = None,
) -> Response:
    return json_response(await read(request, lambda s: service.list_channels(s, active, kind, limit, cursor)))


@router.get(
    "/channels/{ref}", summary="Get a sales channel by code or id",
    responses=documented(ChannelOut, problems=(404,)),
)
async def get_channel(ref: str, request: Request, principal: StaffReader) -> Response:
    return _versioned(await read(request, lambda s: service.get(s, CHANNEL, ref)))


@router.patch(
    "/channels/{ref}",
    summary="Change a sales channel",
    description='The code cannot change. Deactivate a channel with `{"active": false}`.',
    openapi_extra=body_schema(ChannelPatch),
    responses=documented(ChannelOut, problems=(404, 409, 428)),
)
async def update_channel(ref: str, request: Request, principal: AdminWriter, if_match: IfMatch = None) -> Response:
    return await _update(request, CHANNEL, ChannelPatch, ref, if_match)


# ----------------------------------------------------------------------------------------------
# Locations


@router.post(
    "/locations", status_code=201, summary="Create a location", openapi_extra=body_schema(LocationIn),
    responses=documented(LocationOut, 201, problems=CREATE_PROBLEMS),
)
async def create_location(request: Request, principal: AdminWriter) -> Response:
    return await _create(request, principal, LOCATION, LocationIn)


@router.get(
    "/locations", summary="List locations, newest first",
    responses=documented(Page[LocationOut]),
)
async def list_locations(
    request: Request,
    principal: StaffReader,
    kind: LocationKind | None = None,
    country: str | None = None,
    active: bool | None = None,
    limit: Limit = 50,
    cursor: str | None = None,
) -> Response:
    f = service.LocationFilter(kind, country, active)
    return json_response(await read(request, lambda s: service.list_locations(s, f, limit, cursor)))


@router.get(
    "/locations/{ref}", summary="Get a location by code or id",
    responses=documented(LocationOut, problems=(404,)),
)
async def get_location(ref: str, request: Request, principal: StaffReader) -> Response:
    return _versioned(await read(request, lambda s: service.get(s, LOCATION, ref)))


@router.patch(
    "/locations/{ref}",
    summary="Change a location",
    description='The code cannot change. Deactivate a location with `{"active": false}`.',
    openapi_extra=body_schema(LocationPatch),
    responses=documented(LocationOut, problems=(404, 409, 428)),
)
async def update_location(ref: str, request: Request, principal: AdminWriter, if_match: IfMatch = None) -> Response:
    return await _update(request, LOCATION, LocationPatch, ref, if_match)


# ----------------------------------------------------------------------------------------------
# Legal entities


@router.post(
    "/legal-entities", status_code=201, summary="Create a legal entity (a seller)",
    description="The default entity sells through every channel that names none; a new default replaces the old.",
    openapi_extra=body_schema(LegalEntityIn),
    responses=documented(LegalEntityOut, 201, problems=CREATE_PROBLEMS),
)
async def create_legal_entity(request: Request, principal: AdminWriter) -> Response:
    return await _create(request, principal, LEGAL_ENTITY, LegalEntityIn)


@router.get(
    "/legal-entities", summary="List legal entities, newest first",
    responses=documented(Page[LegalEntityOut]),
)
async def list_legal_entities(
    request: Request, principal: StaffReader, active: bool | None = None, limit: Limit = 50, cursor: str | None = None
) -> Response:
    return json_response(await read(request, lambda s: service.list_legal_entities(s, active, limit, cursor)))


@router.get(
    "/legal-entities/{ref}", summary="Get a legal entity by code or id",
    responses=documented(LegalEntityOut, problems=(404,)),
)
async def get_legal_entity(ref: str, request: Request, principal: StaffReader) -> Response:
    return _versioned(await read(request, lambda s: service.get(s, LEGAL_ENTITY, ref)))


@router.patch(
    "/legal-entities/{ref}", summary="Change a legal entity", description="The code cannot change.",
    openapi_extra=body_schema(LegalEntityPatch),
    responses=documented(LegalEntityOut, problems=(404, 409, 428)),
)
async def update_legal_entity(
    ref: str, request: Request, principal: AdminWriter, if_match: IfMatch = None
) -> Response:
    return await _update(request, LEGAL_ENTITY, LegalEntityPatch, ref, if_match)


LOGO_PATH = "/api/v1/legal-entities/{ref}/logo"
_IMAGE = {"schema": {"type": "string", "format": "binary"}}


@router.put(
    "/legal-entities/{ref}/logo", status_code=204, summary="Set a legal entity's logo",
    description=(
        "The image is the request body, sent as `image/png` or `image/jpeg`, at most 1 MiB and 4000 pixels a "
        "side; it is printed at the top of the entity's invoices and credit notes. An image that does not "
        "decode as its type answers 422."
    ),
    openapi_extra={"requestBody": {"required": True, "content": {mt: _IMAGE for mt in logos.MEDIA_TYPES}}},
    responses=documented(None, 204, description="The logo is set", problems=(404, 413, 415, 422)),
)
async def put_legal_entity_logo(ref: str, request: Request, principal: AdminWriter) -> Response:
    media_type = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if media_type not in logos.MEDIA_TYPES:
        raise UnsupportedMediaType("a logo is a PNG or JPEG image",
                                   [FieldError("Content-Type", "send image/png or image/jpeg")])
    data = await request.body()
    if len(data) > logos.MAX_LOGO_BYTES:  # a chunked body is counted by the request guard; this is a backstop
        raise BodyTooLarge(f"the request body is larger than {logos.MAX_LOGO_BYTES} bytes")
    logos.check_logo(data, media_type)
    await run_in_threadpool(database(request).transaction, lambda s: logos.set_logo(s, ref, data, media_type))
    return Response(status_code=204)


@router.delete(
    "/legal-entities/{ref}/logo", status_code=204, summary="Remove a legal entity's logo",
    responses=documented(None, 204, description="The entity has no logo", problems=(404,)),
)
async def delete_legal_entity_logo(ref: str, request: Request, principal: AdminWriter) -> Response:
    await run_in_threadpool(database(request).transaction, lambda s: logos.set_logo(s, ref, None, None))
    return Response(status_code=204)
