"""File imports of stock records: CSV and NDJSON, any size, streamed.

The file is parsed as it arrives (never held whole in memory) and applied in chunks of
`CHUNK_ROWS` rows, one transaction per chunk. A row is atomic (it applies whole or not at all,
like a record of `PUT /inventory`); the import is not: rows that cannot apply are reported with
their line number, field and message, and the others apply. The `inventory_import` row counts
rows read, applied, duplicate and failed as each chunk commits, so its progress can be read
while it runs.

CSV: a header naming `sku`, `location` and at least one of `on_hand` and `safety_stock`;
optionally `mode` (absolute | delta, per row) and `record_id` (a UUID: rows already applied
are skipped as duplicates). Empty cells are "not given". NDJSON: one stock record per line,
as in `PUT /inventory`, with optional `mode` and `record_id`.

A file that cannot be read on (bad encoding, broken quoting, an interrupted upload) stops the
import: the rows read up to there are applied and reported, and the import is `failed` with
the reason. A bad header refuses the whole file before anything is written.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import queue
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, cast

from pydantic import ValidationError
from sqlalchemy import Table, insert, select, update
from sqlalchemy.orm import Session

from ordino.inventory import domain
from ordino.inventory.domain import Mode, StockRecord
from ordino.inventory.models import InventoryImport, InventoryImportError
from ordino.inventory.schemas import ImportRecordIn
from ordino.inventory.stock import apply_records, summarize
from ordino.kernel import clock
from ordino.kernel.db import Database
from ordino.kernel.errors import NUL_MESSAGE, FieldError, NotFound, ValidationFailed, field_path
from ordino.kernel.http import check_limit, decode_cursor, encode_cursor
from ordino.kernel.ids import new_id, parse_id
from ordino.kernel.outbox import emit

CHUNK_ROWS = 5_000
COLUMNS = ("sku", "location", "on_hand", "safety_stock", "mode", "record_id")
ERROR = cast(Table, InventoryImportError.__table__)
Doc = dict[str, Any]


class UploadInterrupted(Exception):
    """The client stopped sending the file."""


class Pipe(io.RawIOBase):
    """Bytes handed over from the event loop (the request body) to the thread parsing them."""

    def __init__(self, max_chunks: int = 64) -> None:
        super().__init__()
        self._queue: queue.Queue[bytes | BaseException | None] = queue.Queue(max_chunks)
        self._buffer = b""
        self._eof = False
        self.abandoned = threading.Event()
        self._broken: BaseException | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, target: Any) -> int:
        while not self._buffer and not self._eof:
            try:
                item = self._queue.get(timeout=0.5)
            except queue.Empty:
                if self._broken is not None:
                    raise self._broken from None
                continue
            if item is None:
                self._eof = True
            elif isinstance(item, BaseException):
                raise item
            else:
                self._buffer = item
        n = min(len(target), len(self._buffer))
        target[:n] = self._buffer[:n]
        self._buffer = self._buffer[n:]
        return n

    async def feed(self, item: bytes | BaseException | None) -> None:
        """Queue a chunk (None: end of file; an exception: the upload broke off)."""
        while not self.abandoned.is_set():
            try:
                self._queue.put_nowait(item)
                return
            except queue.Full:
                await asyncio.sleep(0.002)

    def abandon(self) -> None:
        """The reader stops: the feeder stops waiting for room."""
        self.abandoned.set()

    def break_off(self, reason: BaseException) -> None:
        """The upload ended without its end (from any thread): the reader raises `reason`."""
        self._broken = reason
        with contextlib.suppress(queue.Full):
            self._queue.put_nowait(reason)


# ------------------------------------------------------------------------------------------------
# Parsing


@dataclass(slots=True)
class Chunk:
    records: list[StockRecord] = field(default_factory=list)
    errors: list[tuple[int, str, str]] = field(default_factory=list)  # (line, field, message)
    rows: int = 0

    def fail(self, line: int, name: str, message: str) -> None:
        self.errors.append((line, name, message))


class Parser:
    """Reads rows into chunks; `fatal` says why reading stopped early, if it did."""

    def __init__(self, text: Iterator[str], mode: Mode) -> None:
        self.text = text
        self.mode = mode
        self.fatal: str | None = None
        self.chunk = Chunk()  # where `rows` puts what it reads

    def header(self) -> None:
        """Check the start of the file (422 before anything is written)."""

    def rows(self) -> Iterator[None]:
        """Read rows into `self.chunk`, yielding after each."""
        raise NotImplementedError

    def chunks(self, size: int) -> Iterator[Chunk]:
        self.chunk = Chunk()
        try:
            for _ in self.rows():
                if self.chunk.rows >= size:
                    yield self.chunk
                    self.chunk = Chunk()
        except (UnicodeDecodeError, csv.Error, UploadInterrupted) as exc:
            self.fatal = f"{self.where()}: {exc}" if not isinstance(exc, UploadInterrupted) else str(exc)
        if self.chunk.rows:
            yield self.chunk

    def where(self) -> str:
        return "the file could not be read on"


def _int(value: str) -> int:
    return int(value.strip())


class CsvParser(Parser):
    def __init__(self, text: Iterator[str], mode: Mode) -> None:
        super().__init__(text, mode)
        self.reader = csv.reader(text)
        self.columns: list[str] = []

    def header(self) -> None:
        try:
            first = next(self.reader, None)
        except (UnicodeDecodeError, csv.Error) as exc:
            raise ValidationFailed([FieldError("file", f"is not a readable UTF-8 CSV file: {exc}")]) from None
        if not first:
            raise ValidationFailed([FieldError("file", "is empty; the first line must be the header")])
        self.columns = [c.strip().lower() for c in first]
        errors = [
            FieldError("header", f"unknown column '{c}'; the columns are {', '.join(COLUMNS)}")
            for c in self.columns
            if c not in COLUMNS
        ]
        errors += [
            FieldError("header", f"column '{c}' appears twice")
            for c in sorted(set(self.columns))
            if self.columns.count(c) > 1
        ]
        for needed in ("sku", "location"):
            if needed not in self.columns:
                errors.append(FieldError("header", f"needs a '{needed}' column"))
        if "on_hand" not in self.columns and "safety_stock" not in self.columns:
            errors.append(FieldError("header", "needs an 'on_hand' or a 'safety_stock' column"))
        if errors:
            raise ValidationFailed(errors)

    def where(self) -> str:
        return f"line {self.reader.line_num + 1}"

    def rows(self) -> Iterator[None]:
        width = len(self.columns)
        index = {c: i for i, c in enumerate(self.columns)}
        i_sku, i_location = index["sku"], index["location"]
        i_on_hand, i_safety = index.get("on_hand"), index.get("safety_stock")
        i_mode, i_record = index.get("mode"), index.get("record_id")
        for row in self.reader:
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            line = self.reader.line_num
            chunk = self.chunk
            chunk.rows += 1
            if len(row) != width:
                chunk.fail(line, "row", f"has {len(row)} fields; the header has {width}")
                yield
                continue
            before = len(chunk.errors)
            sku, location = row[i_sku].strip(), row[i_location].strip()
            if not sku:
                chunk.fail(line, "sku", "is required")
            if not location:
                chunk.fail(line, "location", "is required")
            for name in ("sku", "location"):
                if "\x00" in row[index[name]]:
                    chunk.fail(line, name, NUL_MESSAGE)
            values: dict[str, int | None] = {"on_hand": None, "safety_stock": None}
            for name, at in (("on_hand", i_on_hand), ("safety_stock", i_safety)):
                text = row[at].strip() if at is not None else ""
                if text:
                    try:
                        values[name] = _int(text)
                    except ValueError:
                        chunk.fail(line, name, f"'{text}' is not a whole number")
            mode: Mode = self.mode
            text = row[i_mode].strip().lower() if i_mode is not None else ""
            if text:
                if text not in domain.MODES:
                    chunk.fail(line, "mode", "must be 'absolute' or 'delta'")
                else:
                    mode = text
            record_id = None
            text = row[i_record].strip() if i_record is not None else ""
            if text:
                record_id = parse_id(text)
                if record_id is None:
                    chunk.fail(line, "record_id", f"'{text}' is not a UUID")
            failed = {name for _, name, _ in chunk.errors[before:]}
            for name, message in domain.check_values(mode, values["on_hand"], values["safety_stock"], False):
                if name not in failed and not (failed and values["on_hand"] is values["safety_stock"] is None):
                    chunk.fail(line, name, message)
            if len(chunk.errors) == before:
                chunk.records.append(
                    StockRecord(line, record_id, sku, location, mode, values["on_hand"], values["safety_stock"])
                )
            yield


class NdjsonParser(Parser):
    def __init__(self, text: Iterator[str], mode: Mode) -> None:
        super().__init__(text, mode)
        self.line = 0

    def where(self) -> str:
        return f"line {self.line + 1}"

    def rows(self) -> Iterator[None]:
        for raw in self.text:
            self.line += 1
            if not raw.strip():
                continue
            chunk = self.chunk
            chunk.rows += 1
            try:
                r = ImportRecordIn.model_validate_json(raw)
            except ValidationError as exc:
                for err in exc.errors(include_url=False, include_input=False):
                    message = str(err.get("msg", "invalid")).removeprefix("Value error, ")
                    name = "line" if err.get("type") == "json_invalid" else field_path(err.get("loc", ()))
                    chunk.fail(self.line, name, message)
                yield
                continue
            mode = r.mode or self.mode
            problems = [*domain.check_values(mode, r.on_hand, r.safety_stock, r.futures is not None),
                        *((name, NUL_MESSAGE) for name in ("sku", "location") if "\x00" in getattr(r, name))]
            for name, message in problems:
                chunk.fail(self.line, name, message)
            if not problems:
                futures = None if r.futures is None else [(f.expected_on, f.quantity) for f in r.futures]
                chunk.records.append(
                    StockRecord(self.line, r.record_id, r.sku, r.location, mode, r.on_hand, r.safety_stock, futures)
                )
            yield


def decoded_lines(stream: io.RawIOBase) -> Iterator[str]:
    """UTF-8 lines (a leading byte order mark dropped), decoded one by one, so that a bad byte
    is reported on its own line and every line before it is used."""
    first = True
    for raw in io.BufferedReader(stream, 1 << 16):
        line = raw.decode("utf-8")
        if first:
            line = line.removeprefix("\ufeff")
            first = False
        yield line


def parser_for(fmt: str, stream: io.RawIOBase, mode: Mode) -> Parser:
    lines = decoded_lines(stream)
    return CsvParser(lines, mode) if fmt == "csv" else NdjsonParser(lines, mode)


# ------------------------------------------------------------------------------------------------
# Use cases


def _doc(row: Any) -> Doc:
    return {
        "id": row.id,
        "format": row.format,
        "mode": row.mode,
        "status": row.status,
        "rows_total": row.rows_total,
        "rows_applied": row.rows_applied,
        "rows_duplicate": row.rows_duplicate,
        "rows_failed": row.rows_failed,
        "error": row.error,
        "created_by": row.created_by,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
        "finished_at": row.finished_at,
    }


def start_import(session: Session, fmt: str, mode: Mode, actor: str | None) -> Doc:
    now = clock.now()
    row = InventoryImport(
        id=new_id(), format=fmt, mode=mode, status="running", rows_total=0, rows_applied=0, rows_duplicate=0,
        rows_failed=0, created_by=actor, created_at=now, updated_at=now,
    )
    session.add(row)
    session.flush()
    return _doc(row)


def apply_chunk(session: Session, import_id: uuid.UUID, chunk: Chunk) -> None:
    """One chunk in one transaction: its rows, its error report and the import's counters."""
    outcomes = apply_records(session, chunk.records)
    counts = summarize(outcomes)
    errors = chunk.errors + [
        (o.record.index, name, message) for o in outcomes if o.status == "error" for name, message in o.errors
    ]
    failed = len({line for line, _, _ in chunk.errors}) + counts["errors"]
    if errors:
        rows = [
            {"id": new_id(), "import_id": import_id, "row_number": line, "field": name[:100], "message": message[:500]}
            for line, name, message in sorted(errors, key=lambda e: e[0])
        ]
        session.execute(insert(ERROR), rows)
    session.execute(
        update(InventoryImport)
        .where(InventoryImport.id == import_id)
        .values(
            rows_total=InventoryImport.rows_total + chunk.rows,
            rows_applied=InventoryImport.rows_applied + counts["applied"],
            rows_duplicate=InventoryImport.rows_duplicate + counts["duplicates"],
            rows_failed=InventoryImport.rows_failed + failed,
            updated_at=clock.now(),
        )
    )
    emit(
        session,
        "inventory.updated",
        f"inventory_import/{import_id}",
        {"source": "import", "import_id": str(import_id), "applied": counts["applied"],
         "duplicates": counts["duplicates"], "errors": failed},
    )


