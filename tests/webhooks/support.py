"""A real webhook receiver on loopback (an HTTP server in a thread) that verifies every delivery
with standardwebhooks, and helpers to run the fan-out and the Sender."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import standardwebhooks.webhooks
from fastapi.testclient import TestClient
from sqlalchemy import select
from standardwebhooks import Webhook, WebhookVerificationError

from ordino.app import create_app
from ordino.kernel import clock
from ordino.kernel.db import Database
from ordino.kernel.outbox import emit
from ordino.kernel.worker import Dispatcher
from ordino.settings import Settings
from ordino.webhooks.delivery import Sender
from ordino.webhooks.handlers import REGISTRATION
from ordino.webhooks.models import WebhookAttempt, WebhookDelivery
from ordino.webhooks.reads import forget_targets
from tests.declared import check_every_answer

T0 = datetime(2026, 12, 8, 9, 0, tzinfo=UTC)


@dataclass
class Received:
    body: bytes
    headers: dict[str, str]
    verified: Any  # the parsed payload, or None when verification failed
    error: str | None


@dataclass
class Receiver:
    """Answers each POST with the next of `answers` (200 once they run out); verifies it with
    `secret` first, answering 401 when that fails. While `hold` is clear, requests wait for it."""

    url: str = ""
    secret: str = ""
    answers: list[tuple[int, str]] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    hold: threading.Event = field(default_factory=threading.Event)
    arrived: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.hold.set()

    def handle(self, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
        self.arrived.set()
        self.hold.wait(30)
        try:
            payload, error = Webhook(self.secret).verify(body, headers), None
        except WebhookVerificationError as exc:
            payload, error = None, str(exc)
        with self.lock:
            self.received.append(Received(body, headers, payload, error))
            if error is not None:
                return 401, error
            return self.answers.pop(0) if self.answers else (200, "thanks")


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            status, text = receiver.handle(body, {k.lower(): v for k, v in self.headers.items()})
            data = text.encode()
            self.send_response(status)
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *_args: Any) -> None:
            pass

    return Handler


class _KernelTime(datetime):
    """What standardwebhooks takes for now: the kernel clock, so that tests move both at once."""

    @classmethod
    def now(cls, tz: Any = None) -> Any:
        return clock.now()


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    monkeypatch.setattr(standardwebhooks.webhooks, "datetime", _KernelTime)
    rec = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(rec))
    rec.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/ordino"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield rec
    rec.hold.set()
    server.shutdown()
    server.server_close()


@pytest.fixture
def at_t0() -> Iterator[datetime]:
    clock.set_clock(lambda: T0)
    yield T0
    clock.set_clock(None)


def move_to(moment: datetime) -> None:
    clock.set_clock(lambda: moment)


def later(**delta: float) -> datetime:
    moment = clock.now() + timedelta(**delta)
    move_to(moment)
    return moment


@pytest.fixture(autouse=True)
def _fresh_targets() -> Iterator[None]:
    forget_targets()
    yield
    forget_targets()


@pytest.fixture
def api(db: Database) -> Iterator[TestClient]:
    """An API client of an app that allows private webhook targets (the receiver is on loopback)."""
    app = create_app(Settings(database_url=db.url, run_worker=False, webhooks_allow_private=True), db=db)
    with TestClient(app) as client:
        check_every_answer(app, client)
        yield client


@pytest.fixture
def sender(db: Database) -> Iterator[Sender]:
    s = Sender(db, allow_private=True, timeout=5.0)
    yield s
    s.close()


def subscribe(api: TestClient, headers: dict[str, str], receiver: Receiver, **fields: Any) -> dict[str, Any]:
    """A subscription to the receiver (every event unless `event_types` says otherwise), whose
    secret the receiver verifies with."""
    answer = api.post("/api/v1/webhooks", headers=headers, json={"url": receiver.url, "event_types": ["*"], **fields})
    assert answer.status_code == 201, answer.text
    doc: dict[str, Any] = answer.json()
    receiver.secret = doc["secret"]
    return doc


def fire(db: Database, type_: str, data: dict[str, Any], subject: str | None = None) -> uuid.UUID:
    event_id: uuid.UUID = db.transaction(lambda s: emit(s, type_, subject, data))
    return event_id


def fan_out(db: Database) -> int:
    """Run the outbox with the fan-out as the only handler, registered for every type."""
    return Dispatcher(db, {"*": [REGISTRATION]}).drain()


def deliveries(db: Database) -> list[WebhookDelivery]:
    with db.read() as s:
        rows = list(s.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))
        s.expunge_all()
        return rows


def attempts(db: Database) -> list[WebhookAttempt]:
    with db.read() as s:
        rows = list(s.scalars(select(WebhookAttempt).order_by(WebhookAttempt.id)))
        s.expunge_all()
        return rows
