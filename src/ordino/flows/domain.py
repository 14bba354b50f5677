"""Flows as data: the model of a flow file, its validation, and how deployment files override
the packaged flows. Pure: parsing YAML and checking names against the catalogs it is given.

A flow file declares one flow (name, version, description) as a list of steps. An event step
reacts to an event type (`on`, `*` for every event), may be gated by a condition (`when`, a CEL
expression, see `conditions`), runs a named action and lists the events that action emits. A
schedule step runs a named job `every` so many seconds. A deployment file with the name of a
packaged flow replaces it; with a `scope` (a channel or an account) it replaces it only for the
orders of that scope; with `enabled: false` it switches it off (for its scope).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from ordino.flows.conditions import Condition, ConditionError, compile_condition

NAME = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
EVENT_TYPE = re.compile(r"^(\*|[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+)$")
SCOPE_KEYS = ("channel", "account")
FLOW_KEYS = ("flow", "version", "description", "enabled", "scope", "steps")
STEP_KEYS = ("name", "description", "on", "when", "action", "emits", "every")
DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*(s|m|h)?$")
UNIT_SECONDS = {"s": 1.0, "m": 60.0, "h": 3600.0}


class FlowError(ValueError):
    """A flow file that cannot run: names the file, the line and the step."""

    def __init__(self, file: str, line: int, message: str, step: str | None = None) -> None:
        self.file, self.line, self.step, self.message = file, line, step, message
        where = f"{file}:{line}" + (f": step '{step}'" if step else "")
        super().__init__(f"{where}: {message}")


@dataclass(frozen=True, slots=True)
class ActionSpec:
    """What a flow file may name as an action: the events it may emit, for validation and display."""

    emits: tuple[str, ...]
    description: str
    receipt: str = ""  # the worker's receipt key when not the action's name (two actions, one handler)

    def key(self, action: str) -> str:
        return self.receipt or action


@dataclass(frozen=True, slots=True)
class Scope:
    key: str  # channel | account
    value: str  # a sales channel code or an account number

    def label(self) -> str:
        return f"{self.key}={self.value}"


@dataclass(frozen=True, slots=True)
class Step:
    name: str
    line: int
    action: str
    on: str | None = None  # an event type or "*"; None for a schedule step
    every: float | None = None  # seconds, for a schedule step
    when: Condition | None = None
    emits: tuple[str, ...] = ()
    description: str = ""


@dataclass(frozen=True, slots=True)
class Flow:
    name: str
    version: int
    file: str
    line: int
    steps: tuple[Step, ...]
    description: str = ""
    enabled: bool = True
    scope: Scope | None = None
    packaged: bool = True


@dataclass(frozen=True, slots=True)
class Bound:
    """A step as it runs: its flow, and the scopes it runs only for or never for."""

    flow: Flow
    step: Step
    only: Scope | None = None
    excluded: tuple[Scope, ...] = ()
    # The worker's receipt key: the action's own for an unscoped flow (unchanged by an override),
    # the action's and the scope's for a scoped one (its own receipts, next to the packaged step's).
    receipt_suffix: str = ""


@dataclass(frozen=True, slots=True)
class Plan:
    """What runs: event steps by event type (in order), schedule steps, and every flow read."""

    on_event: Mapping[str, tuple[Bound, ...]]
    schedules: tuple[Bound, ...]
    flows: tuple[Flow, ...] = field(default_factory=tuple)


# --- reading one file ----------------------------------------------------------------------------


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def _plain(node: yaml.Node) -> Any:
    return yaml.safe_load(yaml.serialize(node))


def _mapping(node: yaml.Node, file: str, what: str, step: str | None = None) -> dict[str, yaml.Node]:
    if not isinstance(node, yaml.MappingNode):
        raise FlowError(file, _line(node), f"{what} must be a mapping", step)
    out: dict[str, yaml.Node] = {}
    for key, value in node.value:
        # The key as written: YAML 1.1 would read `on` as true.
        name = key.value if isinstance(key, yaml.ScalarNode) else None
        if not isinstance(name, str):
            raise FlowError(file, _line(key), f"{what}: keys are names", step)
        if name in out:
            raise FlowError(file, _line(key), f"{what}: '{name}' is given twice", step)
        out[name] = value
    return out


def _unknown(fields: dict[str, yaml.Node], allowed: Sequence[str], file: str, step: str | None) -> None:
    for key, value in fields.items():
        if key not in allowed:
            raise FlowError(file, _line(value), f"unknown key '{key}' (allowed: {', '.join(allowed)})", step)


def _string(node: yaml.Node, file: str, what: str, step: str | None = None) -> str:
    value = _plain(node)
    if not isinstance(value, str) or not value.strip():
        raise FlowError(file, _line(node), f"{what} must be a non-empty string", step)
    return value.strip()


def _duration(node: yaml.Node, file: str, step: str) -> float:
    value = _plain(node)
    match = DURATION.match(str(value).strip()) if isinstance(value, int | float | str) else None
    if match is None or isinstance(value, bool):
        raise FlowError(file, _line(node), "every: a number of seconds, or e.g. '30s', '5m', '1h'", step)
    seconds = float(match.group(1)) * UNIT_SECONDS[match.group(2) or "s"]
    if seconds <= 0:
        raise FlowError(file, _line(node), "every: more than 0 seconds", step)
    return seconds


def _scope(node: yaml.Node, file: str) -> Scope:
    fields = _mapping(node, file, "scope")
    if len(fields) != 1 or next(iter(fields)) not in SCOPE_KEYS:
        raise FlowError(file, _line(node), f"scope: exactly one of {', '.join(SCOPE_KEYS)}")
    key, value = next(iter(fields.items()))
    return Scope(key, _string(value, file, f"scope.{key}"))


def _step(
    node: yaml.Node, file: str, actions: Mapping[str, ActionSpec], jobs: Mapping[str, str], index: int
) -> Step:
    fields = _mapping(node, file, f"step {index + 1}")
    name = _string(fields["name"], file, "name") if "name" in fields else None
    if name is None or not NAME.match(name):
        raise FlowError(file, _line(node), "name: lower-case letters, digits, '-' and '_'", name)
    _unknown(fields, STEP_KEYS, file, name)
    if ("on" in fields) == ("every" in fields):
        raise FlowError(file, _line(node), "give either 'on' (an event type) or 'every' (a schedule)", name)
    if "action" not in fields:
        raise FlowError(file, _line(node), "action: missing", name)
    action = _string(fields["action"], file, "action", name)
    description = _string(fields["description"], file, "description", name) if "description" in fields else ""
    if "every" in fields:
        if action not in jobs:
            raise FlowError(file, _line(fields["action"]), f"unknown job '{action}' (known: {', '.join(sorted(jobs))})",
                            name)
        for key in ("when", "emits"):
            if key in fields:
                raise FlowError(file, _line(fields[key]), f"{key}: not for a schedule step", name)
        return Step(name, _line(node), action, every=_duration(fields["every"], file, name),
                    description=description or jobs[action])
    on = _string(fields["on"], file, "on", name)
    if not EVENT_TYPE.match(on):
        raise FlowError(file, _line(fields["on"]), f"on: '{on}' is not an event type (e.g. order.created, or *)", name)
    spec = actions.get(action)
    if spec is None:
        raise FlowError(file, _line(fields["action"]),
                        f"unknown action '{action}' (known: {', '.join(sorted(actions))})", name)
    when = None
    if "when" in fields:
        try:
            when = compile_condition(_string(fields["when"], file, "when", name))
        except ConditionError as exc:
            raise FlowError(file, _line(fields["when"]), f"when: {exc}", name) from None
    emits = spec.emits
    if "emits" in fields:
        listed = _plain(fields["emits"])
        if not isinstance(listed, list) or not all(isinstance(e, str) for e in listed):
            raise FlowError(file, _line(fields["emits"]), "emits: a list of event types", name)
        if sorted(listed) != sorted(spec.emits):
            raise FlowError(file, _line(fields["emits"]), f"emits: action '{action}' emits exactly "
                            f"[{', '.join(spec.emits)}]", name)
    return Step(name, _line(node), action, on=on, when=when, emits=emits, description=description or spec.description)


def parse_flow(
    text: str, file: str, actions: Mapping[str, ActionSpec], jobs: Mapping[str, str], *, packaged: bool
) -> Flow:
    """One flow file, checked; FlowError names the file, line and step of the first problem."""
    try:
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise FlowError(file, mark.line + 1 if mark else 1, f"not valid YAML: {getattr(exc, 'problem', exc)}") from None
    if root is None:
        raise FlowError(file, 1, "the file is empty")
    fields = _mapping(root, file, "a flow file")
    _unknown(fields, FLOW_KEYS, file, None)
    for key in ("flow", "version"):
        if key not in fields:
            raise FlowError(file, _line(root), f"{key}: missing")
    name = _string(fields["flow"], file, "flow")
    if not NAME.match(name):
        raise FlowError(file, _line(fields["flow"]), "flow: lower-case letters, digits, '-' and '_'")
    version = _plain(fields["version"])
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise FlowError(file, _line(fields["version"]), "version: a whole number from 1")
    enabled = _plain(fields["enabled"]) if "enabled" in fields else True
    if not isinstance(enabled, bool):
        raise FlowError(file, _line(fields["enabled"]), "enabled: true or false")
    steps_node = fields.get("steps")
    if steps_node is None:
        if enabled:
            raise FlowError(file, _line(root), "steps: missing (or say enabled: false)")
        steps: tuple[Step, ...] = ()
    elif not isinstance(steps_node, yaml.SequenceNode):
        raise FlowError(file, _line(steps_node), "steps: a list of steps")
    else:
        steps = tuple(_step(n, file, actions, jobs, i) for i, n in enumerate(steps_node.value))
    seen: set[str] = set()
    for step in steps:
        if step.name in seen:
            raise FlowError(file, step.line, "a step of this name comes earlier in the flow", step.name)
        seen.add(step.name)
    scope = _scope(fields["scope"], file) if "scope" in fields else None
    if scope is not None and any(s.every is not None for s in steps):
        raise FlowError(file, _line(fields["scope"]), "scope: a flow with schedule steps runs for everyone")
    description = _string(fields["description"], file, "description") if "description" in fields else ""
    return Flow(name, version, file, _line(root), steps, description, enabled, scope, packaged)


# --- composing packaged and deployment flows -----------------------------------------------------


def _override_errors(packaged: Sequence[Flow], deployed: Sequence[Flow]) -> None:
    names = [f.name for f in packaged]
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise FlowError(next(f.file for f in packaged if f.name == dup), 1, f"flow '{dup}' is declared twice")
    seen: dict[tuple[str, Scope | None], Flow] = {}
    for flow in deployed:
        key = (flow.name, flow.scope)
        if key in seen:
            scope = f" for {flow.scope.label()}" if flow.scope else ""
            raise FlowError(flow.file, flow.line, f"flow '{flow.name}'{scope} is also declared in {seen[key].file}")
        seen[key] = flow


def compose(packaged: Sequence[Flow], deployed: Sequence[Flow], actions: Mapping[str, ActionSpec]) -> Plan:
    """What runs, in order: the packaged flows in their order, each replaced by a deployment file
    of its name (for everyone, or for a scope beside it), then the deployment's new flows."""
    _override_errors(packaged, deployed)
    unscoped = {f.name: f for f in deployed if f.scope is None}
    scoped: dict[str, list[Flow]] = {}
    for f in deployed:
        if f.scope is not None:
            scoped.setdefault(f.name, []).append(f)
    order = [unscoped.get(f.name, f) for f in packaged]
    order += [f for f in deployed if f.scope is None and f.name not in {p.name for p in packaged}]
    bound: list[Bound] = []
    for base in order:
        variants = scoped.pop(base.name, [])
        excluded = tuple(v.scope for v in variants if v.scope is not None)
        if base.enabled:
            bound += [Bound(base, s, excluded=excluded) for s in base.steps]
        for v in variants:
            if v.enabled:
                bound += [Bound(v, s, only=v.scope, receipt_suffix=f"@{v.scope.label()}" if v.scope else "")
                          for s in v.steps]
    for variants in scoped.values():  # scoped flows of new names run only for their scope
        for v in variants:
            if v.enabled:
                bound += [Bound(v, s, only=v.scope, receipt_suffix=f"@{v.scope.label()}" if v.scope else "")
                          for s in v.steps]
    flows = tuple(dict.fromkeys([*packaged, *deployed]))
    return _plan(bound, flows, actions)


def _plan(bound: list[Bound], flows: tuple[Flow, ...], actions: Mapping[str, ActionSpec]) -> Plan:
    on_event: dict[str, list[Bound]] = {}
    schedules: list[Bound] = []
    for b in bound:
        if b.step.on is None:
            schedules.append(b)
        else:
            on_event.setdefault(b.step.on, []).append(b)
    for event, steps in on_event.items():
        keys: dict[str, Bound] = {}
        for b in steps:
            key = actions[b.step.action].key(b.step.action) + b.receipt_suffix
            if key in keys:
                first = keys[key]
                raise FlowError(b.flow.file, b.step.line, f"action '{b.step.action}' runs on {event} already "
                                f"(flow '{first.flow.name}', step '{first.step.name}', action '{first.step.action}')",
                                b.step.name)
            keys[key] = b
    jobs: dict[str, Bound] = {}
    for b in schedules:
        if b.step.action in jobs:
            raise FlowError(b.flow.file, b.step.line, f"job '{b.step.action}' is scheduled already "
                            f"(flow '{jobs[b.step.action].flow.name}')", b.step.name)
        jobs[b.step.action] = b
    return Plan({k: tuple(v) for k, v in on_event.items()}, tuple(schedules), flows)

