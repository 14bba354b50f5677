"""Reading bulk order files and their form fields, without a database."""

from __future__ import annotations

import codecs
import hashlib
import io
from typing import Any

import openpyxl
import pytest

from ordino.channels.files import service as bulk
from ordino.channels.files.errors import UnsupportedFile
from ordino.channels.files.service import BulkFile, Row, RowError
from ordino.kernel.errors import ValidationFailed

XLSX = bulk.XLSX_TYPE


def read(content: bytes, content_type: str = "text/csv") -> BulkFile:
    return bulk.read_file(content, content_type)


def xlsx(rows: list[list[Any]], title: str | None = None) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    if title:
        sheet.title = title
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_the_delimiter_is_taken_from_the_header(delimiter: str) -> None:
    text = f"sku{delimiter}quantity{delimiter}ship_to\nBOLT-M8{delimiter}5{delimiter}HAM\n"
    assert read(text.encode()).rows == [Row(2, "BOLT-M8", 5, "HAM")]


def test_quoting_byte_order_marks_and_row_numbers_follow_the_spreadsheet() -> None:
    # a quoted SKU with a comma, a quoted cell over two lines, a blank row, CRLF endings
    text = '\ufeffsku,quantity\r\n"BOLT,M8",10\r\n"NUT\r\nM8",2\r\n\r\nPALLET,+3\r\n'
    assert read(text.encode()).rows == [Row(2, "BOLT,M8", 10, None), Row(3, "NUT\r\nM8", 2, None),
                                        Row(5, "PALLET", 3, None)]


def test_utf16_text_with_its_byte_order_mark_is_read() -> None:
    content = codecs.BOM_UTF16_LE + "sku\tquantity\nSCHRAUBE-Ä\t7\n".encode("utf-16-le")
    assert read(content).rows == [Row(2, "SCHRAUBE-Ä", 7, None)]


def test_whole_numbers_may_carry_zero_decimals_and_columns_any_order_and_case() -> None:
    result = read(b"Ship-To,QUANTITY,Sku,,\nBER,10.00,BOLT-M8,,\n,1e3,NUT-M8,,\n,1000000001,X,,\n")
    assert result.rows == [Row(2, "BOLT-M8", 10, "BER")]
    assert result.errors == [
        RowError(3, "quantity", "'1e3' is not a whole number"),
        RowError(4, "quantity", "must be at most 1000000000"),
    ]


def test_long_cells_are_refused_per_row() -> None:
    result = read(f"sku,quantity,ship_to\n{'S' * 65},1,{'R' * 41}\n".encode())
    assert result.errors == [
        RowError(2, "sku", "has more than 64 characters"),
        RowError(2, "ship_to", "has more than 40 characters"),
    ]


def test_xlsx_reads_the_first_sheet_with_its_row_numbers() -> None:
    content = xlsx([[], ["sku", "quantity"], ["BOLT-M8", 5], [None, None], [12345, 2.0], ["NUT-M8", 2.5], [True, 1]])
    result = read(content, XLSX)
    assert result.kind == "xlsx"
    assert result.rows == [Row(3, "BOLT-M8", 5, None), Row(5, "12345", 2, None)]
    assert result.errors == [
        RowError(6, "quantity", "2.5 is not a whole number"),
        RowError(7, "sku", "must be text"),
    ]


def test_an_xlsx_sent_as_octet_stream_is_recognised_by_its_signature() -> None:
    assert read(xlsx([["sku", "quantity"], ["A", 1]]), "application/octet-stream").kind == "xlsx"


def test_a_csv_sent_as_an_xlsx_is_refused() -> None:
    with pytest.raises(UnsupportedFile) as refused:
        read(b"sku,quantity\nA,1\n", XLSX)
    assert refused.value.detail == (
        f"the file is sent as '{XLSX}' but holds CSV text; send text/csv or {XLSX}"
    )


def test_the_digest_names_the_bytes() -> None:
    content = b"sku,quantity\nA,1\n"
    assert read(content).digest == hashlib.sha256(content).hexdigest()


# ----------------------------------------------------------------------------------------------
# Form fields


FIELDS = [("channel", "web"), ("account", "ACME"), ("currency", "EUR"), ("external_reference", "B-1")]


def test_fields_ignore_empty_values_and_only_coupons_repeat() -> None:
    header = bulk.read_fields([*FIELDS, ("po_number", ""), ("coupons", "SAVE10"), ("coupons", "FREESHIP")])
    assert (header.po_number, header.coupons, header.delivery_method, header.ordered_at) == (
        None, ["SAVE10", "FREESHIP"], "standard", None
    )
    with pytest.raises(ValidationFailed) as refused:
        bulk.read_fields([*FIELDS, ("account", "OTHER"), ("payment_method", "cash")])
    assert [(e.field, e.message) for e in refused.value.errors] == [
        ("account", "is given twice"),
        ("payment_method", "Input should be 'card', 'wallet' or 'invoice'"),
    ]


def test_the_fingerprint_ignores_field_order_and_empty_fields() -> None:
    file = read(b"sku,quantity\nA,1\n")
    assert bulk.fingerprint(FIELDS, file) == bulk.fingerprint([*reversed(FIELDS), ("po_number", " ")], file)
    assert bulk.fingerprint(FIELDS, file) != bulk.fingerprint(FIELDS, read(b"sku,quantity\nA,2\n"))
