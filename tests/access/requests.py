"""A valid request of every operation for a side of the world (A or B): path parameters name that
side's records (or shared ones), bodies name that side's account and records. An operation that
deletes gets a fresh record per request; an update sends the record's current version."""

from __future__ import annotations

import io
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session

from ordino.kernel import clock
from ordino.kernel.outbox import emit
from ordino.kernel.worker import Event
from ordino.webhooks.models import WebhookDelivery
from ordino.webhooks.service import fan_out
from tests.access.world import DAY, World
from tests.invoicing.support import order_payload

Body = Callable[[World, str], Any]


@dataclass
class Request:
    method: str
    path: str  # concrete, under /api/v1
    json: Any = None
    params: dict[str, str] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    content: bytes | None = None
    data: dict[str, str] | None = None
    files: dict[str, tuple[str, bytes, str]] | None = None


# (first path segment, parameter) → the record of the side, or a shared one when it starts with "="
PARAMS: dict[tuple[str, str], str] = {
    ("orders", "order_ref"): "order", ("orders", "ref"): "order",
    ("accounts", "ref"): "number", ("accounts", "number"): "number",
    ("accounts", "contact_id"): "contact", ("accounts", "address_id"): "address",
    ("products", "ref"): "=BOLT-M8", ("channels", "ref"): "=web", ("channels", "code"): "=web",
    ("locations", "ref"): "=WH-BER", ("locations", "day"): "=" + DAY, ("legal-entities", "ref"): "=ORDINO-DE",
    ("location-groups", "ref"): "=NORTH", ("inventory", "import_id"): "@inventory_import",
    ("reservations", "reference"): "held_item",
    ("price-books", "ref"): "=LIST-EUR", ("promotions", "ref"): "=AUTUMN", ("promotions", "code"): "=AUTUMN-1",
    ("payment-methods", "method_id"): "payment_method", ("payment-summaries", "summary_id"): "summary",
    ("payments", "payment_id"): "authorization", ("fulfillment-orders", "ref"): "fulfillment_order",
    ("routing", "channel"): "=web", ("invoices", "ref"): "invoice", ("credit-memos", "ref"): "credit_memo",
    ("remittances", "remittance_id"): "remittance", ("approvals", "request_id"): "approval",
    ("approval-rules", "rule_id"): "rule", ("quotes", "ref"): "quote",
    ("process-exceptions", "exception_id"): "exception", ("process-exceptions", "action"): "=triage",
    ("contacts", "contact_id"): "contact", ("return-orders", "ref"): "return_order",
    ("flows", "name"): "=order-activation",
}


def fill(w: World, template: str, side: str, **given: str) -> str:
    """The template's parameters replaced by the side's records (`given` first)."""
    segment = template.strip("/").split("/")[0]

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in given:
            return given[name]
        source = PARAMS[(segment, name)]
        if source.startswith("="):
            return source[1:]
        if source.startswith("@"):
            return w.shared[source[1:]]
        return w.of(side, source)

    return re.sub(r"\{([^}]+)\}", value, template)


def _number(w: World, side: str) -> str:
    return w.of(side, "number")


def _contact(w: World, side: str) -> dict[str, str]:
    return {"contact_id": w.ok("POST", f"/accounts/{_number(w, side)}/contacts",
                               {"first_name": "Fresh", "last_name": "Contact"})["id"]}


def _address(w: World, side: str) -> dict[str, str]:
    return {"address_id": w.ok("POST", f"/accounts/{_number(w, side)}/addresses", {
        "kind": "billing", "name": "Billing", "line1": "Hafenstraße 2", "city": "Hamburg", "country": "DE"})["id"]}


def _rule(w: World, side: str) -> dict[str, str]:
    return {"rule_id": w.ok("POST", "/approval-rules", {
        "account": _number(w, side), "kind": "order_total", "name": w.next("Rule"), "amount": "9000.00",
        "currency": "EUR"})["id"]}


def _key(w: World, side: str) -> dict[str, str]:
    return {"key_id": w.ok("POST", "/api-keys", {"name": w.next("key"), "role": "agent"})["id"]}


def _webhook(w: World, side: str) -> dict[str, str]:
    return {"webhook_id": w.ok("POST", "/webhooks", {"url": "https://hooks.example.com/ordino",
                                                      "event_types": ["order.*"]})["id"]}


