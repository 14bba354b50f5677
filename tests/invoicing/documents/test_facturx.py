"""Factur-X: the invoice PDF as PDF/A-3B with its CII embedded, read back as a receiver would."""

from __future__ import annotations

from dataclasses import replace
from io import BytesIO

import pytest
from facturx import get_facturx_xml_from_pdf, xml_check_xsd
from lxml import etree  # type: ignore[import-untyped]
from pypdf import PdfReader
from pypdf.generic import DictionaryObject

from ordino.invoicing.documents.cii import render_cii
from ordino.invoicing.documents.domain import Document
from ordino.invoicing.documents.errors import DocumentError
from ordino.invoicing.documents.facturx import render_facturx
from tests.invoicing.conftest import SELLER, En16931, credit_note, domestic, export

XMP = {
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "pdfaid": "http://www.aiim.org/pdfa/ns/id/",
    "fx": "urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#",
    "dc": "http://purl.org/dc/elements/1.1/",
    "pdf": "http://ns.adobe.com/pdf/1.3/",
    "xmp": "http://ns.adobe.com/xap/1.0/",
}


@pytest.fixture(scope="module")
def invoice() -> tuple[Document, bytes]:
    doc = domestic()
    return doc, render_facturx(doc)


def xmp(reader: PdfReader) -> etree._Element:
    stream = reader.trailer["/Root"]["/Metadata"].get_object()
    assert "/Filter" not in stream  # uncompressed, readable without a PDF library
    return etree.fromstring(stream.get_data())


def test_the_embedded_xml_is_the_documents_cii_and_passes_the_schema(invoice: tuple[Document, bytes]):
    doc, pdf = invoice
    # when the factur-x library reads the file back, checking the XML against the Factur-X XSD
    filename, xml = get_facturx_xml_from_pdf(pdf, check_xsd=True)
    # then it finds factur-x.xml, byte for byte the CII of the document
    assert filename == "factur-x.xml"
    assert xml == render_cii(doc)
    assert xml_check_xsd(xml, flavor="factur-x", level="en16931") is True


def test_the_attachment_is_the_documents_data(invoice: tuple[Document, bytes]):
    _, pdf = invoice
    root = PdfReader(BytesIO(pdf)).trailer["/Root"]
    names = root["/Names"]["/EmbeddedFiles"]["/Names"]
    assert names[0] == "factur-x.xml"
    spec = names[1].get_object()
    assert spec["/AFRelationship"] == "/Data"
    assert spec["/UF"] == spec["/F"] == "factur-x.xml"
    assert [ref.get_object()["/F"] for ref in root["/AF"]] == ["factur-x.xml"]
    stream = spec["/EF"]["/F"].get_object()
    assert stream["/Subtype"] == "/text/xml"
    assert "/ModDate" in stream["/Params"]


def test_the_xmp_says_pdfa_3b_and_factur_x_en16931(invoice: tuple[Document, bytes]):
    _, pdf = invoice
    meta = xmp(PdfReader(BytesIO(pdf)))

    def one(path: str) -> str:
        (value,) = meta.xpath(path, namespaces=XMP)
        return str(value)

    assert one("//pdfaid:part/text()") == "3"
    assert one("//pdfaid:conformance/text()") == "B"
    assert one("//fx:ConformanceLevel/text()") == "EN 16931"
    assert one("//fx:DocumentFileName/text()") == "factur-x.xml"
    assert one("//fx:DocumentType/text()") == "INVOICE"
    assert one("//fx:Version/text()") == "1.0"


def test_the_info_dictionary_says_what_the_xmp_says(invoice: tuple[Document, bytes]):
    # ISO 19005-3 6.6.2.3.1: each info entry has its XMP equivalent, with the same value
    _, pdf = invoice
    reader = PdfReader(BytesIO(pdf))
    meta = xmp(reader)
    info = reader.metadata
    assert info is not None
    assert info["/Title"] == meta.xpath("string(//dc:title//rdf:li)", namespaces=XMP) == "Rechnung INV-2026-000042"
    assert info["/Author"] == meta.xpath("string(//dc:creator//rdf:li)", namespaces=XMP) == "Ordino Demo GmbH"
    assert info["/Subject"] == meta.xpath("string(//dc:description//rdf:li)", namespaces=XMP)
    assert info["/Producer"] == meta.xpath("string(//pdf:Producer)", namespaces=XMP)
    assert info["/Creator"] == meta.xpath("string(//xmp:CreatorTool)", namespaces=XMP)
    assert "/Keywords" not in info  # the XMP has no pdf:Keywords
    stamp = meta.xpath("string(//xmp:CreateDate)", namespaces=XMP)  # 2026-12-07T18:45:33+00:00
    assert info["/CreationDate"] == "D:" + stamp[:19].replace("-", "").replace("T", "").replace(":", "") + "+00'00'"


def test_the_file_is_pdfa_3_by_structure(invoice: tuple[Document, bytes]):
    # veraPDF is not installable from the registries; these are the PDF/A-3B rules this file could break
    _, pdf = invoice
    reader = PdfReader(BytesIO(pdf))
    assert pdf.startswith(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3")  # a binary comment after the header (6.1.2)
    assert not reader.is_encrypted
    ids = reader.trailer["/ID"]  # the file identifier (6.1.3)
    assert len(ids) == 2 and len(ids[0]) == 16
    # an output intent with an RGB display profile of ICC version ≤ 4 (6.2.3), since pages paint in DeviceRGB
    (intent,) = [ref.get_object() for ref in reader.trailer["/Root"]["/OutputIntents"]]
    assert intent["/S"] == "/GTS_PDFA1"
    profile = intent["/DestOutputProfile"].get_object()
    icc = profile.get_data()
    assert profile["/N"] == 3
    assert (icc[12:16], icc[16:20], icc[36:40]) == (b"mntr", b"RGB ", b"acsp")
    assert icc[8] <= 4
    # every font embedded, with a Unicode map (6.2.11)
    fonts: list[DictionaryObject] = []
    for page in reader.pages:
        fonts += [f.get_object() for f in page["/Resources"]["/Font"].values()]
    assert {f["/BaseFont"].split("+")[1] for f in fonts} == {"DejaVuSansBook", "DejaVuSansBold"}
    for font in fonts:
        assert "/ToUnicode" in font
        for descendant in font["/DescendantFonts"]:
            cid = descendant.get_object()
            assert "/FontFile2" in cid["/FontDescriptor"]
            assert "/CIDToGIDMap" in cid
    # nothing PDF/A forbids
    root = reader.trailer["/Root"]
    assert "/JavaScript" not in root.get("/Names", {}) and "/AA" not in root
    # the page is still the printed invoice
    assert "INV-2026-000042" in reader.pages[0].extract_text()


def test_a_credit_note_in_swiss_francs_embeds_its_own_cii(en16931_cii: En16931):
    for doc in (credit_note(), export()):
        pdf = render_facturx(doc)
        _, xml = get_facturx_xml_from_pdf(pdf, check_xsd=True)
        assert xml == render_cii(doc)
        assert en16931_cii.fatal(xml) == []
        title = PdfReader(BytesIO(pdf)).metadata
        assert title is not None and title["/Title"].endswith(doc.number)


def test_a_document_en16931_refuses_gives_no_factur_x():
    doc = replace(domestic(), seller=replace(SELLER, vat_id=None, tax_number=None))
    with pytest.raises(DocumentError) as refused:
        render_facturx(doc)
    assert [e.field for e in refused.value.errors] == ["seller.vat_id"]
