"""Ordino's intake transaction written out by hand: the SQL, in the order Ordino sends it.

The statements were captured from `POST /api/v1/orders` with an engine event listener (see
tests/bench/test_raw_fidelity.py, which re-captures them and fails when the two drift apart) and
are executed here with the bare driver: psycopg 3 on PostgreSQL, sqlite3 on SQLite. The values are
encoded the way Ordino's column types store them, so both write the same bytes.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Protocol

import orjson

from ordino.bench.workload import LINES, SHIP_TO, SHIPPING_CHARGE, OrderSpec, line_amount_cents
from ordino.kernel.ids import new_id  # the same ids as the product: part of the work

PATH = "/api/v1/orders"
_MICRO = Decimal(10) ** 6


class Cursor(Protocol):
    """What both DB-API cursors (sqlite3, psycopg) offer and the transaction uses."""

    def execute(self, query: Any, params: Any = ..., /) -> Any: ...
    def executemany(self, query: Any, params_seq: Any, /) -> Any: ...
    def fetchone(self) -> Any: ...
    def fetchall(self) -> Any: ...


class Dialect:
    """Statement texts and value encodings of one database."""

    name = "sqlite"

    # -- encodings (sqlite: uuid as 32 hex chars, naive UTC text, 6-place decimals as integers)
    def id(self, value: uuid.UUID) -> Any:
        return value.hex

    def ts(self, value: datetime) -> Any:
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")

    def price(self, value: Decimal) -> Any:
        return int(value * _MICRO)

    def flag(self, value: bool) -> Any:
        return int(value)

    def sql(self, text: str) -> str:
        return text

    true = "1"  # how SQLAlchemy writes `IS true` on this database

    # -- the dialect-specific steps
    def idempotency_lookup(self, cur: Cursor, api_key_id: Any, key: str) -> None:
        cur.execute(
            self.sql('SELECT request_hash, status_code, response_body FROM idempotency_key'
                     ' WHERE api_key_id = ? AND "key" = ?'),
            (api_key_id, key),
        )
        if cur.fetchone() is not None:
            raise RuntimeError("idempotency key reused")

    def order_number(self, cur: Cursor) -> int:
        cur.execute(
            "INSERT INTO number_series (name, last_value) VALUES (?, ?) ON CONFLICT (name)"
            " DO UPDATE SET last_value = (number_series.last_value + ?) RETURNING last_value",
            ("order", 1, 1),
        )
        return int(cur.fetchone()[0])

    def outbox(self, cur: Cursor, row: tuple[Any, ...]) -> None:
        cur.execute(self.sql(INSERT_OUTBOX), row)


class Postgres(Dialect):
    name = "postgresql"

    def id(self, value: uuid.UUID) -> Any:
        return value

    def ts(self, value: datetime) -> Any:
        return value

    def price(self, value: Decimal) -> Any:
        return value

    def flag(self, value: bool) -> Any:
        return value

    def sql(self, text: str) -> str:
        return text.replace("?", "%s")

    true = "true"

    def idempotency_lookup(self, cur: Cursor, api_key_id: Any, key: str) -> None:
        raw = hashlib.sha256(api_key_id.bytes + key.encode()).digest()[:8]
        cur.execute(
            "SELECT pg_try_advisory_xact_lock(%s) AS locked, request_hash, status_code, response_body"
            " FROM (SELECT 1) AS one LEFT JOIN idempotency_key ON api_key_id = %s AND key = %s",
            (int.from_bytes(raw, "big", signed=True), api_key_id, key),
        )
        row = cur.fetchone()
        if not row[0] or row[1] is not None:
            raise RuntimeError("idempotency key locked or reused")

    def order_number(self, cur: Cursor) -> int:
        cur.execute("SELECT nextval('seq_order')")
        return int(cur.fetchone()[0])

    def outbox(self, cur: Cursor, row: tuple[Any, ...]) -> None:
        cur.execute(self.sql(INSERT_OUTBOX) + " RETURNING position", row)
        cur.fetchone()



DIALECTS: dict[str, Dialect] = {"sqlite": Dialect(), "postgresql": Postgres()}

INSERT_ITEMS = (
    "INSERT INTO order_item_summary (order_summary_id, delivery_group_id, line_number, type, product_id,"
    " sku, name, status, unit_price, quantity_ordered, quantity_canceled, quantity_allocated,"
    " quantity_fulfilled, quantity_return_initiated, quantity_returned, line_amount, adjustment_amount,"
    " tax_amount, version, id)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
INSERT_ORDER = (
    "INSERT INTO order_summary (number, account_id, channel_id, external_reference, po_number,"
    " buyer_contact_id, currency, status, pricing, prices_include_tax, tax_mode, tax_notes, ordered_at,"
    " bill_to, payment_instructions, total_product_amount, total_adjustment_amount, total_delivery_amount,"
    " total_tax_amount, grand_total_amount, active_process_exception_count, version, created_by,"
    " created_at, updated_at, id)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (channel_id, external_reference) DO NOTHING RETURNING id"
)
INSERT_GROUP = (
    "INSERT INTO order_delivery_group_summary (order_summary_id, position, delivery_method,"
    " ship_to_name, ship_to_line1, ship_to_line2, ship_to_city, ship_to_postal_code, ship_to_region,"
    " ship_to_country, ship_to_phone, ship_to_email, ship_to_address_id, id)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
INSERT_HISTORY = (
    "INSERT INTO status_history (entity_type, entity_id, from_status, to_status, action, reason, actor, at, id)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
INSERT_OUTBOX = (
    "INSERT INTO outbox_event (id, type, source, subject, time, data, attempts) VALUES (?, ?, ?, ?, ?, ?, ?)"
)
INSERT_IDEMPOTENCY = (
    'INSERT INTO idempotency_key (api_key_id, "key", method, path, request_hash, status_code,'
    " response_body, created_at, id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
    ' ON CONFLICT (api_key_id, "key") DO NOTHING RETURNING id'
)
SELECT_ACCOUNT = "SELECT id, number, status FROM account WHERE number IN (?)"
SELECT_CHANNEL = "SELECT id, code, active FROM sales_channel WHERE code IN (?)"
SELECT_EXISTING = (
    "SELECT id, channel_id, external_reference FROM order_summary WHERE channel_id IN (?) AND external_reference IN (?)"
)
# The approval rules of the account and its ancestors (orders.approvals): the benchmark has none.
SELECT_APPROVAL_RULES = (
    "WITH RECURSIVE account_chain(id, parent_id, number, depth) AS"
    " (SELECT account.id AS id, account.parent_id AS parent_id, account.number AS number, ? AS depth"
    " FROM account WHERE account.id = ?"
    " UNION ALL SELECT parent.id AS id, parent.parent_id AS parent_id, parent.number AS number,"
    " account_chain.depth + ? AS anon_1 FROM account AS parent, account_chain"
    " WHERE parent.id = account_chain.parent_id AND account_chain.depth < ?)"
    " SELECT approval_rule.id, approval_rule.kind, approval_rule.name, approval_rule.amount, approval_rule.currency,"
    " approval_rule.contact_id, approval_rule.skus, account_chain.number"
    " FROM approval_rule JOIN account_chain ON account_chain.id = approval_rule.account_id"
    " WHERE approval_rule.active IS {true} ORDER BY account_chain.depth, approval_rule.id"
)
# The channel's sourcing (inventory.sourcing): the benchmark channel has none, so nothing is reserved.
SELECT_SOURCING = "SELECT mode, target_code FROM channel_sourcing WHERE channel_code = ?"


SELECT_PRODUCTS = (  # one marker per line of the order (workload.LINES)
    "SELECT id, sku, name, active, minimum_quantity, order_multiple, tax_class FROM product"
    " WHERE sku IN (?, ?, ?, ?, ?)"
)


# long: intake's statements one for one and in order, so tests/bench/test_raw_fidelity.py can compare them
def place_order(
    cur: Cursor, d: Dialect, order: OrderSpec, *, channel: str, api_key_id: uuid.UUID, key: str
) -> None:
    """Every statement of one order placement, inside the caller's transaction."""
    key_id = d.id(api_key_id)
    d.idempotency_lookup(cur, key_id, key)
    cur.execute(d.sql(SELECT_ACCOUNT), (order.account,))
    account_id, account_number, _status = cur.fetchone()
    cur.execute(d.sql(SELECT_CHANNEL), (channel,))
    channel_id, channel_code, _active = cur.fetchone()
    skus = [line.sku for line in order.lines]
    assert len(skus) == LINES
    cur.execute(d.sql(SELECT_PRODUCTS), skus)
    products = {row[1]: row for row in cur.fetchall()}
    cur.execute(d.sql(SELECT_EXISTING), (channel_id, order.external_reference))
    if cur.fetchone() is not None:
        raise RuntimeError("order exists")

    now = datetime.now(UTC)
    at = d.ts(now)
    order_id, group_id = new_id(), new_id()
    oid, gid = d.id(order_id), d.id(group_id)
    items: list[tuple[Any, ...]] = []
    product_total = 0
    for line_number, line in enumerate(order.lines, start=1):
        product = products[line.sku]
        amount = line_amount_cents(line)
        product_total += amount
        items.append(
            (oid, gid, line_number, "product", product[0], product[1], product[2], "ordered",
             d.price(Decimal(line.unit_price)), line.quantity, 0, 0, 0, 0, 0, amount, 0, 0, 1,
             d.id(new_id()))
        )
    charge = int(Decimal(SHIPPING_CHARGE) * 100)
    charge_row = (oid, gid, len(items) + 1, "delivery_charge", None, None, "Shipping: standard", "ordered",
                  d.price(Decimal(SHIPPING_CHARGE)), 1, 0, 0, 0, 0, 0, charge, 0, 0, 1, d.id(new_id()))
    number = f"SO-{d.order_number(cur):06d}"
    payments = orjson.dumps([{"method": "card", "gateway": "simulator", "token": "tok_visa", "amount": None}])
    grand_total = product_total + charge
    cur.execute(
        d.sql(INSERT_ORDER),
        (number, account_id, channel_id, order.external_reference, f"PO-{order.external_reference}",
         None, "EUR", "created", "order", d.flag(False), "given", "null",
         d.ts(datetime(2026, 11, 26, 10, tzinfo=UTC)),
         "null", payments.decode(), product_total, 0, charge, 0, grand_total, 0, 1, "admin:bench admin",
         at, at, oid),
    )
    if cur.fetchone() is None:
        raise RuntimeError("order exists")
    cur.execute(
        d.sql(INSERT_GROUP),
        (oid, 1, "standard", SHIP_TO["name"], SHIP_TO["line1"], None, SHIP_TO["city"],
         SHIP_TO["postal_code"], None, SHIP_TO["country"], None, None, None, gid),
    )
    cur.executemany(d.sql(INSERT_ITEMS), [*items, charge_row])
    cur.execute(
        d.sql(INSERT_HISTORY),
        ("order", oid, None, "created", "create", None, "admin:bench admin", at, d.id(new_id())),
    )
    cur.execute(d.sql(SELECT_APPROVAL_RULES.format(true=d.true)), (0, account_id, 1, 32))
    if cur.fetchall():
        raise RuntimeError("the benchmark accounts have approval rules; the raw SQL does not evaluate them")
    cur.execute(d.sql(SELECT_SOURCING), (channel_code,))
    if cur.fetchone() is not None:
        raise RuntimeError("the benchmark channel reserves stock at intake; the raw SQL does not")
    total_text = f"{grand_total // 100}.{grand_total % 100:02d}"
    event = {"id": str(order_id), "number": number, "account": account_number, "channel": channel_code,
             "currency": "EUR", "grand_total": total_text}
    d.outbox(cur, (d.id(new_id()), "order.created", "/ordino", f"order/{order_id}", d.ts(datetime.now(UTC)),
                   orjson.dumps(event).decode(), 0))
    body = _response_body(order_id, number, order, items, charge_row, grand_total)
    cur.execute(
        d.sql(INSERT_IDEMPOTENCY),
        (key_id, key, "POST", PATH, hashlib.sha256(body).hexdigest(), 201, body, d.ts(datetime.now(UTC)),
         d.id(new_id())),
    )
    if cur.fetchone() is None:
        raise RuntimeError("idempotency key stored concurrently")


