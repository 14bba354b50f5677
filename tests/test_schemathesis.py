"""Schemathesis against the application: every operation of the OpenAPI document, called with
generated valid and invalid input on a database holding the demo world, answers what the document
says: no server error, a documented status and media type, a body matching its schema, the
documented headers.

Generated identifiers almost never name a record, so a share of the generated path parameters
and body references is swapped for real ones read from the demo world through the API (`Known`):
the run reaches the answers of existing orders, accounts and payments, not only 404 and 422.
The run is bounded (a fixed seed, `MAX_EXAMPLES` per operation) so that it stays fast."""

from __future__ import annotations

import contextlib
import random
import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.errors import Flaky
from schemathesis.core.failures import FailureGroup

from ordino.app import create_app
from ordino.demo import load_demo
from ordino.demo import orders as demo_orders
from ordino.flows.registry import build_dispatcher
from ordino.kernel import clock
from ordino.kernel.auth import Role, create_key
from ordino.kernel.db import Database
from ordino.payments.gateway import HttpGateway
from ordino.payments.simulator import SimulatorState, create_simulator, serve_in_thread
from ordino.settings import Settings
from tests.conftest import BACKENDS, empty_tables

SEED = 20260115
MAX_EXAMPLES = 12
DEMO_ORDERS = 30
# Operations that must have answered 2xx at least once (of 146): guards the depth of the run.
MIN_SUCCEEDING = 70
STATEFUL_SCENARIOS = 60
# Successful steps the scenarios must reach (130 to 280 steps run before Hypothesis calls a replay
# flaky: the count moves with the code, so the floor is low; it fails a run refused throughout).
STATEFUL_MIN_SUCCEEDING = 10
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
)
# The field of a list item that a path parameter takes, in order of preference.
ID_FIELDS = ("number", "code", "sku", "reference", "day", "id")
# Body fields that name a record, and the list (path, item field) that holds real values.
BODY_REFERENCES: dict[str, tuple[str, str]] = {
    "sku": ("/api/v1/products", "sku"),
    "skus": ("/api/v1/products", "sku"),
    "account": ("/api/v1/accounts", "number"),
    "account_id": ("/api/v1/accounts", "id"),
    "channel": ("/api/v1/channels", "code"),
    "location": ("/api/v1/locations", "code"),
    "locations": ("/api/v1/locations", "code"),
    "order": ("/api/v1/orders", "number"),
    "order_summary_id": ("/api/v1/orders", "id"),
    "payment_method_id": ("/api/v1/payment-methods", "id"),
    "invoice": ("/api/v1/invoices", "number"),
    "price_book": ("/api/v1/price-books", "code"),
}
FIXED_VALUES: dict[str, list[Any]] = {
    "currency": ["EUR", "USD", "GBP", "CHF"],
    "country": ["DE", "FR", "NL", "AT"],
}


@dataclass
class Known:
    """Real values of the database under test: path parameters by path template, body references
    by field name. Filled by the `world` fixture; read by the generation hooks below."""

    paths: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    fields: dict[str, list[Any]] = field(default_factory=dict)
    bodies: dict[str, list[Any]] = field(default_factory=dict)


KNOWN = Known()


def _config() -> schemathesis.Config:
    return schemathesis.Config.from_dict({
        "seed": SEED,
        "generation": {"mode": "all", "max-examples": MAX_EXAMPLES, "deterministic": True},
        "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}},
    })


def _items(client: TestClient, headers: dict[str, str], url: str) -> list[dict[str, Any]]:
    answer = client.get(url, headers=headers, params={"limit": 8})
    if answer.status_code != 200 or "json" not in answer.headers.get("content-type", ""):
        return []
    body = answer.json()
    items = body.get("items") if isinstance(body, dict) else body
    return [item for item in items or [] if isinstance(item, dict)][:8]


