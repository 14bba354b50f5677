"""`ordino flows list / show / validate`: what runs, read from the same files the worker loads."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from ordino.flows import reads
from ordino.flows.domain import FlowError, Plan
from ordino.flows.registry import load

flows_app = typer.Typer(help="The automation flows: packaged, and the deployment's (ORDINO_FLOWS_DIR).",
                        no_args_is_help=True)


def _console() -> Console:
    """Made per command, so the terminal's width at the time is used."""
    return Console()

FlowsDir = Annotated[
    Path | None,
    typer.Option("--flows-dir", envvar="ORDINO_FLOWS_DIR", help="The deployment's flow files (default: none)"),
]


def _plan(flows_dir: Path | None) -> Plan:
    try:
        return load(flows_dir)
    except FlowError as exc:
        _console().print(f"[red]{exc}[/red]", highlight=False, soft_wrap=True)  # one line: file:line: …
        raise typer.Exit(1) from None


@flows_app.command("list")
def list_flows(flows_dir: FlowsDir = None) -> None:
    """The flows, in the order their steps run."""
    plan = _plan(flows_dir)
    table = Table("flow", "version", "origin", "scope", "status", "steps")
    for doc in reads.list_flows(plan):
        scope = ", ".join(f"{k}={v}" for k, v in (doc["scope"] or {}).items())
        table.add_row(doc["name"], str(doc["version"]), doc["origin"], scope, doc["status"], str(doc["step_count"]))
    _console().print(table)


@flows_app.command("show")
def show_flow(name: str, flows_dir: FlowsDir = None) -> None:
    """A flow's steps: on event (or every), condition, action, events it emits."""
    found = reads.find_flows(_plan(flows_dir), name)
    if not found:
        _console().print(f"[red]no flow named '{name}'[/red]")
        raise typer.Exit(1)
    console = _console()
    for doc in found:
        scope = ", ".join(f"{k}={v}" for k, v in (doc["scope"] or {}).items())
        console.print(f"[bold]{doc['name']}[/bold] v{doc['version']} ({doc['origin']}, {doc['file']}"
                      f"{', ' + scope if scope else ''}): {doc['status']}", highlight=False)
        console.print(doc["description"], highlight=False)
        table = Table("step", "on / every", "when", "action", "emits")
        for step in doc["steps"]:
            trigger = step["on"] or f"every {step['every_seconds']:g} s"
            table.add_row(step["name"], trigger, step["when"] or "", step["action"], ", ".join(step["emits"]))
        console.print(table)


@flows_app.command("validate")
def validate(flows_dir: FlowsDir = None) -> None:
    """Check the packaged flows and the deployment's files as a starting process does."""
    plan = _plan(flows_dir)
    where = f" with {flows_dir}" if flows_dir else ""
    steps = sum(len(f.steps) for f in plan.flows)
    _console().print(f"[green]{len(plan.flows)} flows, {steps} steps: valid{where}[/green]", highlight=False,
                     soft_wrap=True)

