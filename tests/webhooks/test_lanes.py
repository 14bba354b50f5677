"""Where the Sender runs: `ordino worker` and the in-process worker of `ordino serve`."""

from __future__ import annotations

import threading
import time

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from ordino.app import create_app
from ordino.cli import app as cli
from ordino.kernel.db import Database
from ordino.settings import Settings
from tests.webhooks.support import Receiver, deliveries, fan_out, fire, subscribe


def test_the_worker_command_sends_due_deliveries(
    db: Database, api: TestClient, admin: dict[str, str], receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a delivery due to a loopback receiver, on an installation that allows private targets
    monkeypatch.setenv("ORDINO_WEBHOOKS_ALLOW_PRIVATE", "1")
    subscribe(api, admin, receiver)
    fire(db, "order.created", {"id": "o-1"}, "order/o-1")
    fan_out(db)
    # when `ordino worker --once` runs
    result = CliRunner().invoke(cli, ["worker", "--once", "--database-url", db.url])
    # then it sent the delivery, which the receiver verified
    assert result.exit_code == 0, result.output
    assert "sent 1 webhook deliveries" in result.output
    assert [r.error for r in receiver.received] == [None]
    assert deliveries(db)[0].status == "delivered"


def test_serve_on_sqlite_runs_the_sender_beside_the_event_worker(
    db: Database, admin: dict[str, str], receiver: Receiver
) -> None:
    # given the app with its in-process worker
    app = create_app(Settings(database_url=db.url, run_worker=True, webhooks_allow_private=True), db=db)
    with TestClient(app) as client:
        # then a webhook thread runs
        assert "ordino-webhooks" in [t.name for t in threading.enumerate()]
        # and a delivery made meanwhile reaches the receiver without anything else being run
        subscribe(client, admin, receiver)
        fire(db, "order.created", {"id": "o-1"}, "order/o-1")
        fan_out(db)
        deadline = time.monotonic() + 20
        while not receiver.received and time.monotonic() < deadline:
            time.sleep(0.05)
    assert [r.error for r in receiver.received] == [None]
    # and it stopped with the app
    assert "ordino-webhooks" not in [t.name for t in threading.enumerate()]
