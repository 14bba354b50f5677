"""POST /api/v1/inventory/imports: CSV and NDJSON files, chunks, progress, per-row errors."""

from __future__ import annotations

import asyncio
import uuid

import orjson
import pytest

from ordino.inventory import imports
from ordino.inventory.models import InventoryImport, InventoryImportError
from tests import factories
from tests.inventory.conftest import NOW_TEXT, count, events, futures, positions

URL = "/api/v1/inventory/imports"


def send(client, admin, body: str | bytes, content_type: str = "text/csv", **params: str):  # type: ignore[no-untyped-def]
    data = body.encode() if isinstance(body, str) else body
    return client.post(URL, content=data, params=params, headers={**admin, "Content-Type": content_type})


def errors(client, admin, import_id: str) -> list[tuple[int, str, str]]:  # type: ignore[no-untyped-def]
    items = client.get(f"{URL}/{import_id}/errors", headers=admin).json()["items"]
    return [(e["row"], e["field"], e["message"]) for e in items]


def test_csv_import_applies_good_rows_and_reports_bad_ones(world, client, admin, frozen) -> None:  # type: ignore[no-untyped-def]
    factories.position(world, "NUT-M8", "WH-HAM", on_hand=10)
    csv = (
        "sku,location,on_hand,safety_stock,mode\n"
        "BOLT-M8,WH-BER,100,5,\n"          # line 2: absolute (the default)
        "NOPE,WH-BER,1,1,\n"               # line 3: unknown sku
        "NUT-M8,WH-HAM,-3,,delta\n"        # line 4: a delta
        "BOLT-M8,WH-XX,abc,-1,\n"          # line 5: unknown location, bad number, negative safety stock
        "\n"
        "NUT-M8,WH-HAM,-50,,delta\n"       # line 7: would go below zero
        "BOLT-M8,WH-HAM,1\n"               # line 8: too few fields
        "BOLT-M8,WH-HAM,2,0,sideways\n"    # line 9: bad mode
    )
    r = send(client, admin, csv)
    assert r.status_code == 201, r.text
    doc = r.json()
    assert doc == {
        "id": doc["id"], "format": "csv", "mode": "absolute", "status": "completed", "rows_total": 7,
        "rows_applied": 2, "rows_duplicate": 0, "rows_failed": 5, "error": None, "created_by": "admin:test admin",
        "created_at": NOW_TEXT, "updated_at": NOW_TEXT, "finished_at": NOW_TEXT,
    }
    assert r.headers["Location"] == f"{URL}/{doc['id']}"
    assert client.get(f"{URL}/{doc['id']}", headers=admin).json() == doc
    assert errors(client, admin, doc["id"]) == [
        (3, "sku", "no product 'NOPE'"),
        (5, "on_hand", "'abc' is not a whole number"),
        (5, "safety_stock", "must be 0 or more in absolute mode"),
        (7, "on_hand", "would be negative: 7 now, change -50"),
        (8, "row", "has 3 fields; the header has 5"),
        (9, "mode", "must be 'absolute' or 'delta'"),
    ]
    assert positions(world) == {("BOLT-M8", "WH-BER"): (100, 0, 5, 0, 0), ("NUT-M8", "WH-HAM"): (7, 0, 0, 0, 0)}
    assert events(world) == [
        ("inventory.updated", {"source": "import", "import_id": doc["id"], "applied": 2, "duplicates": 0, "errors": 5})
    ]


def test_unknown_location_row_is_reported_once_parsing_passes(world, client, admin) -> None:  # type: ignore[no-untyped-def]
    r = send(client, admin, "sku,location,on_hand\nBOLT-M8,WH-XX,1\n")
    assert errors(client, admin, r.json()["id"]) == [(2, "location", "no location 'WH-XX'")]


