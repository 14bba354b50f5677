"""The order summary document of the API, built from row mappings (fresh or loaded alike)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from ordino.kernel.money import format_minor, format_price
from ordino.orders.domain import Buckets, available_actions

Row = Mapping[Any, Any]  # also SQLAlchemy's RowMapping, keyed by name or column

_ADDRESS_FIELDS = (
    "name", "line1", "line2", "city", "postal_code", "region", "county", "country", "phone", "email",
)


def _money(minor: int, currency: str) -> str:
    return format_minor(int(minor), currency)


def _rate(value: Decimal | None) -> str | None:
    """A rate in its canonical text ("0.19"), whether it comes from the request or the database
    (which gives it back with 6 places)."""
    return None if value is None else format(value.normalize(), "f")


_TOTALS = ("product", "adjustment", "delivery", "tax", "grand_total")


def _totals(header: Row, currency: str, changes: Row | None) -> dict[str, str]:
    """Original totals, plus the change orders' when given (totals are derived, never typed in)."""
    def column(name: str) -> str:
        return "grand_total_amount" if name == "grand_total" else f"total_{name}_amount"

    return {
        k: _money(header[column(k)] + (int(changes[column(k)] or 0) if changes is not None else 0), currency)
        for k in _TOTALS
    }


def _buckets(item: Row) -> Buckets:
    return Buckets(
        ordered=item["quantity_ordered"],
        canceled=item["quantity_canceled"],
        allocated=item["quantity_allocated"],
        fulfilled=item["quantity_fulfilled"],
        return_initiated=item["quantity_return_initiated"],
        returned=item["quantity_returned"],
    )


def _actions(status: str, items: Sequence[Row], changed_items: Mapping[Any, int]) -> list[str]:
    return available_actions(status, [
        (_buckets(i), i["line_amount"] + i["adjustment_amount"] + changed_items.get(i["id"], 0))
        for i in items if i["type"] == "product"
    ])


def _item(item: Row, currency: str, adjustments: list[Row], taxes: list[Row]) -> dict[str, Any]:
    b = _buckets(item)
    total = item["line_amount"] + item["adjustment_amount"]
    return {
        "id": item["id"],
        "line_number": item["line_number"],
        "type": item["type"],
        "sku": item["sku"],
        "name": item["name"],
        "status": item["status"],
        "unit_price": format_price(item["unit_price"], currency),
        "quantities": {
            "ordered": b.ordered,
            "canceled": b.canceled,
            "allocated": b.allocated,
            "fulfilled": b.fulfilled,
            "return_initiated": b.return_initiated,
            "returned": b.returned,
            "quantity": b.quantity,
            "available_to_fulfill": b.available_to_fulfill,
            "available_to_cancel": b.available_to_cancel,
            "available_to_return": b.available_to_return,
        },
        "line_amount": _money(item["line_amount"], currency),
        "adjustment_amount": _money(item["adjustment_amount"], currency),
        "total_line_amount": _money(total, currency),
        "tax_amount": _money(item["tax_amount"], currency),
        "adjustments": [
            {"id": a["id"], "name": a["name"], "source": a["source"], "reference": a["reference"],
             "amount": _money(a["amount"], currency)}
            for a in adjustments
        ],
        "tax_lines": [
            {"id": t["id"], "name": t["name"], "rate": _rate(t["rate"]), "jurisdiction": t["jurisdiction"],
             "category": t["category"], "exemption_reason_code": t["exemption_reason_code"],
             "taxable_amount": None if t["taxable_amount"] is None else _money(t["taxable_amount"], currency),
             "amount": _money(t["amount"], currency)}
            for t in taxes
        ],
    }


def order_document(
    header: Row,
    groups: Sequence[Row],
    items: Sequence[Row],
    adjustments: Sequence[Row],
    taxes: Sequence[Row],
    account_number: str,
    channel_code: str,
    changes: Row | None = None,
    changed_items: Mapping[Any, int] | None = None,
) -> dict[str, Any]:
    """`changes`: the sums of the change orders' totals (none yet when absent); `changed_items`:
    per item, the net its change orders took off."""
    currency = header["currency"]
    changed_items = changed_items or {}
    adj_by_item: dict[Any, list[Row]] = defaultdict(list)
    for a in adjustments:
        adj_by_item[a["order_item_summary_id"]].append(a)
    tax_by_item: dict[Any, list[Row]] = defaultdict(list)
    for t in taxes:
        tax_by_item[t["order_item_summary_id"]].append(t)
    items_by_group: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for item in items:
        items_by_group[item["delivery_group_id"]].append(
            _item(item, currency, adj_by_item[item["id"]], tax_by_item[item["id"]])
        )
    return {
        "id": header["id"],
        "number": header["number"],
        "status": header["status"],
        "available_actions": _actions(header["status"], items, changed_items),
        "account": account_number,
        "channel": channel_code,
        "external_reference": header["external_reference"],
        "po_number": header["po_number"],
        "currency": currency,
        "pricing": header["pricing"],
        "prices_include_tax": header["prices_include_tax"],
        "tax": header["tax_mode"],
        "tax_notes": header["tax_notes"] or [],
        "ordered_at": header["ordered_at"],
        "bill_to": header["bill_to"],
        "payments": header["payment_instructions"],
        "totals": _totals(header, currency, changes),
        "original_totals": _totals(header, currency, None),
        "delivery_groups": [
            {
                "id": g["id"],
                "delivery_method": g["delivery_method"],
                "ship_to": {f: g[f"ship_to_{f}"] for f in _ADDRESS_FIELDS},
                "items": items_by_group[g["id"]],
            }
            for g in groups
        ],
        "active_process_exception_count": header["active_process_exception_count"],
        "payment_hold": bool(header.get("payment_hold")),
        "version": header["version"],
        "created_at": header["created_at"],
        "updated_at": header["updated_at"],
    }


def order_row(r: Any) -> dict[str, Any]:
    """One line of the order list."""
    return {
        "id": r.id,
        "number": r.number,
        "status": r.status,
        "account": r.account,
        "channel": r.channel,
        "external_reference": r.external_reference,
        "po_number": r.po_number,
        "currency": r.currency,
        "grand_total": _money(r.grand_total_amount, r.currency),
        "ordered_at": r.ordered_at,
    }
