"""Flow files: what a valid one reads as, the error a wrong one gets (file, line, step), and how
a deployment's files override the packaged flows."""

from __future__ import annotations

import textwrap

import pytest

from ordino.flows.domain import ActionSpec, FlowError, Scope, compose, parse_flow

ACTIONS = {
    "route": ActionSpec(("order.routed",), "Route the order"),
    "authorize": ActionSpec(("payment.authorization_failed",), "Authorize"),
    "authorize_approved": ActionSpec((), "Authorize an approved order", receipt="authorize"),
    "invoice": ActionSpec(("invoice.created",), "Invoice"),
}
JOBS = {"expire": "Expire holds"}

ACTIVATION = """\
flow: activation
version: 3
description: New orders are routed and authorized.
steps:
  - name: route
    on: order.created
    action: route
    emits: [order.routed]
  - name: authorize
    on: order.created
    when: '"card" in order.payment_methods'
    action: authorize
  - name: expire
    every: 5m
    action: expire
"""


def parse(text: str, file: str = "activation.yaml", packaged: bool = True):  # type: ignore[no-untyped-def]
    return parse_flow(textwrap.dedent(text), file, ACTIONS, JOBS, packaged=packaged)


def error(text: str) -> FlowError:
    with pytest.raises(FlowError) as raised:
        parse(text, "custom.yaml", packaged=False)
    return raised.value


def test_a_flow_file_reads_as_its_steps() -> None:
    flow = parse(ACTIVATION)

    assert (flow.name, flow.version, flow.description, flow.enabled, flow.scope) == (
        "activation", 3, "New orders are routed and authorized.", True, None)
    assert [(s.name, s.line, s.on, s.every, s.action, s.emits) for s in flow.steps] == [
        ("route", 5, "order.created", None, "route", ("order.routed",)),
        ("authorize", 9, "order.created", None, "authorize", ("payment.authorization_failed",)),
        ("expire", 13, None, 300.0, "expire", ()),
    ]
    assert flow.steps[1].when is not None and flow.steps[1].when.needs_order
    assert flow.steps[2].description == "Expire holds"  # the catalog's, when the file gives none


@pytest.mark.parametrize(("text", "line", "step", "message"), [
    ("flow: x\nversion: 1\nsteps:\n  - name: a\n    on: order.created\n    action: nope\n",
     6, "a", "unknown action 'nope' (known: authorize, authorize_approved, invoice, route)"),
    ("flow: x\nversion: 1\nsteps:\n  - name: a\n    on: order.created\n    action: route\n    emits: [x.y]\n",
     7, "a", "emits: action 'route' emits exactly [order.routed]"),
    ("flow: x\nversion: 1\nsteps:\n  - name: a\n    on: Order Created\n    action: route\n",
     5, "a", "on: 'Order Created' is not an event type (e.g. order.created, or *)"),
    ("flow: x\nversion: 1\nsteps:\n  - name: a\n    on: order.created\n    when: order.total > 1\n    action: route\n",
     6, "a", "when: order.total: order has number, status, channel, channel_kind, account, account_country, "
             "payment_terms, currency, grand_total, country, payment_methods, po_number, pricing"),
    ("flow: x\nversion: 1\nsteps:\n  - name: a\n    on: order.created\n    when: order.channel ==\n    action: route\n",
     6, "a", "when: not valid CEL: order.channel =="),
    ("flow: x\nversion: 1\nsteps:\n  - name: a\n    on: order.created\n    every: 5s\n    action: route\n",
     4, "a", "give either 'on' (an event type) or 'every' (a schedule)"),
    ("flow: x\nversion: 1\nsteps:\n  - name: a\n    every: soon\n    action: expire\n",
     5, "a", "every: a number of seconds, or e.g. '30s', '5m', '1h'"),
    ("flow: x\nversion: 1\nsteps:\n  - name: a\n    on: order.created\n    action: route\n    retries: 3\n",
     7, "a", "unknown key 'retries' (allowed: name, description, on, when, action, emits, every)"),
    ("flow: x\nversion: 1\nsteps:\n  - name: a\n    on: order.created\n    action: route\n"
     "  - name: a\n    on: invoice.created\n    action: invoice\n",
     7, "a", "a step of this name comes earlier in the flow"),
    ("flow: x\nversion: 0\nsteps: []\n", 2, None, "version: a whole number from 1"),
    ("flow: X Y\nversion: 1\nsteps: []\n", 1, None, "flow: lower-case letters, digits, '-' and '_'"),
    ("flow: x\nversion: 1\n", 1, None, "steps: missing (or say enabled: false)"),
    ("flow: x\nversion: 1\nscope: {region: EU}\nenabled: false\n", 3, None, "scope: exactly one of channel, account"),
    ("flow: x\nversion: 1\nsteps: [\n", 4, None, "not valid YAML: expected the node content, but found '<stream end>'"),
])
def test_a_wrong_file_is_named_with_its_line_and_step(text: str, line: int, step: str | None, message: str) -> None:
    raised = error(text)

    assert (raised.file, raised.line, raised.step, raised.message) == ("custom.yaml", line, step, message)
    assert str(raised).startswith(f"custom.yaml:{line}: " + (f"step '{step}': " if step else ""))


