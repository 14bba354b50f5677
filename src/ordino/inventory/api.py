"""Inventory endpoints: /location-groups, PUT /inventory, /inventory/imports, /availability,
/reservations and /locations/{ref}/capacity. Thin: validate, run the use case in one transaction,
answer JSON."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import date
from typing import Annotated, Any, Literal, TypeVar

import orjson
from fastapi import APIRouter, Depends, Header, Query, Request
from pydantic import BaseModel
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect
from starlette.responses import Response

from ordino.inventory import availability as availability_service
from ordino.inventory import groups, holds, imports, service, sourcing, stock
from ordino.inventory.schemas import (
    AvailabilityIn,
    AvailabilityOut,
    CapacityReleaseIn,
    CapacityUnitsIn,
    DailyCapacityIn,
    DailyCapacityOut,
    DayCapacityIn,
    DayCapacityOut,
    FulfilIn,
    FulfilledOut,
    ImportErrorOut,
    InventoryImportOut,
    InventoryUpdateIn,
    InventoryUpdateOut,
    LocationGroupIn,
    LocationGroupOut,
    LocationGroupPatch,
    Mode,
    ReleasedOut,
    ReleaseIn,
    ReservationOut,
    ReservationsOut,
    ReserveIn,
    SourcingIn,
    SourcingOut,
    TransferIn,
    TransferredOut,
)
from ordino.kernel import idempotency
from ordino.kernel.auth import Principal, Role, database, require
from ordino.kernel.endpoint import body_schema, command, parse_body, read, read_json, run_combined, run_command
from ordino.kernel.errors import FieldError, UnsupportedMediaType, ValidationFailed
from ordino.kernel.http import dumps, etag, json_response, raw_json
from ordino.kernel.ids import parse_id
from ordino.kernel.openapi import documented
from ordino.kernel.schema import Page

router = APIRouter(prefix="/api/v1", tags=["inventory"])

STAFF = (Role.ADMIN, Role.AGENT, Role.FULFILLMENT, Role.FINANCE, Role.INTEGRATION)
Reader = Annotated[Principal, Depends(require(*STAFF))]
Admin = Annotated[Principal, Depends(require(Role.ADMIN))]
StockWriter = Annotated[Principal, Depends(require(Role.ADMIN, Role.INTEGRATION, Role.FULFILLMENT))]
Reserver = Annotated[Principal, Depends(require(Role.ADMIN, Role.AGENT, Role.INTEGRATION))]
Mover = Annotated[Principal, Depends(require(Role.ADMIN, Role.AGENT, Role.INTEGRATION, Role.FULFILLMENT))]
Shipper = Annotated[Principal, Depends(require(Role.ADMIN, Role.INTEGRATION, Role.FULFILLMENT))]
Limit = Annotated[int, Query(ge=1, le=200)]
IfMatch = Annotated[str | None, Header(description="The record's ETag (its version)")]
Doc = dict[str, Any]




# ------------------------------------------------------------------------------------------------
# Location groups


@router.post(
    "/location-groups", status_code=201, summary="Create a location group", tags=["locations"],
    openapi_extra=body_schema(LocationGroupIn),
    responses=documented(LocationGroupOut, 201, problems={409: "The code is in use"}),
)
async def create_location_group(request: Request, principal: Admin) -> Response:
    body = await request.body()
    data = parse_body(LocationGroupIn, body)
    base = request.url.path

    def work(session: Session) -> tuple[int, bytes]:
        return 201, dumps(groups.create_group(session, data))

    def headers(_status: int, payload: bytes) -> dict[str, str]:
        doc = orjson.loads(payload)
        return {"Location": f"{base}/{doc['id']}", "ETag": etag(doc["version"])}

    return await run_command(request, principal, work, body, headers)


@router.get(
    "/location-groups", summary="List location groups, newest first", tags=["locations"],
    responses=documented(Page[LocationGroupOut]),
)
async def list_location_groups(
    request: Request, principal: Reader, limit: Limit = 50, cursor: str | None = None
) -> Response:
    return json_response(await read(request, lambda s: groups.list_groups(s, limit, cursor)))


@router.get(
    "/location-groups/{ref}", summary="Get a location group by code or id", tags=["locations"],
    responses=documented(LocationGroupOut, problems=(404,)),
)
async def get_location_group(ref: str, request: Request, principal: Reader) -> Response:
    doc = await read(request, lambda s: groups.get_group(s, ref))
    return json_response(doc, headers={"ETag": etag(doc["version"])})


@router.patch(
    "/location-groups/{ref}", summary="Rename a location group or replace its locations", tags=["locations"],
    openapi_extra=body_schema(LocationGroupPatch),
    responses=documented(LocationGroupOut, problems=(404, 409, 428)),
)
async def update_location_group(ref: str, request: Request, principal: Admin, if_match: IfMatch = None) -> Response:
    patch = parse_body(LocationGroupPatch, await request.body())
    doc = await run_in_threadpool(
        database(request).transaction, lambda s: groups.update_group(s, ref, patch, if_match)
    )
    return json_response(doc, headers={"ETag": etag(doc["version"])})


# ------------------------------------------------------------------------------------------------
# Stock records and imports


@router.put(
    "/inventory",
    summary="Set or change stock of many positions",
    description=(
        "Applies every valid record and reports each as `applied`, `duplicate` (its `record_id` was "
        "applied before) or `error`. A record is atomic; the batch is not. In `absolute` mode the "
        "given values replace the position's (futures included); in `delta` mode they are added, and "
        "a record that would take on hand or safety stock below zero is refused."
    ),
    openapi_extra=body_schema(InventoryUpdateIn),
    responses=documented(InventoryUpdateOut, problems={409: "The Idempotency-Key is in use"}),
)
async def put_inventory(request: Request, principal: StockWriter) -> Response:
    body = await request.body()
    data = await run_in_threadpool(parse_body, InventoryUpdateIn, body)

    def work(session: Session) -> tuple[int, bytes]:
        return 200, dumps(stock.update_inventory(session, data))

    return await run_command(request, principal, work, body)


_NDJSON = ("application/x-ndjson", "application/ndjson", "application/jsonl", "application/x-jsonlines")


def _format(content_type: str | None, given: str | None) -> str:
    if given:
        return given
    media = (content_type or "").split(";")[0].strip().lower()
    if media in ("text/csv", "application/csv"):
        return "csv"
    if media in _NDJSON:
        return "ndjson"
    raise UnsupportedMediaType("send the file as the body with Content-Type text/csv or application/x-ndjson")


@router.post(
    "/inventory/imports",
    status_code=201,
    summary="Import stock records from a CSV or NDJSON file",
    description=(
        "Send the file as the request body (`Content-Type: text/csv` or `application/x-ndjson`). "
        "It is parsed as it arrives and applied in chunks of 5,000 rows; each row is atomic. "
        "Answers with the finished import: counts and status; the rows that failed are listed at "
        "`/inventory/imports/{id}/errors`. With `Idempotency-Key`, a repeated request answers the "
        "import started first, as it stands, without reading the file again."
    ),
    responses=documented(
        InventoryImportOut, 201, also={200: "The import started first under this key"}, problems=(409, 413, 415)
    ),
)
async def import_inventory(
    request: Request,
    principal: StockWriter,
    mode: Annotated[Mode, Query(description="For rows without their own mode")] = "absolute",
    format: Annotated[Literal["csv", "ndjson"] | None, Query(description="Overrides Content-Type")] = None,
) -> Response:
    fmt = _format(request.headers.get("content-type"), format)
    db = database(request)
    key = request.headers.get("idempotency-key")
    path = request.url.path

    def begin() -> tuple[Doc, bool]:
        def create(session: Session) -> tuple[int, bytes]:
            return 201, dumps(imports.start_import(session, fmt, mode, principal.actor))

        outcome = idempotency.run(
            db, create, api_key_id=principal.key_id, key=key, method="POST", path=path,
            body=f"{fmt} {mode}".encode(),
        )
        doc = orjson.loads(outcome.body)
        if outcome.replayed:
            with db.read() as session:
                doc = imports.get_import(session, doc["id"])
        return doc, outcome.replayed

    pipe = imports.Pipe()

    def run() -> tuple[Doc, bool]:
        try:
            return imports.run_import(db, imports.parser_for(fmt, pipe, mode), begin)
        finally:
            pipe.abandon()

    task = asyncio.ensure_future(run_in_threadpool(run))
    complete = False
    try:
        async for piece in request.stream():
            if pipe.abandoned.is_set():
                break
            if piece:
                await pipe.feed(piece)
        await pipe.feed(None)
        complete = True
    except ClientDisconnect:
        pass
    finally:
        if not complete:  # the client went away (or the request was cancelled): stop the reader
            pipe.break_off(imports.UploadInterrupted("the upload was interrupted"))
    doc, replayed = await task
    headers = {"Location": f"{path}/{doc['id']}"}
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    return raw_json(dumps(doc), 200 if replayed else 201, headers)


@router.get(
    "/inventory/imports/{import_id}", summary="Progress and outcome of an import",
    responses=documented(InventoryImportOut, problems=(404,)),
)
async def get_import(import_id: str, request: Request, principal: Reader) -> Response:
    return json_response(await read(request, lambda s: imports.get_import(s, import_id)))


@router.get(
    "/inventory/imports/{import_id}/errors", summary="The rows of an import that were not applied",
    responses=documented(Page[ImportErrorOut], problems=(404,)),
)
async def list_import_errors(
    import_id: str, request: Request, principal: Reader, limit: Limit = 200, cursor: str | None = None
) -> Response:
    return json_response(await read(request, lambda s: imports.list_errors(s, import_id, limit, cursor)))


# ------------------------------------------------------------------------------------------------
# Availability


@router.post(
    "/availability",
    summary="Availability of SKUs at locations and location groups",
    description=(
        "Per SKU × location and per SKU × location group: on hand, reserved, safety stock, "
        "backordered, futures, available to fulfil (on hand − reserved − safety stock) and available "
        "to order (+ futures − backordered). Exact and current: every committed write is visible. "
        "Without locations and groups, every active location."
    ),
    openapi_extra=body_schema(AvailabilityIn),
    responses=documented(AvailabilityOut),
)
async def post_availability(request: Request, principal: Reader) -> Response:
    data = parse_body(AvailabilityIn, await request.body())
    db = database(request)

    def read() -> bytes:
        return dumps(availability_service.read(db, data.skus, data.locations, data.location_groups))

    return raw_json(await run_in_threadpool(read), 200)


# ------------------------------------------------------------------------------------------------
# Reservations


@router.post(
    "/reservations",
    status_code=201,
    summary="Reserve stock (a cart hold, an order)",
    description=(
        "All lines or none: a line that stock cannot cover answers 409 `out-of-stock` naming each "
        "SKU and what is available, and nothing is reserved. With `expires_in_seconds` or "
        "`expires_at` the hold is released automatically when it expires."
    ),
    openapi_extra=body_schema(ReserveIn),
    responses=documented(ReservationsOut, 201, problems={
        404: "The reference is another account's order item or reservation (a scoped key)",
        409: "Out of stock (`out-of-stock` names each SKU)",
    }),
)
async def create_reservation(request: Request, principal: Reserver) -> Response:
    body = await request.body()
    data = parse_body(ReserveIn, body)
    if data.expires_in_seconds is not None and data.expires_at is not None:
        raise ValidationFailed([FieldError("expires_at", "give expires_in_seconds or expires_at, not both")])
    account_id = principal.account_id
    if account_id is not None or parse_id(data.reference) is not None:  # a cart id of an unscoped key: no look-up
        item_accounts: holds.ItemAccounts = request.app.state.item_accounts
        account_id = await read(request, lambda s: holds.account_for(s, data.reference, principal, item_accounts))
    call = holds.ReserveCall(
        command(request, principal, body), data.reference,
        [service.Line(x.sku, x.location, x.quantity) for x in data.lines], data.expires_at, data.expires_in_seconds,
        account_id,
    )
    return await run_combined(request, "reservations", holds.run_calls, call)


@router.get(
    "/reservations", summary="List reservations, newest first",
    responses=documented(Page[ReservationOut]),
)
async def list_reservations(
    request: Request,
    principal: Reader,
    reference: str | None = None,
    sku: str | None = None,
    location: str | None = None,
    status: Literal["active", "fulfilled", "released", "expired", "transferred"] | None = None,
    limit: Limit = 50,
    cursor: str | None = None,
) -> Response:
    f = service.ReservationFilter(reference, sku, location, status)
    return json_response(await read(request, lambda s: service.list_reservations(s, f, limit, cursor, principal)))


@router.post(
    "/reservations/{reference}/release",
    summary="Release reserved units",
    description="Without a body, every open unit of the reference; else those of a SKU (and location), or a quantity.",
    openapi_extra=body_schema(ReleaseIn),
    responses=documented(ReleasedOut, problems=(404, 409)),
)
async def release_reservation(reference: str, request: Request, principal: Mover) -> Response:
    body = await request.body()
    data = parse_body(ReleaseIn, body) if body.strip() else ReleaseIn()

    def work(session: Session) -> tuple[int, bytes]:
        doc = service.release(session, reference, data.sku, data.quantity, location=data.location, principal=principal)
        return 200, dumps(doc)

    return await run_command(request, principal, work, body)


@router.post(
    "/reservations/{reference}/transfer",
    summary="Move reserved units to another location",
    openapi_extra=body_schema(TransferIn),
    responses=documented(TransferredOut, problems=(404, 409)),
)
async def transfer_reservation(reference: str, request: Request, principal: Mover) -> Response:
    body = await request.body()
    data = parse_body(TransferIn, body)

    def work(session: Session) -> tuple[int, bytes]:
        doc = service.transfer(
            session, reference, data.to_location, data.quantity, sku=data.sku, from_location=data.from_location,
            reservation_id=data.reservation_id, principal=principal,
        )
        return 200, dumps(doc)

    return await run_command(request, principal, work, body)


@router.post(
    "/reservations/{reference}/fulfil",
    summary="Ship reserved units: on hand and reserved go down together",
    openapi_extra=body_schema(FulfilIn),
    responses=documented(FulfilledOut, problems=(404, 409)),
)
async def fulfil_reservation(reference: str, request: Request, principal: Shipper) -> Response:
    body = await request.body()
    data = parse_body(FulfilIn, body)
    lines = [service.Line(x.sku, x.location, x.quantity) for x in data.lines]

    def work(session: Session) -> tuple[int, bytes]:
        return 200, dumps(service.fulfil_lines(session, reference, lines, principal=principal))

    return await run_command(request, principal, work, body)


# ------------------------------------------------------------------------------------------------
# Channel sourcing


@router.get("/channels/{code}/sourcing", summary="Where the channel's orders are reserved at intake",
            tags=["channels"],
    responses=documented(SourcingOut, problems=(404,)),
)
async def get_channel_sourcing(code: str, request: Request, principal: Reader) -> Response:
    return await read_json(request, lambda session: sourcing.get_sourcing(session, code))



@router.put(
    "/channels/{code}/sourcing",
    summary="Set where the channel's orders are reserved at intake",
    description=(
        "`none`: orders are reserved when they are routed. `location`: every line is reserved at "
        "that location. `location_group`: at the group's locations (most available first, split "
        "when no single location covers a line); routing later moves the holds. With a mode other "
        "than `none`, an order that stock cannot cover is refused with 409 `out-of-stock`."
    ),
    tags=["channels"],
    openapi_extra=body_schema(SourcingIn),
    responses=documented(SourcingOut, problems=(404, 409)),
)
async def put_channel_sourcing(code: str, request: Request, principal: Admin) -> Response:
    body = await request.body()
    data = parse_body(SourcingIn, body)

    def work(session: Session) -> tuple[int, bytes]:
        return 200, dumps(sourcing.set_sourcing(session, code, data.mode, data.target))

    return await run_command(request, principal, work, body)


# ------------------------------------------------------------------------------------------------
# Daily capacity of a location

M = TypeVar("M", bound=BaseModel)


def _day_doc(session: Session, code: str, day: date) -> Doc:
    return {"location": code, **groups.capacity(session, code, day)}


async def _capacity_command(
    request: Request, principal: Principal, model: type[M], ref: str, day: date,
    change: Callable[[Session, str, M], None],
) -> Response:
    """A change of one day's capacity under the request's Idempotency-Key; answers the day."""
    body = await request.body()
    data = parse_body(model, body)

    def work(session: Session) -> tuple[int, bytes]:
        code = groups.capacity_location(session, ref)
        change(session, code, data)
        return 200, dumps(_day_doc(session, code, day))

    return await run_command(request, principal, work, body)


@router.get("/locations/{ref}/capacity", summary="A location's capacity units per day (null: no limit)",
            tags=["locations"], responses=documented(DailyCapacityOut, problems=(404,)))
async def get_daily_capacity(ref: str, request: Request, principal: Reader) -> Response:
    def daily(session: Session) -> Doc:
        code = groups.capacity_location(session, ref)
        return {"location": code, "units_per_day": groups.daily_capacity(session, code)}

    return json_response(await read(request, daily))


@router.get("/locations/{ref}/capacity/{day}", summary="A location's capacity on a day: held, confirmed, remaining",
            tags=["locations"], responses=documented(DayCapacityOut, problems=(404,)))
async def get_day_capacity(ref: str, day: date, request: Request, principal: Reader) -> Response:
    def one_day(session: Session) -> Doc:
        return _day_doc(session, groups.capacity_location(session, ref), day)

    return json_response(await read(request, one_day))


@router.put(
    "/locations/{ref}/capacity", summary="Set a location's capacity units per day (null: no limit)",
    tags=["locations"], openapi_extra=body_schema(DailyCapacityIn),
    responses=documented(DailyCapacityOut, problems=(404,)),
)
async def put_daily_capacity(ref: str, request: Request, principal: Admin) -> Response:
    body = await request.body()
    data = parse_body(DailyCapacityIn, body)

    def work(session: Session) -> tuple[int, bytes]:
        code = groups.capacity_location(session, ref)
        groups.set_daily_capacity(session, code, data.units_per_day)
        return 200, dumps({"location": code, "units_per_day": data.units_per_day})

    return await run_command(request, principal, work, body)


@router.put(
    "/locations/{ref}/capacity/{day}", summary="Override one day's capacity (null: the location's again)",
    tags=["locations"], openapi_extra=body_schema(DayCapacityIn),
    responses=documented(DayCapacityOut, problems=(404,)),
)
async def put_day_capacity(ref: str, day: date, request: Request, principal: Admin) -> Response:
    return await _capacity_command(
        request, principal, DayCapacityIn, ref, day,
        lambda s, code, d: groups.set_day_capacity(s, code, day, d.capacity),
    )


@router.post(
    "/locations/{ref}/capacity/{day}/hold", summary="Hold capacity units of a day",
    description="All or nothing: units that do not fit answer 409 `capacity-exhausted` and nothing is held.",
    tags=["locations"], openapi_extra=body_schema(CapacityUnitsIn),
    responses=documented(DayCapacityOut, problems=(404, 409)),
)
async def hold_capacity(ref: str, day: date, request: Request, principal: Shipper) -> Response:
    return await _capacity_command(
        request, principal, CapacityUnitsIn, ref, day,
        lambda s, code, d: groups.hold_capacity(s, code, day, d.units),
    )


@router.post(
    "/locations/{ref}/capacity/{day}/confirm", summary="Turn held capacity units into confirmed ones",
    description="More units than are held answer 409 `capacity-not-held` and nothing changes.",
    tags=["locations"], openapi_extra=body_schema(CapacityUnitsIn),
    responses=documented(DayCapacityOut, problems=(404, 409)),
)
async def confirm_capacity(ref: str, day: date, request: Request, principal: Shipper) -> Response:
    return await _capacity_command(
        request, principal, CapacityUnitsIn, ref, day,
        lambda s, code, d: groups.confirm_capacity(s, code, day, d.units),
    )


@router.post(
    "/locations/{ref}/capacity/{day}/release", summary="Give back held (or confirmed) capacity units",
    description="More units than are held (confirmed) answer 409 `capacity-not-held` and nothing changes.",
    tags=["locations"], openapi_extra=body_schema(CapacityReleaseIn),
    responses=documented(DayCapacityOut, problems=(404, 409)),
)
async def release_capacity(ref: str, day: date, request: Request, principal: Shipper) -> Response:
    return await _capacity_command(
        request, principal, CapacityReleaseIn, ref, day,
        lambda s, code, d: groups.release_capacity(s, code, day, d.units, confirmed=d.confirmed),
    )