def finish_import(session: Session, import_id: uuid.UUID, error: str | None) -> Doc:
    now = clock.now()
    session.execute(
        update(InventoryImport)
        .where(InventoryImport.id == import_id)
        .values(
            status="failed" if error else "completed", error=error and error[:2000], finished_at=now, updated_at=now
        )
    )
    return get_import(session, str(import_id))


def run_import(
    db: Database, parser: Parser, begin: Callable[[], tuple[Doc, bool]], chunk_rows: int | None = None
) -> tuple[Doc, bool]:
    """Check the header, create the import (`begin`, which may replay an earlier one), then
    apply chunk after chunk. Returns the import and whether it was a replay."""
    parser.header()
    doc, replayed = begin()
    if replayed:
        return doc, True
    import_id = uuid.UUID(str(doc["id"]))
    try:
        for chunk in parser.chunks(chunk_rows or CHUNK_ROWS):
            db.transaction(lambda s, c=chunk: apply_chunk(s, import_id, c))  # type: ignore[misc]
    except BaseException as exc:
        reason = f"the import stopped: {type(exc).__name__}: {exc}"
        db.transaction(lambda s: finish_import(s, import_id, reason))
        raise
    return db.transaction(lambda s: finish_import(s, import_id, parser.fatal)), False


def get_import(session: Session, ref: str) -> Doc:
    ident = parse_id(ref)
    row = session.get(InventoryImport, ident) if ident else None
    if row is None:
        raise NotFound("inventory import not found")
    return _doc(row)


def list_errors(session: Session, ref: str, limit: int, cursor: str | None) -> Doc:
    """The import's error report in file order."""
    get_import(session, ref)
    check_limit(limit)
    stmt = select(ERROR.c.id, ERROR.c.row_number, ERROR.c.field, ERROR.c.message).where(
        ERROR.c.import_id == uuid.UUID(ref)
    )
    if cursor:
        stmt = stmt.where(ERROR.c.id > decode_cursor(cursor))
    rows = session.execute(stmt.order_by(ERROR.c.id).limit(limit + 1)).all()
    items = [{"row": r.row_number, "field": r.field, "message": r.message} for r in rows[:limit]]
    return {"items": items, "next_cursor": encode_cursor(rows[limit - 1].id) if len(rows) > limit else None}
