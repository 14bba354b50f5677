"""Ordino's intake transaction written out by hand: the SQL, in the order Ordino sends it.

The statements were captured from `POST /api/v1/orders` with an engine event listener (see
tests/bench/test_raw_fidelity.py, which re-captures them and fails when the two drift apart) and
are executed here with the bare driver: psycopg 3 on PostgreSQL, sqlite3 on SQLite. The values are
encoded the way Ordino's column types store them, so both write the same bytes.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Protocol

import orjson

from ordino.bench.workload import (
    LINES,
    SHIP_TO,
    SHIPPING_CHARGE,
    VAT_CATEGORY,
    VAT_JURISDICTION,
    VAT_NAME,
    VAT_RATE,
    OrderSpec,
    line_amount_cents,
    vat_cents,
)
from ordino.kernel.ids import new_id  # the same ids as the product: part of the work

PATH = "/api/v1/orders"
_MICRO = Decimal(10) ** 6


class Cursor(Protocol):
    """What both DB-API cursors (sqlite3, psycopg) offer and the transaction uses."""

    def execute(self, query: Any, params: Any = ..., /) -> Any: ...
    def executemany(self, query: Any, params_seq: Any, /) -> Any: ...
    def fetchone(self) -> Any: ...
    def fetchall(self) -> Any: ...
    @property
    def rowcount(self) -> int: ...


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

    def decimal(self, value: Any) -> Decimal:
        """A 6-place decimal column as read back (the inverse of `price`)."""
        return Decimal(value) / _MICRO

    def flag(self, value: bool) -> Any:
        return int(value)

    def sql(self, text: str) -> str:
        return text

    true, false = "1", "0"  # how SQLAlchemy writes `IS true` / `IS false` on this database

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

    def decimal(self, value: Any) -> Decimal:
        return Decimal(value)

    def flag(self, value: bool) -> Any:
        return value

    def sql(self, text: str) -> str:
        return text.replace("?", "%s")

    true, false = "true", "false"

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
    " ship_to_county, ship_to_country, ship_to_phone, ship_to_email, ship_to_address_id, id)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
INSERT_ADJUSTMENTS = (
    "INSERT INTO order_item_adjustment_line (order_item_summary_id, change_order_id, name, source, reference,"
    " amount, id) VALUES (?, ?, ?, ?, ?, ?, ?)"
)
INSERT_TAXES = (
    "INSERT INTO order_item_tax_line (order_item_summary_id, adjustment_line_id, change_order_id, name, rate,"
    " amount, taxable_amount, jurisdiction, category, exemption_reason_code, id)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
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


@dataclass(frozen=True, slots=True)
class Refs:
    """What the reads at the start of every placement found (encoded for the driver)."""

    key_id: Any
    key: str
    account_id: Any
    account_number: str
    channel_id: Any
    channel_code: str
    products: dict[str, Any]  # by SKU: (id, sku, name, active, minimum_quantity, order_multiple, tax_class)


@dataclass(frozen=True, slots=True)
class Written:
    """The rows of one order as intake builds them; items end with the shipping charge."""

    pricing: str
    tax_mode: str
    tax_notes: str  # JSON text
    items: list[tuple[Any, ...]]
    adjustments: list[tuple[Any, ...]]
    taxes: list[tuple[Any, ...]]
    unit_prices: list[str]  # of the items, as the response shows them
    totals: tuple[int, int, int, int, int]  # product, adjustment, delivery, tax, grand total


def read_refs(
    cur: Cursor, d: Dialect, order: OrderSpec, *, channel: str, api_key_id: uuid.UUID, key: str
) -> Refs:
    """The idempotency lookup and the reference reads (account, channel, products, existing)."""
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
    return Refs(key_id, key, account_id, account_number, channel_id, channel_code, products)


def place_order(
    cur: Cursor, d: Dialect, order: OrderSpec, *, channel: str, api_key_id: uuid.UUID, key: str
) -> None:
    """Every statement of one order placement with order pricing and the sender's tax lines,
    inside the caller's transaction."""
    refs = read_refs(cur, d, order, channel=channel, api_key_id=api_key_id, key=key)
    oid, gid = d.id(new_id()), d.id(new_id())
    items: list[tuple[Any, ...]] = []
    taxes: list[tuple[Any, ...]] = []
    product_total = tax_total = 0
    for line_number, line in enumerate(order.lines, start=1):
        product = refs.products[line.sku]
        amount = line_amount_cents(line)
        vat = vat_cents(amount)
        product_total += amount
        tax_total += vat
        item_id = d.id(new_id())
        items.append(
            (oid, gid, line_number, "product", product[0], product[1], product[2], "ordered",
             d.price(Decimal(line.unit_price)), line.quantity, 0, 0, 0, 0, 0, amount, 0, vat, 1, item_id)
        )
        taxes.append(given_tax_row(d, item_id, vat))
    charge = int(Decimal(SHIPPING_CHARGE) * 100)
    shipping_vat = vat_cents(charge)
    tax_total += shipping_vat
    items.append(charge_row(d, oid, gid, len(items) + 1, charge, shipping_vat))
    taxes.append(given_tax_row(d, items[-1][-1], shipping_vat))
    rows = Written("order", "given", "null", items, [], taxes,
                   [ln.unit_price for ln in order.lines] + [SHIPPING_CHARGE],
                   (product_total, 0, charge, tax_total, product_total + charge + tax_total))
    write_order(cur, d, order, refs, rows)


