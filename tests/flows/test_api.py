"""GET /api/v1/flows: what runs, for unscoped staff keys."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from ordino.app import create_app
from ordino.kernel.auth import Role
from ordino.kernel.db import Database
from ordino.settings import ConfigurationError, Settings
from tests import factories
from tests.conftest import api_key


def test_the_packaged_flows_are_listed_in_the_order_they_run(client: TestClient, admin: dict[str, str]) -> None:
    answer = client.get("/api/v1/flows", headers=admin)

    assert answer.status_code == 200
    assert [(f["name"], f["version"], f["origin"], f["status"], f["step_count"]) for f in answer.json()["items"]] == [
        ("order-activation", 1, "packaged", "active", 4), ("fulfillment", 1, "packaged", "active", 4),
        ("servicing", 1, "packaged", "active", 3), ("payment", 1, "packaged", "active", 1),
        ("schedules", 1, "packaged", "active", 8), ("notifications", 1, "packaged", "active", 11),
        ("webhooks", 1, "packaged", "active", 1),
    ]


def test_a_flow_shows_its_steps(client: TestClient, admin: dict[str, str]) -> None:
    answer = client.get("/api/v1/flows/fulfillment", headers=admin)

    assert answer.status_code == 200
    [flow] = answer.json()["items"]
    assert flow["file"] == "fulfillment.yaml"
    assert [(s["name"], s["on"], s["action"], s["emits"]) for s in flow["steps"]] == [
        ("release-backorders", "inventory.backorders_allocated", "fulfillment.route_arrived_stock",
         ["order.routed", "order.backordered", "order.routing_failed", "fulfillment_order.created"]),
        ("invoice-partial-shipment", "fulfillment_order.partially_shipped", "invoicing.invoice_shipment",
         ["invoice.created"]),
        ("invoice-shipment", "fulfillment_order.fulfilled", "invoicing.invoice_shipment", ["invoice.created"]),
        ("ensure-funds", "invoice.created", "invoicing.ensure_funds", []),
    ]


def test_an_unknown_flow_is_404(client: TestClient, admin: dict[str, str]) -> None:
    answer = client.get("/api/v1/flows/nope", headers=admin)

    assert (answer.status_code, answer.json()["detail"]) == (404, "flow not found")


def test_a_key_scoped_to_an_account_reads_no_flows(client: TestClient, db: Database) -> None:
    account = factories.account(db, "ACME")

    answer = client.get("/api/v1/flows", headers=api_key(db, Role.ADMIN, account_id=account))

    assert answer.status_code == 403


def test_a_deployment_file_shows_over_the_packaged_flow(db: Database, tmp_path: Path) -> None:
    (tmp_path / "quotes.yaml").write_text("flow: schedules\nversion: 2\nenabled: false\n")
    app = create_app(Settings(database_url=db.url, run_worker=False, flows_dir=tmp_path), db=db)

    with TestClient(app) as client:
        answer = client.get("/api/v1/flows/schedules", headers=api_key(db))

    assert [(f["origin"], f["file"], f["version"], f["status"]) for f in answer.json()["items"]] == [
        ("packaged", "schedules.yaml", 1, "replaced"), ("deployment", "quotes.yaml", 2, "disabled")]


def test_a_file_that_cannot_run_stops_the_start_naming_file_line_and_step(db: Database, tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text(
        "flow: extra\nversion: 1\nsteps:\n  - name: tell\n    on: order.created\n    action: mail.send\n")

    try:
        create_app(Settings(database_url=db.url, run_worker=False, flows_dir=tmp_path), db=db)
    except ConfigurationError as exc:
        assert str(exc).startswith(f"flows: {tmp_path / 'bad.yaml'}:6: step 'tell': unknown action 'mail.send'")
    else:
        raise AssertionError("the app started")