def _delivery(w: World, side: str) -> dict[str, str]:
    """A webhook with a delivery of an event fanned out to it."""
    hook = _webhook(w, side)

    def work(session: Session) -> str:
        data = {"id": w.next("order")}
        event_id = emit(session, "order.created", None, data)
        fan_out(session, Event(event_id, "order.created", None, clock.now(), data))
        return str(session.execute(select(WebhookDelivery.id).where(
            WebhookDelivery.subscription_id == uuid.UUID(hook["webhook_id"]))).scalar_one())

    return {**hook, "delivery_id": w.db.transaction(work)}


def _assigned(w: World, side: str) -> dict[str, str]:
    code = w.next("CONTRACT")
    w.ok("POST", "/price-books", {"code": code, "name": code, "currency": "EUR", "kind": "contract",
                                  "accounts": [_number(w, side)]})
    return {"ref": code, "account": _number(w, side)}


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 10), (200, 30, 40)).save(out, "PNG")
    return out.getvalue()


def _bulk(w: World, side: str) -> dict[str, Any]:
    return {"data": {"channel": "web", "account": _number(w, side), "currency": "EUR",
                     "external_reference": w.next("BULK"), "ship_to": f"{_number(w, side)}-SHIP",
                     "payment_method": "card", "payment_gateway": "simulator", "payment_token": "tok_visa"},
            "files": {"file": ("order.csv", b"sku,quantity\nBOLT-M8,10\n", "text/csv")}}


LOGO = _png()
SHIP_TO = {"name": "Receiving", "line1": "Hafenstraße 1", "city": "Hamburg", "postal_code": "20457", "country": "DE"}
CARD = [{"method": "card", "gateway": "simulator", "token": "tok_visa"}]
ONE_BOLT = [{"sku": "BOLT-M8", "location": "WH-BER", "quantity": 1}]


def _one_unit(reason: str) -> dict[str, Any]:
    return {"lines": [{"line_number": 1, "quantity": 1}], "reason": reason}


def _cancel() -> dict[str, Any]:
    return _one_unit("changed mind")


def _add() -> dict[str, Any]:
    return {"lines": [{"sku": "NUT-M8", "quantity": 1, "unit_price": "0.50"}], "reason": "forgot one"}


def _exchange() -> dict[str, Any]:
    return {"lines": [{"line_number": 1, "quantity": 1, "sku": "NUT-M8", "unit_price": "0.04"}], "reason": "size"}


def _appease() -> dict[str, Any]:
    return {"lines": [{"line_number": 1, "amount": "0.01"}], "reason": "late delivery"}


