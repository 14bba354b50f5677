"""`ordino bench availability`: 20-SKU availability queries against 5M positions.

One database, seeded once (`--skus` × `--locations` positions, default 100,000 × 50, with random
figures; bench.stockroom) and read by both sides:

- **ordino**: C clients post `POST /api/v1/availability` for 20 random SKUs (uniform over all
  SKUs) to the real server: with `--scope locations` (the default) without naming locations, so
  the answer is every SKU at every active location (20 × 50 rows); with `--scope group` for the
  group of all locations (20 rows of sums);
- **baseline**: C driver threads run the statement that reads the figures for such a query
  (the positions of the 20 SKUs at the 50 locations, or their sums per group) and fetch the rows.

Checks: no errors, and every sampled answer (every 20th, at most 200) equals the truth read
afterwards with the baseline's statement, row for row and figure for figure (nothing writes
during the run, so the truth does not move).
"""

from __future__ import annotations

import os
import random
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import count
from typing import Any

import orjson

from ordino.bench.baseline import RawConnection
from ordino.bench.common import BenchDatabase, CpuMeter, scratch_databases
from ordino.bench.load import Call, Tally, error_samples, result_doc, run_http, run_threads, serving
from ordino.bench.stockroom import Stockroom, fill_positions, prepare_stockroom

PATH = "/api/v1/availability"
SCOPES = ("locations", "group")
SAMPLE_EVERY = 20
MAX_SAMPLES = 200

_POSITIONS = (
    "SELECT sku, location_id, on_hand, reserved, safety_stock, futures, backordered FROM inventory_position"
    " WHERE sku {skus} AND location_id {places}"
)
_GROUP_SUMS = (
    "SELECT p.sku, m.group_id, sum(p.on_hand), sum(p.reserved), sum(p.safety_stock), sum(p.futures),"
    " sum(p.backordered) FROM inventory_position p JOIN location_group_member m ON m.location_id = p.location_id"
    " WHERE p.sku {skus} AND m.group_id {places} GROUP BY p.sku, m.group_id"
)

Figures = dict[str, int]
Answer = dict[tuple[str, str], Figures]


@dataclass(frozen=True, slots=True)
class AvailabilityOptions:
    database_url: str | None = None
    skus: int = 100_000
    locations: int = 50
    query_skus: int = 20
    scope: str = "locations"
    clients: int = 8
    seconds: float = 20.0
    warmup: float = 2.0
    size: int = 0  # stop each timed phase after this many queries (0: run for `seconds`)
    workers: int = 0  # 0: one per core (reads do not serialize, on SQLite either)


def figures(on_hand: int, reserved: int, safety_stock: int, futures: int, backordered: int) -> Figures:
    """The figures of a row as the API reports them."""
    atf = on_hand - reserved - safety_stock
    return {"on_hand": on_hand, "reserved": reserved, "safety_stock": safety_stock, "backordered": backordered,
            "futures_total": futures, "available_to_fulfill": atf, "available_to_order": atf + futures - backordered}


class Query:
    """The baseline's statement for one scope and database: run it, and read its rows as an answer."""

    def __init__(self, db: BenchDatabase, room: Stockroom, scope: str, query_skus: int) -> None:
        self.by_location = scope == "locations"
        places = list(room.location_ids) if self.by_location else [room.group_id]
        self.names = dict(zip(places, room.locations if self.by_location else (room.group,), strict=True))
        template = _POSITIONS if self.by_location else _GROUP_SUMS
        self.pg = db.dialect == "postgresql"
        if self.pg:
            self.sql = template.format(skus="= ANY(%s)", places="= ANY(%s)")
            self.places: list[Any] = places
        else:
            def marks(n: int) -> str:
                return "IN (" + ", ".join("?" * n) + ")"

            self.sql = template.format(skus=marks(query_skus), places=marks(len(places)))
            self.places = [p.hex for p in places]  # how Ordino's Uuid type stores ids on SQLite

    def run(self, cur: Any, skus: Sequence[str]) -> list[Any]:
        params = (list(skus), self.places) if self.pg else (*skus, *self.places)
        cur.execute(self.sql, params)
        return list(cur.fetchall())

    def answer(self, rows: list[Any]) -> Answer:
        return {
            (sku, self.names[uuid.UUID(str(place))]): figures(*(int(v) for v in values))
            for sku, place, *values in rows
        }


def answer_of(body: bytes, by_location: bool) -> Answer:
    doc = orjson.loads(body)
    rows, place = (doc["locations"], "location") if by_location else (doc["location_groups"], "location_group")
    return {(r["sku"], r[place]): {k: r[k] for k in figures(0, 0, 0, 0, 0)} for r in rows}


