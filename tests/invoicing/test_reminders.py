"""Overdue invoices on terms are announced once per reminder stage (invoice.overdue)."""

# ruff: noqa: F811 (fixtures imported from tests.invoicing.support)

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

from ordino.invoicing import domain, reminders
from ordino.kernel.db import Database
from ordino.kernel.outbox import OutboxEvent
from tests.invoicing.support import (  # noqa: F401
    api,
    frozen,
    gateways,
    order_payload,
    place_and_ship,
    sim,
    sim_server,
    world,
)

TERMS = [{"method": "invoice", "terms": "net_30"}]  # shipped 2026-11-26: due 2026-12-26


def overdue(db: Database) -> list[tuple[str, int, int, str]]:
    with db.read() as s:
        rows = s.execute(select(OutboxEvent.data).where(OutboxEvent.type == reminders.INVOICE_OVERDUE)
                         .order_by(OutboxEvent.position)).scalars().all()
    return [(d["number"], d["days_overdue"], d["reminder_level"], d["balance"]) for d in rows]


def remind(db: Database, day: str) -> int:
    return db.transaction(lambda s: reminders.remind_overdue(s, date.fromisoformat(day)))


@pytest.mark.parametrize(("days", "level"), [(0, 0), (1, 1), (6, 1), (7, 2), (13, 2), (14, 3), (30, 4), (400, 4)])
def test_the_reminder_an_invoice_should_have_had(days: int, level: int) -> None:
    assert domain.reminder_level(days) == level


def test_an_overdue_invoice_is_reminded_once_per_stage(
    world: Database, gateways: Any, api: Any, admin: dict[str, str]
) -> None:
    # given an invoice of 36.78 on net 30, due 2026-12-26
    place_and_ship(world, gateways, api, admin, order_payload(TERMS))

    # when the job runs on the due date, the day after (twice), a week after and 40 days after
    sent = [remind(world, d) for d in ("2026-12-26", "2026-12-27", "2026-12-27", "2027-01-02", "2027-02-04")]

    # then each stage once; a run that finds a stage announced says nothing; a late run skips to the stage due
    assert sent == [0, 1, 0, 1, 1]
    assert overdue(world) == [("INV-2026-000001", 1, 1, "36.78"), ("INV-2026-000001", 7, 2, "36.78"),
                              ("INV-2026-000001", 40, 4, "36.78")]


def test_a_paid_invoice_is_not_reminded(world: Database, gateways: Any, api: Any, admin: dict[str, str]) -> None:
    place_and_ship(world, gateways, api, admin, order_payload(TERMS))
    paid = api.post("/api/v1/payments", headers=admin, json={
        "account": "ACME", "amount": "36.78", "currency": "EUR", "reference": "BANK-1", "received_on": "2026-12-20",
        "applications": [{"invoice": "INV-2026-000001", "amount": "36.78"}],
    })
    assert paid.status_code == 201, paid.text

    assert remind(world, "2027-01-30") == 0
    assert overdue(world) == []
