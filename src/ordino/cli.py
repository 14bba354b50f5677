"""The `ordino` command."""

from __future__ import annotations

import contextlib
import dataclasses
import getpass
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from ordino.settings import Settings

if TYPE_CHECKING:
    from ordino.flows.domain import Plan

app = typer.Typer(help="Ordino: order management for B2B commerce.", no_args_is_help=True)
apikey_app = typer.Typer(help="Manage API keys.", no_args_is_help=True)
app.add_typer(apikey_app, name="apikey")
fx_app = typer.Typer(help="Foreign exchange rates.", no_args_is_help=True)
app.add_typer(fx_app, name="fx")
audit_app = typer.Typer(help="The audit log of privileged changes.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")
console = Console()

DatabaseUrl = Annotated[
    str | None,
    typer.Option("--database-url", envvar="ORDINO_DATABASE_URL", help="Default: sqlite:///ordino.db"),
]


def _os_user() -> str:
    """Who runs the command, for the audit log."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _settings(database_url: str | None) -> Settings:
    settings = Settings.from_env()
    if database_url:
        settings = dataclasses.replace(settings, database_url=database_url)
    return settings


@app.command()
def migrate(database_url: DatabaseUrl = None) -> None:
    """Create or upgrade the database schema."""
    from ordino.migrate import upgrade

    settings = _settings(database_url)
    upgrade(settings.database_url)
    console.print(f"[green]Database is up to date[/green] ({settings.database_url})")


@app.command()
def serve(
    database_url: DatabaseUrl = None,
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: Annotated[int, typer.Option(help="HTTP server processes")] = 1,
    reload: bool = False,
) -> None:
    """Serve the API (and, on SQLite, the event worker in-process)."""
    import uvicorn

    from ordino.kernel.logs import logging_config

    settings = _settings(database_url)
    _use_server_secret(settings)  # a missing secret stops here, with the reason, not in uvicorn
    _check_flows(settings)
    os.environ["ORDINO_DATABASE_URL"] = settings.database_url
    _metrics_directory(settings, workers)
    uvicorn.run(
        "ordino.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        reload=reload,
        log_config=logging_config(settings.log_format, settings.log_level),
        access_log=False,  # ours (kernel.observe) names the route, not the path and its query
    )


MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"  # read when prometheus_client is imported: not imported here


def _metrics_directory(settings: Settings, workers: int) -> None:
    """Several server processes share their metrics through files (kernel.metrics): the
    operator's PROMETHEUS_MULTIPROC_DIR (made if missing), or a new one for these processes."""
    import atexit
    import shutil
    import tempfile

    directory = os.environ.get(MULTIPROC_ENV)
    if directory:
        Path(directory).mkdir(parents=True, exist_ok=True)
    elif settings.metrics and workers > 1:
        os.environ[MULTIPROC_ENV] = made = tempfile.mkdtemp(prefix="ordino-metrics-")
        atexit.register(shutil.rmtree, made, ignore_errors=True)  # this process outlives the servers


@app.command()
def worker(
    database_url: DatabaseUrl = None,
    batch: Annotated[int, typer.Option(help="Events claimed per round")] = 100,
    once: Annotated[bool, typer.Option(help="Process what is pending, then exit")] = False,
) -> None:
    """Deliver outbox events to their handlers (run as many as you like on PostgreSQL)."""
    from ordino.flows.registry import build_dispatcher
    from ordino.kernel.db import Database
    from ordino.kernel.logs import configure_logging
    from ordino.notifications.mail import MailConfig
    from ordino.payments.gateway import gateways_from_env
    from ordino.webhooks.delivery import Sender

    settings = _settings(database_url)
    configure_logging(settings.log_format, settings.log_level)
    db = Database(settings.database_url)
    if settings.otel_enabled:
        from ordino.kernel.telemetry import trace_engine

        trace_engine(db.engine)
    dispatcher = build_dispatcher(db, gateways_from_env(), plan=_check_flows(settings),
                                  mail=MailConfig.from_settings(settings))
    sender = Sender(db, allow_private=settings.webhooks_allow_private)
    if once:
        done = dispatcher.drain(batch)
        sent = sender.drain()
        sender.close()
        console.print(f"Processed {done} events, sent {sent} webhook deliveries")
        return
    console.print("[bold]Ordino worker[/bold] delivering events and webhooks; Ctrl+C stops it")
    sender.start_thread()  # its own threads: a slow receiver never holds up the events
    with contextlib.suppress(KeyboardInterrupt):
        dispatcher.run_forever(batch)
    sender.close()


