"""`ordino bench order-to-cash`: orders placed through the API, routed, reserved and given fulfilment
orders by N `ordino worker` processes, shipped through the API as they appear, then invoiced and
captured (the gateway simulator), on PostgreSQL.

One run: a scratch database with the demo's master data and stock (`ordino demo --orders 0`, the
stock multiplied so that no order runs short); a copy of it (`CREATE DATABASE … TEMPLATE`)
for the raw baseline; the gateway simulator, two API processes and `--workers` worker processes;
C placing clients (at `--rate` orders/s, or as fast as they can) for `--seconds`, and one shipper
that lists allocated fulfilment orders and ships each. After placing stops the run waits (up to
`--drain-timeout`) until every order is invoiced and, when paid by card, captured. The latencies
are read from the database's own timestamps. The raw baseline writes the rows the run left (raw_o2c).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
from sqlalchemy import create_engine, text

import ordino.models  # noqa: F401  (every table: the API key's foreign keys resolve)
from ordino.bench.common import CpuMeter, free_port, scratch_databases
from ordino.bench.raw_o2c import copy_database, drop_database, run_raw_replay
from ordino.bench.server import Server
from ordino.kernel import clock
from ordino.kernel.auth import Role, create_key, key_digests
from ordino.kernel.db import Database

API = "/api/v1"
STOCK_FACTOR = 1000


class NeedsPostgres(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class O2cOptions:
    database_url: str | None = None
    workers: int = 2  # `ordino worker` processes
    api_processes: int = 2
    clients: int = 4
    rate: float = 0.0  # orders/s over all clients; 0: as fast as they can
    seconds: float = 20.0
    drain_timeout: float = 120.0
    seed: int = 7


@dataclass(slots=True)
class _Tally:
    placed: list[str] = field(default_factory=list)  # order ids answered 201
    shipped: int = 0
    errors: int = 0
    samples: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def error(self, what: str) -> None:
        with self.lock:
            self.errors += 1
            if len(self.samples) < 5:
                self.samples.append(what[:300])


# bench and demo are independent on the top floor: the demo runs as a program of its own, its
# order generator in a child process that prints the payloads
_GENERATE = """
import sys, orjson
from random import Random
from ordino.demo.orders import generate
from ordino.kernel import clock
for o in generate(Random(int(sys.argv[1])), int(sys.argv[2]), clock.now()):
    sys.stdout.buffer.write(orjson.dumps(o.payload) + b"\\n")
