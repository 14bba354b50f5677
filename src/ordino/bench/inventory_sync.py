"""`ordino bench inventory-sync`: stock records per second through `PUT /api/v1/inventory`.

Two databases seeded alike (`--skus` products, `--locations` locations, no positions yet). The
positions (every SKU at every location) are dealt out to the clients, so that each position
has one sender and its last value is known; each client sends its positions in batches of
`--batch` absolute records (on hand and safety stock, a new `record_id` each), pass after pass,
with values that change every pass. The first pass creates the positions, later ones update them.

- **ordino**: C HTTP clients, `PUT /api/v1/inventory` with `"mode": "absolute"`; a batch counts
  when the answer is 200 with every record `applied`;
- **baseline**: C driver threads, one transaction per batch, the same work in bare SQL. PostgreSQL:
  `COPY` into a temporary staging table, then one statement that claims the record ids
  (`INSERT INTO inventory_record … ON CONFLICT DO NOTHING RETURNING`) and upserts the positions
  of the claimed records (`INSERT … ON CONFLICT (sku, location_id) DO UPDATE`), locations
  resolved by code in SQL. SQLite: the ids already applied are looked up, then `executemany`
  claims and upserts the new ones.

Checks, on both sides: no errors; every position holds the last value accepted for it (none
lost, none stale), as many positions as were sent; one `inventory_record` row per accepted
record; and each client's first batch, sent again with the same record ids after the run, is
answered as all duplicates and changes nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

import orjson

from ordino.bench.baseline import RawConnection
from ordino.bench.common import BenchDatabase, CpuMeter, checkpoint, scratch_databases
from ordino.bench.intake import auto_workers
from ordino.bench.load import Call, Tally, error_samples, result_doc, run_http, run_threads, serving
from ordino.bench.stockroom import Stockroom, prepare_stockroom
from ordino.kernel import clock

PATH = "/api/v1/inventory"

_STAGING = (
    "CREATE TEMP TABLE sync_staging (record_id uuid, sku text, location text, on_hand bigint,"
    " safety_stock bigint) ON COMMIT DELETE ROWS"
)
_COPY = "COPY sync_staging (record_id, sku, location, on_hand, safety_stock) FROM STDIN"
_PG_APPLY = (
    "WITH claimed AS (INSERT INTO inventory_record (record_id, applied_at) SELECT record_id, now() FROM sync_staging"
    " ON CONFLICT (record_id) DO NOTHING RETURNING record_id)"
    " INSERT INTO inventory_position AS p (sku, location_id, on_hand, reserved, safety_stock, futures, backordered,"
    " version, updated_at)"
    " SELECT s.sku, l.id, s.on_hand, 0, s.safety_stock, 0, 0, 1, now() FROM sync_staging s"
    " JOIN claimed c ON c.record_id = s.record_id JOIN location l ON l.code = s.location ORDER BY s.sku, l.id"
    " ON CONFLICT (sku, location_id) DO UPDATE SET on_hand = excluded.on_hand, safety_stock = excluded.safety_stock,"
    " version = p.version + 1, updated_at = excluded.updated_at"
)
_SQLITE_CLAIMED = "SELECT record_id FROM inventory_record WHERE record_id IN ({marks})"
_SQLITE_CLAIM = "INSERT INTO inventory_record (record_id, applied_at) VALUES (?, ?)"
_SQLITE_UPSERT = (
    "INSERT INTO inventory_position (sku, location_id, on_hand, reserved, safety_stock, futures, backordered,"
    " version, updated_at) VALUES (?, (SELECT id FROM location WHERE code = ?), ?, 0, ?, 0, 0, 1, ?)"
    " ON CONFLICT (sku, location_id) DO UPDATE SET on_hand = excluded.on_hand,"
    " safety_stock = excluded.safety_stock, version = inventory_position.version + 1,"
    " updated_at = excluded.updated_at"
)
_HELD = (
    "SELECT p.sku, l.code, p.on_hand, p.safety_stock FROM inventory_position p JOIN location l ON l.id = p.location_id"
)


@dataclass(frozen=True, slots=True)
class SyncOptions:
    database_url: str | None = None
    skus: int = 10_000
    locations: int = 20
    batch: int = 1_000
    clients: int = 4
    seconds: float = 20.0
    warmup: float = 2.0
    size: int = 0  # stop each timed phase after this many batches (0: run for `seconds`)
    workers: int = 0


# ------------------------------------------------------------------------------------------------
# What each client sends


@dataclass(frozen=True, slots=True)
class Record:
    record_id: uuid.UUID
    sku: str
    location: str
    on_hand: int
    safety_stock: int


@dataclass(frozen=True, slots=True)
class Batch:
    tag: str
    records: list[Record]

    def body(self) -> bytes:
        return orjson.dumps({"mode": "absolute", "records": [
            {"record_id": str(r.record_id), "sku": r.sku, "location": r.location, "on_hand": r.on_hand,
             "safety_stock": r.safety_stock} for r in self.records
        ]})


@dataclass(slots=True)
class Feed:
    """One sender's positions (every C-th of SKUs × locations), sent `size` at a time, pass after
    pass, and the last value accepted for each."""

    room: Stockroom
    index: int
    senders: int
    size: int
    at: int = 0
    passes: int = 0
    sent: int = 0
    accepted: int = 0  # records
    last: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)
    first: Batch | None = None
    pending: Batch | None = None

    def next(self) -> Batch:
        mine = range(self.index, len(self.room.skus) * len(self.room.locations), self.senders)
        if self.at >= len(mine):
            self.at, self.passes = 0, self.passes + 1
        chunk = mine[self.at : self.at + self.size]
        self.at += len(chunk)
        self.sent += 1
        n = len(self.room.locations)
        records = [
            Record(uuid.uuid4(), self.room.skus[i // n], self.room.locations[i % n],
                   (self.passes * 7919 + i * 31) % 100_000, self.passes % 5)
            for i in chunk
        ]
        self.pending = Batch(f"{self.index}/{self.sent}", records)
        self.first = self.first or self.pending
        return self.pending

    def accept(self, batch: Batch) -> None:
        for r in batch.records:
            self.last[(r.sku, r.location)] = (r.on_hand, r.safety_stock)
        self.accepted += len(batch.records)


def feeds(room: Stockroom, senders: int, size: int) -> list[Feed]:
    return [Feed(room, i, senders, size) for i in range(senders)]


def _accepted(fs: list[Feed]) -> int:
    return sum(f.accepted for f in fs)


# ------------------------------------------------------------------------------------------------
# The baseline's transaction


def _stage(conn: RawConnection) -> None:
    if conn.dialect.name == "postgresql":
        conn.cursor.execute(_STAGING)
        conn.commit()


def apply_raw(conn: RawConnection, batch: Batch) -> int:
    """Apply a batch with bare SQL in the open transaction; returns the records applied."""
    cur = cast(Any, conn.cursor)
    if conn.dialect.name == "postgresql":
        with cur.copy(_COPY) as copy:
            for r in batch.records:
                copy.write_row((r.record_id, r.sku, r.location, r.on_hand, r.safety_stock))
        cur.execute(_PG_APPLY)
        return int(cur.rowcount)
    d = conn.dialect
    ids = [d.id(r.record_id) for r in batch.records]
    cur.execute(_SQLITE_CLAIMED.format(marks=", ".join("?" * len(ids))), ids)
    done = {row[0] for row in cur.fetchall()}
    now = d.ts(clock.now())
    new = [r for r, i in zip(batch.records, ids, strict=True) if i not in done]
    cur.executemany(_SQLITE_CLAIM, [(d.id(r.record_id), now) for r in new])
    cur.executemany(_SQLITE_UPSERT, [(r.sku, r.location, r.on_hand, r.safety_stock, now) for r in new])
    return len(new)


def raw_drive(db: BenchDatabase, fs: list[Feed], seconds: float, size: int, meter: CpuMeter | None) -> Tally:
    def op(conn: RawConnection, thread: int, _n: int) -> bool:
        feed = fs[thread]
        batch = feed.next()
        if apply_raw(conn, batch) != len(batch.records):
            raise RuntimeError(f"batch {batch.tag}: not every record was applied")
        feed.accept(batch)  # run_threads commits; a failed commit is an error, which fails the run
        return True

    return run_threads(db, op, threads=len(fs), seconds=seconds, size=size, meter=meter, setup=_stage)


def raw_replay(db: BenchDatabase, fs: list[Feed]) -> int:
    """Each sender's first batch again, same record ids: returns the records applied (0 expected)."""
    conn = RawConnection(db)
    applied = 0
    try:
        _stage(conn)
        for batch in (f.first for f in fs if f.first is not None):
            conn.begin()
            applied += apply_raw(conn, batch)
            conn.commit()
    finally:
        conn.close()
    return applied


