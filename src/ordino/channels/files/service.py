"""Bulk orders: a CSV or XLSX file of `sku, quantity[, ship_to]` rows becomes one order.

Reading the file (`read_file`): the kind comes from the content's signature (a ZIP holding
`xl/workbook.xml` is XLSX; text is CSV), and the declared content type must agree. CSV is UTF-8
(a byte order mark is dropped) or UTF-16 with its mark, delimited by `,`, `;` or tab (chosen by
the header row), with standard quoting. XLSX is read from its first worksheet with openpyxl in
read-only mode. The first non-empty row is the header; the columns are `sku`, `quantity` and the
optional `ship_to`, in any order and case. Rows are numbered as a spreadsheet shows them (the
header is usually row 1); blank rows are skipped.

Placing the order (`place_bulk_order`): every row becomes one order line (the same SKU twice for
one ship-to stays two lines, as in the file; volume tiers count the SKU's total over the order
anyway), and the rows of each ship-to form one delivery group, in the order they first appear.
A row's ship-to is an address reference of the account (a shipping address); an empty cell
means the `ship_to` field of the request, else the account's default shipping address. The order
goes through `intake.place_order` with catalog pricing, so it is priced, taxed, reserved and
approved like any order; intake's own checks (products, quantities, prices) are reported per row.
Any bad row refuses the whole file: every bad row is listed, and nothing is written.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
import uuid
import warnings
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Annotated, Any, Literal, cast

import orjson
from pydantic import Field, StringConstraints, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from ordino.accounts.models import Account, Address
from ordino.catalog.models import SalesChannel
from ordino.channels.files.errors import FileTooLarge, UnsupportedFile
from ordino.kernel import clock
from ordino.kernel.auth import Principal
from ordino.kernel.errors import NUL_MESSAGE, FieldError, Problem, ValidationFailed, field_path
from ordino.kernel.schema import AwareDatetime, CurrencyCode, Strict
from ordino.orders import intake
from ordino.orders.schemas import MAX_LINES, OrderIn
from ordino.pricing import service as pricing

MAX_FILE_BYTES = 4 * 1024 * 1024
MAX_ROWS = MAX_LINES
MAX_UNPACKED_BYTES = 64 * 1024 * 1024  # an XLSX larger than this unpacked is refused (zip bombs)
MAX_COLUMNS = 30  # cells read per row; values beyond the header's columns are reported
MAX_QUANTITY = 1_000_000_000
COLUMNS = ("sku", "quantity", "ship_to")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_TYPES = frozenset({
    "text/csv", "text/plain", "application/csv", "text/x-csv", "text/comma-separated-values",
    "text/tab-separated-values", "application/vnd.ms-excel",  # what Windows browsers call a .csv
})
XLSX_TYPES = frozenset({XLSX_TYPE, "application/zip", "application/x-zip-compressed"})
ANY_TYPE = frozenset({"", "application/octet-stream"})
_WHOLE = re.compile(r"^[+-]?\d{1,12}(\.0*)?$")

Kind = Literal["csv", "xlsx"]


def _file_error(message: str) -> ValidationFailed:
    return ValidationFailed([FieldError("file", message)])


@dataclass(frozen=True, slots=True)
class Row:
    number: int
    sku: str
    quantity: int
    ship_to: str | None


@dataclass(frozen=True, slots=True)
class RowError:
    row: int
    column: str | None
    message: str

    @property
    def field(self) -> str:
        return f"rows[{self.row}]" + (f".{self.column}" if self.column else "")


@dataclass(slots=True)
class BulkFile:
    kind: Kind
    digest: str  # SHA-256 of the bytes: the Idempotency-Key compares requests by it
    rows: list[Row] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


# ----------------------------------------------------------------------------------------------
# Reading the file


def detect(content: bytes, content_type: str | None) -> Kind:
    """CSV or XLSX from the signature, checked against the declared type; else 413/415/422."""
    declared = (content_type or "").split(";")[0].strip().lower()
    if len(content) > MAX_FILE_BYTES:
        raise FileTooLarge(f"the file has {len(content)} bytes; at most {MAX_FILE_BYTES} are accepted")
    if not content:
        raise _file_error("is empty; the first row must be the header sku,quantity[,ship_to]")
    if content.startswith(b"PK\x03\x04"):
        kind: Kind = "xlsx"
    elif content.startswith(b"\xd0\xcf\x11\xe0"):
        raise UnsupportedFile("an Excel 97–2003 (.xls) or password-protected workbook; save it as .xlsx or CSV")
    elif b"\x00" in content[:4096] and not content.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise UnsupportedFile("the file is neither CSV text nor an XLSX workbook")
    else:
        kind = "csv"
    allowed = ANY_TYPE | (XLSX_TYPES if kind == "xlsx" else CSV_TYPES)
    if declared not in allowed:
        shown = "CSV text" if kind == "csv" else "an XLSX workbook"
        raise UnsupportedFile(f"the file is sent as '{declared}' but holds {shown}; send text/csv or {XLSX_TYPE}")
    return kind


def read_file(content: bytes, content_type: str | None) -> BulkFile:
    kind = detect(content, content_type)
    result = BulkFile(kind, hashlib.sha256(content).hexdigest())
    cells = _xlsx_rows(content) if kind == "xlsx" else _csv_rows(content)
    _read_rows(cells, result)
    return result


def _decode(content: bytes) -> str:
    try:
        if content.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return content.decode("utf-16")
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = content[: exc.start].count(b"\n") + 1
        raise _file_error(f"is not UTF-8 text (line {line}); save it as 'CSV UTF-8'") from None


def _normalize(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", name.strip().lstrip("\ufeff").lower())


def _delimiter(header_line: str) -> str:
    """The delimiter that splits the header into the most known columns (`,` on a tie)."""
    def known(delimiter: str) -> int:
        cells = next(csv.reader([header_line], delimiter=delimiter), [])
        return sum(1 for c in cells if _normalize(c) in COLUMNS)

    return max((",", ";", "\t"), key=known)


def _csv_rows(content: bytes) -> Iterator[tuple[int, Sequence[Any]]]:
    text = _decode(content)
    first = next((line for line in text.splitlines() if line.strip()), "")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(first), strict=True)
    number = 0
    try:
        for number, cells in enumerate(reader, start=1):
            yield number, cells
    except csv.Error as exc:
        raise _file_error(f"cannot be read as CSV after row {number}: {exc}") from None


def _xlsx_rows(content: bytes) -> Iterator[tuple[int, Sequence[Any]]]:
    import openpyxl  # type: ignore[import-untyped]  # imported on first use: it takes a while to load

    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            names = set(archive.namelist())
            unpacked = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile:
        raise _file_error("is not a readable XLSX workbook (a broken ZIP file)") from None
    if "xl/workbook.xml" not in names:
        raise UnsupportedFile("the ZIP file is not an XLSX workbook")
    if unpacked > MAX_UNPACKED_BYTES:
        raise FileTooLarge(f"the workbook unpacks to {unpacked} bytes; at most {MAX_UNPACKED_BYTES} are accepted")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl warns about styles and extensions it skips
            book = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged workbook
        raise _file_error(f"is not a readable XLSX workbook: {type(exc).__name__}") from None
    try:
        if not book.worksheets:
            raise _file_error("has no worksheet")
        sheet = book.worksheets[0]
        sheet.reset_dimensions()  # the stored dimensions may be wrong; read to the last row
        yield from enumerate(sheet.iter_rows(values_only=True, max_col=MAX_COLUMNS), start=1)
    except Problem:
        raise
    except Exception as exc:
        raise _file_error(f"is not a readable XLSX workbook: {type(exc).__name__}") from None
    finally:
        book.close()


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _header(cells: Sequence[Any]) -> dict[str, int]:
    names = [_normalize(str(c)) if not _blank(c) else "" for c in cells]
    while names and not names[-1]:
        names.pop()
    if not set(names) & set(COLUMNS):
        raise ValidationFailed([FieldError("header", "the first row must be the header sku,quantity[,ship_to]")])
    errors = []
    for i, name in enumerate(names):
        if name not in COLUMNS:
            shown = f"'{cells[i]}'" if name else "an empty column name"
            errors.append(FieldError("header", f"column {i + 1} has {shown}; the columns are sku, quantity, ship_to"))
        elif name in names[:i]:
            errors.append(FieldError("header", f"column '{name}' appears twice"))
    for needed in ("sku", "quantity"):
        if needed not in names:
            errors.append(FieldError("header", f"needs a '{needed}' column"))
    if errors:
        raise ValidationFailed(errors)
    return {name: i for i, name in enumerate(names)}


def _text(value: Any) -> str | None:
    """A cell as text: numbers a spreadsheet made of a SKU become their digits again."""
    if _blank(value):
        return None
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        raise ValueError("must be text")
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        return str(int(value))
    raise ValueError("must be text")


def _quantity(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError("must be a whole number")
    if isinstance(value, int):
        number = value
    elif isinstance(value, float):
        if not value.is_integer():
            raise ValueError(f"{value} is not a whole number")
        number = int(value)
    elif isinstance(value, Decimal):
        if value != value.to_integral_value():
            raise ValueError(f"{value} is not a whole number")
        number = int(value)
    else:
        text = str(value).strip()
        if not _WHOLE.match(text):
            raise ValueError(f"'{text[:20]}' is not a whole number")
        number = int(Decimal(text))
    if number < 1:
        raise ValueError("must be at least 1")
    if number > MAX_QUANTITY:
        raise ValueError(f"must be at most {MAX_QUANTITY}")
    return number


def _read_rows(cells: Iterable[tuple[int, Sequence[Any]]], into: BulkFile) -> None:
    columns: dict[str, int] | None = None
    read = 0
    for number, row in cells:
        if all(_blank(c) for c in row):
            continue
        if columns is None:
            columns = _header(row)
            continue
        if read == MAX_ROWS:
            raise _file_error(f"has more than {MAX_ROWS} rows; split it into several orders")
        read += 1
        _read_row(number, row, columns, into)
    if columns is None:
        raise _file_error("is empty; the first row must be the header sku,quantity[,ship_to]")
    if not into.rows and not into.errors:
        raise _file_error("has no rows after the header")


def _read_row(number: int, row: Sequence[Any], columns: dict[str, int], into: BulkFile) -> None:
    errors: list[RowError] = []
    width = max(columns.values()) + 1
    extra = [i for i in range(width, len(row)) if not _blank(row[i])]
    if extra:
        errors.append(RowError(number, None, f"has a value in column {extra[0] + 1}, which has no header"))

    def cell(name: str) -> Any:
        index = columns.get(name)
        return row[index] if index is not None and index < len(row) else None

    values: dict[str, Any] = {}
    for name, limit in (("sku", 64), ("ship_to", 40)):
        try:
            text = _text(cell(name))
        except ValueError as exc:
            errors.append(RowError(number, name, str(exc)))
            continue
        if text is not None and len(text) > limit:
            errors.append(RowError(number, name, f"has more than {limit} characters"))
        values[name] = text
    if "sku" in values and values["sku"] is None:
        errors.append(RowError(number, "sku", "is required"))
    raw_quantity = cell("quantity")
    if _blank(raw_quantity):
        errors.append(RowError(number, "quantity", "is required"))
    else:
        try:
            values["quantity"] = _quantity(raw_quantity)
        except ValueError as exc:
            errors.append(RowError(number, "quantity", str(exc)))
    if errors:
        into.errors += errors
    else:
        into.rows.append(Row(number, values["sku"], values["quantity"], values.get("ship_to")))


# ----------------------------------------------------------------------------------------------
# The order header (form fields)

Text40 = Annotated[str, StringConstraints(min_length=1, max_length=40)]


class BulkOrderIn(Strict):
    """The form fields that go with the file: the order header."""

    channel: Text40
    account: Text40
    currency: CurrencyCode
    external_reference: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    po_number: Annotated[str, StringConstraints(min_length=1, max_length=100)] | None = None
    ordered_at: AwareDatetime | None = Field(default=None, description="Default: now")
    ship_to: Text40 | None = Field(default=None, description="Address reference for rows without one")
    delivery_method: Text40 = "standard"
    payment_method: Literal["card", "wallet", "invoice"] | None = None
    payment_gateway: Text40 | None = None
    payment_token: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None
    payment_terms: Text40 | None = None
    coupons: list[Text40] = Field(default_factory=list, max_length=10)


REPEATABLE = frozenset({"coupons"})


def read_fields(items: Sequence[tuple[str, str]]) -> BulkOrderIn:
    """The header from form fields; empty values count as not given, only `coupons` repeats."""
    values: dict[str, Any] = {}
    errors: list[FieldError] = []
    for name, value in items:
        if not value.strip():
            continue
        if "\x00" in value:
            errors.append(FieldError(name, NUL_MESSAGE))
            continue
        if name in REPEATABLE:
            values.setdefault(name, []).append(value)
        elif name in values:
            errors.append(FieldError(name, "is given twice"))
        else:
            values[name] = value
    try:
        header = BulkOrderIn.model_validate(values)
    except ValidationError as exc:
        errors += [
            FieldError(field_path(e.get("loc", ())), str(e.get("msg", "invalid")).removeprefix("Value error, "))
            for e in exc.errors(include_url=False, include_input=False)
        ]
        raise ValidationFailed(errors) from None
    if errors:
        raise ValidationFailed(errors)
    return header


def fingerprint(items: Sequence[tuple[str, str]], file: BulkFile) -> bytes:
    """What the Idempotency-Key compares: the fields and the file's digest (not the multipart
    bytes, whose boundary changes with every upload)."""
    fields = sorted((name, value) for name, value in items if value.strip())
    return orjson.dumps({"fields": fields, "file": file.digest})


# ----------------------------------------------------------------------------------------------
# Placing the order


_LINE = re.compile(r"^delivery_groups\[(\d+)\]\.lines\[(\d+)\](?:\.(\w+))?(.*)$")
_GROUP = re.compile(r"^delivery_groups\[(\d+)\]\.?(.*)$")
_PAYMENT = re.compile(r"^payments\[0\]\.?(\w*)")


@dataclass(slots=True)
class RowReport:
    """Errors named by form field or by row, in the vocabulary of the request."""

    fields: list[FieldError] = field(default_factory=list)
    rows: list[RowError] = field(default_factory=list)
    groups: list[list[int]] = field(default_factory=list)  # row numbers per delivery group and line
    group_refs: list[str] = field(default_factory=list)

    def add(self, path: str, message: str) -> None:
        """An error of intake or pricing, by its payload path."""
        if m := _LINE.match(path):
            g, line, column, rest = int(m[1]), int(m[2]), m[3], m[4]
            name = column if column in COLUMNS and not rest else None
            text = message if name or not column else f"{column}{rest}: {message}"
            self.rows.append(RowError(self.groups[g][line], name, text))
        elif m := _GROUP.match(path):
            where = m[2] or "delivery group"
            self.fields.append(FieldError("ship_to", f"'{self.group_refs[int(m[1])]}' ({where}): {message}"))
        elif m := _PAYMENT.match(path):
            self.fields.append(FieldError(f"payment_{m[1] or 'method'}", message))
        else:
            self.fields.append(FieldError(path, message))

    def problem(self) -> ValidationFailed:
        fields = list(dict.fromkeys(self.fields))
        order = {name: i for i, name in enumerate(COLUMNS)}
        rows = sorted(dict.fromkeys(self.rows), key=lambda e: (e.row, order.get(e.column or "", -1)))
        bad_rows = len({e.row for e in rows})
        parts = [_count(len(fields), "field")] if fields else []
        parts += [_count(bad_rows, "row") + " of the file"] if bad_rows else []
        problem = ValidationFailed(
            fields + [FieldError(e.field, e.message) for e in rows],
            f"not valid: {' and '.join(parts)}; nothing was created",
        )
        problem.extra = {"rows": [_row_doc(e) for e in rows]}
        return problem


def _row_doc(e: RowError) -> dict[str, Any]:
    return {"row": e.row, "column": e.column, "message": e.message}


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _addresses(session: Session, account_id: uuid.UUID) -> dict[str, Any]:
    rows = session.execute(select(*Address.__table__.c).where(Address.account_id == account_id)).all()
    by_ref = {r.reference: r for r in rows if r.reference}
    default = next((r for r in rows if r.kind == "shipping" and r.is_default), None)
    if default is not None:
        by_ref.setdefault("", default)
    return by_ref


def _ship_to(address: Any) -> dict[str, Any]:
    return {
        "name": address.name, "line1": address.line1, "line2": address.line2, "city": address.city,
        "postal_code": address.postal_code, "region": address.region, "country": address.country,
        "phone": address.phone,
    }


def _order_payload(header: BulkOrderIn, groups: dict[str, list[Row]], addresses: dict[str, Any]) -> dict[str, Any]:
    payments: list[dict[str, Any]] = []
    if header.payment_method == "invoice":
        payments.append({"method": "invoice", **({"terms": header.payment_terms} if header.payment_terms else {})})
    elif header.payment_method is not None:
        payments.append(
            {"method": header.payment_method, "gateway": header.payment_gateway, "token": header.payment_token}
        )
    return {
        "channel": header.channel,
        "external_reference": header.external_reference,
        "account": header.account,
        "currency": header.currency,
        "po_number": header.po_number,
        "ordered_at": header.ordered_at or clock.now(),
        "pricing": "catalog",
        "delivery_groups": [
            {
                "ship_to": _ship_to(addresses[ref]),
                "delivery_method": header.delivery_method,
                "lines": [{"sku": row.sku, "quantity": row.quantity} for row in rows],
            }
            for ref, rows in groups.items()
        ],
        "payments": payments,
        "coupons": header.coupons,
    }


def _group_rows(
    file: BulkFile, header: BulkOrderIn, addresses: dict[str, Any], report: RowReport
) -> dict[str, list[Row]]:
    """The good rows by ship-to reference, in order of first appearance; bad references reported."""
    groups: dict[str, list[Row]] = {}
    fallback = header.ship_to or ""
    if header.ship_to is not None:
        found = addresses.get(header.ship_to)
        if found is None:
            report.fields.append(FieldError("ship_to", f"no address '{header.ship_to}' for account '{header.account}'"))
        elif found.kind != "shipping":
            report.fields.append(FieldError("ship_to", f"'{header.ship_to}' is a {found.kind} address"))
    for row in file.rows:
        ref = row.ship_to or fallback
        address = addresses.get(ref)
        if address is not None and address.kind == "shipping":
            groups.setdefault(address.reference or "", []).append(row)
        elif row.ship_to is not None:
            reason = f"no address '{ref}' for account '{header.account}'" if address is None else (
                f"'{ref}' is a {address.kind} address"
            )
            report.rows.append(RowError(row.number, "ship_to", reason))
        elif header.ship_to is None:
            message = "is needed: the account has no default shipping address and the ship_to field is not given"
            report.rows.append(RowError(row.number, "ship_to", message))
    return groups


def place_bulk_order(session: Session, header: BulkOrderIn, file: BulkFile, principal: Principal) -> intake.Placed:
    """Check every row, then place one order through intake; any error refuses the whole file."""
    report = RowReport(rows=list(file.errors))
    account = session.execute(select(Account.id).where(Account.number == header.account)).scalar_one_or_none()
    if account is None or not principal.sees_account(account):
        report.fields.append(FieldError("account", f"no account '{header.account}'"))
        raise report.problem()
    addresses = _addresses(session, account)
    groups = _group_rows(file, header, addresses, report)
    if len(groups) > 100:
        report.fields.append(FieldError("file", f"names {len(groups)} ship-to addresses; an order has at most 100"))
        raise report.problem()
    if not groups:
        raise report.problem()
    report.groups = [[row.number for row in rows] for rows in groups.values()]
    report.group_refs = [ref or "(default)" for ref in groups]
    try:
        order = OrderIn.model_validate(_order_payload(header, groups, addresses))
    except ValidationError as invalid:
        for detail in invalid.errors(include_url=False, include_input=False):
            message = str(detail.get("msg", "invalid")).removeprefix("Value error, ")
            report.add(field_path(detail.get("loc", ())), message)
        raise report.problem() from None
    try:
        placed = intake.place_order(session, order, principal)
    except ValidationFailed as refused:
        for error in refused.errors:
            report.add(error.field, error.message)
        _add_price_errors(session, order, account, report)
        raise report.problem() from None
    except Problem as problem:
        if report.rows or report.fields:
            raise report.problem() from None
        # A conflict (out of stock, a used-up coupon) keeps its status, with rows named.
        mapped = RowReport(groups=report.groups, group_refs=report.group_refs)
        for error in problem.errors:
            mapped.add(error.field, error.message)
        problem.errors = mapped.fields + [FieldError(r.field, r.message) for r in mapped.rows]
        problem.extra = {**problem.extra, "rows": [_row_doc(r) for r in mapped.rows]}
        raise
    if report.rows or report.fields:
        raise report.problem()  # the transaction rolls the order back
    return placed


def _add_price_errors(session: Session, order: OrderIn, account_id: uuid.UUID, report: RowReport) -> None:
    """Intake stops at its first stage of checks; the lines' prices are checked here as well so
    that every bad row is reported at once."""
    channel = session.execute(select(SalesChannel.code).where(SalesChannel.code == order.channel)).scalar_one_or_none()
    lines = [
        pricing.PricingLine(line.sku, line.quantity, (gi, li))
        for gi, group in enumerate(order.delivery_groups)
        for li, line in enumerate(group.lines)
    ]
    priced = pricing.price_lines(
        session, account_id=account_id, currency=order.currency, channel_code=channel, at=order.ordered_at,
        lines=lines, coupons=order.coupons,
    )
    flagged = {(e.row, e.column) for e in report.rows}
    for e in priced.errors:
        if e.key is None:
            report.add(e.field, e.message)
            continue
        gi, li = cast(tuple[int, int], e.key)
        if (report.groups[gi][li], "sku") not in flagged:
            report.add(f"delivery_groups[{gi}].lines[{li}].{e.field}", e.message)
