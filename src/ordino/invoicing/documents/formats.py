"""The formats an invoice or credit memo is issued in, and the one each buyer receives.

- `pdf`: the printed document in the buyer's language;
- `ubl` / `peppol`: UBL 2.1 per Peppol BIS Billing 3.0 (EN 16931 compliant);
- `xrechnung`: UBL 2.1 per XRechnung 3.0, the German CIUS (needs the buyer's reference, e.g. a Leitweg-ID);
- `facturx`: the PDF as PDF/A-3 with its EN 16931 CII XML embedded (Factur-X / ZUGFeRD, profile EN 16931);
- `cii`: the CII XML alone.

An account chooses what it receives (`einvoice_format`: pdf, peppol, xrechnung or facturx); a
document asked for without a format comes in that one, and the invoice's event names it, so that
whatever delivers documents knows what to send.
"""

from __future__ import annotations

from enum import StrEnum

from ordino.invoicing.documents.domain import Document


class Format(StrEnum):
    PDF = "pdf"
    UBL = "ubl"
    PEPPOL = "peppol"
    XRECHNUNG = "xrechnung"
    FACTURX = "facturx"
    CII = "cii"


# What an account may choose to receive.
ACCOUNT_FORMATS = (Format.PDF, Format.PEPPOL, Format.XRECHNUNG, Format.FACTURX)
MEDIA = {
    Format.PDF: "application/pdf", Format.UBL: "application/xml", Format.PEPPOL: "application/xml",
    Format.XRECHNUNG: "application/xml", Format.FACTURX: "application/pdf", Format.CII: "application/xml",
}
EXTENSION = {f: "pdf" if MEDIA[f] == "application/pdf" else "xml" for f in Format}


def render(doc: Document, fmt: Format) -> bytes:
    """`doc` in `fmt`. The renderers are imported when first used: the PDF/A and XML libraries
    they need are not loaded by a server that never renders."""
    if fmt is Format.PDF:
        from ordino.invoicing.documents.pdf import render_pdf

        return render_pdf(doc)
    if fmt is Format.FACTURX:
        from ordino.invoicing.documents.facturx import render_facturx

        return render_facturx(doc)
    if fmt is Format.CII:
        from ordino.invoicing.documents.cii import render_cii

        return render_cii(doc)
    from ordino.invoicing.documents.ubl import Flavour, render_ubl

    return render_ubl(doc, Flavour.XRECHNUNG if fmt is Format.XRECHNUNG else Flavour.PEPPOL)