@app.command("gateway-sim")
def gateway_sim(
    host: str = "127.0.0.1",
    port: int = 8090,
    timeout_delay: Annotated[float, typer.Option(help="Seconds before tok_timeout answers")] = 30.0,
    expired_after: Annotated[float, typer.Option(help="Seconds until a tok_expired authorization lapses")] = 0.0,
) -> None:
    """Serve the payment gateway simulator (outcomes by token; see ordino.payments.simulator)."""
    import uvicorn

    from ordino.payments.simulator import SimulatorConfig, SimulatorState, create_simulator

    state = SimulatorState(SimulatorConfig(timeout_delay=timeout_delay, expired_after=expired_after))
    console.print(f"[bold]Gateway simulator[/bold] on http://{host}:{port}  (ORDINO_GATEWAY_SIMULATOR_URL)")
    uvicorn.run(create_simulator(state), host=host, port=port, log_level="info", access_log=False)


@app.command()
def demo(
    database_url: DatabaseUrl = None,
    orders: Annotated[int, typer.Option(help="How many orders to place")] = 300,
    seed: int = 7,
) -> None:
    """Load a realistic B2B demo (channels, warehouses, accounts, catalog, orders), once."""
    from ordino.demo.data import load_demo
    from ordino.kernel.db import Database
    from ordino.migrate import upgrade

    settings = _settings(database_url)
    upgrade(settings.database_url)
    db = Database(settings.database_url)
    with Progress(
        TextColumn("{task.description:<12}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=console,
    ) as bar:
        tasks: dict[str, TaskID] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        summary = load_demo(db, orders=orders, seed=seed, progress=progress)
    db.dispose()
    console.print(summary.message)


def _check_flows(settings: Settings) -> Plan:
    """The flows the process runs; a file that cannot run stops it here, naming file, line and step."""
    from ordino.flows.registry import load_plan
    from ordino.settings import ConfigurationError

    try:
        return load_plan(settings.flows_dir)
    except ConfigurationError as exc:
        console.print(f"[red]{exc}[/red]", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None


def _use_server_secret(settings: Settings) -> None:
    """Key API key digests as the server does (ORDINO_SECRET_KEY or its SQLite default)."""
    from ordino.kernel.auth import use_server_secret
    from ordino.settings import ConfigurationError

    try:
        use_server_secret(settings.server_secret(), [p for p in [settings.secret_key_previous] if p])
    except (ConfigurationError, ValueError) as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None


@apikey_app.command("create")
def apikey_create(
    name: Annotated[str, typer.Option(help="Who or what uses the key")],
    role: Annotated[str, typer.Option(help="admin, agent, fulfillment, finance, integration or buyer")] = "admin",
    account: Annotated[str | None, typer.Option(help="Account number the key is limited to")] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Create an API key; the secret is shown once. The same rules as `POST /api/v1/api-keys`."""
    import orjson

    from ordino.accounts import service
    from ordino.accounts.schemas import ApiKeyIn
    from ordino.kernel.db import Database
    from ordino.kernel.endpoint import parse_body
    from ordino.kernel.errors import ValidationFailed

    try:  # the API's payload and rules, so the command makes no key the API would refuse
        data = parse_body(ApiKeyIn, orjson.dumps({"name": name, "role": role, "account": account}))
    except ValidationFailed as exc:
        raise typer.BadParameter(exc.errors[0].message, param_hint=f"--{exc.errors[0].field}") from None
    settings = _settings(database_url)
    _use_server_secret(settings)
    db = Database(settings.database_url)

    def work(session):  # type: ignore[no-untyped-def]
        return service.create_api_key(session, data, actor=f"cli:{_os_user()}")[1]

    try:
        secret = db.transaction(work)
    except ValidationFailed as exc:
        raise typer.BadParameter(exc.errors[0].message, param_hint=f"--{exc.errors[0].field}") from None
    finally:
        db.dispose()
    console.print(f"[bold]{secret}[/bold]")
    console.print("Keep it safe: it is not shown again.", style="dim")


@audit_app.command("verify")
def audit_verify(database_url: DatabaseUrl = None) -> None:
    """Recompute every hash of the audit log and follow its chain. Exit code 0: intact; 1: broken,
    naming the first broken entry. Keep the printed head elsewhere to notice a rewritten log."""
    from ordino.audit import service
    from ordino.kernel.db import Database

    db = Database(_settings(database_url).database_url)
    try:
        with db.read() as session:
            result = service.verify(session)
    finally:
        db.dispose()
    if result.broken is not None:
        console.print(f"[red]Audit log broken at {result.broken.message()}[/red]")
        console.print(f"{result.entries} entries before it are intact.")
        raise typer.Exit(1)
    console.print(f"[green]Audit log intact[/green]: {result.entries} entries, "
                  f"head {result.head.sequence} {result.head.hash}")


@apikey_app.command("digests")
def apikey_digests(database_url: DatabaseUrl = None) -> None:
    """How many active keys are stored under the current server secret, the previous one, the
    unkeyed SHA-256 of older releases, or a secret not configured here (those no longer work).
    Keys move to the current secret on their first use."""
    from ordino.kernel.auth import digest_schemes, key_digests
    from ordino.kernel.db import Database

    settings = _settings(database_url)
    _use_server_secret(settings)
    db = Database(settings.database_url)
    try:
        with db.read() as session:
            counts = digest_schemes(session, key_digests())
    finally:
        db.dispose()
    for what, count in counts.items():
        console.print(f"{what:<10} {count}")


@fx_app.command("import")
def fx_import(
    file: Annotated[Path, typer.Argument(help="eurofxref-hist.csv, eurofxref.csv or the ECB's ZIP of either")],
    source: Annotated[str, typer.Option(help="The source the rates are recorded under")] = "ecb",
    database_url: DatabaseUrl = None,
) -> None:
    """Load ECB euro reference rates; importing the same file again changes nothing."""
    import time

    from ordino.kernel.db import Database
    from ordino.pricing import fx, fx_service

    db = Database(_settings(database_url).database_url)
    started = time.perf_counter()
    try:
        result = db.transaction(lambda s: fx_service.import_ecb_file(s, file, source))
    except (fx.EcbFormatError, fx.RateError, OSError, UnicodeDecodeError) as exc:
        console.print(f"[red]{file}: {exc}[/red]")
        raise typer.Exit(1) from None
    finally:
        db.dispose()
    doc = result.as_doc()
    console.print(
        f"{doc['days']} days, {len(doc['currencies'])} currencies: [green]{doc['inserted']} inserted[/green], "
        f"{doc['updated']} updated, {doc['unchanged']} unchanged in {time.perf_counter() - started:.1f} s"
    )
    if doc["skipped_currencies"]:
        console.print(f"Not active ISO 4217 currencies, skipped: {', '.join(doc['skipped_currencies'])}", style="dim")


def _mount_bench() -> None:
    from ordino.bench import bench_app
    from ordino.flows.commands import flows_app

    app.add_typer(bench_app, name="bench", help="Benchmarks against their raw baselines (DESIGN §8).")
    app.add_typer(flows_app, name="flows")


_mount_bench()


if __name__ == "__main__":
    app()