def _combinations(
    client: TestClient, headers: dict[str, str], template: str, found: dict[str, list[dict[str, str]]]
) -> list[dict[str, str]]:
    """Values for the parameters of `template` (ending in a parameter), from the list one level up."""
    if template not in found:
        head, _, last = template.rpartition("/")
        parents: list[dict[str, str]] = [{}]
        if "{" in head:
            parents = _combinations(client, headers, head[: head.rindex("}") + 1], found)
        out = []
        for parent in parents:
            for item in _items(client, headers, head.format(**parent)):
                name = last[1:-1]
                preferred = (name, "id") if name.endswith("_id") else (name,)
                value = next((item[f] for f in (*preferred, *ID_FIELDS) if isinstance(item.get(f), str)), None)
                if value is not None:
                    out.append({**parent, name: value})
        found[template] = out
    return found[template]


def _learn(client: TestClient, headers: dict[str, str], doc: dict[str, Any], keep_out: set[str]) -> Known:
    found: dict[str, list[dict[str, str]]] = {}
    paths = {}
    for path in doc["paths"]:
        prefixes = [m.end() for m in re.finditer(r"\{[^}]+\}", path)]
        for end in reversed(prefixes):  # the longest prefix with real values
            values = [c for c in _combinations(client, headers, path[:end], found) if not keep_out & set(c.values())]
            if values:
                paths[path] = values
                break
    fields = {name: list(values) for name, values in FIXED_VALUES.items()}
    for name, (url, item_field) in BODY_REFERENCES.items():
        fields[name] = [item[item_field] for item in _items(client, headers, url) if item_field in item]
    return Known(paths, {name: values for name, values in fields.items() if values})


def _new_orders() -> list[dict[str, Any]]:
    """Valid orders of the demo world, under references of their own: a generated order body
    hardly ever names a real account, channel and SKUs together."""
    drawn = demo_orders.generate(random.Random(SEED), 12, clock.now())
    return [{**order.payload, "external_reference": f"ST-{n}"} for n, order in enumerate(drawn)]


def _ship_some(client: TestClient, headers: dict[str, str]) -> None:
    """Ship a few fulfilment orders, so that invoices, captures and remittances exist."""
    for fo in _items(client, headers, "/api/v1/fulfillment-orders")[:4]:
        client.post(f"/api/v1/fulfillment-orders/{fo['number']}/ship", json={"carrier": "DHL"}, headers=headers)


@pytest.fixture(scope="module")
def gateways() -> Iterator[dict[str, HttpGateway]]:
    server = serve_in_thread(create_simulator(SimulatorState()))
    gateway = HttpGateway("simulator", server.url, timeout=2.0, attempts=2, backoff=0.01, max_backoff=0.05)
    yield {"simulator": gateway}
    gateway.close()
    server.stop()


@dataclass(frozen=True)
class World:
    backend: str
    app: Any
    headers: dict[str, str]


# Statuses answered, by backend and operation: see test_the_run_reached_real_records.
REACHED: dict[str, dict[str, Counter[int]]] = defaultdict(lambda: defaultdict(Counter))


@pytest.fixture(scope="module", params=BACKENDS)
def world(
    request: pytest.FixtureRequest, databases: dict[str, Database], gateways: dict[str, HttpGateway]
) -> Iterator[World]:
    """The application on the demo world, an admin key, and what `KNOWN` learnt of the world."""

    db = databases[request.param]
    empty_tables(db)
    load_demo(db, orders=DEMO_ORDERS)
    dispatcher = build_dispatcher(db, gateways)
    dispatcher.drain()
    key, secret = db.transaction(lambda s: create_key(s, name="schemathesis", role=Role.ADMIN, account_id=None))
    headers = {"Authorization": f"Bearer {secret}"}
    app = create_app(Settings(database_url=db.url, run_worker=False), db=db, gateways=gateways)
    with TestClient(app) as client:
        _ship_some(client, headers)
        dispatcher.drain()
        learnt = _learn(client, headers, app.openapi(), keep_out={str(key.id)})
    KNOWN.paths, KNOWN.fields = learnt.paths, learnt.fields
    KNOWN.bodies = {"POST /api/v1/orders": _new_orders()}
    yield World(request.param, app, headers)
    empty_tables(db)


# The document is the application's own; each test calls the application of its database.
schema = schemathesis.openapi.from_asgi(
    "/api/openapi.json", create_app(Settings(database_url="sqlite://", run_worker=False)), config=_config()
)


