"""Bulk orders from CSV and XLSX files: `POST /orders/bulk`.

A `multipart/form-data` upload: the part `file` (CSV or XLSX, at most 4 MiB and 10,000 rows)
and the order header as form fields (see `bulk.BulkOrderIn`). Answers 201 with a summary of the
order (its items are at `Location`), 200 when (channel, external_reference) already named an
order, or a problem listing every bad row. Idempotent by `Idempotency-Key` (the same fields and
the same file bytes replay the answer).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.responses import Response

from ordino.channels.files import service as bulk
from ordino.channels.files.errors import FileTooLarge, MalformedMultipart
from ordino.channels.files.schemas import BulkOrderOut
from ordino.kernel.auth import Principal, Role, require
from ordino.kernel.endpoint import run_command
from ordino.kernel.errors import FieldError, UnsupportedMediaType, ValidationFailed
from ordino.kernel.http import dumps
from ordino.kernel.openapi import documented
from ordino.orders.domain import unknown_gateways
from ordino.payments.gateway import gateways_of

router = APIRouter(prefix="/api/v1", tags=["orders"])

PLACE = require(Role.ADMIN, Role.AGENT, Role.INTEGRATION, Role.BUYER)
MAX_REQUEST_BYTES = bulk.MAX_FILE_BYTES + 64 * 1024  # the file, the fields and the multipart framing


def _form_schema() -> dict[str, Any]:
    fields = bulk.BulkOrderIn.model_json_schema()
    fields["properties"]["file"] = {
        "type": "string", "format": "binary",
        "description": "CSV (header sku,quantity[,ship_to]) or XLSX (the same header row in the first sheet)",
    }
    fields["required"] = ["file", *fields.get("required", [])]
    return {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": fields}}}}


async def _capped(request: Request) -> AsyncGenerator[bytes, None]:
    """The request body, refused once it passes the limit (without reading the rest)."""
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > MAX_REQUEST_BYTES:
            raise FileTooLarge(f"the upload is larger than {MAX_REQUEST_BYTES} bytes")
        yield chunk


async def _read_form(request: Request) -> tuple[bytes, str | None, list[tuple[str, str]]]:
    content_type = request.headers.get("content-type", "")
    if not content_type.lower().startswith("multipart/form-data"):
        raise UnsupportedMediaType(
            "send multipart/form-data: the file in the part 'file' and the order's fields beside it",
        )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_REQUEST_BYTES:
        raise FileTooLarge(f"the upload is larger than {MAX_REQUEST_BYTES} bytes")
    parser = MultiPartParser(request.headers, _capped(request), max_files=1, max_fields=40, max_part_size=64 * 1024)
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        message = f"the body is not valid multipart/form-data: {exc.message}"
        raise MalformedMultipart(message) from None
    try:
        files = [(name, value) for name, value in form.multi_items() if isinstance(value, UploadFile)]
        fields = [(name, value) for name, value in form.multi_items() if isinstance(value, str)]
        if [name for name, _ in files] != ["file"]:
            raise ValidationFailed([FieldError("file", "is required: the CSV or XLSX file, in the part 'file'")])
        upload = files[0][1]
        return await upload.read(), upload.content_type, fields
    finally:
        await form.close()


def summary(document: dict[str, Any], file: bulk.BulkFile) -> dict[str, Any]:
    """The answer to an upload: the order's header and totals, not its thousands of items
    (those are at GET /orders/{id})."""
    groups = [
        {
            "id": g["id"],
            "delivery_method": g["delivery_method"],
            "ship_to": g["ship_to"],
            "lines": sum(1 for item in g["items"] if item["type"] == "product"),
        }
        for g in document["delivery_groups"]
    ]
    keep = ("id", "number", "status", "account", "channel", "external_reference", "po_number", "currency",
            "pricing", "ordered_at", "totals", "created_at")
    return {
        **{name: document[name] for name in keep},
        "lines": sum(g["lines"] for g in groups),
        "delivery_groups": groups,
        "file": {"format": file.kind, "rows": len(file.rows), "sha256": file.digest},
    }



@router.post(
    "/orders/bulk",
    status_code=201,
    summary="Place an order from a CSV or XLSX file",
    description=(
        "One order from up to 10,000 rows `sku, quantity[, ship_to]`: one line per row, one delivery group per "
        "ship-to (an address reference of the account; empty: the `ship_to` field, else the account's default "
        "shipping address). Priced from the catalog and placed like `POST /orders`. A file with bad rows "
        "creates nothing and answers 422 naming every bad row (`rows[<row number>].<column>`, and `rows` "
        "with row, column and message). Files that are not CSV or XLSX answer 415, larger ones 413."
    ),
    openapi_extra=_form_schema(),
    responses=documented(
        BulkOrderOut, 201, description="The order placed", also={200: "The order already existed"},
        problems={404: "The channel or account is not known", 409: "Refused by the order's rules",
                  413: "The file is too large", 415: "Neither CSV nor XLSX", 422: "Bad rows or fields"},
    ),
)
async def place_bulk_order(request: Request, principal: Annotated[Principal, Depends(PLACE)]) -> Response:
    content, content_type, fields = await _read_form(request)
    file = bulk.read_file(content, content_type)
    try:
        header = bulk.read_fields(fields)
    except ValidationFailed as refused:
        if file.errors:  # the rows' own problems are known already: name them too
            report = bulk.RowReport(fields=list(refused.errors), rows=list(file.errors))
            raise report.problem() from None
        raise
    if unknown := unknown_gateways([header.payment_gateway], gateways_of(request)):
        raise ValidationFailed([FieldError("payment_gateway", message) for _, message in unknown])

    def work(session: Session) -> tuple[int, bytes]:
        placed = bulk.place_bulk_order(session, header, file, principal)
        return (201 if placed.created else 200), dumps(summary(placed.document, file))

    def location(_status: int, payload: bytes) -> dict[str, str]:
        return {"Location": f"/api/v1/orders/{orjson.loads(payload)['id']}"}

    return await run_command(request, principal, work, bulk.fingerprint(fields, file), location)
