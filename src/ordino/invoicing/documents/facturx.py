"""Factur-X / ZUGFeRD: the invoice PDF as PDF/A-3B carrying its EN 16931 CII XML as `factur-x.xml`.

The embedding, the Factur-X XMP metadata (profile "EN 16931") and the XSD check of the XML are the
`factur-x` library's (Akretion). What PDF/A-3 asks beyond that is done here, after the library, on
the finished file, so the printed layout stays `pdf.render_pdf`'s:

- an output intent with an sRGB ICC profile, since fpdf2 paints in DeviceRGB/DeviceGray; the profile
  is Little CMS's built-in sRGB (ICC v4, display class, both accepted by PDF/A-2 and -3);
- a document information dictionary that says what the XMP says (ISO 19005-3 6.6.2.3.1): the library
  keeps fpdf2's producer and writes an empty keywords entry that the XMP lacks;
- an uncompressed XMP stream, readable by tools that do not inflate streams.

fpdf2 already embeds every font it uses (DejaVu, TrueType subsets with a ToUnicode map) and writes the
file identifier that PDF/A requires in the trailer.
"""

from __future__ import annotations

import logging
from io import BytesIO
from typing import cast

from facturx import generate_from_binary
from PIL import ImageCms
from pypdf import PdfReader, PdfWriter
from pypdf.generic import ArrayObject, DictionaryObject, NameObject, NumberObject, StreamObject, TextStringObject

from ordino.invoicing.documents.cii import render_cii
from ordino.invoicing.documents.domain import Document, DocumentKind
from ordino.invoicing.documents.labels import labels_for
from ordino.invoicing.documents.pdf import render_pdf

FILENAME = "factur-x.xml"
LEVEL = "en16931"  # the Factur-X profile whose XMP conformance level reads "EN 16931"
OUTPUT_CONDITION = "sRGB IEC61966-2.1"
PDF_HEADER = "%PDF-1.7"  # PDF/A-3 is built on ISO 32000-1 (PDF 1.7)
XMP_PRODUCER = "pypdf"  # what the library writes as pdf:Producer in the XMP

logging.getLogger("factur-x").setLevel(logging.WARNING)  # the library logs every file at INFO


def render_facturx(doc: Document) -> bytes:
    """The document's PDF as a Factur-X (EN 16931 profile) PDF/A-3B file."""
    xml = render_cii(doc)  # refuses first, with the same `DocumentError` as the CII
    labels = labels_for(doc.locale)
    title = f"{labels['credit_note' if doc.kind is DocumentKind.CREDIT_NOTE else 'invoice']} {doc.number}"
    metadata = {
        "author": doc.seller.name,
        "title": title,
        "subject": f"{title}, {doc.issue_date.isoformat()}, {doc.seller.name}",
    }
    pdf: bytes = generate_from_binary(
        render_pdf(doc), xml, flavor="factur-x", level=LEVEL, check_xsd=True, pdf_metadata=metadata,
        lang=doc.language.replace("_", "-"), afrelationship="data", xmp_compression=False,
    )
    return _pdfa(pdf)


def srgb_profile() -> bytes:
    """An sRGB ICC profile (Little CMS's built-in one, through Pillow)."""
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def _pdfa(pdf: bytes) -> bytes:
    """What PDF/A-3 asks that the library leaves out: an output intent, an info dictionary like the XMP."""
    writer = PdfWriter(clone_from=PdfReader(BytesIO(pdf)))
    writer.pdf_header = PDF_HEADER
    profile = StreamObject()
    profile.set_data(srgb_profile())
    profile[NameObject("/N")] = NumberObject(3)
    profile = profile.flate_encode()
    intent = DictionaryObject({
        NameObject("/Type"): NameObject("/OutputIntent"),
        NameObject("/S"): NameObject("/GTS_PDFA1"),  # the subtype PDF/A-2 and -3 keep from PDF/A-1
        NameObject("/OutputConditionIdentifier"): TextStringObject(OUTPUT_CONDITION),
        NameObject("/Info"): TextStringObject(OUTPUT_CONDITION),
        NameObject("/DestOutputProfile"): writer._add_object(profile),
    })
    writer.root_object[NameObject("/OutputIntents")] = ArrayObject([writer._add_object(intent)])
    if writer._info is not None:
        info = cast(DictionaryObject, writer._info.get_object())
        # The XMP has pdf:Producer "pypdf" and no pdf:Keywords; the info dictionary must agree.
        info[NameObject("/Producer")] = TextStringObject(XMP_PRODUCER)
        info.pop(NameObject("/Keywords"), None)
    out = BytesIO()
    writer.write(out)
    return out.getvalue()