# The body of each write, for a side (operations not named here send none).
BODIES: dict[str, Body] = {
    "POST /orders": lambda w, s: order_payload(CARD, reference=w.next("WEB"), account=_number(w, s)),
    "POST /accounts": lambda w, s: {"number": w.next("NEW"), "name": "New GmbH", "currency": "EUR"},
    "PATCH /accounts/{ref}": lambda w, s: {"locale": "de"},
    "POST /process-exceptions/{exception_id}/assign": lambda w, s: {"assignee": "dana@example.com"},
    "POST /accounts/{ref}/contacts": lambda w, s: {"first_name": "Erik", "last_name": "Neu"},
    "PATCH /accounts/{ref}/contacts/{contact_id}": lambda w, s: {"title": "Purchasing"},
    "PUT /accounts/{ref}/contacts/{contact_id}/notifications": lambda w, s: {"kinds": {"invoice": True}},
    "POST /accounts/{ref}/addresses": lambda w, s: {"kind": "shipping", "name": "Dock 2", "line1": "Kai 2",
                                                     "city": "Hamburg", "country": "DE"},
    "PATCH /accounts/{ref}/addresses/{address_id}": lambda w, s: {"phone": "+49 40 123456"},
    "PUT /accounts/{number}/tax-profile": lambda w, s: {"business": True},
    "POST /products": lambda w, s: {"sku": w.next("SKU"), "name": "Washer"},
    "PATCH /products/{ref}": lambda w, s: {"description": "Hex bolt"},
    "POST /channels": lambda w, s: {"code": w.next("chan").lower(), "name": "Channel"},
    "PATCH /channels/{ref}": lambda w, s: {"name": "Web"},
    "POST /locations": lambda w, s: {"code": w.next("LOC"), "name": "Store", "country": "DE"},
    "PATCH /locations/{ref}": lambda w, s: {"name": "Berlin"},
    "POST /legal-entities": lambda w, s: {"code": w.next("LE"), "name": "Seller", "line1": "Weg 1",
                                          "city": "Berlin", "country": "DE"},
    "PATCH /legal-entities/{ref}": lambda w, s: {"phone": "+49 30 123456"},
    "POST /api-keys": lambda w, s: {"name": w.next("key"), "role": "agent"},
    "POST /location-groups": lambda w, s: {"code": w.next("GRP"), "name": "Group", "locations": ["WH-BER"]},
    "PATCH /location-groups/{ref}": lambda w, s: {"name": "North"},
    "PUT /inventory": lambda w, s: {"mode": "delta", "records": [
        {"record_id": str(uuid.uuid4()), "sku": "NUT-M8", "location": "WH-HAM", "on_hand": 1}]},
    "POST /availability": lambda w, s: {"skus": ["BOLT-M8"]},
    "POST /reservations": lambda w, s: {"reference": w.of(s, "held_item"), "lines": ONE_BOLT},
    "POST /reservations/{reference}/release": lambda w, s: {"sku": "BOLT-M8", "location": "WH-BER", "quantity": 1},
    "POST /reservations/{reference}/transfer": lambda w, s: {"sku": "BOLT-M8", "from_location": "WH-BER",
                                                             "to_location": "WH-HAM", "quantity": 1},
    "POST /reservations/{reference}/fulfil": lambda w, s: {"lines": ONE_BOLT},
    "PUT /channels/{code}/sourcing": lambda w, s: {"mode": "location", "target": "WH-BER"},
    "PUT /locations/{ref}/capacity": lambda w, s: {"units_per_day": 1000},
    "PUT /locations/{ref}/capacity/{day}": lambda w, s: {"capacity": 900},
    "POST /locations/{ref}/capacity/{day}/hold": lambda w, s: {"units": 1},
    "POST /locations/{ref}/capacity/{day}/confirm": lambda w, s: {"units": 1},
    "POST /locations/{ref}/capacity/{day}/release": lambda w, s: {"units": 1},
    "POST /price-books": lambda w, s: {"code": w.next("BOOK"), "name": "Book", "currency": "EUR", "kind": "list"},
    "PATCH /price-books/{ref}": lambda w, s: {"name": "List prices"},
    "PUT /price-books/{ref}/entries": lambda w, s: {"entries": [{"sku": "NUT-M8", "unit_price": "0.3330"}]},
    "POST /price-books/{ref}/accounts": lambda w, s: {"accounts": [_number(w, s)]},
    "POST /promotions": lambda w, s: {"code": w.next("PROMO"), "name": "Promo", "level": "line",
                                      "kind": "percentage", "percentage": "5"},
    "PATCH /promotions/{ref}": lambda w, s: {"description": "Autumn sale"},
    "POST /promotions/{ref}/coupons": lambda w, s: {"coupons": [{"code": w.next("CPN")}]},
    "PATCH /promotions/{ref}/coupons/{code}": lambda w, s: {"active": True},
    "POST /prices/quote": lambda w, s: {"account": _number(w, s), "currency": "EUR",
                                        "lines": [{"sku": "BOLT-M8", "quantity": 10}]},
    "POST /fx-rates": lambda w, s: {"rates": [{"base": "EUR", "quote": "USD", "rate": "1.0823",
                                               "effective_on": "2026-01-02"}]},
    "POST /payment-methods": lambda w, s: {"account_id": w.of(s, "account"), "method": "invoice", "terms": "net_30"},
    "POST /payments/authorizations": lambda w, s: {
        "order_summary_id": w.of(s, "order"), "account_id": w.of(s, "account"), "currency": "EUR", "amount": "1.00",
        "payment_method_id": w.of(s, "payment_method")},
    "POST /payments/{payment_id}/capture": lambda w, s: {"amount": "0.01"},
    "POST /payments/{payment_id}/refund": lambda w, s: {"amount": "0.01"},
    "POST /payments/{payment_id}/void": lambda w, s: {"amount": "0.01"},
    "POST /payments/{payment_id}/reauthorize": lambda w, s: {"amount": "1.00"},
    "POST /fulfillment-orders/{ref}/assign": lambda w, s: {},
    "POST /fulfillment-orders/{ref}/pick": lambda w, s: {},
    "POST /fulfillment-orders/{ref}/pack": lambda w, s: {},
    "POST /fulfillment-orders/{ref}/ship": lambda w, s: {"carrier": "DHL"},
    "POST /fulfillment-orders/{ref}/deliver": lambda w, s: {},
    "POST /fulfillment-orders/{ref}/reject": lambda w, s: {"reason": "damaged"},
    "POST /fulfillment-orders/{ref}/cancel": lambda w, s: {},
    "POST /routing/plan": lambda w, s: {"order": w.of(s, "order")},
    "POST /orders/{ref}/routing": lambda w, s: {},
    "PUT /routing/policies/{channel}": lambda w, s: {"max_splits": 2},
    "POST /invoices": lambda w, s: {"order": w.of(s, "order"), "description": "Handling fee", "amount": "5.00",
                                    "currency": "EUR"},
    "POST /invoices/{ref}/cancel": lambda w, s: {"reason": "issued in error"},
    "POST /credit-memos": lambda w, s: {"order": w.of(s, "order"), "change_orders": [w.of(s, "change_order")]},
    "POST /refunds": lambda w, s: {"order": w.of(s, "order")},
    "POST /payments": lambda w, s: {"account": _number(w, s), "amount": "1.00", "currency": "EUR",
                                    "reference": w.next("BANK"), "received_on": "2026-11-27",
                                    "applications": [{"invoice": w.of(s, "fee_invoice"), "amount": "1.00"}]},
    "POST /orders/{order_ref}/cancellations/preview": lambda w, s: _cancel(),
    "POST /orders/{order_ref}/cancellations": lambda w, s: _cancel(),
    "POST /orders/{order_ref}/returns/preview": lambda w, s: _one_unit("damaged"),
    "POST /orders/{order_ref}/returns": lambda w, s: _one_unit("damaged"),
    "POST /orders/{order_ref}/appeasements/preview": lambda w, s: _appease(),
    "POST /orders/{order_ref}/appeasements": lambda w, s: _appease(),
    "POST /orders/{order_ref}/additions/preview": lambda w, s: _add(),
    "POST /orders/{order_ref}/additions": lambda w, s: _add(),
    "POST /orders/{order_ref}/exchanges/preview": lambda w, s: _exchange(),
    "POST /orders/{order_ref}/exchanges": lambda w, s: _exchange(),
    "POST /orders/{order_ref}/reships/preview": lambda w, s: _one_unit("lost in transit"),
    "POST /orders/{order_ref}/reships": lambda w, s: _one_unit("lost in transit"),
    "POST /orders/{order_ref}/approve": lambda w, s: {"note": "fine"},
    "POST /orders/{order_ref}/reject": lambda w, s: {"reason": "too much"},
    "POST /approval-rules": lambda w, s: {"account": _number(w, s), "kind": "order_total", "name": w.next("Rule"),
                                          "amount": "5000.00", "currency": "EUR"},
    "PATCH /approval-rules/{rule_id}": lambda w, s: {"name": "Large orders"},
    "POST /quotes": lambda w, s: {"account": _number(w, s), "channel": "web",
                                  "lines": [{"sku": "NUT-M8", "quantity": 10}]},
    "PATCH /quotes/{ref}": lambda w, s: {"notes": "For the Q1 rollout"},
    "POST /quotes/{ref}/price": lambda w, s: {"valid_until": f"{DAY}T12:00:00Z"},
    "POST /quotes/{ref}/reject": lambda w, s: {"reason": "not needed"},
    "POST /return-orders": lambda w, s: {"order": w.of(s, "order"),
                                         "lines": [{"line_number": 1, "quantity": 1, "reason": "damaged"}]},
    "POST /return-orders/{ref}/cancel": lambda w, s: {"reason": "kept"},
    "POST /return-orders/{ref}/receipts": lambda w, s: {
        "location": "WH-BER", "lines": [{"line_number": 1, "received": 1, "disposition": "restock"}]},
    "POST /quotes/{ref}/accept": lambda w, s: {"ship_to": SHIP_TO, "payments": CARD},
    "POST /webhooks": lambda w, s: {"url": "https://hooks.example.com/ordino", "event_types": ["order.*"]},
    "PATCH /webhooks/{webhook_id}": lambda w, s: {"description": "ERP"},
    "POST /webhooks/{webhook_id}/rotate-secret": lambda w, s: {"overlap_hours": 1},
}

