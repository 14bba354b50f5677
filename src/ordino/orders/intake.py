"""Order intake: validation, pricing, stock and the order's rows, in one transaction.

Intake is a hot path: reference lookups are one query each (not one per line), rows are written
with multi-row Core inserts (`orders.recording`: one statement per table for every order placed
together), and the response is built from the rows just written. The amounts of each line, charge
and total are computed by `orders.domain` (pure); this module reads, calls it and builds the rows.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Table, bindparam, select
from sqlalchemy.orm import Session

from ordino.accounts.models import Account
from ordino.catalog.models import Product, SalesChannel
from ordino.inventory import sourcing
from ordino.kernel import clock
from ordino.kernel.auth import Principal
from ordino.kernel.errors import FieldError, ValidationFailed
from ordino.kernel.ids import new_id
from ordino.kernel.money import is_currency
from ordino.orders import domain, recording, taxing
from ordino.orders.models import OrderSummary
from ordino.orders.reads import load_order
from ordino.orders.recording import Placed
from ordino.orders.schemas import AddressIn, DeliveryGroupIn, LineIn, OrderIn, TaxLineIn
from ordino.pricing import service as pricing

__all__ = ["Known", "Placed", "look_up", "place_order", "place_orders", "prepare"]


@dataclass(frozen=True, slots=True)
class _Refs:
    account_id: uuid.UUID
    account_number: str
    channel_id: uuid.UUID
    channel_code: str
    products: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Known:
    """The references of several orders, read at once: accounts by number, channels by code,
    products by SKU, and the orders placed under (channel id, external reference)."""

    accounts: dict[str, Any]
    channels: dict[str, Any]
    products: dict[str, Any]
    existing: dict[tuple[uuid.UUID, str], uuid.UUID]


def look_up(session: Session, orders: Sequence[OrderIn]) -> Known:
    """One statement per table, whatever the number of orders and lines."""
    accounts = {r.number: r for r in session.execute(_FIND_ACCOUNTS, {"numbers": sorted({o.account for o in orders})})}
    channels = {r.code: r for r in session.execute(_FIND_CHANNELS, {"codes": sorted({o.channel for o in orders})})}
    skus = sorted({line.sku for o in orders for g in o.delivery_groups for line in g.lines})
    products = {r.sku: r for r in session.execute(_FIND_PRODUCTS, {"skus": skus})}
    wanted = {(channels[o.channel].id, o.external_reference) for o in orders if o.channel in channels}
    existing: dict[tuple[uuid.UUID, str], uuid.UUID] = {}
    if wanted:
        found = session.execute(_FIND_PLACED, {"channel_ids": sorted({c for c, _ in wanted}, key=str),
                                               "references": sorted({r for _, r in wanted})})
        existing = {(c, r): i for i, c, r in found if (c, r) in wanted}
    return Known(accounts, channels, products, existing)


def _resolve(order: OrderIn, principal: Principal, known: Known) -> _Refs:
    """Check every reference against what `look_up` read and collect all errors at once."""
    errors: list[FieldError] = []
    if not is_currency(order.currency):
        errors.append(FieldError("currency", f"'{order.currency}' is not an active ISO 4217 currency"))
    account, channel = known.accounts.get(order.account), known.channels.get(order.channel)
    if account is None or not principal.sees_account(account.id):
        errors.append(FieldError("account", f"no account '{order.account}'"))
    elif account.status != "active":
        errors.append(FieldError("account", f"account '{order.account}' is {account.status}"))
    if channel is None:
        errors.append(FieldError("channel", f"no sales channel '{order.channel}'"))
    elif not channel.active:
        errors.append(FieldError("channel", f"sales channel '{order.channel}' is not active"))
    products = known.products
    for gi, group in enumerate(order.delivery_groups):
        for li, line in enumerate(group.lines):
            path = f"delivery_groups[{gi}].lines[{li}]"
            product = products.get(line.sku)
            if product is None:
                errors.append(FieldError(f"{path}.sku", f"no product '{line.sku}'"))
                continue
            if not product.active:
                errors.append(FieldError(f"{path}.sku", f"product '{line.sku}' is not active"))
            if line.quantity < product.minimum_quantity:
                errors.append(
                    FieldError(f"{path}.quantity", f"the minimum quantity is {product.minimum_quantity}")
                )
            if line.quantity % product.order_multiple:
                errors.append(
                    FieldError(
                        f"{path}.quantity", f"must be a multiple of {product.order_multiple}"
                    )
                )
            if order.pricing == "order" and line.unit_price is None:
                errors.append(FieldError(f"{path}.unit_price", "is required when pricing is 'order'"))
            if order.pricing == "catalog" and line.unit_price is not None:
                errors.append(FieldError(f"{path}.unit_price", "is set by the price books when pricing is 'catalog'"))
    if order.pricing == "order" and order.coupons:
        errors.append(FieldError("coupons", "coupons apply when pricing is 'catalog'"))
    if order.tax_mode == "calculate":
        for gi, group in enumerate(order.delivery_groups):
            if group.shipping_tax_lines:
                errors.append(FieldError(f"delivery_groups[{gi}].shipping_tax_lines", _COMPUTED))
            errors.extend(
                FieldError(f"delivery_groups[{gi}].lines[{li}].tax_lines", _COMPUTED)
                for li, line in enumerate(group.lines) if line.tax_lines
            )
    if errors:
        raise ValidationFailed(errors)
    assert account is not None and channel is not None
    return _Refs(account.id, account.number, channel.id, channel.code, products)


_COMPUTED = "is computed by Ordino when tax is 'calculate'; send tax 'given' to pass tax lines"


def _line_field(key: Any, field: str) -> str:
    if key is None:
        return field
    group, line = key
    return f"delivery_groups[{group}].lines[{line}].{field}"


def _catalog_prices(session: Session, order: OrderIn, refs: _Refs, at: datetime) -> pricing.PricedOrder:
    """Prices and promotions from the price books; every line that cannot be priced is named."""
    lines = [
        pricing.PricingLine(line.sku, line.quantity, (gi, li))
        for gi, group in enumerate(order.delivery_groups)
        for li, line in enumerate(group.lines)
    ]
    priced = pricing.price_lines(
        session, account_id=refs.account_id, currency=order.currency, channel_code=refs.channel_code, at=at,
        lines=lines, coupons=order.coupons,
    )
    if priced.errors:
        raise ValidationFailed([FieldError(_line_field(e.key, e.field), e.message) for e in priced.errors])
    return priced


def _address(prefix: str, address: AddressIn) -> dict[str, Any]:
    return {
        f"{prefix}_name": address.name,
        f"{prefix}_line1": address.line1,
        f"{prefix}_line2": address.line2,
        f"{prefix}_city": address.city,
        f"{prefix}_postal_code": address.postal_code,
        f"{prefix}_region": address.region,
        f"{prefix}_county": address.county,
        f"{prefix}_country": address.country,
        f"{prefix}_phone": address.phone,
        f"{prefix}_email": address.email,
    }


def _instruction(payment: Any) -> dict[str, Any]:
    """A payment as stored and announced; card details only when given."""
    data: dict[str, Any] = payment.model_dump(mode="json")
    for key in ("card_brand", "card_last4"):
        if data.get(key) is None:
            data.pop(key, None)
    return data


def check_gateways(payments: Sequence[object], configured: Iterable[str], path: str = "payments") -> None:
    """Refuse (422) a payment naming a gateway the installation does not have, before anything
    is read or written: it could never be authorized."""
    issues = domain.unknown_gateways([getattr(p, "gateway", None) for p in payments], configured, path)
    if issues:
        raise ValidationFailed([FieldError(field, message) for field, message in issues])


def place_order(session: Session, order: OrderIn, principal: Principal) -> Placed:
    """Validate and write a new order; an order already placed under (channel, external_reference)
    is returned as it is (created=False)."""
    (placed,) = place_orders(session, [(order, principal)])
    return placed


def place_orders(
    session: Session, orders: Sequence[tuple[OrderIn, Principal]],
    sourcings: Mapping[str, sourcing.Sourcing] | None = None,
) -> list[Placed]:
    """Place several orders in the caller's transaction, as one after the other would be, their
    rows written with one statement per table; the first refusal is raised. `sourcings`: the
    sourcing of channels the caller has read already."""
    known = look_up(session, [order for order, _ in orders])
    prepared = [prepare(session, order, principal, known) for order, principal in orders]
    return recording.record(session, prepared, sourcings)


def prepare(session: Session, order: OrderIn, principal: Principal, known: Known) -> recording.Prepared | Placed:
    """Validate, price and tax an order and build its rows (nothing is written); an order already
    placed under (channel, external_reference) is returned as it is."""
    refs = _resolve(order, principal, known)
    existing = known.existing.get((refs.channel_id, order.external_reference))
    if existing is not None:
        return Placed(False, load_order(session, existing, principal))

    now = clock.now()
    priced = _catalog_prices(session, order, refs, order.ordered_at) if order.pricing == "catalog" else None
    rows = _Rows(new_id(), order.currency)
    for gi, group in enumerate(order.delivery_groups):
        rows.add_group(gi, group, refs.products, priced)
    for pi, payment in enumerate(order.payments):
        paid: Decimal | None = getattr(payment, "amount", None)
        if paid is not None:
            domain.to_minor(paid, order.currency, f"payments[{pi}].amount", rows.issues)
    if rows.issues:
        raise ValidationFailed([FieldError(field, message) for field, message in rows.issues])
    tax_notes = _calculate_tax(session, order, refs, rows) if order.tax_mode == "calculate" else None
    totals = domain.totals(
        (domain.ItemAmounts(i["type"], i["line_amount"], i["adjustment_amount"], i["tax_amount"]) for i in rows.items),
        prices_include_tax=order.prices_include_tax,
    )
    if not totals.storable:
        raise ValidationFailed(
            [FieldError("delivery_groups", "the order total is larger than Ordino can store")]
        )
    header = _header(order, refs, principal, rows.order_id, totals, tax_notes, now)
    return recording.Prepared(
        header, rows.groups, rows.items, rows.adjustments, rows.taxes, rows.demands, principal, refs.account_number,
        refs.channel_code, priced.applied_coupons if priced is not None else (),
    )


class _Rows:
    """The rows of one order, built group by group from the amounts `domain` computes."""

    def __init__(self, order_id: uuid.UUID, currency: str) -> None:
        self.order_id, self.currency = order_id, currency
        self.issues: list[domain.Issue] = []
        self.groups: list[dict[str, Any]] = []
        self.items: list[dict[str, Any]] = []
        self.adjustments: list[dict[str, Any]] = []
        self.taxes: list[dict[str, Any]] = []
        self.demands: list[sourcing.Demand] = []
        self.paths: dict[uuid.UUID, str] = {}  # where each item comes from in the payload
        self.tax_classes: dict[uuid.UUID, str] = {}
        self.line_number = 0

    def add_group(self, gi: int, group: DeliveryGroupIn, products: dict[str, Any],
                  priced: pricing.PricedOrder | None) -> None:
        group_id = new_id()
        self.groups.append({
            "id": group_id, "order_summary_id": self.order_id, "position": gi + 1,
            "delivery_method": group.delivery_method, "ship_to_address_id": None, **_address("ship_to", group.ship_to),
        })
        for li, line in enumerate(group.lines):
            self._add_product(group_id, f"delivery_groups[{gi}].lines[{li}]", line, products[line.sku],
                              priced.lines[(gi, li)] if priced is not None else None)
        # The shipping charge is an item of its own (as in Salesforce), so that it can be
        # invoiced, cancelled and refunded like any other line.
        path = f"delivery_groups[{gi}]"
        charge = domain.shipping_charge(
            group.shipping_charge, [t.amount for t in group.shipping_tax_lines], self.currency, path
        )
        self.issues.extend(charge.issues)
        if charge.line or group.shipping_tax_lines:
            item_id = self._add_item(group_id, "delivery_charge", None, f"Shipping: {group.delivery_method}", 1, charge)
            self._add_taxes(item_id, group.shipping_tax_lines, charge.taxes)
            self.paths[item_id] = f"{path}.shipping_charge"

    def _add_product(self, group_id: uuid.UUID, path: str, line: LineIn, product: Any,
                     catalog: pricing.PricedLine | None) -> None:
        if catalog is not None:
            unit_price, promotions = catalog.unit_price, catalog.adjustments
        else:
            unit_price, promotions = (line.unit_price if line.unit_price is not None else Decimal(0)), ()
        amounts = domain.product_line(  # most lines have no adjustments and no tax lines: no lists then
            unit_price, line.quantity, self.currency, path,
            promotions=[p.amount for p in promotions] if promotions else (),
            adjustments=[a.amount for a in line.adjustments] if line.adjustments else (),
            taxes=[t.amount for t in line.tax_lines] if line.tax_lines else (),
        )
        if amounts.issues:
            self.issues.extend(amounts.issues)
        item_id = self._add_item(group_id, "product", product, product.name, line.quantity, amounts)
        for promotion in promotions:
            self.adjustments.append({"id": new_id(), "order_item_summary_id": item_id, "name": promotion.name,
                                     "source": "promotion", "reference": promotion.reference,
                                     "amount": promotion.amount})
        for adj, minor in zip(line.adjustments, amounts.adjustments, strict=True):
            self.adjustments.append({"id": new_id(), "order_item_summary_id": item_id, "name": adj.name,
                                     "source": "order", "reference": adj.reference, "amount": minor})
        self._add_taxes(item_id, line.tax_lines, amounts.taxes)
        self.demands.append(sourcing.Demand(str(item_id), product.sku, line.quantity, f"{path}.quantity"))
        self.paths[item_id], self.tax_classes[item_id] = path, product.tax_class

    def _add_item(self, group_id: uuid.UUID, kind: str, product: Any | None, name: str, quantity: int,
                  amounts: domain.LineAmounts) -> uuid.UUID:
        item_id = new_id()
        self.line_number += 1
        self.items.append({
            "id": item_id, "order_summary_id": self.order_id, "delivery_group_id": group_id,
            "line_number": self.line_number, "type": kind, "product_id": product.id if product is not None else None,
            "sku": product.sku if product is not None else None, "name": name, "status": "ordered",
            "unit_price": amounts.unit_price, "quantity_ordered": quantity, "line_amount": amounts.line,
            "adjustment_amount": amounts.adjustment, "tax_amount": amounts.tax, **_BUCKETS,
        })
        return item_id

    def _add_taxes(self, item_id: uuid.UUID, lines: Sequence[TaxLineIn], minors: Sequence[int]) -> None:
        for tax, minor in zip(lines, minors, strict=True):
            self.taxes.append({
                "id": new_id(), "order_item_summary_id": item_id, "name": tax.name, "rate": tax.rate,
                "amount": minor, "jurisdiction": tax.jurisdiction, "category": tax.category,
                "taxable_amount": None, "exemption_reason_code": None,
            })


def _calculate_tax(session: Session, order: OrderIn, refs: _Refs, rows: _Rows) -> list[dict[str, str]]:
    """Tax from Ordino's engine in place of given tax lines; returns the documents' notes."""
    computed = taxing.compute_order_tax(
        session, account_id=refs.account_id, channel_code=refs.channel_code, currency=order.currency,
        order_date=clock.ensure_utc(order.ordered_at).date(), prices_include_tax=order.prices_include_tax,
        groups=rows.groups, items=rows.items, paths=rows.paths, tax_classes=rows.tax_classes,
    )
    rows.taxes = computed.rows
    for item in rows.items:
        item["tax_amount"] = computed.per_item.get(item["id"], 0)
    return computed.notes


def _header(
    order: OrderIn, refs: _Refs, principal: Principal, order_id: uuid.UUID, t: domain.Totals,
    tax_notes: list[dict[str, str]] | None, now: datetime,
) -> dict[str, Any]:
    return {
        "id": order_id,
        "number": None,  # given when the order is recorded
        "account_id": refs.account_id,
        "channel_id": refs.channel_id,
        "external_reference": order.external_reference,
        "po_number": order.po_number,
        "buyer_contact_id": principal.contact_id,
        "currency": order.currency,
        "status": domain.ORDER_LIFECYCLE.initial,
        "pricing": order.pricing,
        "prices_include_tax": order.prices_include_tax,
        "tax_mode": order.tax_mode,
        "tax_notes": tax_notes,
        "ordered_at": clock.ensure_utc(order.ordered_at),
        "bill_to": _bill_to(order.bill_to),
        "payment_instructions": [_instruction(p) for p in order.payments],
        "total_product_amount": t.product,
        "total_adjustment_amount": t.adjustment,
        "total_delivery_amount": t.delivery,
        "total_tax_amount": t.tax,
        "grand_total_amount": t.grand_total,
        "active_process_exception_count": 0,
        "version": 1,
        "created_by": principal.actor,
        "created_at": now,
        "updated_at": now,
    }


def _bill_to(address: AddressIn | None) -> dict[str, Any] | None:
    """The bill-to as stored (JSON); `county` only when given, as before it existed."""
    if address is None:
        return None
    return address.model_dump(exclude={"county"} if address.county is None else None)


_BUCKETS = {
    "quantity_canceled": 0,
    "quantity_allocated": 0,
    "quantity_fulfilled": 0,
    "quantity_return_initiated": 0,
    "quantity_returned": 0,
    "version": 1,
}


# Intake's statements are built once: building and hashing them cost more than running them.
# Rows are written with Core inserts of the tables (executemany), not the ORM's bulk path.
def _table(model: Any) -> Table:
    return cast(Table, model.__table__)


_ACCOUNT, _CHANNEL, _PRODUCT, _ORDER = (_table(m) for m in (Account, SalesChannel, Product, OrderSummary))
_FIND_ACCOUNTS = select(_ACCOUNT.c.id, _ACCOUNT.c.number, _ACCOUNT.c.status).where(
    _ACCOUNT.c.number.in_(bindparam("numbers", expanding=True))
)
_FIND_CHANNELS = select(_CHANNEL.c.id, _CHANNEL.c.code, _CHANNEL.c.active).where(
    _CHANNEL.c.code.in_(bindparam("codes", expanding=True))
)
_FIND_PLACED = select(_ORDER.c.id, _ORDER.c.channel_id, _ORDER.c.external_reference).where(
    _ORDER.c.channel_id.in_(bindparam("channel_ids", expanding=True)),
    _ORDER.c.external_reference.in_(bindparam("references", expanding=True)),
)
_FIND_PRODUCTS = select(
    _PRODUCT.c.id, _PRODUCT.c.sku, _PRODUCT.c.name, _PRODUCT.c.active, _PRODUCT.c.minimum_quantity,
    _PRODUCT.c.order_multiple, _PRODUCT.c.tax_class,
).where(_PRODUCT.c.sku.in_(bindparam("skus", expanding=True)))
