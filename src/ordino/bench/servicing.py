"""`ordino bench servicing`: cancels and blind returns per second through the servicing use case,
against the same writes by hand (raw_servicing.py), in the same run.

Two fresh databases get the same preparation: orders placed through the real intake, half of them
approved, routed and shipped through the fulfilment flow (for the returns). Each thread owns a
slice of the orders and services one unit of one line at a time, moving from order to order; a
cancel leaves a unit on every line, so no cancel takes the whole order. Ordino's side calls
`servicing.service.service(..., submit=True)` in a unit of work (what the API route runs, without
HTTP and the Idempotency-Key); the baseline runs raw_servicing on bare driver connections.
After the run the invariants are counted on both databases.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from typing import Any

from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session

from ordino.bench.baseline import RawConnection
from ordino.bench.common import BenchDatabase, CpuMeter, checkpoint, percentile_ms, scratch_databases
from ordino.bench.load import Operation, Tally, cpu_per_unit, run_threads
from ordino.bench.raw_servicing import service_line
from ordino.bench.seed import World, prepare
from ordino.bench.workload import OrderSource
from ordino.catalog.models import Location
from ordino.fulfillment import fulfillment_orders
from ordino.fulfillment.handlers import approve_and_route
from ordino.fulfillment.models import FulfillmentOrder
from ordino.fulfillment.schemas import ShipIn
from ordino.inventory.models import InventoryPosition
from ordino.kernel import clock
from ordino.kernel.auth import Principal, Role
from ordino.kernel.db import Database
from ordino.kernel.ids import new_id
from ordino.kernel.worker import Event
from ordino.orders import intake
from ordino.orders.recording import Placed
from ordino.orders.schemas import OrderIn
from ordino.servicing import service
from ordino.servicing.schemas import CancelIn, LineQuantityIn, ReturnIn

KINDS = ("cancel", "return")


@dataclass(frozen=True, slots=True)
class ServicingOptions:
    database_url: str | None = None
    orders: int = 400  # prepared per database; half of them shipped
    clients: int = 8
    seconds: float = 20.0
    warmup: float = 2.0
    size: int = 0  # stop each timed phase after this many attempts (0: run for `seconds`)


@dataclass(frozen=True, slots=True)
class Prepared:
    """Per kind, the orders to service: (id, number, {line number: units that may go})."""

    orders: dict[str, list[tuple[uuid.UUID, str, dict[int, int]]]]
    principal: Principal


def _stock(db: Database, world: World) -> None:
    """One Berlin warehouse with plenty of every product, so that routing allocates every unit."""
    def work(session: Session) -> None:
        now, location_id = clock.now(), new_id()
        session.execute(insert(Location), [{
            "id": location_id, "code": "WH-BER", "name": "Berlin", "kind": "warehouse", "country": "DE",
            "latitude": Decimal("52.52"), "longitude": Decimal("13.40"), "active": True, "version": 1,
            "created_at": now, "updated_at": now}])
        session.execute(insert(InventoryPosition), [{
            "sku": sku, "location_id": location_id, "on_hand": 10**9, "reserved": 0, "safety_stock": 0, "futures": 0,
            "backordered": 0, "version": 1, "updated_at": now} for sku in world.skus])
    db.transaction(work)


def _ship(db: Database, order_id: uuid.UUID, principal: Principal) -> None:
    """Approve and route the order (the order.created flow), then ship every fulfilment order."""
    event = Event(new_id(), "order.created", f"order/{order_id}", clock.now(), {"id": str(order_id)})
    db.transaction(lambda s: approve_and_route(s, event))
    with db.read() as s:
        fos = [str(f) for f in s.execute(select(FulfillmentOrder.id)
                                         .where(FulfillmentOrder.order_summary_id == order_id)).scalars()]
    for fo in fos:
        db.transaction(partial(_ship_one, fo=fo, principal=principal))


def _ship_one(session: Session, *, fo: str, principal: Principal) -> None:
    fulfillment_orders.ship(session, fo, ShipIn(carrier="DHL"), principal)


def _place(session: Session, *, order: OrderIn, principal: Principal) -> Placed:
    return intake.place_order(session, order, principal)


def prepare_orders(bench_db: BenchDatabase, count: int) -> Prepared:
    """Migrate, seed and place `count` orders through intake; ship every second one."""
    world = prepare(bench_db.url, accounts=20, products=200)
    principal = Principal(world.api_key_id, "bench admin", Role.ADMIN)
    db = Database(bench_db.url, pool_size=1)
    orders: dict[str, list[tuple[uuid.UUID, str, dict[int, int]]]] = {k: [] for k in KINDS}
    try:
        _stock(db, world)
        source = OrderSource(world, "PREP", seed=17)
        for n in range(count):
            spec = source.make(n)
            order = OrderIn.model_validate(spec.payload(world.channel))
            placed = db.transaction(partial(_place, order=order, principal=principal))
            order_id, number = uuid.UUID(str(placed.document["id"])), str(placed.document["number"])
            kind = KINDS[n % 2]
            if kind == "return":
                _ship(db, order_id, principal)
            units = {i: line.quantity - (kind == "cancel") for i, line in enumerate(spec.lines, start=1)}
            orders[kind].append((order_id, number, units))
    finally:
        db.dispose()
    return Prepared(orders, principal)


class Work:
    """Hands each thread the next (order, line) of its own slice: one unit at a time, order after order."""

    def __init__(self, prepared: Prepared, kind: str, threads: int) -> None:
        mine = [prepared.orders[kind][i::threads] for i in range(threads)]
        self._next = [self._walk([(o, n, dict(u)) for o, n, u in m]) for m in mine]
        self.lock = threading.Lock()

    @staticmethod
    def _walk(orders: list[tuple[uuid.UUID, str, dict[int, int]]]) -> Iterator[tuple[uuid.UUID, str, int]]:
        while any(u for _, _, units in orders for u in units.values()):
            for order_id, number, units in orders:
                line = next((ln for ln, u in units.items() if u > 0), None)
                if line is not None:
                    units[line] -= 1
                    yield order_id, number, line

    def take(self, index: int) -> tuple[uuid.UUID, str, int]:
        task = next(self._next[index], None)
        if task is None:
            raise RuntimeError("the prepared orders have no units left: prepare more with --orders")
        return task


def _ordino_op(db: Database, work: Work, kind: str, principal: Principal) -> Operation:
    def op(_conn: RawConnection, index: int, _n: int) -> bool:
        _, number, line = work.take(index)
        lines = [LineQuantityIn(line_number=line, quantity=1)]
        data = CancelIn(lines=lines, reason="bench") if kind == "cancel" else ReturnIn(lines=lines, reason="bench")
        db.transaction(lambda s: service.service(s, kind, number, data, principal, submit=True))
        return True
    return op


def _raw_op(work: Work, kind: str) -> Operation:
    def op(conn: RawConnection, index: int, _n: int) -> bool:
        order_id, _, line = work.take(index)
        service_line(conn.cursor, conn.dialect, kind, order_id, line, 1)
        return True
    return op


def _phases(db: BenchDatabase, opts: ServicingOptions, op: Operation, *, write: bool) -> tuple[Tally, Tally]:
    """An untimed warm-up, then the timed phase with the CPU meter."""
    size = opts.size if opts.size > 0 else 1 << 62
    warm = run_threads(db, op, threads=opts.clients, seconds=opts.warmup, size=size,
                       write=write) if opts.warmup > 0 else Tally()
    checkpoint(db)
    timed = run_threads(db, op, threads=opts.clients, seconds=opts.seconds, size=size, write=write,
                        meter=CpuMeter(database=db.pg_name))
    return warm, timed


INVARIANTS = {
    "negative_buckets": "SELECT count(*) FROM order_item_summary WHERE quantity_canceled < 0 OR quantity_allocated < 0"
    " OR quantity_fulfilled < 0 OR quantity_return_initiated < 0 OR quantity_returned < 0"
    " OR quantity_ordered - quantity_canceled - quantity_allocated < 0 OR quantity_allocated - quantity_fulfilled < 0"
    " OR quantity_fulfilled - quantity_return_initiated < 0 OR quantity_return_initiated - quantity_returned < 0",
    "over_cancelled": "SELECT count(*) FROM order_item_summary WHERE quantity_canceled > quantity_ordered",
    "change_orders_without_one_credit_memo": "SELECT count(*) FROM change_order co WHERE (SELECT count(*)"
    " FROM credit_memo_change_order x WHERE x.change_order_id = co.id) <> 1",
    "credit_memos": "SELECT count(*) FROM credit_memo",
    "cancel_change_orders": "SELECT count(*) FROM change_order WHERE kind = 'cancel'",
    "return_change_orders": "SELECT count(*) FROM change_order WHERE kind = 'return'",
    "cancelled_units": "SELECT coalesce(sum(quantity_canceled), 0) FROM order_item_summary",
    "returned_units": "SELECT coalesce(sum(quantity_returned), 0) FROM order_item_summary",
}


def count_invariants(db: BenchDatabase) -> dict[str, int]:
    database = Database(db.url, pool_size=1)
    try:
        with database.read() as s:
            return {name: int(s.execute(text(sql)).scalar_one()) for name, sql in INVARIANTS.items()}
    finally:
        database.dispose()


def _accepted(*tallies: Tally) -> int:
    return sum(t.accepted for t in tallies)


def _side(kind: str, ordino: Tally, raw: Tally) -> dict[str, Any]:
    value, baseline = ordino.rate, raw.rate
    return {
        "value": round(value, 1), "unit": f"{kind}s/s", "baseline": round(baseline, 1),
        "ratio": round(value / baseline, 3) if baseline else 0.0,
        "p50_ms": percentile_ms(ordino.latencies_ns, 50), "p99_ms": percentile_ms(ordino.latencies_ns, 99),
        "baseline_p50_ms": percentile_ms(raw.latencies_ns, 50),
        "baseline_p99_ms": percentile_ms(raw.latencies_ns, 99),
        "size": ordino.attempts, "seconds": round(ordino.elapsed, 2),
        "cpu_ms_per_unit": {**cpu_per_unit(ordino.cpu, value, server=False),
                            **cpu_per_unit(raw.cpu, baseline, "baseline_", server=False)},
    }


def run_servicing(opts: ServicingOptions, note: Callable[[str], None] = lambda _: None) -> dict[str, Any]:
    with scratch_databases(opts.database_url, ["app", "raw"]) as dbs:
        app_db, raw_db = dbs["app"], dbs["raw"]
        note(f"preparing two {app_db.dialect} databases: {opts.orders} orders each through intake,"
             " half of them routed and shipped")
        prepared = prepare_orders(app_db, opts.orders)
        raw_prepared = prepare_orders(raw_db, opts.orders)
        database = Database(app_db.url, pool_size=opts.clients)
        tallies: dict[str, tuple[Tally, Tally, Tally, Tally]] = {}
        try:
            for kind in KINDS:
                note(f"raw {kind}s: {opts.clients} threads, {opts.seconds:g} s")
                raw_work = Work(raw_prepared, kind, opts.clients)
                raw_warm, raw = _phases(raw_db, opts, _raw_op(raw_work, kind), write=True)
                note(f"ordino {kind}s: {opts.clients} threads, {opts.seconds:g} s")
                work = Work(prepared, kind, opts.clients)
                warm, timed = _phases(app_db, opts, _ordino_op(database, work, kind, prepared.principal),
                                      write=False)
                tallies[kind] = (warm, timed, raw_warm, raw)
        finally:
            database.dispose()
        checks = count_invariants(app_db)
        raw_checks = count_invariants(raw_db)
    c_warm, cancels, c_raw_warm, c_raw = tallies["cancel"]
    r_warm, returns, r_raw_warm, r_raw = tallies["return"]
    result: dict[str, Any] = {
        "scenario": "servicing",
        "database": app_db.dialect,
        **_side("cancel", cancels, c_raw),
        "returns": _side("return", returns, r_raw),
        "checks": {
            "errors": c_warm.errors + cancels.errors, "return_errors": r_warm.errors + returns.errors,
            "baseline_errors": c_raw_warm.errors + c_raw.errors,
            "baseline_return_errors": r_raw_warm.errors + r_raw.errors,
            "cancels_accepted": _accepted(c_warm, cancels), "returns_accepted": _accepted(r_warm, returns),
            "baseline_cancels_accepted": _accepted(c_raw_warm, c_raw),
            "baseline_returns_accepted": _accepted(r_raw_warm, r_raw),
            **checks,
            **{f"baseline_{k}": v for k, v in raw_checks.items()},
            "cpu": {"cancel": cancels.cpu, "return": returns.cpu, "baseline_cancel": c_raw.cpu,
                    "baseline_return": r_raw.cpu},
        },
        "orders": opts.orders,
        "clients": opts.clients,
    }
    samples = [s for t in (*tallies["cancel"], *tallies["return"]) for s in t.error_samples][:5]
    if samples:
        result["error_samples"] = samples
    return result


def passed(result: dict[str, Any]) -> bool:
    c = result["checks"]
    return all(
        c[f"{p}errors"] == c[f"{p}return_errors"] == 0
        and c[f"{p}negative_buckets"] == c[f"{p}over_cancelled"] == 0
        and c[f"{p}change_orders_without_one_credit_memo"] == 0
        and c[f"{p}cancel_change_orders"] == c[f"{p}cancelled_units"] == c[f"{p}cancels_accepted"]
        and c[f"{p}return_change_orders"] == c[f"{p}returned_units"] == c[f"{p}returns_accepted"]
        and c[f"{p}credit_memos"] == c[f"{p}cancels_accepted"] + c[f"{p}returns_accepted"]
        for p in ("", "baseline_")
    )