# Operations whose path names a record made for the request (a delete takes it away), or another
# record than the default.
FRESH: dict[str, Callable[[World, str], dict[str, str]]] = {
    "DELETE /accounts/{ref}/contacts/{contact_id}": _contact,
    "DELETE /accounts/{ref}/addresses/{address_id}": _address,
    "DELETE /approval-rules/{rule_id}": _rule,
    "DELETE /api-keys/{key_id}": _key,
    "POST /contacts/{contact_id}/erasure": _contact,
    "DELETE /price-books/{ref}/accounts/{account}": _assigned,
    "POST /payments/{payment_id}/refund": lambda w, s: {"payment_id": w.of(s, "capture")},
    "POST /orders/{order_ref}/cancellations/preview": lambda w, s: {"order_ref": w.of(s, "held_order")},
    "POST /orders/{order_ref}/cancellations": lambda w, s: {"order_ref": w.of(s, "held_order")},
    "POST /orders/{order_ref}/additions/preview": lambda w, s: {"order_ref": w.of(s, "held_order")},
    "POST /orders/{order_ref}/additions": lambda w, s: {"order_ref": w.of(s, "held_order")},
    "POST /orders/{order_ref}/approve": lambda w, s: {"order_ref": w.of(s, "held_order")},
    "POST /orders/{order_ref}/reject": lambda w, s: {"order_ref": w.of(s, "held_order")},
    "GET /api-keys/{key_id}": _key,
    "GET /webhooks/{webhook_id}": _webhook,
    "PATCH /webhooks/{webhook_id}": _webhook,
    "DELETE /webhooks/{webhook_id}": _webhook,
    "POST /webhooks/{webhook_id}/rotate-secret": _webhook,
    "GET /webhooks/{webhook_id}/deliveries": _delivery,
    "POST /webhooks/{webhook_id}/deliveries/{delivery_id}/replay": _delivery,
}