def test_chunks_commit_one_after_another(world, client, admin, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # given chunks of 2 rows
    monkeypatch.setattr(imports, "CHUNK_ROWS", 2)
    rows = "".join(f"BOLT-M8,WH-BER,{n},\n" for n in range(1, 6))
    r = send(client, admin, "sku,location,on_hand,safety_stock\n" + rows + "NUT-M8,WH-XX,1,\n")
    # then every chunk is its own transaction, with its own event, and the counters add up
    assert (r.json()["rows_total"], r.json()["rows_applied"], r.json()["rows_failed"]) == (6, 5, 1)
    assert [d["applied"] for t, d in events(world)] == [2, 2, 1]
    assert [d["errors"] for t, d in events(world)] == [0, 0, 1]
    assert positions(world) == {("BOLT-M8", "WH-BER"): (5, 0, 0, 0, 0)}


def test_record_ids_make_rows_idempotent(world, client, admin) -> None:  # type: ignore[no-untyped-def]
    a, b = uuid.UUID(int=1), uuid.UUID(int=2)
    csv = f"sku,location,on_hand,mode,record_id\nBOLT-M8,WH-BER,5,delta,{a}\nBOLT-M8,WH-BER,1,delta,{b}\n"
    send(client, admin, csv)
    again = send(client, admin, csv + "BOLT-M8,WH-BER,1,delta,not-a-uuid\n")
    assert (again.json()["rows_applied"], again.json()["rows_duplicate"], again.json()["rows_failed"]) == (0, 2, 1)
    assert errors(client, admin, again.json()["id"]) == [(4, "record_id", "'not-a-uuid' is not a UUID")]
    assert positions(world) == {("BOLT-M8", "WH-BER"): (6, 0, 0, 0, 0)}


def test_ndjson_import_with_futures_and_bad_lines(world, client, admin) -> None:  # type: ignore[no-untyped-def]
    lines = [
        {"record_id": str(uuid.UUID(int=1)), "sku": "BOLT-M8", "location": "WH-BER", "on_hand": 40,
         "futures": [{"quantity": 10, "expected_on": "2026-12-24"}]},
        {"sku": "NUT-M8", "location": "WH-BER", "on_hand": 3, "mode": "delta"},
        {"sku": "NUT-M8", "location": "WH-BER", "on_hand": "3"},
        {"sku": "NUT-M8", "location": "WH-BER", "futures": [{"quantity": 0, "expected_on": "2026-12-24"}]},
        {"sku": "NUT-M8", "location": "WH-BER", "colour": "red", "on_hand": 1},
    ]
    body = b"\n".join(orjson.dumps(x) for x in lines[:2]) + b"\n{not json\n\n" + b"\n".join(
        orjson.dumps(x) for x in lines[2:]
    )
    r = send(client, admin, body, "application/x-ndjson")
    assert (r.json()["format"], r.json()["rows_total"], r.json()["rows_applied"], r.json()["rows_failed"]) == (
        "ndjson", 6, 2, 4
    )
    assert [(row, f) for row, f, _ in errors(client, admin, r.json()["id"])] == [
        (3, "line"), (5, "on_hand"), (6, "futures[0].quantity"), (7, "colour"),
    ]
    assert positions(world) == {("BOLT-M8", "WH-BER"): (40, 0, 0, 10, 0), ("NUT-M8", "WH-BER"): (3, 0, 0, 0, 0)}
    assert futures(world) == {("BOLT-M8", "WH-BER"): [("2026-12-24", 10)]}


def test_delta_mode_for_the_whole_file(world, client, admin) -> None:  # type: ignore[no-untyped-def]
    factories.position(world, on_hand=10)
    r = send(client, admin, "sku,location,on_hand\nBOLT-M8,WH-BER,-4\n", mode="delta")
    assert (r.json()["mode"], r.json()["rows_applied"]) == ("delta", 1)
    assert positions(world) == {("BOLT-M8", "WH-BER"): (6, 0, 0, 0, 0)}


def test_a_bad_header_refuses_the_file_before_anything_is_written(world, client, admin) -> None:  # type: ignore[no-untyped-def]
    r = send(client, admin, "sku,where,on_hand,sku\nBOLT-M8,WH-BER,1,x\n")
    assert r.status_code == 422
    assert r.json()["errors"] == [
        {"field": "header", "message": "unknown column 'where'; the columns are sku, location, on_hand, "
                                       "safety_stock, mode, record_id"},
        {"field": "header", "message": "column 'sku' appears twice"},
        {"field": "header", "message": "needs a 'location' column"},
    ]
    empty = send(client, admin, "")
    assert empty.json()["errors"] == [{"field": "file", "message": "is empty; the first line must be the header"}]
    wrong_type = send(client, admin, "sku,location,on_hand\n", "application/pdf")
    assert (wrong_type.status_code, wrong_type.json()["type"]) == (
        415, "https://ordino.dev/problems/unsupported-media-type")
    assert (count(world, InventoryImport), positions(world), events(world)) == (0, {}, [])


def test_an_unreadable_file_stops_the_import_and_keeps_what_was_applied(world, client, admin) -> None:  # type: ignore[no-untyped-def]
    body = b"sku,location,on_hand\nBOLT-M8,WH-BER,5\nNUT-M8,WH-BER,\xff\xfe\nNUT-M8,WH-BER,7\n"
    r = send(client, admin, body)
    assert r.status_code == 201
    assert (r.json()["status"], r.json()["rows_total"], r.json()["rows_applied"]) == ("failed", 1, 1)
    assert r.json()["error"] == "line 3: 'utf-8' codec can't decode byte 0xff in position 14: invalid start byte"
    assert positions(world) == {("BOLT-M8", "WH-BER"): (5, 0, 0, 0, 0)}


def test_idempotency_key_answers_the_first_import(world, client, admin) -> None:  # type: ignore[no-untyped-def]
    h = {**admin, "Idempotency-Key": "stock-2026-11-26"}
    first = client.post(URL, content=b"sku,location,on_hand\nBOLT-M8,WH-BER,5\n",
                        headers={**h, "Content-Type": "text/csv"}, params={"mode": "delta"})
    again = client.post(URL, content=b"sku,location,on_hand\nBOLT-M8,WH-BER,5\n",
                        headers={**h, "Content-Type": "text/csv"}, params={"mode": "delta"})
    assert (first.status_code, again.status_code, again.headers["Idempotent-Replayed"]) == (201, 200, "true")
    assert again.json() == first.json()
    assert count(world, InventoryImport) == 1
    assert positions(world) == {("BOLT-M8", "WH-BER"): (5, 0, 0, 0, 0)}


def test_error_report_pages_in_file_order(world, client, admin) -> None:  # type: ignore[no-untyped-def]
    csv = "sku,location,on_hand\n" + "".join(f"NOPE-{n},WH-BER,1\n" for n in range(5))
    import_id = send(client, admin, csv).json()["id"]
    first = client.get(f"{URL}/{import_id}/errors", params={"limit": 3}, headers=admin).json()
    rest = client.get(f"{URL}/{import_id}/errors", params={"limit": 3, "cursor": first["next_cursor"]},
                      headers=admin).json()
    assert [e["row"] for e in first["items"]] + [e["row"] for e in rest["items"]] == [2, 3, 4, 5, 6]
    assert rest["next_cursor"] is None
    assert count(world, InventoryImportError) == 5


def test_unknown_import_is_404(world, client, admin) -> None:  # type: ignore[no-untyped-def]
    assert client.get(f"{URL}/{uuid.UUID(int=9)}", headers=admin).status_code == 404
    assert client.get(f"{URL}/nope/errors", headers=admin).status_code == 404


@pytest.mark.parametrize("fmt", ["csv", "ndjson"])
def test_twelve_thousand_rows_in_three_chunks(world, client, admin, fmt) -> None:  # type: ignore[no-untyped-def]
    # given 30 products at 3 locations... and 12,000 rows counting them up one by one (delta)
    for n in range(40):
        factories.product(world, f"P-{n:02d}")
    keys = [(f"P-{n % 40:02d}", ("WH-BER", "WH-HAM", "ST-MUC")[n % 3]) for n in range(12_000)]
    if fmt == "csv":
        body = "sku,location,on_hand\n" + "".join(f"{s},{loc},1\n" for s, loc in keys)
    else:
        body = "".join(orjson.dumps({"sku": s, "location": loc, "on_hand": 1}).decode() + "\n" for s, loc in keys)
    r = send(client, admin, body, "text/csv" if fmt == "csv" else "application/x-ndjson", mode="delta")
    assert (r.json()["status"], r.json()["rows_total"], r.json()["rows_applied"]) == ("completed", 12_000, 12_000)
    assert len(events(world)) == 3
    held = positions(world)
    assert len(held) == 120
    assert {v[0] for v in held.values()} == {100}


def test_a_byte_order_mark_is_ignored(world, client, admin) -> None:  # type: ignore[no-untyped-def]
    r = send(client, admin, "\ufeffsku,location,on_hand\r\nBOLT-M8,WH-BER,5\r\n")
    assert (r.status_code, r.json()["rows_applied"]) == (201, 1)


def test_an_interrupted_upload_fails_the_import_after_the_rows_it_got(world, frozen) -> None:  # type: ignore[no-untyped-def]
    # given a file whose upload breaks off in its third line
    pipe = imports.Pipe()
    asyncio.run(pipe.feed(b"sku,location,on_hand\nBOLT-M8,WH-BER,5\nNUT-"))
    pipe.break_off(imports.UploadInterrupted("the upload was interrupted"))

    def begin() -> tuple[dict[str, object], bool]:
        return world.transaction(lambda s: imports.start_import(s, "csv", "absolute", "test")), False

    # when it is imported
    doc, replayed = imports.run_import(world, imports.parser_for("csv", pipe, "absolute"), begin)
    # then the complete rows apply and the import says why it stopped
    assert (doc["status"], doc["rows_applied"], doc["error"], replayed) == (
        "failed", 1, "the upload was interrupted", False
    )
    assert positions(world) == {("BOLT-M8", "WH-BER"): (5, 0, 0, 0, 0)}


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        pytest.param("text/csv", "sku,location,on_hand\nBOLT\x00M8,WH-BER,5\nBOLT-M8,WH\x00BER,5\n", id="csv"),
        pytest.param("application/x-ndjson", '{"sku":"BOLT\\u0000M8","location":"WH-BER","on_hand":5}\n'
                                              '{"sku":"BOLT-M8","location":"WH\\u0000BER","on_hand":5}\n', id="ndjson"),
    ],
)
def test_a_nul_character_in_a_row_fails_that_row(world, client, admin, content_type, body) -> None:  # type: ignore[no-untyped-def]
    # given rows whose sku or location hold NUL (the database cannot store or compare them)
    before = positions(world)
    # when they are imported
    r = send(client, admin, body, content_type)
    # then each row fails naming its field, and no stock changed
    assert r.status_code == 201, r.text
    assert (r.json()["rows_failed"], r.json()["rows_applied"]) == (2, 0)
    message = "must not contain the NUL character (\\u0000)"
    assert errors(client, admin, r.json()["id"]) == [(1 + (content_type == "text/csv"), "sku", message),
                                                      (2 + (content_type == "text/csv"), "location", message)]
    assert positions(world) == before