def _pickers(room: Stockroom, n: int, query_skus: int, seed: int) -> list[Callable[[], list[str]]]:
    """One random SKU picker per client (or thread), so that both sides ask alike."""
    def picker(rng: random.Random) -> Callable[[], list[str]]:
        return lambda: rng.sample(room.skus, query_skus)

    return [picker(random.Random(seed + i)) for i in range(n)]


# long: one scenario read top to bottom (seed, raw baseline, Ordino, checks, result), as the other scenarios
def run_availability(opts: AvailabilityOptions, note: Callable[[str], None] = lambda _: None) -> dict[str, Any]:
    if opts.scope not in SCOPES:
        raise ValueError(f"scope must be one of {', '.join(SCOPES)}")
    size = opts.size or 1 << 62
    with scratch_databases(opts.database_url, ["stock"]) as dbs:
        db = dbs["stock"]
        note(f"seeding {opts.skus:,} SKUs × {opts.locations} locations on {db.dialect}")
        began = time.perf_counter()
        room = prepare_stockroom(db, skus=opts.skus, locations=opts.locations)
        positions = fill_positions(db)
        seeded = time.perf_counter() - began
        query = Query(db, room, opts.scope, opts.query_skus)

        threads = _pickers(room, opts.clients, opts.query_skus, seed=1)

        def select(conn: RawConnection, thread: int, _n: int) -> bool:
            return bool(query.run(conn.cursor, threads[thread]()))

        note(f"raw baseline: {opts.clients} threads, {opts.seconds:g} s")
        if opts.warmup > 0:
            run_threads(db, select, threads=opts.clients, seconds=opts.warmup, size=size, write=False)
        raw = run_threads(db, select, threads=opts.clients, seconds=opts.seconds, size=size, write=False,
                          meter=CpuMeter(database=db.pg_name))

        clients = _pickers(room, opts.clients, opts.query_skus, seed=1)
        groups = [room.group] if opts.scope == "group" else []
        samples: list[tuple[list[str], bytes]] = []
        answered = count()

        def make(client: int, n: int) -> Call:
            skus = clients[client]()
            body = orjson.dumps({"skus": skus, "location_groups": groups} if groups else {"skus": skus})
            return Call("POST", PATH, body, f"AV-{n}")

        def judge(call: Call, status: int, body: bytes) -> bool | None:
            if status != 200:
                return None
            if next(answered) % SAMPLE_EVERY == 0 and len(samples) < MAX_SAMPLES:
                samples.append((orjson.loads(call.body)["skus"], body))
            return True

        workers = opts.workers or max(1, os.cpu_count() or 1)
        note(f"ordino: uvicorn with {workers} process(es), {opts.clients} clients, {opts.seconds:g} s")
        with serving(db, room.api_key, workers) as server:
            warm = Tally()
            if opts.warmup > 0:
                warm = run_http(server.port, room.api_key, make, judge, clients=opts.clients, seconds=opts.warmup,
                                size=size)
            load = run_http(server.port, room.api_key, make, judge, clients=opts.clients, seconds=opts.seconds,
                            size=size, meter=CpuMeter(server.pids(), database=db.pg_name))
            server_log = server.log()

        note(f"checking {len(samples)} answers against the database")
        wrong, rows_expected = 0, opts.query_skus * (opts.locations if query.by_location else 1)
        conn = RawConnection(db)
        try:
            for skus, body in samples:
                got, truth = answer_of(body, query.by_location), query.answer(query.run(conn.cursor, skus))
                wrong += got != truth or len(got) != rows_expected
                conn.rollback()  # ends the read
        finally:
            conn.close()

    checks = {
        "errors": warm.errors + load.errors,
        "answers_checked": len(samples),
        "answers_wrong": wrong,
        "baseline_errors": raw.errors,
        "positions": positions,
    }
    result = result_doc(
        "availability", db.dialect, "requests/s", value=load.rate, baseline=raw.rate, ordino=load, raw=raw,
        size=load.attempts, checks=checks,
    )
    result.update({"scope": opts.scope, "query_skus": opts.query_skus, "skus": opts.skus,
                   "locations": opts.locations, "rows_per_answer": rows_expected, "clients": opts.clients,
                   "workers": workers, "seed_seconds": round(seeded, 1)})
    if failures := error_samples(warm, load, raw):
        result["error_samples"] = failures
        result["server_log_tail"] = server_log[-2000:]
    return result


def passed(result: dict[str, Any]) -> bool:
    c = result["checks"]
    return bool(c["errors"] == 0 and c["baseline_errors"] == 0 and c["answers_checked"] > 0 and c["answers_wrong"] == 0)