"""


def _payloads(seed: int, count: int) -> Iterator[bytes]:
    """Demo orders, endlessly, each with a fresh external reference and ordered now."""
    drawn = subprocess.run([sys.executable, "-c", _GENERATE, str(seed), str(count)], check=True,
                           capture_output=True).stdout.splitlines()
    n = 0
    while True:
        for line in drawn:
            n += 1
            payload = orjson.loads(line)
            payload.update(external_reference=f"O2C-{n:07d}", ordered_at=clock.now().isoformat())
            yield orjson.dumps(payload)


def _place(port: int, headers: dict[str, str], bodies: Iterator[bytes], lock: threading.Lock, tally: _Tally,
           stop: float, interval: float) -> None:
    due = time.monotonic()
    with httpx.Client(base_url=f"http://127.0.0.1:{port}{API}", headers=headers, timeout=60) as client:
        while time.monotonic() < stop:
            if interval:
                due += interval
                time.sleep(max(0.0, due - time.monotonic()))
            with lock:
                body = next(bodies)
            try:
                r = client.post("/orders", content=body, headers={"Content-Type": "application/json"})
            except httpx.HTTPError as exc:
                tally.error(f"place: {exc!r}")
                continue
            if r.status_code == 201:
                with tally.lock:
                    tally.placed.append(r.json()["id"])
            else:
                tally.error(f"place {r.status_code}: {r.text}")


def _ship(port: int, headers: dict[str, str], tally: _Tally, done: threading.Event) -> None:
    """List allocated fulfilment orders and ship each, until `done` and none is left."""
    with httpx.Client(base_url=f"http://127.0.0.1:{port}{API}", headers=headers, timeout=60) as client:
        while True:
            r = client.get("/fulfillment-orders", params={"status": "allocated", "limit": 200})
            rows = r.json().get("items", []) if r.status_code == 200 else []
            if r.status_code != 200:
                tally.error(f"list {r.status_code}: {r.text}")
            for fo in rows:
                s = client.post(f"/fulfillment-orders/{fo['id']}/ship", json={"carrier": "DHL"})
                if s.status_code == 200:
                    tally.shipped += 1
                else:
                    tally.error(f"ship {s.status_code}: {s.text}")
            if not rows:
                if done.is_set():
                    return
                time.sleep(0.2)


def _start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "ab") as out:
        return subprocess.Popen([sys.executable, "-c", "from ordino.cli import app; app()", *args], env=env,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def _prepare(url: str) -> str:
    """Master data and stock of the demo (`ordino demo --orders 0`), every position's stock
    multiplied; returns an admin key."""
    subprocess.run([sys.executable, "-c", "from ordino.cli import app; app()", "demo", "--database-url", url,
                    "--orders", "0"], check=True, capture_output=True)
    db = Database(url, pool_size=1)
    try:
        db.transaction(lambda s: s.execute(text("UPDATE inventory_position SET on_hand = on_hand * :f"),
                                           {"f": STOCK_FACTOR}))
        _, secret = db.transaction(lambda s: create_key(s, name="bench admin", role=Role.ADMIN))
        return secret
    finally:
        db.dispose()


# the report's measures, from the database's own timestamps (seconds)
_LATENCY_SQL = {
    "placed_to_fulfillment_orders": """
        SELECT extract(epoch FROM max(f.created_at) - o.created_at) FROM order_summary o
        JOIN fulfillment_order f ON f.order_summary_id = o.id GROUP BY o.id, o.created_at""",
    "shipped_to_invoiced": """
        SELECT extract(epoch FROM i.created_at - s.shipped_at) FROM invoice i
        JOIN shipment s ON s.id = i.shipment_id""",
    "shipped_to_captured": """
        SELECT extract(epoch FROM max(p.settled_at) - max(s.shipped_at)) FROM shipment s
        JOIN payment p ON p.order_summary_id = s.order_summary_id AND p.kind = 'capture' AND p.status = 'succeeded'
        GROUP BY s.order_summary_id""",
}
# an order is through order-to-cash when every unit is shipped, every shipment invoiced and, paid by card, captured
_DONE_SQL = """
    SELECT o.id,
      (SELECT count(*) FROM fulfillment_order f
         WHERE f.order_summary_id = o.id AND f.status <> 'fulfilled') AS open_fos,
      (SELECT count(*) FROM fulfillment_order f WHERE f.order_summary_id = o.id) AS fos,
      (SELECT count(*) FROM shipment s WHERE s.order_summary_id = o.id) AS shipments,
      (SELECT count(*) FROM invoice i WHERE i.order_summary_id = o.id) AS invoices,
      (SELECT count(*) FROM payment p WHERE p.order_summary_id = o.id AND p.kind = 'authorization'
         AND p.status IN ('authorized', 'closed')) AS auths,
      (SELECT count(*) FROM payment p WHERE p.order_summary_id = o.id AND p.kind = 'capture'
         AND p.status = 'succeeded') AS captures,
      greatest((SELECT max(i.created_at) FROM invoice i WHERE i.order_summary_id = o.id),
               (SELECT max(p.settled_at) FROM payment p WHERE p.order_summary_id = o.id AND p.kind = 'capture'))
    FROM order_summary o"""


def _pcts(values: list[float]) -> dict[str, float]:
    if not values:
        return {"p50_ms": 0.0, "p99_ms": 0.0, "n": 0}
    ordered = sorted(values)

    def at(p: float) -> float:
        return round(1000 * ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))], 1)

    return {"p50_ms": at(50), "p99_ms": at(99), "n": len(ordered)}


def _progress(url: str) -> tuple[int, int, Any, Any]:
    """(orders, orders through order-to-cash, first order's time, last completion)."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text(_DONE_SQL)).all()
            first = conn.execute(text("SELECT min(created_at) FROM order_summary")).scalar()
    finally:
        engine.dispose()
    done = [r for r in rows if r.fos and not r.open_fos and r.invoices >= r.shipments > 0
            and (not r.auths or r.captures >= r.invoices)]
    return len(rows), len(done), first, max((r[7] for r in done), default=None)


def _measures(url: str) -> dict[str, Any]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            out: dict[str, Any] = {k: _pcts([float(v) for (v,) in conn.execute(text(q))])
                                   for k, q in _LATENCY_SQL.items()}
            out["events_per_order"] = round(float(conn.execute(text(
                "SELECT count(*)::float / greatest(1, (SELECT count(*) FROM order_summary)) FROM outbox_event "
                "WHERE type NOT IN ('channel.sourcing_changed', 'location_group.created')")).scalar_one()), 2)
            out["dead_letters"] = int(conn.execute(text(
                "SELECT count(*) FROM outbox_event WHERE failed_at IS NOT NULL")).scalar_one())
            out["process_exceptions"] = int(conn.execute(text("SELECT count(*) FROM process_exception")).scalar_one())
            out["rows_written"] = {}
    finally:
        engine.dispose()
    return out


def _drive(
    opts: O2cOptions, server: Server, worker_pids: list[int], app_url: str, pg_name: str | None, secret: str,
    note: Callable[[str], None],
) -> tuple[_Tally, float, dict[str, Any], str]:
    """Place orders for the run's seconds while a shipper ships them, then wait for the last to
    finish: (tally, seconds placing, CPU by group, the server's log)."""
    headers = {"Authorization": f"Bearer {secret}"}
    tally = _Tally()
    bodies, lock, done = _payloads(opts.seed, 2000), threading.Lock(), threading.Event()
    interval = opts.clients / opts.rate if opts.rate > 0 else 0.0
    note(f"placing orders for {opts.seconds:g} s with {opts.clients} clients, "
         f"{opts.workers} worker(s), {opts.api_processes} API processes")
    meter = CpuMeter([*server.pids(), *worker_pids], database=pg_name)
    meter.start()
    started = time.monotonic()
    stop = started + opts.seconds
    shipper = threading.Thread(target=_ship, args=(server.port, headers, tally, done))
    shipper.start()
    placers = [threading.Thread(target=_place, args=(server.port, headers, bodies, lock, tally, stop, interval))
               for _ in range(opts.clients)]
    for t in placers:
        t.start()
    for t in placers:
        t.join()
    placing = time.monotonic() - started
    note(f"placed {len(tally.placed)}; waiting for order-to-cash to finish")
    deadline = time.monotonic() + opts.drain_timeout
    while time.monotonic() < deadline and _progress(app_url)[1] < len(tally.placed):
        time.sleep(1.0)
    done.set()
    shipper.join()
    return tally, placing, meter.stop(), server.log()


def run_order_to_cash(opts: O2cOptions, note: Callable[[str], None] = lambda _: None) -> dict[str, Any]:
    if opts.database_url is None or not opts.database_url.startswith("postgresql"):
        raise NeedsPostgres("order-to-cash needs PostgreSQL (--database-url postgresql+psycopg://…): "
                            "several worker processes share the outbox")
    with scratch_databases(opts.database_url, ["app"]) as dbs, tempfile.TemporaryDirectory(prefix="o2c-") as tmp:
        app = dbs["app"]
        note("migrating and seeding the demo's master data and stock")
        secret = _prepare(app.url)
        raw_url = copy_database(opts.database_url, app.url, "raw")
        logs = Path(tmp)
        sim_port = free_port()
        env = {**os.environ, "ORDINO_DATABASE_URL": app.url, "ORDINO_SECRET_KEY": key_digests().secret,
               "ORDINO_GATEWAY_SIMULATOR_URL": f"http://127.0.0.1:{sim_port}"}
        os.environ["ORDINO_GATEWAY_SIMULATOR_URL"] = env["ORDINO_GATEWAY_SIMULATOR_URL"]
        procs = [_start(["gateway-sim", "--port", str(sim_port)], env, logs / "sim.log")]
        try:
            with Server(app.url, secret, workers=opts.api_processes, log_path=logs / "server.log") as server:
                procs += [_start(["worker"], env, logs / "worker.log") for _ in range(opts.workers)]
                tally, placing, cpu, server_log = _drive(
                    opts, server, [p.pid for p in procs[1:]], app.url, app.pg_name, secret, note)
        finally:
            for p in procs:
                p.terminate()
            for p in procs:
                p.wait(timeout=15)
        progress = _progress(app.url)
        measures = _measures(app.url)
        worker_log = (logs / "worker.log").read_text(errors="replace")[-2000:]
        note("raw baseline: the same rows written by hand")
        try:
            raw = run_raw_replay(app.url, raw_url, threads=opts.clients, orders=progress[0])
        finally:
            drop_database(opts.database_url, raw_url)
    result = _result(opts, tally, placing, progress, measures, raw, cpu)
    if tally.samples:
        result["error_samples"] = tally.samples
        result["server_log_tail"] = server_log[-1500:]
    if measures["dead_letters"]:
        result["worker_log_tail"] = worker_log
    return result


def _result(
    opts: O2cOptions, tally: _Tally, placing: float, progress: tuple[int, int, Any, Any], measures: dict[str, Any],
    raw: dict[str, Any], cpu: dict[str, Any],
) -> dict[str, Any]:
    total, finished, first, last = progress
    through = (last - first).total_seconds() if first is not None and last is not None else 0.0
    value = finished / through if through > 0 else 0.0
    return {
        "scenario": "order-to-cash",
        "database": "postgresql",
        "size": len(tally.placed),
        "value": round(value, 1),
        "unit": "orders/s through order-to-cash",
        "baseline": raw["orders_per_s"],
        "ratio": round(value / raw["orders_per_s"], 3) if raw["orders_per_s"] else 0.0,
        "placed_per_s": round(len(tally.placed) / placing, 1) if placing else 0.0,
        "p50_ms": measures["placed_to_fulfillment_orders"]["p50_ms"],
        "p99_ms": measures["placed_to_fulfillment_orders"]["p99_ms"],
        "baseline_p50_ms": raw["p50_ms"],
        "baseline_p99_ms": raw["p99_ms"],
        "latencies": {k: measures[k] for k in _LATENCY_SQL},
        "checks": {
            "errors": tally.errors,
            "orders_placed": len(tally.placed),
            "orders_in_db": total,
            "orders_through": finished,
            "shipments_posted": tally.shipped,
            "dead_letters": measures["dead_letters"],
            "process_exceptions": measures["process_exceptions"],
            "events_per_order": measures["events_per_order"],
            "baseline_errors": raw["errors"],
            "baseline_rows": raw["rows"],
            **cpu,
            "load_average_1m": round(os.getloadavg()[0], 2),
        },
        "workers": opts.workers,
        "api_processes": opts.api_processes,
        "clients": opts.clients,
        "target_rate": opts.rate,
        "seconds": round(placing, 2),
        "through_seconds": round(through, 2),
    }


def passed(result: dict[str, Any]) -> bool:
    c = result["checks"]
    return bool(
        c["errors"] == 0 and c["baseline_errors"] == 0 and c["dead_letters"] == 0 and c["process_exceptions"] == 0
        and c["orders_in_db"] == c["orders_placed"] == c["orders_through"]
    )
