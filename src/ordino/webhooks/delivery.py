"""The delivery lane: a Sender claims due deliveries and POSTs them, signed, to their receivers.

It runs in threads of its own (`ordino worker`, and `ordino serve`'s in-process worker), beside the
event Dispatcher, never in it: a slow or dead receiver holds at most one of the Sender's
`concurrency` slots for `timeout` seconds, and the flow of events goes on. Claims take a lease
(PostgreSQL: `FOR UPDATE SKIP LOCKED`), so any number of workers share the deliveries; one whose
worker died is sent again once its lease runs out (the same webhook-id: receivers de-duplicate).
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.orm import Session
from standardwebhooks import Webhook

from ordino import __version__
from ordino.kernel import clock
from ordino.kernel.db import Database
from ordino.kernel.ids import new_id
from ordino.webhooks import domain, reads
from ordino.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookSubscription

log = logging.getLogger("ordino.webhooks")
BODY_BYTES = 4096  # of a response, read at most (the excerpt kept is shorter)
Resolver = Callable[[str, int], list[str]]


def resolve(host: str, port: int) -> list[str]:
    """The addresses a host name stands for (every one is checked: any could be the one used)."""
    return sorted({str(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)})


@dataclass(frozen=True, slots=True)
class Due:
    """A claimed delivery, with what signing and sending it needs."""

    id: uuid.UUID
    subscription_id: uuid.UUID
    url: str
    message_id: str
    payload: str
    secrets: tuple[str, ...]  # the current secret, then the previous one during a rotation's overlap
    trigger: str


@dataclass(frozen=True, slots=True)
class Result:
    headers: dict[str, str]
    status: int | None
    body: str | None
    duration_ms: int
    error: str | None

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def sign(secrets: tuple[str, ...], message_id: str, at: datetime, payload: str) -> dict[str, str]:
    """Standard Webhooks headers: one `v1,` signature per secret in `webhook-signature`."""
    signatures = [Webhook(secret).sign(message_id, at, payload) for secret in secrets]
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": domain.signature_header(signatures),
        "content-type": "application/cloudevents+json",
        "user-agent": f"Ordino-Webhooks/{__version__}",
    }


class Sender:
    def __init__(
        self,
        db: Database,
        *,
        concurrency: int = 4,
        timeout: float = 10.0,
        lease_seconds: float = 60.0,
        allow_private: bool = False,
        resolver: Resolver = resolve,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.db = db
        self.concurrency = concurrency
        self.lease = timedelta(seconds=max(lease_seconds, timeout * 2))
        self.allow_private = allow_private
        self.resolver = resolver
        self._client = httpx.Client(timeout=timeout, follow_redirects=False, transport=transport)
        self._pool = ThreadPoolExecutor(concurrency, thread_name_prefix="ordino-webhooks")
        self._busy = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- claiming -------------------------------------------------------------------------------

    def claim(self, limit: int) -> list[Due]:
        return self.db.transaction(lambda s: self._claim(s, limit)) if limit > 0 else []

    def _claim(self, session: Session, limit: int) -> list[Due]:
        d, sub = WebhookDelivery, WebhookSubscription
        now = clock.now()
        due = and_(
            d.status == "pending", d.next_attempt_at <= now,
            or_(d.lease_until.is_(None), d.lease_until < now), sub.enabled.is_(True),
        )
        pick = select(d.id).join(sub, sub.id == d.subscription_id).where(due)
        pick = pick.order_by(d.next_attempt_at, d.id).limit(limit)
        if self.db.dialect == "postgresql":
            pick = pick.with_for_update(skip_locked=True, of=d)
        # One statement, as kernel.worker claims events: two claimers never both take a delivery.
        ids = list(session.scalars(
            update(d).where(d.id.in_(pick.scalar_subquery())).values(lease_until=now + self.lease).returning(d.id)
        ))
        if not ids:
            return []
        rows = session.execute(
            select(d.id, d.subscription_id, d.message_id, d.payload, d.trigger, sub.url, sub.secret,
                   sub.previous_secret, sub.previous_secret_until)
            .join(sub, sub.id == d.subscription_id).where(d.id.in_(ids)).order_by(d.next_attempt_at, d.id)
        ).all()
        return [Due(r.id, r.subscription_id, r.url, r.message_id, r.payload, _secrets(r, now), r.trigger)
                for r in rows]

    # -- sending --------------------------------------------------------------------------------

    def _refusal(self, url: str) -> str | None:
        """Why the target may not be called now (its addresses are checked at each delivery)."""
        if (error := domain.target_error(url, self.allow_private)) is not None:
            return f"url {error}"
        parts = urlsplit(url)
        host = parts.hostname or ""
        if self.allow_private or domain.is_loopback(host) or domain.ip_literal(host) is not None:
            return None  # an address literal: target_error checked it
        try:
            addresses = self.resolver(host, parts.port or 443)
        except OSError as exc:
            return f"cannot resolve {host}: {exc}"
        private = [a for a in addresses if not domain.is_public(ipaddress.ip_address(a))]
        return f"{host} resolves to a private address ({private[0]})" if private else None

    def post(self, due: Due) -> Result:
        headers = sign(due.secrets, due.message_id, clock.now(), due.payload)
        started = time.perf_counter()
        if (refused := self._refusal(due.url)) is not None:
            return Result(headers, None, None, 0, refused)
        try:
            with self._client.stream("POST", due.url, content=due.payload.encode(), headers=headers) as answer:
                body = bytearray()
                for chunk in answer.iter_bytes():
                    body += chunk
                    if len(body) >= BODY_BYTES:
                        break
                text = domain.excerpt(bytes(body[:BODY_BYTES]).decode("utf-8", "replace"))
                return Result(headers, answer.status_code, text, _ms(started), None)
        except Exception as exc:  # whatever keeps the call from completing is the attempt's result
            return Result(headers, None, None, _ms(started), domain.excerpt(f"{type(exc).__name__}: {exc}"))

    def attempt(self, due: Due) -> Result:
        """POST the delivery and record the attempt and what follows from it."""
        result = self.post(due)
        self.db.transaction(lambda s: _record(s, due, result))
        if result.status == 410:
            reads.forget_targets()
        return result

    # -- running --------------------------------------------------------------------------------

    def run_once(self) -> int:
        """Claim up to `concurrency` due deliveries and send them (in parallel); how many."""
        dues = self.claim(self.concurrency)
        list(self._pool.map(self.attempt, dues))
        return len(dues)

    def drain(self) -> int:
        total = 0
        while n := self.run_once():
            total += n
        return total

    def _release(self, due: Due) -> None:
        try:
            self.attempt(due)
        except Exception:
            log.exception("webhook delivery %s failed", due.id)
        finally:
            with self._lock:
                self._busy -= 1

    def run_forever(self, idle_seconds: float = 1.0) -> None:
        while not self._stop.is_set():
            with self._lock:
                free = self.concurrency - self._busy
            try:
                dues = self.claim(free)
            except Exception:
                log.exception("webhook claim failed")
                dues = []
            for due in dues:
                with self._lock:
                    self._busy += 1
                try:
                    self._pool.submit(self._release, due)
                except RuntimeError:  # closed meanwhile: the lease runs out and another round sends it
                    return
            if not dues:
                self._stop.wait(idle_seconds)

    def start_thread(self) -> threading.Thread:
        self._thread = threading.Thread(target=self.run_forever, name="ordino-webhooks", daemon=True)
        self._thread.start()
        return self._thread

    def stop(self) -> None:
        self._stop.set()

    def close(self) -> None:
        """Stop, let the attempts under way finish (each within the timeout), release the client."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._client.close()


