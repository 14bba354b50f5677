"""Invoice and credit memo documents: PDF in the account's language, UBL 2.1 per EN 16931."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from ordino.invoicing import reads
from ordino.invoicing.documents.domain import Document
from ordino.invoicing.documents.pdf import render_pdf
from ordino.invoicing.documents.rendering import credit_memo_document, invoice_document
from ordino.invoicing.documents.ubl import render_ubl
from ordino.kernel.auth import Principal, Role, database, require
from ordino.kernel.openapi import binary

router = APIRouter(prefix="/api/v1", tags=["invoicing"])

Reader = Annotated[Principal, Depends(require(Role.ADMIN, Role.AGENT, Role.FINANCE, Role.INTEGRATION, Role.BUYER))]
Format = Annotated[Literal["pdf", "ubl"], Query(description="pdf, or ubl (UBL 2.1 XML per EN 16931)")]
MEDIA = {"pdf": "application/pdf", "ubl": "application/xml"}
EXTENSION = {"pdf": "pdf", "ubl": "xml"}
DOCUMENT = binary({"application/pdf": "PDF", "application/xml": "UBL 2.1 (EN 16931)"}, problems=(404,))


async def _render(request: Request, fmt: str, build: Callable[[Session], Document]) -> Response:
    def work() -> tuple[str, bytes]:
        with database(request).read() as session:
            doc = build(session)
        return doc.number, render_pdf(doc) if fmt == "pdf" else render_ubl(doc)

    number, body = await run_in_threadpool(work)
    return Response(body, media_type=MEDIA[fmt], headers={
        "Content-Disposition": f'inline; filename="{number}.{EXTENSION[fmt]}"',
    })


@router.get("/invoices/{ref}/document", summary="An invoice as PDF or UBL",
            responses=DOCUMENT)
async def invoice_file(ref: str, request: Request, principal: Reader, format: Format = "pdf") -> Response:
    def build(session: Session) -> Document:
        invoice_id = uuid.UUID(str(reads.get_invoice(session, ref, principal)["id"]))
        return invoice_document(session, invoice_id)

    return await _render(request, format, build)


@router.get("/credit-memos/{ref}/document", summary="A credit memo as PDF or UBL (credit note)",
            responses=DOCUMENT)
async def credit_memo_file(ref: str, request: Request, principal: Reader, format: Format = "pdf") -> Response:
    def build(session: Session) -> Document:
        memo_id = uuid.UUID(str(reads.get_credit_memo(session, ref, principal)["id"]))
        return credit_memo_document(session, memo_id)

    return await _render(request, format, build)
