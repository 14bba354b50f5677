"""Fixtures of the audit tests: a clock at NOW, the log as plain tuples, and the payments
simulator (refunds are audited)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from ordino.audit.models import AuditEvent
from ordino.kernel import clock
from ordino.kernel.db import Database
from tests.payments.conftest import gateways, sim, sim_server

__all__ = ["gateways", "sim", "sim_server"]

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
NOW_TEXT = "2026-11-26T10:00:00+00:00"


@pytest.fixture
def frozen() -> Iterator[datetime]:
    clock.set_clock(lambda: NOW)
    yield NOW
    clock.set_clock(None)


def log(db: Database) -> list[dict[str, Any]]:
    """Every entry in sequence order: what it says, without its id and hashes."""
    e = AuditEvent
    with db.read() as s:
        rows = s.execute(select(*e.__table__.c).order_by(e.sequence)).all()
    return [
        {
            "sequence": r.sequence, "action": r.action, "actor": (r.actor_role, r.actor_name),
            "subject": (r.subject_type, r.subject_id, r.account_id), "before": r.before, "after": r.after,
        }
        for r in rows
    ]


def actions(db: Database) -> list[str]:
    return [entry["action"] for entry in log(db)]