def _response_body(
    order_id: uuid.UUID, number: str, order: OrderSpec, items: Sequence[tuple[Any, ...]],
    charge_row: tuple[Any, ...], grand_total: int,
) -> bytes:
    """A stand-in for the stored response document, of about the same size as Ordino's."""
    lines = [
        {"id": str(row[-1]), "line_number": row[2], "type": row[3], "sku": row[5], "name": row[6],
         "status": "ordered", "unit_price": line.unit_price,
         "quantities": {"ordered": line.quantity, "canceled": 0, "allocated": 0, "fulfilled": 0,
                        "return_initiated": 0, "returned": 0, "quantity": line.quantity,
                        "available_to_fulfill": line.quantity, "available_to_cancel": line.quantity,
                        "available_to_return": 0},
         "line_amount": row[15], "adjustment_amount": "0.00", "total_line_amount": row[15],
         "tax_amount": "0.00", "adjustments": [], "tax_lines": []}
        for row, line in zip(items, order.lines, strict=True)
    ]
    lines.append({"id": str(charge_row[-1]), "line_number": charge_row[2], "type": "delivery_charge",
                  "sku": None, "name": charge_row[6], "status": "ordered", "unit_price": SHIPPING_CHARGE,
                  "quantities": {"ordered": 1, "canceled": 0, "allocated": 0, "fulfilled": 0,
                                 "return_initiated": 0, "returned": 0, "quantity": 1,
                                 "available_to_fulfill": 1, "available_to_cancel": 1, "available_to_return": 0},
                  "line_amount": charge_row[15], "adjustment_amount": "0.00", "total_line_amount": charge_row[15],
                  "tax_amount": "0.00", "adjustments": [], "tax_lines": []})
    return orjson.dumps({
        "id": str(order_id), "number": number, "status": "created",
        "available_actions": ["approve", "hold", "cancel"], "account": order.account, "channel": "web",
        "external_reference": order.external_reference, "po_number": f"PO-{order.external_reference}",
        "currency": "EUR", "pricing": "order", "prices_include_tax": False, "tax": "given", "tax_notes": [],
        "ordered_at": "2026-11-26T10:00:00Z",
        "bill_to": None, "payments": [{"method": "card", "gateway": "simulator", "token": "tok_visa"}],
        "totals": {"grand_total": grand_total},
        "delivery_groups": [{"id": str(charge_row[1]), "delivery_method": "standard", "ship_to": SHIP_TO,
                             "items": lines}],
        "active_process_exception_count": 0, "version": 1,
    })