# ------------------------------------------------------------------------------------------------
# Ordino's side


def http_drive(port: int, api_key: str, fs: list[Feed], seconds: float, size: int, meter: CpuMeter | None) -> Tally:
    def make(client: int, _n: int) -> Call:
        batch = fs[client].next()
        return Call("PUT", PATH, batch.body(), batch.tag)

    def judge(call: Call, status: int, body: bytes) -> bool | None:
        feed = fs[int(call.tag.split("/")[0])]
        assert feed.pending is not None and feed.pending.tag == call.tag
        if status != 200:
            return None
        doc = orjson.loads(body)
        if (doc["applied"], doc["duplicates"], doc["errors"]) != (len(feed.pending.records), 0, 0):
            return None
        feed.accept(feed.pending)
        return True

    # a new connection per batch (a few hundred ms of work each), so that batches spread over the processes
    return run_http(port, api_key, make, judge, clients=len(fs), seconds=seconds, size=size, meter=meter, renew=1)


def http_replay(port: int, api_key: str, fs: list[Feed]) -> Tally:
    """Each sender's first batch again, same record ids: must be answered all duplicates."""
    firsts = [f.first for f in fs if f.first is not None]

    def make(_client: int, n: int) -> Call:
        return Call("PUT", PATH, firsts[n - 1].body(), f"replay/{n}")

    def judge(call: Call, status: int, body: bytes) -> bool | None:
        n = int(call.tag.split("/")[1])
        expected = (0, len(firsts[n - 1].records), 0)
        return True if status == 200 and tuple(orjson.loads(body)[k] for k in
                                               ("applied", "duplicates", "errors")) == expected else None

    return run_http(port, api_key, make, judge, clients=1, seconds=float("inf"), size=len(firsts))


