"""No card number anywhere: after the card flows (authorize, capture up front, ship and invoice,
cancel, credit memo refunded to the card), and after card numbers were sent where tokens belong
(each refused with 422 naming the field), no text column of any table, no log record (DEBUG and
up) and no outbox payload holds anything that looks like a card number."""

# ruff: noqa: F811 (fixtures imported from tests.invoicing.support)

from __future__ import annotations

import logging
import re
import uuid
from typing import Any

import orjson
import pytest
from sqlalchemy import select

from ordino.kernel.db import Database
from ordino.kernel.outbox import OutboxEvent
from ordino.models import metadata
from ordino.payments.models import Payment, PaymentMethod
from tests.invoicing.support import (  # noqa: F401
    CARD,
    api,
    cancel_rest,
    change_order,
    count,
    credit_memos,
    drain,
    fo_id,
    frozen,
    gateways,
    invoices,
    item_ids,
    order_payload,
    ship,
    sim,
    sim_server,
    world,
)

# 13–19 digits, spaces or dashes between them, not part of a longer run of letters or digits
# (a UUID's digit groups end in a hex letter; a 20-digit tracking number is too long).
_CANDIDATE = re.compile(r"(?<![0-9A-Za-z])[0-9](?:[ \-]?[0-9]){12,18}(?![0-9A-Za-z])")
# A UUID is an id, whatever its digit groups: its last two may read as 16 digits joined by a dash.
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
PANS = ["4111 1111 1111 1111", "5555-5555-5555-4444", "378282246310005", "4012888888881881"]


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def card_numbers(text: str) -> list[str]:
    """The card-number-like runs in a text: 13–19 digits that pass the Luhn check."""
    return [m for m in _CANDIDATE.findall(_UUID.sub(" ", text)) if _luhn(re.sub(r"[ \-]", "", m))]


def _text(value: Any) -> str:
    if isinstance(value, bytes | memoryview):
        return bytes(value).decode("utf-8", "replace")
    if isinstance(value, dict | list):
        return orjson.dumps(value).decode()
    return str(value)


def database_dump(db: Database) -> tuple[int, list[str]]:
    """(values scanned, `table.column: value` of every card number in any column of any table)."""
    scanned, found = 0, []
    with db.read() as s:
        for table in metadata.sorted_tables:
            for row in s.execute(select(table)).mappings():
                for column, value in row.items():
                    if value is None or isinstance(value, bool):
                        continue
                    scanned += 1
                    found += [f"{table.name}.{column}: {pan}" for pan in card_numbers(_text(value))]
    return scanned, found


@pytest.mark.parametrize("text", [*PANS, "card 4111-1111-1111-1111 exp 12/30", "pan=4111111111111111"])
def test_the_scanner_finds_card_numbers(text: str) -> None:
    assert card_numbers(text) != []


@pytest.mark.parametrize("text", [
    "01a2512b-7c28-705c-b854-435590242f7d", "019af3c2-0d1e-7a44-8930-744452089148",
    "00340434161094042557", "DE89370400440532013000",
    "+49 30 1234567", "2026-11-26T10:00:00+00:00", "4111 1111 1111 1112",
])
def test_the_scanner_passes_ids_tracking_numbers_ibans_phones_dates(text: str) -> None:
    assert card_numbers(text) == []


def _refused(r: Any, field: str) -> None:
    assert r.status_code == 422, r.text
    assert field in [e["field"] for e in r.json()["errors"]], r.text
    assert not card_numbers(r.text), "the refusal echoes the card number"


def _send_card_numbers(api: Any, admin: dict[str, str], account_id: str) -> None:
    """Card numbers where gateway tokens belong: every entry point refuses them by field."""
    for pan in PANS:
        body = order_payload([{"method": "card", "gateway": "simulator", "token": pan}], reference=f"PAN-{pan}")
        _refused(api.post("/api/v1/orders", json=body, headers=admin), "payments[0].token")
        _refused(api.post("/api/v1/payment-methods", headers=admin, json={
            "account_id": account_id, "method": "card", "gateway": "simulator", "token": pan}), "token")
        _refused(api.post("/api/v1/payments/authorizations", headers=admin, json={
            "order_summary_id": str(uuid.uuid4()), "account_id": account_id, "currency": "EUR", "amount": "1.00",
            "payment_method": {"method": "card", "gateway": "simulator", "token": pan}}), "payment_method.token")


def _card_flows(db: Database, api: Any, admin: dict[str, str], gateways: Any) -> None:
    """Authorize, capture up front, ship and invoice part, cancel the rest, refund its credit memo."""
    r = api.post("/api/v1/orders", json=order_payload(CARD, reference="WEB-CARD"), headers=admin)
    assert r.status_code == 201, r.text
    order = r.json()
    drain(db, gateways)
    auth = api.get("/api/v1/payments", params={"order": order["id"], "kind": "authorization"},
                   headers=admin).json()["items"][0]
    assert api.post(f"/api/v1/payments/{auth['id']}/capture", json={}, headers=admin).status_code == 201
    fo = fo_id(db, order["id"])
    ship(api, admin, fo, BOLT_M8=400, NUT_M8=3)
    drain(db, gateways)
    cancel_rest(api, admin, fo)
    co = change_order(db, order["id"], "cancel", [(item_ids(db, order["id"])["BOLT-M8"], 100, -350, 0, -67)])
    r = api.post("/api/v1/credit-memos", json={"order": order["number"], "change_orders": [str(co)]}, headers=admin)
    assert r.status_code == 201, r.text
    drain(db, gateways)
    assert invoices(db) == [("INV-2026-000001", "paid", 3261, 3261, 0)]
    assert credit_memos(db) == [("CM-2026-000001", "closed", 417, 417, 0, 0)]


def test_no_card_number_in_the_database_the_logs_or_the_outbox(
    world: Database, sim: Any, gateways: Any, api: Any, admin: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    # given every log record captured from DEBUG up
    caplog.set_level(logging.DEBUG)
    account_id = api.get("/api/v1/accounts/ACME", headers=admin).json()["id"]
    # when card numbers are sent where tokens belong, and the card flows run with a gateway token
    _send_card_numbers(api, admin, account_id)
    _card_flows(world, api, admin, gateways)
    # then the refused card numbers wrote nothing, the flows wrote payments
    assert count(world, PaymentMethod) == 1
    assert count(world, Payment) == 3  # the authorization, its capture, the refund
    # and no column of any table holds a card number
    scanned, in_tables = database_dump(world)
    assert scanned > 500
    assert in_tables == []
    # and no log record, nor any outbox payload
    in_logs = [f"{r.name}:{r.levelname}: {pan}" for r in caplog.records
               for pan in card_numbers(r.getMessage() + (r.exc_text or ""))]
    assert in_logs == []
    with world.read() as s:
        payloads = s.execute(select(OutboxEvent.type, OutboxEvent.data)).all()
    assert len(payloads) > 10
    assert [f"{t}: {pan}" for t, data in payloads for pan in card_numbers(_text(data))] == []
