"""The flows as documents: what `GET /api/v1/flows` and `ordino flows list / show` say runs."""

from __future__ import annotations

from typing import Any

from ordino.flows.domain import Flow, Plan, Step

Doc = dict[str, Any]


def _status(flow: Flow, plan: Plan) -> str:
    if not flow.enabled:
        return "disabled"
    if flow.packaged and any(f.name == flow.name and not f.packaged and f.scope is None for f in plan.flows):
        return "replaced"
    return "active"


def _step(step: Step) -> Doc:
    return {
        "name": step.name, "line": step.line, "on": step.on, "every_seconds": step.every,
        "when": step.when.source if step.when else None, "action": step.action, "emits": list(step.emits),
        "description": step.description,
    }


def flow_document(flow: Flow, plan: Plan, *, steps: bool = True) -> Doc:
    doc: Doc = {
        "name": flow.name, "version": flow.version, "description": flow.description,
        "origin": "packaged" if flow.packaged else "deployment", "file": flow.file.rsplit("/", 1)[-1],
        "scope": {flow.scope.key: flow.scope.value} if flow.scope else None,
        "status": _status(flow, plan), "step_count": len(flow.steps),
    }
    if steps:
        doc["steps"] = [_step(s) for s in flow.steps]
    return doc


def list_flows(plan: Plan) -> list[Doc]:
    return [flow_document(f, plan, steps=False) for f in plan.flows]


def find_flows(plan: Plan, name: str) -> list[Doc]:
    """The flow of that name: the packaged one and the deployment's over it (scoped ones too)."""
    return [flow_document(f, plan) for f in plan.flows if f.name == name]