def given_tax_row(d: Dialect, item_id: Any, amount: int) -> tuple[Any, ...]:
    """A tax line as the sender gave it (no taxable amount: the sender does not send one)."""
    return (item_id, None, None, VAT_NAME, d.price(VAT_RATE), amount, None, VAT_JURISDICTION, VAT_CATEGORY, None,
            d.id(new_id()))


def charge_row(d: Dialect, oid: Any, gid: Any, line_number: int, charge: int, tax: int = 0) -> tuple[Any, ...]:
    return (oid, gid, line_number, "delivery_charge", None, None, "Shipping: standard", "ordered",
            d.price(Decimal(charge) / 100), 1, 0, 0, 0, 0, 0, charge, 0, tax, 1, d.id(new_id()))


def write_order(cur: Cursor, d: Dialect, order: OrderSpec, refs: Refs, rows: Written) -> None:
    """The writes of one placement (and the approval rules and sourcing reads among them)."""
    at = d.ts(datetime.now(UTC))
    oid, gid = rows.items[0][0], rows.items[0][1]
    number = f"SO-{d.order_number(cur):06d}"
    payments = orjson.dumps([{"method": "card", "gateway": "simulator", "token": "tok_visa", "amount": None}])
    product_total, adjustment_total, delivery_total, tax_total, grand_total = rows.totals
    cur.execute(
        d.sql(INSERT_ORDER),
        (number, refs.account_id, refs.channel_id, order.external_reference, f"PO-{order.external_reference}",
         None, "EUR", "created", rows.pricing, d.flag(False), rows.tax_mode, rows.tax_notes,
         d.ts(datetime(2026, 11, 26, 10, tzinfo=UTC)),
         "null", payments.decode(), product_total, adjustment_total, delivery_total, tax_total, grand_total, 0, 1,
         "admin:bench admin", at, at, oid),
    )
    if cur.fetchone() is None:
        raise RuntimeError("order exists")
    cur.execute(
        d.sql(INSERT_GROUP),
        (oid, 1, "standard", SHIP_TO["name"], SHIP_TO["line1"], None, SHIP_TO["city"],
         SHIP_TO["postal_code"], None, None, SHIP_TO["country"], None, None, None, gid),
    )
    cur.executemany(d.sql(INSERT_ITEMS), rows.items)
    if rows.adjustments:
        cur.executemany(d.sql(INSERT_ADJUSTMENTS), rows.adjustments)
    if rows.taxes:
        cur.executemany(d.sql(INSERT_TAXES), rows.taxes)
    cur.execute(
        d.sql(INSERT_HISTORY),
        ("order", oid, None, "created", "create", None, "admin:bench admin", at, d.id(new_id())),
    )
    cur.execute(d.sql(SELECT_APPROVAL_RULES.format(true=d.true)), (0, refs.account_id, 1, 32))
    if cur.fetchall():
        raise RuntimeError("the benchmark accounts have approval rules; the raw SQL does not evaluate them")
    cur.execute(d.sql(SELECT_SOURCING), (refs.channel_code,))
    if cur.fetchone() is not None:
        raise RuntimeError("the benchmark channel reserves stock at intake; the raw SQL does not")
    order_id = uuid.UUID(hex=oid) if isinstance(oid, str) else oid
    total_text = f"{grand_total // 100}.{grand_total % 100:02d}"
    event = {"id": str(order_id), "number": number, "account": refs.account_number, "channel": refs.channel_code,
             "currency": "EUR", "grand_total": total_text}
    d.outbox(cur, (d.id(new_id()), "order.created", "/ordino", f"order/{order_id}", d.ts(datetime.now(UTC)),
                   orjson.dumps(event).decode(), 0))
    body = _response_body(order_id, number, order, rows)
    cur.execute(
        d.sql(INSERT_IDEMPOTENCY),
        (refs.key_id, refs.key, "POST", PATH, hashlib.sha256(body).hexdigest(), 201, body,
         d.ts(datetime.now(UTC)), d.id(new_id())),
    )
    if cur.fetchone() is None:
        raise RuntimeError("idempotency key stored concurrently")


