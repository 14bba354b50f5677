"""The loader of the flow files: which handlers react to which events, and the periodic jobs.

The prebuilt flows are YAML files shipped in `flows/definitions/`; a deployment adds, replaces
(for everyone or for one channel or account) or switches them off with files of its own in
`ORDINO_FLOWS_DIR`. Both are read and checked when a process starts: a file that cannot run stops
it with an error naming the file, the line and the step (`ordino flows validate` says the same).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path

from sqlalchemy.orm import Session

from ordino.flows.actions import ACTIONS, JOBS, Wiring, job_descriptions, specs
from ordino.flows.context import event_fields, order_fields
from ordino.flows.domain import Bound, Flow, FlowError, Plan, compose, parse_flow
from ordino.kernel.db import Database
from ordino.kernel.worker import AfterCommit, Dispatcher, Event, Periodic, Registration
from ordino.notifications.mail import MailConfig
from ordino.orders.process_exceptions import handlers as process_exceptions
from ordino.payments.gateway import Gateways
from ordino.settings import ConfigurationError

# The packaged flows, in the order their steps run on an event they share.
PACKAGED = ("order-activation", "fulfillment", "servicing", "payment", "schedules", "notifications", "webhooks")
SUFFIXES = (".yaml", ".yml")


@functools.cache
def packaged_flows() -> tuple[Flow, ...]:
    folder = resources.files("ordino.flows") / "definitions"
    return tuple(
        parse_flow((folder / f"{name}.yaml").read_text(encoding="utf-8"), f"ordino/flows/definitions/{name}.yaml",
                   specs(), job_descriptions(), packaged=True)
        for name in PACKAGED
    )


def deployment_flows(directory: Path) -> tuple[Flow, ...]:
    """The flow files of a deployment (ORDINO_FLOWS_DIR), in file name order."""
    if not directory.is_dir():
        raise FlowError(str(directory), 0, "ORDINO_FLOWS_DIR is not a folder")
    files = sorted(p for p in directory.iterdir() if p.suffix in SUFFIXES and p.is_file())
    return tuple(
        parse_flow(p.read_text(encoding="utf-8"), str(p), specs(), job_descriptions(), packaged=False) for p in files
    )


def load(flows_dir: Path | None = None) -> Plan:
    """What runs: the packaged flows with the deployment's files over them. Raises FlowError."""
    return compose(packaged_flows(), deployment_flows(flows_dir) if flows_dir else (), specs())


def load_plan(flows_dir: Path | None) -> Plan:
    """`load`, for a process starting: a flow file that cannot run is a configuration error."""
    try:
        return load(flows_dir)
    except FlowError as exc:
        raise ConfigurationError(f"flows: {exc}") from None


def _applies(session: Session, event: Event, bound: Bound) -> bool:
    order = None
    if bound.only is not None or bound.excluded or (bound.step.when is not None and bound.step.when.needs_order):
        order = order_fields(session, event)
    for scope in (bound.only, *bound.excluded):
        if scope is None:
            continue
        inside = order is not None and order.get(scope.key) == scope.value
        if inside != (scope is bound.only):
            return False
    return bound.step.when is None or bound.step.when.holds(event_fields(event), order)


def _bind(bound: Bound, wiring: Wiring) -> Registration:
    registration = ACTIONS[bound.step.action].build(wiring)
    if bound.step.when is None and bound.only is None and not bound.excluded:
        return registration

    def handle(session: Session, event: Event) -> AfterCommit | None:
        return registration.handle(session, event) if _applies(session, event, bound) else None

    return Registration(registration.name + bound.receipt_suffix, handle)


def handlers(
    gateways: Gateways, plan: Plan | None = None, mail: MailConfig | None = None
) -> Mapping[str, Sequence[Registration]]:
    """Which handlers react to which events (the packaged flows unless a plan is given), with the
    payment gateways they call and the mail settings they send with (none: e-mails recorded)."""
    plan = load() if plan is None else plan
    wiring = Wiring(gateways, mail or MailConfig())
    return {event: tuple(_bind(b, wiring) for b in steps) for event, steps in plan.on_event.items()}


def periodic(gateways: Gateways, plan: Plan | None = None) -> Sequence[Periodic]:
    """The worker's periodic jobs, with the payment gateways they call."""
    plan = load() if plan is None else plan
    return tuple(
        Periodic(b.step.action, b.step.every or 0.0, JOBS[b.step.action].build(gateways)) for b in plan.schedules
    )


def build_dispatcher(
    db: Database, gateways: Gateways, registered: Mapping[str, Sequence[Registration]] | None = None,
    *, plan: Plan | None = None, mail: MailConfig | None = None,
) -> Dispatcher:
    """The worker of `ordino worker` and of `ordino serve` on SQLite; both build `gateways` with
    payments.gateway.gateways_from_env, as create_app does for the API, the plan with `load`
    from the settings' flows folder and `mail` from the settings. An event whose handler keeps
    failing becomes a process exception."""
    plan = load() if plan is None else plan
    return Dispatcher(
        db, handlers(gateways, plan, mail) if registered is None else registered, periodic=periodic(gateways, plan),
        on_dead_letter=process_exceptions.on_dead_letter, on_recovered=process_exceptions.on_recovered,
    )