@schema.hook
def flatmap_path_parameters(context: schemathesis.HookContext, path_parameters: dict[str, Any]) -> Any:
    """Half of the cases name a real record (the other half keeps what was generated)."""
    real = KNOWN.paths.get(context.operation.path) if context.operation else None
    if not real:
        return st.just(path_parameters)
    return st.one_of(st.just(path_parameters), st.sampled_from(real).map(lambda r: {**path_parameters, **r}))


@st.composite
def _with_real_references(draw: st.DrawFn, body: Any) -> Any:
    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            out = {}
            for name, value in node.items():
                pool = KNOWN.fields.get(name)
                if pool and draw(st.booleans()):
                    real = draw(st.sampled_from(pool))
                    out[name] = [real] if isinstance(value, list) else real
                else:
                    out[name] = walk(value)
            return out
        if isinstance(node, list):
            return [walk(value) for value in node]
        return node

    return walk(body)


@schema.hook
def flatmap_body(context: schemathesis.HookContext, body: Any) -> Any:
    valid = KNOWN.bodies.get(context.operation.label) if context.operation else None
    if valid:
        return st.one_of(_with_real_references(body), st.sampled_from(valid))
    return _with_real_references(body)


# No deadline and no health checks: the run shares the machine with the rest of the suite, and
# the swapped-in references (`flatmap_body`) draw more than Hypothesis expects of a strategy.
HYPOTHESIS = {"deadline": None, "suppress_health_check": list(HealthCheck)}


@schema.parametrize()
@settings(**HYPOTHESIS)
def test_every_operation_answers_as_documented(case: schemathesis.Case, world: World) -> None:
    response = case.call_and_validate(app=world.app, headers=dict(world.headers))
    REACHED[world.backend][case.operation.label][response.status_code] += 1


def test_linked_operations_answer_as_documented(world: World) -> None:
    """Scenarios along the links between operations (the document declares none: Schemathesis
    infers them from the parameters and answers, e.g. an order's `number` to GET /orders/{order_ref}),
    each step checked as above."""
    failures: list[str] = []
    steps: Counter[str] = Counter()

    class Scenarios(schema.as_state_machine()):  # type: ignore[misc]
        def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, Any]:
            return {"app": world.app, "headers": dict(world.headers)}

        def call(self, case: schemathesis.Case, **kwargs: Any) -> schemathesis.Response:
            try:
                response = super().call(case, **kwargs)
            except Exception as exc:
                failures.append(f"{case.operation.label}: {exc!r}")
                raise
            steps[f"{response.status_code // 100}xx"] += 1
            return response

        def validate_response(self, response: schemathesis.Response, case: schemathesis.Case, *args: Any,
                              **kwargs: Any) -> None:
            try:
                super().validate_response(response, case, *args, **kwargs)
            except FailureGroup as exc:
                failures.extend(f"{case.operation.label}: {failure}" for failure in exc.exceptions)
                raise

    # The database changes under the scenarios, so replaying one need not draw the same steps
    # (Hypothesis calls that flaky); every failure met on the way is in `failures`.
    with contextlib.suppress(Flaky):
        Scenarios.run(settings=settings(
            max_examples=STATEFUL_SCENARIOS, stateful_step_count=6, derandomize=True, database=None, **HYPOTHESIS
        ))
    assert failures == []
    assert steps["2xx"] >= STATEFUL_MIN_SUCCEEDING, steps


def test_the_run_reached_real_records() -> None:
    """A run where every call is refused would pass the checks and test little: the run above
    must have succeeded on most operations, and never with the key refused."""
    if not REACHED:
        pytest.skip("the operations above were not run")
    for backend, operations in REACHED.items():
        succeeded = sorted(op for op, statuses in operations.items() if any(200 <= s < 300 for s in statuses))
        refused = sorted(op for op, statuses in operations.items() if 401 in statuses)
        assert (backend, refused) == (backend, [])
        assert len(succeeded) >= MIN_SUCCEEDING, (backend, len(succeeded), sorted(set(operations) - set(succeeded)))
