"""Benchmark scenarios for `ordino bench` (DESIGN §8); the main CLI mounts `bench_app`."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Annotated, Any

import orjson
import typer
from rich.console import Console
from rich.table import Table

bench_app = typer.Typer(
    name="bench",
    help="Benchmark scenarios. Each prints one JSON object with its raw baseline and checks.",
    no_args_is_help=True,
)


@bench_app.callback()
def _bench() -> None:
    """Benchmark scenarios (DESIGN §8)."""


def _table(result: dict[str, Any]) -> Table:
    pricing = f", {result['pricing']} pricing" if "pricing" in result else ""
    table = Table(title=f"ordino bench {result['scenario']} ({result['database']}{pricing})")
    table.add_column("measure")
    table.add_column("ordino", justify="right")
    table.add_column("raw baseline", justify="right")
    c = result["checks"]
    unit = result["unit"]
    table.add_row("throughput", f"{result['value']:,.1f} {unit}", f"{result['baseline']:,.1f} {unit}")
    table.add_row("ratio", f"{result['ratio']:.3f}", "1")
    table.add_row("p50 / p99 latency", f"{result['p50_ms']:.2f} / {result['p99_ms']:.2f} ms",
                  f"{result['baseline_p50_ms']:.2f} / {result['baseline_p99_ms']:.2f} ms")
    table.add_row("errors", str(c["errors"]), str(c["baseline_errors"]))
    table.add_row("orders in db / expected", f"{c['orders_in_db']} / {c['orders_expected']}",
                  f"{c['baseline_orders_in_db']} / {c['baseline_orders_expected']}")
    table.add_row("client CPU (% of a core)", f"{c['client_cpu_pct']:.0f}", f"{c['baseline_client_cpu_pct']:.0f}")
    table.add_row("server CPU (% of a core)", f"{c['server_cpu_pct']:.0f}", "")
    table.add_row("PostgreSQL CPU (% of a core)", f"{c['db_cpu_pct']:.0f}", f"{c['baseline_db_cpu_pct']:.0f}")
    table.add_row("machine CPU (% of a core)", f"{c['machine_cpu_pct']:.0f}", f"{c['baseline_machine_cpu_pct']:.0f}")
    table.add_row("of which other programs", f"{c['other_cpu_pct']:.0f}", f"{c['baseline_other_cpu_pct']:.0f}")
    ms = result["cpu_ms_per_order"]
    table.add_row("CPU ms per order: server / db", f"{ms['server']:.3f} / {ms['db']:.3f}",
                  f"{ms['baseline_client']:.3f} (threads) / {ms['baseline_db']:.3f}")
    table.add_row("CPU ms per order: all", f"{ms['total']:.3f}", f"{ms['baseline_total']:.3f}")
    return table


@bench_app.command("intake")
def intake(
    database_url: Annotated[str | None, typer.Option(
        help="A PostgreSQL server (postgresql+psycopg://…) to create a scratch database on; "
        "default: SQLite in a temporary directory.")] = None,
    size: Annotated[int, typer.Option(help="Stop after this many orders (0: run for --seconds).")] = 0,
    clients: Annotated[int, typer.Option(min=1, help="Concurrent clients (and raw threads).")] = 8,
    seconds: Annotated[float, typer.Option(min=0.1, help="Length of each timed phase.")] = 20.0,
    workers: Annotated[int, typer.Option(
        min=0, help="uvicorn server processes; 0: 1 on SQLite (one writer at a time), "
        "one per core on PostgreSQL.")] = 0,
    warmup: Annotated[float, typer.Option(min=0.0, help="Untimed seconds before each phase.")] = 2.0,
    pricing: Annotated[str, typer.Option(
        help="order: the lines carry their prices and VAT tax lines; catalog: no prices sent, so intake "
        "reads the price books, tiers and promotions and runs the tax engine (EU VAT).")] = "order",
    json: Annotated[bool, typer.Option("--json", help="Print only the JSON object.")] = False,
) -> None:
    """HTTP order placement (5-line orders) against the real server, with its raw SQL baseline."""
    from ordino.bench.intake import IntakeOptions, passed, run_intake
    from ordino.bench.seed import PRICINGS

    if pricing not in PRICINGS:
        raise typer.BadParameter(f"one of {', '.join(PRICINGS)}", param_hint="--pricing")
    progress = Console(stderr=True)
    opts = IntakeOptions(database_url=database_url, size=size, clients=clients, seconds=seconds,
                         warmup=warmup, workers=workers, pricing=pricing)
    result = run_intake(opts, note=lambda msg: progress.print(f"[dim]bench intake: {msg}[/dim]"))
    if not json:
        Console().print(_table(result))
    sys.stdout.write(orjson.dumps(result).decode() + "\n")
    sys.stdout.flush()
    if not passed(result):
        raise typer.Exit(1)


@bench_app.command("routing")
def routing(
    size: Annotated[int, typer.Option(min=1, help="Seeded orders to route.")] = 1000,
    locations: Annotated[int, typer.Option(min=2, help="Candidate locations (20–50 in the issue).")] = 30,
    seed: Annotated[int, typer.Option(help="Random seed of the orders and the network.")] = 1,
    json: Annotated[bool, typer.Option("--json", help="Print only the JSON object.")] = False,
) -> None:
    """Routing decisions per second on one core, against the exact MILP optimum of each order."""
    from ordino.bench.routing import passed, run_routing

    result = run_routing(size=size, locations=locations, seed=seed)
    if not json:
        c = result["checks"]
        table = Table(title=f"ordino bench routing ({size} orders × {locations} locations)")
        table.add_column("measure")
        table.add_column("value", justify="right")
        table.add_row("router", f"{result['value']:,.0f} decisions/s")
        table.add_row("MILP optimum", f"{result['baseline']:,.1f} decisions/s")
        table.add_row("p50 / p99", f"{result['p50_ms']:.2f} / {result['p99_ms']:.2f} ms")
        table.add_row("splits optimal", f"{c['split_optimal_pct']:.1f} %")
        table.add_row("cost gap (total)", f"{c['cost_gap_pct_total']:.3f} %")
        table.add_row("infeasible plans", str(c["infeasible"]))
        Console().print(table)
    sys.stdout.write(orjson.dumps(result).decode() + "\n")
    sys.stdout.flush()
    if not passed(result):
        raise typer.Exit(1)


def _run(
    scenario: str, runner: Callable[..., dict[str, Any]], opts: Any, passed: Callable[[dict[str, Any]], bool],
    json: bool,
) -> None:
    """Run a scenario with its progress on stderr, then print the table (unless --json) and the
    JSON object; exit 1 when a check failed."""
    progress = Console(stderr=True)
    result = runner(opts, note=lambda msg: progress.print(f"[dim]bench {scenario}: {msg}[/dim]"))
    ok = passed(result)
    if not json:
        table = Table(title=f"ordino bench {result['scenario']} ({result['database']})")
        table.add_column("measure")
        table.add_column("value", justify="right")
        unit = result["unit"]
        table.add_row("ordino", f"{result['value']:,.1f} {unit}, p50 {result['p50_ms']:.2f}"
                      f" / p99 {result['p99_ms']:.2f} ms")
        table.add_row("raw baseline", f"{result['baseline']:,.1f} {unit}, p50 {result['baseline_p50_ms']:.2f}"
                      f" / p99 {result['baseline_p99_ms']:.2f} ms")
        table.add_row("ratio", f"{result['ratio']:.3f}")
        for name, value in result["checks"].items():
            table.add_row(name, str(value))
        Console().print(table)
    sys.stdout.write(orjson.dumps(result).decode() + "\n")
    sys.stdout.flush()
    if not ok:
        raise typer.Exit(1)


DatabaseUrl = Annotated[str | None, typer.Option(
    help="A PostgreSQL server (postgresql+psycopg://…) to create scratch databases on; "
    "default: SQLite in a temporary directory.")]
Clients = Annotated[int, typer.Option(min=1, help="Concurrent HTTP clients (and raw threads).")]
Seconds = Annotated[float, typer.Option(min=0.1, help="Length of each timed phase.")]
Warmup = Annotated[float, typer.Option(min=0.0, help="Untimed seconds before each timed phase.")]
Workers = Annotated[int, typer.Option(min=0, help="uvicorn server processes; 0: the scenario's default.")]
Json = Annotated[bool, typer.Option("--json", help="Print only the JSON object.")]


@bench_app.command("hot-sku")
def hot_sku(
    database_url: Annotated[str | None, typer.Option(help="A PostgreSQL server (postgresql+psycopg://…): "
                                                     "hot-sku runs on PostgreSQL only.")] = None,
    clients: Clients = 64,
    seconds: Seconds = 20.0,
    warmup: Warmup = 2.0,
    size: Annotated[int, typer.Option(min=0, help="Stop each timed phase after this many attempts.")] = 0,
    stock: Annotated[int, typer.Option(min=1, help="Units of the timed SKU (must not run out).")] = 1_000_000,
    contended_stock: Annotated[int, typer.Option(
        min=1, help="Units of the contended SKU; twice as many reservations are attempted.")] = 1_000,
    workers: Workers = 0,
    json: Json = False,
) -> None:
    """Many clients reserve one unit each of one SKU: Ordino against the bare conditional UPDATE
    and a naive SELECT … FOR UPDATE, with the oversell checks."""
    from ordino.bench.hot_sku import HotSkuOptions, NeedsPostgres, passed, run_hot_sku

    opts = HotSkuOptions(database_url, clients=clients, seconds=seconds, warmup=warmup, size=size, stock=stock,
                         contended_stock=contended_stock, workers=workers)
    try:
        _run("hot-sku", run_hot_sku, opts, passed, json)
    except NeedsPostgres as exc:
        Console(stderr=True).print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None


@bench_app.command("availability")
def availability(
    database_url: DatabaseUrl = None,
    skus: Annotated[int, typer.Option(min=1, help="Products; each has a position at every location.")] = 100_000,
    locations: Annotated[int, typer.Option(min=1, help="Locations (all in one group).")] = 50,
    query_skus: Annotated[int, typer.Option(min=1, help="Random SKUs per query.")] = 20,
    scope: Annotated[str, typer.Option(
        help="locations: every SKU at every active location; group: sums over the group of all locations.")
    ] = "locations",
    clients: Clients = 8,
    seconds: Seconds = 20.0,
    warmup: Warmup = 2.0,
    size: Annotated[int, typer.Option(min=0, help="Stop each timed phase after this many queries.")] = 0,
    workers: Annotated[int, typer.Option(min=0, help="uvicorn server processes; 0: one per core.")] = 0,
    json: Json = False,
) -> None:
    """Availability of random SKUs against the real server, with the same SELECT as its baseline
    and every sampled answer compared with the database."""
    from ordino.bench.availability import SCOPES, AvailabilityOptions, passed, run_availability

    if scope not in SCOPES:
        raise typer.BadParameter(f"one of {', '.join(SCOPES)}", param_hint="--scope")
    if query_skus > skus:
        raise typer.BadParameter(f"at most --skus ({skus})", param_hint="--query-skus")
    opts = AvailabilityOptions(database_url, skus=skus, locations=locations, query_skus=query_skus, scope=scope,
                               clients=clients, seconds=seconds, warmup=warmup, size=size, workers=workers)
    _run("availability", run_availability, opts, passed, json)


@bench_app.command("inventory-sync")
def inventory_sync(
    database_url: DatabaseUrl = None,
    skus: Annotated[int, typer.Option(min=1, help="Products; the positions are SKUs × locations.")] = 10_000,
    locations: Annotated[int, typer.Option(min=1, help="Locations.")] = 20,
    batch: Annotated[int, typer.Option(min=1, max=10_000, help="Records per PUT (and per raw transaction).")] = 1_000,
    clients: Annotated[int, typer.Option(min=1, help="Concurrent HTTP clients (and raw threads).")] = 4,
    seconds: Seconds = 20.0,
    warmup: Warmup = 2.0,
    size: Annotated[int, typer.Option(min=0, help="Stop each timed phase after this many batches.")] = 0,
    workers: Annotated[int, typer.Option(
        min=0, help="uvicorn server processes; 0: 1 on SQLite, one per core on PostgreSQL.")] = 0,
    json: Json = False,
) -> None:
    """Absolute stock records through PUT /inventory against a raw COPY + upsert baseline, with
    every position checked for the last value sent."""
    from ordino.bench.inventory_sync import SyncOptions, passed, run_sync

    opts = SyncOptions(database_url, skus=skus, locations=locations, batch=batch, clients=clients, seconds=seconds,
                       warmup=warmup, size=size, workers=workers)
    _run("inventory-sync", run_sync, opts, passed, json)


@bench_app.command("servicing")
def servicing(
    database_url: DatabaseUrl = None,
    orders: Annotated[int, typer.Option(min=2, help="Orders prepared through intake; half of them shipped.")] = 400,
    clients: Annotated[int, typer.Option(min=1, help="Concurrent threads on each side.")] = 8,
    seconds: Seconds = 20.0,
    warmup: Warmup = 2.0,
    size: Annotated[int, typer.Option(min=0, help="Stop each timed phase after this many attempts.")] = 0,
    json: Json = False,
) -> None:
    """Cancels and blind returns (one unit of one line each) through the servicing use case, against
    the same writes by hand, with the invariants counted after the run."""
    from ordino.bench.servicing import ServicingOptions, passed, run_servicing

    opts = ServicingOptions(database_url, orders=orders, clients=clients, seconds=seconds, warmup=warmup, size=size)
    _run("servicing", run_servicing, opts, passed, json)


@bench_app.command("order-to-cash")
def order_to_cash(
    database_url: Annotated[str | None, typer.Option(help="A PostgreSQL server (postgresql+psycopg://…): "
                                                     "order-to-cash runs on PostgreSQL only.")] = None,
    workers: Annotated[int, typer.Option(min=1, help="`ordino worker` processes.")] = 2,
    api_processes: Annotated[int, typer.Option(min=1, help="uvicorn server processes.")] = 2,
    clients: Annotated[int, typer.Option(min=1, help="Placing clients (and raw threads).")] = 4,
    rate: Annotated[float, typer.Option(min=0.0, help="Orders/s over all clients; 0: as fast as they can.")] = 0.0,
    seconds: Seconds = 20.0,
    drain_timeout: Annotated[float, typer.Option(min=1.0, help="Seconds to wait for the last orders.")] = 120.0,
    json: Json = False,
) -> None:
    """Orders placed through the API, routed by N workers, shipped through the API, invoiced and
    captured; with the latencies of each step and the raw writes of the same rows."""
    from ordino.bench.order_to_cash import NeedsPostgres, O2cOptions, passed, run_order_to_cash

    opts = O2cOptions(database_url, workers=workers, api_processes=api_processes, clients=clients, rate=rate,
                      seconds=seconds, drain_timeout=drain_timeout)
    try:
        _run("order-to-cash", run_order_to_cash, opts, passed, json)
    except NeedsPostgres as exc:
        Console(stderr=True).print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None


__all__ = ["bench_app"]