def _secrets(row: Any, now: datetime) -> tuple[str, ...]:
    overlap = row.previous_secret is not None and row.previous_secret_until is not None
    return (row.secret, row.previous_secret) if overlap and row.previous_secret_until > now else (row.secret,)


def _ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)


def _record(session: Session, due: Due, result: Result) -> None:
    now = clock.now()
    d = session.get(WebhookDelivery, due.id, with_for_update=True)
    if d is None:  # its subscription was deleted meanwhile
        return
    session.execute(insert(WebhookAttempt), [{
        "id": new_id(), "delivery_id": due.id, "trigger": due.trigger, "attempted_at": now,
        "request_headers": result.headers, "response_status": result.status, "response_body": result.body,
        "duration_ms": result.duration_ms, "error": result.error,
    }])
    d.attempts += 1
    d.last_status, d.lease_until, d.trigger = result.status, None, "schedule"
    if result.delivered:
        d.status, d.delivered_at, d.next_attempt_at = "delivered", now, None
    elif result.status == 410:
        d.status, d.next_attempt_at = "failed", None
        _disable(session, due.subscription_id, f"the receiver answered 410 Gone at {now.isoformat()}")
    else:
        d.failures += 1
        delay = domain.retry_delay(d.failures)
        d.status, d.next_attempt_at = ("failed", None) if delay is None else ("pending", now + delay)


def _disable(session: Session, subscription_id: uuid.UUID, reason: str) -> None:
    sub = WebhookSubscription
    session.execute(update(sub).where(sub.id == subscription_id, sub.enabled.is_(True)).values(
        enabled=False, disabled_reason=reason, version=sub.version + 1, updated_at=clock.now()))