def test_a_deployment_file_of_a_packaged_name_replaces_it_for_everyone() -> None:
    packaged = parse(ACTIVATION)
    mine = parse("flow: activation\nversion: 4\nsteps:\n  - name: only-route\n    on: order.created\n"
                 "    action: route\n", "mine.yaml", packaged=False)

    plan = compose([packaged], [mine], ACTIONS)

    assert [(b.flow.file, b.step.name, b.excluded, b.only) for b in plan.on_event["order.created"]] == [
        ("mine.yaml", "only-route", (), None)]
    assert plan.schedules == ()  # the replaced flow's schedule went with it


def test_a_scoped_file_runs_for_its_scope_and_the_packaged_flow_for_the_rest() -> None:
    packaged = parse(ACTIVATION)
    pos = parse("flow: activation\nversion: 4\nscope: {channel: POS}\nsteps:\n  - name: route\n"
                "    on: order.created\n    action: route\n", "pos.yaml", packaged=False)
    acme = parse("flow: activation\nversion: 4\nscope: {account: ACME}\nenabled: false\n", "acme.yaml",
                 packaged=False)

    plan = compose([packaged], [pos, acme], ACTIONS)

    pos_scope, acme_scope = Scope("channel", "POS"), Scope("account", "ACME")
    assert [(b.flow.file, b.step.name, b.excluded, b.only, b.receipt_suffix) for b in
            plan.on_event["order.created"]] == [
        ("activation.yaml", "route", (pos_scope, acme_scope), None, ""),
        ("activation.yaml", "authorize", (pos_scope, acme_scope), None, ""),
        ("pos.yaml", "route", (), pos_scope, "@channel=POS"),
    ]


def test_a_disabled_file_switches_the_flow_off() -> None:
    plan = compose([parse(ACTIVATION)], [parse("flow: activation\nversion: 4\nenabled: false\n", "off.yaml",
                                                packaged=False)], ACTIONS)

    assert plan.on_event == {}
    assert plan.schedules == ()
    assert [(f.file, f.enabled) for f in plan.flows] == [("activation.yaml", True), ("off.yaml", False)]


def test_the_same_handler_twice_on_one_event_is_refused() -> None:
    other = parse("flow: second\nversion: 1\nsteps:\n  - name: again\n    on: order.created\n"
                  "    action: authorize_approved\n", "second.yaml", packaged=False)

    with pytest.raises(FlowError) as raised:
        compose([parse(ACTIVATION)], [other], ACTIONS)

    assert str(raised.value) == ("second.yaml:4: step 'again': action 'authorize_approved' runs on order.created "
                                 "already (flow 'activation', step 'authorize', action 'authorize')")


def test_two_deployment_files_for_one_flow_and_scope_are_refused() -> None:
    a = parse("flow: activation\nversion: 4\nenabled: false\n", "a.yaml", packaged=False)
    b = parse("flow: activation\nversion: 5\nenabled: false\n", "b.yaml", packaged=False)

    with pytest.raises(FlowError, match=r"^b.yaml:1: flow 'activation' is also declared in a.yaml$"):
        compose([parse(ACTIVATION)], [a, b], ACTIONS)


def test_a_new_flow_runs_after_the_packaged_ones() -> None:
    extra = parse("flow: extra\nversion: 1\nsteps:\n  - name: invoice\n    on: order.created\n    action: invoice\n",
                  "extra.yaml", packaged=False)

    plan = compose([parse(ACTIVATION)], [extra], ACTIONS)

    assert [b.step.action for b in plan.on_event["order.created"]] == ["route", "authorize", "invoice"]