# ------------------------------------------------------------------------------------------------
# Checks


def held(db: BenchDatabase, fs: list[Feed]) -> dict[str, int]:
    """Compare every position in the database with the last value accepted for it."""
    expected: dict[tuple[str, str], tuple[int, int]] = {}
    for f in fs:
        expected.update(f.last)
    conn = RawConnection(db)
    try:
        cur = cast(Any, conn.cursor)
        cur.execute(_HELD)
        found = {(sku, code): (on_hand, safety) for sku, code, on_hand, safety in cur.fetchall()}
        cur.execute("SELECT count(*) FROM inventory_record")
        records = int(cur.fetchone()[0])
        conn.rollback()
    finally:
        conn.close()
    return {
        "positions_expected": len(expected),
        "positions_in_db": len(found),
        "positions_wrong": sum(1 for k, v in expected.items() if found.get(k) != v),
        "records_accepted": _accepted(fs),
        "records_in_db": records,
    }


def run_sync(opts: SyncOptions, note: Callable[[str], None] = lambda _: None) -> dict[str, Any]:
    size = opts.size or 1 << 62
    with scratch_databases(opts.database_url, ["app", "raw"]) as dbs:
        app_db, raw_db = dbs["app"], dbs["raw"]
        note(f"seeding two {app_db.dialect} databases: {opts.skus:,} SKUs, {opts.locations} locations")
        room = prepare_stockroom(app_db, skus=opts.skus, locations=opts.locations)
        raw_room = prepare_stockroom(raw_db, skus=opts.skus, locations=opts.locations)

        checkpoint(raw_db)
        note(f"raw baseline: {opts.clients} threads, batches of {opts.batch:,}, {opts.seconds:g} s")
        raw_feeds = feeds(raw_room, opts.clients, opts.batch)
        raw_warm = raw_drive(raw_db, raw_feeds, opts.warmup, size, None) if opts.warmup > 0 else Tally()
        before = _accepted(raw_feeds)
        raw = raw_drive(raw_db, raw_feeds, opts.seconds, size, CpuMeter(database=raw_db.pg_name))
        raw_records = _accepted(raw_feeds) - before
        raw_replayed = raw_replay(raw_db, raw_feeds)
        raw_checks = held(raw_db, raw_feeds)

        checkpoint(app_db)
        workers = opts.workers or auto_workers(app_db.dialect)
        note(f"ordino: uvicorn with {workers} process(es), {opts.clients} clients, {opts.seconds:g} s")
        app_feeds = feeds(room, opts.clients, opts.batch)
        with serving(app_db, room.api_key, workers) as server:
            warm = http_drive(server.port, room.api_key, app_feeds, opts.warmup, size, None) \
                if opts.warmup > 0 else Tally()
            before = _accepted(app_feeds)
            meter = CpuMeter(server.pids(), database=app_db.pg_name)
            load = http_drive(server.port, room.api_key, app_feeds, opts.seconds, size, meter)
            records = _accepted(app_feeds) - before
            replay = http_replay(server.port, room.api_key, app_feeds)
            server_log = server.log()
        checks = held(app_db, app_feeds)

    rate = records / load.elapsed if load.elapsed else 0.0
    raw_rate = raw_records / raw.elapsed if raw.elapsed else 0.0
    result = result_doc(
        "inventory-sync", app_db.dialect, "positions/s", value=rate, baseline=raw_rate, ordino=load, raw=raw,
        size=records, checks={
            "errors": warm.errors + load.errors,
            **checks,
            "replayed_batches": replay.attempts,
            "replay_errors": replay.errors,  # an answer other than all duplicates
            "baseline_errors": raw_warm.errors + raw.errors,
            **{f"baseline_{k}": v for k, v in raw_checks.items()},
            "baseline_replay_applied": raw_replayed,
        },
    )
    result.update({"batch": opts.batch, "batches": load.accepted, "baseline_batches": raw.accepted,
                   "clients": opts.clients, "workers": workers})
    if failures := error_samples(warm, load, replay, raw_warm, raw):
        result["error_samples"] = failures
        result["server_log_tail"] = server_log[-2000:]
    return result


def passed(result: dict[str, Any]) -> bool:
    c = result["checks"]
    return all(
        c[f"{p}errors"] == 0
        and c[f"{p}positions_wrong"] == 0
        and c[f"{p}positions_in_db"] == c[f"{p}positions_expected"] > 0
        and c[f"{p}records_in_db"] == c[f"{p}records_accepted"]
        for p in ("", "baseline_")
    ) and c["replay_errors"] == 0 and c["replayed_batches"] > 0 and c["baseline_replay_applied"] == 0
