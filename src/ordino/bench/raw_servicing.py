"""A cancel or blind return of units of one line written out by hand with the bare driver: the rows
servicing writes for it (change order, item, its tax lines, an order_item_summary_change row, the
conditional bucket update, the item's status, a credit memo with its line, line taxes and history,
the order's new version and two outbox events), without Ordino's planning, money reads or
validation. Amounts are the item's proportional share (servicing takes exact remaining shares).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import orjson

from ordino.bench.raw_sql import INSERT_HISTORY, Cursor, Dialect
from ordino.kernel.ids import new_id
from ordino.orders.domain import Buckets

ACTOR = "admin:bench admin"
KINDS = {  # kind: (stage, the conditional bucket update, event)
    "cancel": ("pre_fulfillment", "UPDATE order_item_summary SET quantity_canceled = quantity_canceled + ?,"
               " version = version + 1 WHERE id = ? AND quantity_ordered - quantity_canceled - quantity_allocated >= ?",
               "order.canceled"),
    "return": ("post_fulfillment", "UPDATE order_item_summary SET quantity_return_initiated ="
               " quantity_return_initiated + ?, quantity_returned = quantity_returned + ?, version = version + 1"
               " WHERE id = ? AND quantity_fulfilled - quantity_return_initiated >= ?", "order.returned"),
}
SELECT_ORDER = "SELECT id, number, account_id, currency FROM order_summary WHERE id = ?"
SELECT_ITEM = (
    "SELECT id, type, sku, name, unit_price, quantity_ordered, quantity_canceled, quantity_allocated,"
    " quantity_fulfilled, quantity_return_initiated, quantity_returned, line_amount, status"
    " FROM order_item_summary WHERE order_summary_id = ? AND line_number = ?"
)
SELECT_TAXES = (
    "SELECT id, name, rate, category, jurisdiction, exemption_reason_code, amount FROM order_item_tax_line"
    " WHERE order_item_summary_id = ? AND change_order_id IS NULL"
)
INSERT_CO = (
    "INSERT INTO change_order (order_summary_id, number, kind, status, reason, total_product_amount,"
    " total_adjustment_amount, total_delivery_amount, total_tax_amount, grand_total_amount, created_by, created_at, id)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
INSERT_CO_ITEM = (
    "INSERT INTO change_order_item (change_order_id, order_item_summary_id, quantity, line_amount, adjustment_amount,"
    " tax_amount, id) VALUES (?, ?, ?, ?, ?, ?, ?)"
)
INSERT_CO_TAX = (
    "INSERT INTO order_item_tax_line (order_item_summary_id, adjustment_line_id, change_order_id, name, rate,"
    " amount, taxable_amount, jurisdiction, category, exemption_reason_code, id)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
INSERT_CHANGE = (
    "INSERT INTO order_item_summary_change (order_summary_id, order_item_summary_id, change_order_item_id,"
    " change_type, stage, reason, quantity, created_at, id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
INSERT_CM = (
    "INSERT INTO credit_memo (number, status, order_summary_id, account_id, currency, prices_include_tax, issued_at,"
    " credit_memo_date, net_amount, tax_amount, total_amount, refunded_amount, not_charged_amount, balance_amount,"
    " version, created_by, created_at, updated_at, id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
INSERT_CM_CO = "INSERT INTO credit_memo_change_order (change_order_id, credit_memo_id) VALUES (?, ?)"
INSERT_CM_LINE = (
    "INSERT INTO credit_memo_line (credit_memo_id, line_number, change_order_id, change_order_item_id,"
    " order_item_summary_id, type, sku, name, quantity, unit_price, line_amount, adjustment_amount, tax_amount,"
    " net_amount, invoiced, id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
INSERT_CM_TAX = (
    "INSERT INTO credit_memo_line_tax (credit_memo_line_id, tax_line_id, name, rate, category, jurisdiction,"
    " exemption_reason_code, taxable_amount, amount, id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
TOUCH_ORDER = "UPDATE order_summary SET version = version + 1, updated_at = ? WHERE id = ?"
SET_STATUS = "UPDATE order_item_summary SET status = ? WHERE id = ?"
COUNTER = ("INSERT INTO number_series (name, last_value) VALUES (?, ?) ON CONFLICT (name)"
           " DO UPDATE SET last_value = (number_series.last_value + ?) RETURNING last_value")


def _counter(cur: Cursor, d: Dialect, name: str) -> int:
    cur.execute(d.sql(COUNTER), (name, 1, 1))
    return int(cur.fetchone()[0])


def _change_order_number(cur: Cursor, d: Dialect) -> str:
    if d.name == "postgresql":
        cur.execute("SELECT nextval('seq_change_order')")
        return f"CO-{int(cur.fetchone()[0]):06d}"
    return f"CO-{_counter(cur, d, 'change_order'):06d}"


def _emit(cur: Cursor, d: Dialect, kind: str, subject: str, at: Any, data: dict[str, Any]) -> None:
    d.outbox(cur, (d.id(new_id()), kind, "ordino", subject, at, orjson.dumps(data).decode(), 0))


def _money(minor: int) -> str:
    sign = "-" if minor < 0 else ""
    return f"{sign}{abs(minor) // 100}.{abs(minor) % 100:02d}"


# long: one transaction read top to bottom, in the order servicing writes it
def service_line(cur: Cursor, d: Dialect, kind: str, order_id: uuid.UUID, line_number: int, quantity: int) -> None:
    """Cancel or return `quantity` units of one line, inside the caller's transaction."""
    stage, bucket, event = KINDS[kind]
    now = datetime.now(UTC)
    at = d.ts(now)
    cur.execute(d.sql(SELECT_ORDER + (" FOR UPDATE" if d.name == "postgresql" else "")), (d.id(order_id),))
    oid, order_number, account_id, currency = cur.fetchone()
    cur.execute(d.sql(SELECT_ITEM), (oid, line_number))
    item = cur.fetchone()
    item_id, item_type, sku, name, unit_price, ordered = item[:6]
    cur.execute(d.sql(SELECT_TAXES), (item_id,))
    taxes = [(row, row[6] * quantity // ordered) for row in cur.fetchall()]
    line = item[11] * quantity // ordered
    tax = sum(t for _, t in taxes)
    co_id, ci_id, cm_id, cm_line_id = (d.id(new_id()) for _ in range(4))
    co_number = _change_order_number(cur, d)
    cur.execute(d.sql(INSERT_CO), (oid, co_number, kind, "submitted", "bench", -line, 0, 0, -tax, -line - tax,
                                   ACTOR, at, co_id))
    cur.execute(d.sql(INSERT_CO_ITEM), (co_id, item_id, quantity, -line, 0, -tax, ci_id))
    cur.executemany(d.sql(INSERT_CO_TAX), [(item_id, None, co_id, r[1], r[2], -t, None, r[4], r[3], r[5],
                                            d.id(new_id())) for r, t in taxes if t])
    cur.execute(d.sql(INSERT_CHANGE), (oid, item_id, ci_id, kind, stage, "bench", quantity, at, d.id(new_id())))
    bumps = (quantity, quantity) if kind == "return" else (quantity,)
    cur.execute(d.sql(bucket), (*bumps, item_id, quantity))
    if cur.rowcount != 1:
        raise RuntimeError(f"line {line_number} has fewer than {quantity} units to {kind}")
    canceled, allocated, fulfilled, initiated, returned = item[6:11]
    if kind == "cancel":
        canceled += quantity
    else:
        initiated, returned = initiated + quantity, returned + quantity
    status = Buckets(ordered, canceled, allocated, fulfilled, initiated, returned).status()
    if status != item[12]:
        cur.execute(d.sql(SET_STATUS), (status, item_id))
    cm_number = f"CM-{now.year}-{_counter(cur, d, f'credit_memo:{now.year}'):06d}"
    cur.execute(d.sql(INSERT_CM), (cm_number, "open", oid, account_id, currency, d.flag(False), at,
                                   now.date() if d.name == "postgresql" else now.date().isoformat(),
                                   line, tax, line + tax, 0, 0, line + tax, 1, ACTOR, at, at, cm_id))
    cur.execute(d.sql(INSERT_CM_CO), (co_id, cm_id))
    cur.execute(d.sql(INSERT_CM_LINE), (cm_id, 1, co_id, ci_id, item_id, item_type, sku, name, quantity, unit_price,
                                        line, 0, tax, line, d.flag(kind == "return"), cm_line_id))
    cur.executemany(d.sql(INSERT_CM_TAX), [(cm_line_id, r[0], r[1], r[2], r[3], r[4], r[5], line, t,
                                            d.id(new_id())) for r, t in taxes if t])
    cur.execute(d.sql(INSERT_HISTORY), ("credit_memo", cm_id, None, "open", "create", None, ACTOR, at,
                                        d.id(new_id())))
    cm_uuid, oid_uuid = (uuid.UUID(hex=v) if isinstance(v, str) else v for v in (cm_id, oid))
    account = str(uuid.UUID(hex=account_id) if isinstance(account_id, str) else account_id)
    co_uuid = uuid.UUID(hex=co_id) if isinstance(co_id, str) else co_id
    _emit(cur, d, "credit_memo.created", f"credit_memo/{cm_uuid}", at, {
        "id": str(cm_uuid), "order_id": str(oid_uuid), "account_id": account, "change_orders": [str(co_uuid)],
        "currency": currency, "total": _money(line + tax), "document_format": "pdf"})
    cur.execute(d.sql(TOUCH_ORDER), (at, oid))
    _emit(cur, d, event, f"order/{oid_uuid}", at, {
        "order_id": str(oid_uuid), "number": order_number, "account_id": account, "change_orders": [co_number],
        "credit_memo": cm_number, "currency": currency, "total": _money(-line - tax),
        "lines": [{"line_number": line_number, "quantity": quantity}]})