PARAMS_OF: dict[str, dict[str, str]] = {
    "GET /fx-rates/convert": {"amount": "12.34", "from": "EUR", "to": "USD", "on": "2026-01-02"},
    "GET /invoices/{ref}/document": {"format": "ubl"},
    "GET /credit-memos/{ref}/document": {"format": "ubl"},
}

# What a key scoped to A sends to reach B's records, where it differs from B's own request: an
# authorization for B's order in the name of A's account.
FOREIGN: dict[str, Body] = {
    "POST /payments/authorizations": lambda w, s: {
        "order_summary_id": w.of("B", "order"), "account_id": w.of("A", "account"), "currency": "EUR",
        "amount": "1.00", "payment_method_id": w.of("A", "payment_method")},
}


def request(w: World, operation: str, side: str, foreign: bool = False) -> Request:
    """The request of `operation` ("METHOD /path") for the side's records; `foreign`: as a key
    scoped to the other side would try to reach them."""
    method, template = operation.split(" ", 1)
    given = FRESH[operation](w, side) if operation in FRESH else {}
    params = PARAMS_OF.get(operation, {"limit": "200"} if method == "GET" and "{" not in template else None)
    r = Request(method, fill(w, template, side, **given), params=params)
    if operation == "POST /orders/bulk":
        bulk = _bulk(w, side)
        r.data, r.files = bulk["data"], bulk["files"]
    elif operation == "POST /inventory/imports":
        r.content, r.headers = b"sku,location,on_hand\nNUT-M8,WH-HAM,100000\n", {"Content-Type": "text/csv"}
    elif operation == "PUT /legal-entities/{ref}/logo":
        r.content, r.headers = LOGO, {"Content-Type": "image/png"}
    elif foreign and operation in FOREIGN:
        r.json = FOREIGN[operation](w, side)
    elif operation in BODIES:
        r.json = BODIES[operation](w, side)
    if method in ("PATCH", "PUT"):  # the record's current version, where it has one
        current = w.api.get(f"/api/v1{r.path}", headers=w.admin)
        if "ETag" in current.headers:
            r.headers["If-Match"] = current.headers["ETag"]
    return r
