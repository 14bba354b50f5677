"""Invoice and credit memo documents: PDF, UBL (Peppol BIS 3, XRechnung), Factur-X and CII."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from ordino.invoicing import reads
from ordino.invoicing.documents.domain import Document
from ordino.invoicing.documents.formats import EXTENSION, MEDIA, Format, render
from ordino.invoicing.documents.rendering import credit_memo_document, invoice_document
from ordino.invoicing.invoices import account_billing
from ordino.kernel.auth import Principal, Role, database, require
from ordino.kernel.openapi import binary

router = APIRouter(prefix="/api/v1", tags=["invoicing"])

Reader = Annotated[Principal, Depends(require(Role.ADMIN, Role.AGENT, Role.FINANCE, Role.INTEGRATION, Role.BUYER))]
FormatQuery = Annotated[Format | None, Query(description=(
    "pdf; ubl or peppol (UBL 2.1, Peppol BIS Billing 3.0); xrechnung (UBL 2.1, XRechnung 3.0); facturx "
    "(PDF/A-3 with the EN 16931 CII embedded); cii (the CII XML). Default: the account's e-invoice format"))]
DOCUMENT = binary({"application/pdf": "PDF or Factur-X", "application/xml": "UBL 2.1 or CII (EN 16931)"},
                  problems=(404, 409))


async def _render(request: Request, fmt: Format | None, build: Callable[[Session], tuple[Document, str]]) -> Response:
    def work() -> tuple[str, Format, bytes]:
        with database(request).read() as session:
            doc, chosen = build(session)
        use = fmt or Format(chosen)
        return doc.number, use, render(doc, use)

    number, use, body = await run_in_threadpool(work)
    return Response(body, media_type=MEDIA[use], headers={
        "Content-Disposition": f'inline; filename="{number}.{EXTENSION[use]}"',
    })


def _format_of(session: Session, document: dict[str, Any]) -> str:
    return account_billing(session, uuid.UUID(str(document["account"]["id"]))).document_format


@router.get("/invoices/{ref}/document", summary="An invoice as PDF, UBL (Peppol, XRechnung), Factur-X or CII",
            responses=DOCUMENT)
async def invoice_file(ref: str, request: Request, principal: Reader, format: FormatQuery = None) -> Response:
    def build(session: Session) -> tuple[Document, str]:
        invoice = reads.get_invoice(session, ref, principal)
        return invoice_document(session, uuid.UUID(str(invoice["id"]))), _format_of(session, invoice)

    return await _render(request, format, build)


@router.get("/credit-memos/{ref}/document",
            summary="A credit memo as PDF, UBL credit note (Peppol, XRechnung), Factur-X or CII", responses=DOCUMENT)
async def credit_memo_file(ref: str, request: Request, principal: Reader, format: FormatQuery = None) -> Response:
    def build(session: Session) -> tuple[Document, str]:
        memo = reads.get_credit_memo(session, ref, principal)
        return credit_memo_document(session, uuid.UUID(str(memo["id"]))), _format_of(session, memo)

    return await _render(request, format, build)