def _response_body(order_id: uuid.UUID, number: str, order: OrderSpec, rows: Written) -> bytes:
    """A stand-in for the stored response document, of about the same size as Ordino's."""
    by_item: dict[Any, list[dict[str, Any]]] = {}
    for adj in rows.adjustments:
        by_item.setdefault(adj[0], []).append(
            {"id": str(adj[-1]), "name": adj[2], "source": adj[3], "reference": adj[4], "amount": adj[5]})
    taxed: dict[Any, list[dict[str, Any]]] = {}
    for t in rows.taxes:
        taxed.setdefault(t[0], []).append(
            {"id": str(t[-1]), "name": t[3], "rate": str(t[4]), "jurisdiction": t[7], "category": t[8],
             "exemption_reason_code": None, "taxable_amount": t[6], "amount": t[5]})
    lines = [
        {"id": str(row[-1]), "line_number": row[2], "type": row[3], "sku": row[5], "name": row[6],
         "status": "ordered", "unit_price": price,
         "quantities": {"ordered": row[9], "canceled": 0, "allocated": 0, "fulfilled": 0,
                        "return_initiated": 0, "returned": 0, "quantity": row[9],
                        "available_to_fulfill": row[9], "available_to_cancel": row[9], "available_to_return": 0},
         "line_amount": row[15], "adjustment_amount": row[16], "total_line_amount": row[15] + row[16],
         "tax_amount": row[17], "adjustments": by_item.get(row[-1], []), "tax_lines": taxed.get(row[-1], [])}
        for row, price in zip(rows.items, rows.unit_prices, strict=True)
    ]
    product, adjustment, delivery, tax, grand_total = rows.totals
    return orjson.dumps({
        "id": str(order_id), "number": number, "status": "created",
        "available_actions": [], "account": order.account, "channel": "web",
        "external_reference": order.external_reference, "po_number": f"PO-{order.external_reference}",
        "currency": "EUR", "pricing": rows.pricing, "prices_include_tax": False, "tax": rows.tax_mode,
        "tax_notes": [], "ordered_at": "2026-11-26T10:00:00Z",
        "bill_to": None, "payments": [{"method": "card", "gateway": "simulator", "token": "tok_visa"}],
        "totals": {"product": product, "adjustment": adjustment, "delivery": delivery, "tax": tax,
                   "grand_total": grand_total},
        "delivery_groups": [{"id": str(rows.items[0][1]), "delivery_method": "standard", "ship_to": SHIP_TO,
                             "items": lines}],
        "active_process_exception_count": 0, "version": 1,
    }, default=str)
