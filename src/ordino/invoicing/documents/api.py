"""Invoice and credit memo documents: PDF in the account's language, UBL 2.1 as Peppol BIS 3 or XRechnung."""

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
from ordino.invoicing.documents.ubl import Flavour, render_ubl
from ordino.kernel.auth import Principal, Role, database, require
from ordino.kernel.openapi import binary

router = APIRouter(prefix="/api/v1", tags=["invoicing"])

Reader = Annotated[Principal, Depends(require(Role.ADMIN, Role.AGENT, Role.FINANCE, Role.INTEGRATION, Role.BUYER))]
Format = Annotated[Literal["pdf", "ubl", "xrechnung"], Query(
    description="pdf; ubl (UBL 2.1, Peppol BIS Billing 3.0, which is EN 16931 compliant); or xrechnung "
    "(UBL 2.1 per XRechnung 3.0, the German CIUS)")]
MEDIA = {"pdf": "application/pdf", "ubl": "application/xml", "xrechnung": "application/xml"}
EXTENSION = {"pdf": "pdf", "ubl": "xml", "xrechnung": "xml"}
FLAVOURS = {"ubl": Flavour.PEPPOL, "xrechnung": Flavour.XRECHNUNG}
DOCUMENT = binary({"application/pdf": "PDF", "application/xml": "UBL 2.1 (Peppol BIS Billing 3.0 or XRechnung)"},
                  problems=(404,))


async def _render(request: Request, fmt: str, build: Callable[[Session], Document]) -> Response:
    def work() -> tuple[str, bytes]:
        with database(request).read() as session:
            doc = build(session)
        return doc.number, render_pdf(doc) if fmt == "pdf" else render_ubl(doc, FLAVOURS[fmt])

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
