"""Prometheus metrics: what the processes count, and what `/metrics` computes from the database.

Counters and histograms live in `REGISTRY`. With `PROMETHEUS_MULTIPROC_DIR` set (before this
module is first imported: prometheus_client chooses its storage then), every process writes its
values to files in that directory and a scrape of any process adds them up (MultiProcessCollector),
so several API processes (`ordino serve --workers N`) and `ordino worker` processes on one machine
report as one. The outbox gauges are not counted by anyone: `OutboxCollector` queries them at
scrape time (two queries on the pending index).

Names are stable: dashboards and alerts use them. Label values are bounded: route templates,
never raw paths.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from datetime import datetime

from prometheus_client import PROCESS_COLLECTOR, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import case, func, select

from ordino.kernel import clock
from ordino.kernel.db import Database, describe_error, redact_database_errors
from ordino.kernel.outbox import OutboxEvent

log = logging.getLogger("ordino.metrics")
redact_database_errors(log.name)

CONTENT_TYPE = "text/plain; version=0.0.4"
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

REGISTRY = CollectorRegistry(auto_describe=True)

HTTP_DURATION = Histogram(
    "ordino_http_request_duration_seconds",
    "Time to answer HTTP requests, by method, route template and status class (2xx, 4xx...).",
    ["method", "route", "status_class"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=REGISTRY,
)
HTTP_IN_PROGRESS = Gauge(
    "ordino_http_requests_in_progress", "HTTP requests being answered.",
    registry=REGISTRY, multiprocess_mode="livesum",
)
HANDLER_DELIVERIES = Counter(
    "ordino_handler_deliveries", "Outbox events handed to a handler (each attempt), by handler.",
    ["handler"], registry=REGISTRY,
)
HANDLER_FAILURES = Counter(
    "ordino_handler_failures", "Handler runs that raised (the event is retried or dead-lettered), by handler.",
    ["handler"], registry=REGISTRY,
)
# Outgoing webhook deliveries; outcome: delivered, failed (will be retried), dead (given up).
WEBHOOK_DELIVERIES = Counter(
    "ordino_webhook_deliveries", "Webhook delivery attempts by endpoint and outcome.",
    ["endpoint", "outcome"], registry=REGISTRY,
)

# Routes that no template matched (404s, requests refused before routing) share one label value.
UNMATCHED_ROUTE = "<unmatched>"


def status_class(status: int) -> str:
    return f"{status // 100}xx"


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_ENV) or os.environ.get(MULTIPROC_ENV.lower()) or None


class OutboxCollector(Collector):
    """Queue depth, age of the oldest pending event, dead letters: read at scrape time.

    Every query starts from `dispatched_at IS NULL`, the head of `ix_outbox_event_pending`
    (dispatched_at, position): delivered events, nearly all of the table, are never read. The
    oldest pending event is the first of that index in position order that is not dead.
    """

    def __init__(self, db: Database) -> None:
        self.db = db

    def collect(self) -> Iterable[Metric]:
        try:
            pending, dead, age = self._read()
        except Exception as exc:  # the request metrics are still answered: they tell of the outage
            log.warning("outbox metrics not read: %s", describe_error(exc))
            return
        yield GaugeMetricFamily("ordino_outbox_pending_events", "Outbox events waiting for delivery (not dead).",
                                value=pending)
        yield GaugeMetricFamily("ordino_outbox_oldest_pending_age_seconds",
                                "Age of the oldest event waiting for delivery; 0 when none waits.", value=age)
        yield GaugeMetricFamily("ordino_outbox_dead_letters", "Dead-lettered outbox events awaiting an operator.",
                                value=dead)

    def _read(self) -> tuple[int, int, float]:
        undelivered = OutboxEvent.dispatched_at.is_(None)
        with self.db.read() as session:
            pending, dead = session.execute(
                select(
                    func.count(case((OutboxEvent.failed_at.is_(None), 1))),
                    func.count(OutboxEvent.failed_at),
                ).where(undelivered)
            ).one()
            oldest: datetime | None = session.execute(
                select(OutboxEvent.time).where(undelivered, OutboxEvent.failed_at.is_(None))
                .order_by(OutboxEvent.dispatched_at, OutboxEvent.position).limit(1)
            ).scalar()
        age = max(0.0, (clock.now() - oldest).total_seconds()) if oldest is not None else 0.0
        return int(pending), int(dead), age


def exposition(db: Database) -> bytes:
    """The text a scrape answers: this process's metrics (or, in multiprocess mode, every
    process's), the outbox gauges and, in single-process mode, the process's CPU and memory."""
    registry = CollectorRegistry(auto_describe=False)
    directory = multiprocess_dir()
    if directory:
        MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
    else:
        registry.register(REGISTRY)
        registry.register(PROCESS_COLLECTOR)
    registry.register(OutboxCollector(db))
    return generate_latest(registry)

