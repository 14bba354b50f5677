"""`ordino demo`: load a realistic B2B demo through the product's own code.

Master data (sales channels, locations, accounts with contacts and addresses, the catalog) is
written through the models in one transaction; orders are placed through the order intake use
case (`ordino.orders.intake.place_order`, the same code as `POST /api/v1/orders`) in batches of
transactions, so every total, number, status-history row and `order.created` event is the
product's own.

The web channel reserves stock at intake, at the group of all warehouses (`WAREHOUSES`); the
other channels' orders are reserved when they are routed.

Deterministic: one seed gives the same orders and totals (only the dates follow the clock).
Idempotent: when the demo accounts exist, nothing is written. A load that failed part-way keeps
its master data and the batches already committed; start again from an empty database.
"""

from __future__ import annotations

import random
import time
import unicodedata
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import partial
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from ordino.accounts.models import Account, Address, Contact
from ordino.catalog.models import LegalEntity, Location, Product, SalesChannel
from ordino.catalog.places import place
from ordino.demo import orders as demo_orders
from ordino.demo.companies import CHANNELS, COMPANIES, LOCATIONS, CompanySpec
from ordino.demo.pricing import EUR_RATES, unit_price
from ordino.demo.products import catalog
from ordino.inventory import groups, sourcing
from ordino.inventory.domain import StockRecord
from ordino.inventory.schemas import LocationGroupIn
from ordino.inventory.stock import apply_records
from ordino.kernel import clock
from ordino.kernel.auth import Principal, Role
from ordino.kernel.db import Database
from ordino.kernel.ids import new_id
from ordino.orders.intake import place_order
from ordino.orders.schemas import OrderIn
from ordino.pricing.models import PriceBook, PriceBookEntry, PriceBookTier

Progress = Callable[[str, int, int], None]

BATCH = 25  # orders per transaction
WAREHOUSES = "WAREHOUSES"  # the location group the web channel reserves at
DEMO_PRINCIPAL = Principal(
    key_id=uuid.UUID("019a0de0-0000-7000-8000-00000000de70"), name="demo loader", role=Role.ADMIN
)


@dataclass(frozen=True, slots=True)
class DemoSummary:
    """What one call of `load_demo` wrote (all zero when the demo was there already)."""

    already_loaded: bool
    channels: int = 0
    locations: int = 0
    accounts: int = 0
    contacts: int = 0
    addresses: int = 0
    products: int = 0
    positions: int = 0
    orders: int = 0
    seconds: float = 0.0

    @property
    def message(self) -> str:
        if self.already_loaded:
            return "The demo data is already loaded (its accounts exist); nothing was changed."
        return (
            f"Loaded the demo: {self.channels} sales channels, {self.locations} locations, "
            f"{self.accounts} accounts ({self.contacts} contacts, {self.addresses} addresses), "
            f"{self.products} products, {self.positions} stock positions and {self.orders} orders "
            f"in {self.seconds:.1f} s."
        )


def _quiet(stage: str, done: int, total: int) -> None:
    pass


def load_demo(db: Database, *, orders: int = 300, seed: int = 7, progress: Progress | None = None) -> DemoSummary:
    """Load the demo into `db` (migrated); see the module docstring."""
    if orders < 0:
        raise ValueError("orders cannot be negative")
    report = progress or _quiet
    started = time.perf_counter()
    now = clock.now()
    counts = db.transaction(lambda session: _write_master_data(session, now))
    if counts is None:
        return DemoSummary(already_loaded=True)
    for stage in ("channels", "locations", "accounts", "products"):
        report(stage, counts[stage], counts[stage])
    positions = db.transaction(lambda session: _stock(session, random.Random(seed + 1)))
    report("stock", positions, positions)
    db.transaction(_web_sourcing)

    drawn = demo_orders.generate(random.Random(seed), orders, now)
    # Placed in time order, so that order numbers (SO-…) rise with the order date.
    payloads = [OrderIn.model_validate(o.payload) for o in sorted(drawn, key=lambda o: o.ordered_at)]
    placed = 0
    report("orders", 0, orders)
    for start in range(0, len(payloads), BATCH):
        batch = payloads[start : start + BATCH]
        placed += db.transaction(partial(_place, batch=batch))
        report("orders", start + len(batch), orders)
    return DemoSummary(
        already_loaded=False,
        channels=counts["channels"],
        locations=counts["locations"],
        accounts=counts["accounts"],
        contacts=counts["contacts"],
        addresses=counts["addresses"],
        products=counts["products"],
        positions=positions,
        orders=placed,
        seconds=time.perf_counter() - started,
    )


def _stock(session: Session, rng: random.Random) -> int:
    """Stock at every warehouse, in boxes of each product's order multiple; a few products are
    out of stock at some warehouses, as they would be. Written through the inventory engine."""
    warehouses = [loc.code for loc in LOCATIONS if loc.kind == "warehouse"]
    records: list[StockRecord] = []
    for spec in catalog():
        for code in warehouses:
            if rng.random() < 0.1:
                continue
            boxes = rng.choice((2, 5, 10, 20, 40, 80))
            records.append(StockRecord(
                index=len(records), record_id=None, sku=spec.sku, location=code, mode="absolute",
                on_hand=boxes * spec.multiple * 10, safety_stock=spec.multiple,
            ))
    outcomes = apply_records(session, records)
    return sum(1 for o in outcomes if o.status == "applied")


def _web_sourcing(session: Session) -> None:
    """The web shop reserves every order at intake, at the warehouses: it never accepts more
    than the stock there (the other channels' orders are reserved when they are routed)."""
    warehouses = sorted(loc.code for loc in LOCATIONS if loc.kind == "warehouse")
    groups.create_group(session, LocationGroupIn(code=WAREHOUSES, name="All warehouses", locations=warehouses))
    sourcing.set_sourcing(session, "web", "location_group", WAREHOUSES)


def _place(session: Session, batch: list[OrderIn]) -> int:
    return sum(place_order(session, order, DEMO_PRINCIPAL).created for order in batch)


def _write_master_data(session: Session, now: datetime) -> dict[str, int] | None:
    """Channels, locations, accounts and products; None when the demo accounts exist already."""
    numbers = [c.number for c in COMPANIES]
    if session.execute(select(func.count()).where(Account.number.in_(numbers))).scalar_one():
        return None
    stamps: dict[str, Any] = {"created_at": now, "updated_at": now}
    _legal_entities(session, stamps)
    counts = {
        "channels": _channels(session, stamps),
        "locations": _locations(session, stamps),
        "products": _products(session, stamps),
    }
    counts.update(_accounts(session, stamps))
    session.flush()
    _price_books(session, stamps)
    return counts


def _legal_entities(session: Session, stamps: dict[str, Any]) -> None:
    """The sellers: a German company (the default) and its US subsidiary, collecting sales tax
    where it has nexus. Bank details are the standard test IBANs of their banks' formats."""
    have = set(session.execute(select(LegalEntity.code)).scalars())
    entities = [
        LegalEntity(
            code="ORDINO-DE", name="Ordino Industrial Supply GmbH", line1="Friedrichstraße 100", city="Berlin",
            postal_code="10117", country="DE", vat_id="DE136695976", registration_number="HRB 123456 B",
            email="billing@ordino.example", phone="+49 30 1234567", iban="DE89370400440532013000",
            bic="COBADEFFXXX", bank_name="Commerzbank", is_default=True, active=True, version=1,
            endpoint_scheme="9930", endpoint_id="DE136695976", contact_name="Jana Dvořáková",
            tax_number="37/123/45678", register_court="Amtsgericht Charlottenburg",
            managing_directors="Jana Dvořáková, Tomás Herrera", share_capital="25.000 EUR",
            sepa_creditor_id="DE98ZZZ09999999999", **stamps,
        ),
        LegalEntity(
            code="ORDINO-US", name="Ordino Industrial Supply Inc.", line1="1 Market Street", city="San Francisco",
            postal_code="94105", region="CA", country="US", email="billing-us@ordino.example",
            us_nexus_states=["CA", "IL", "TX"], is_default=False, active=True, version=1,
            endpoint_scheme="9959", endpoint_id="943127465", contact_name="Dana Whitfield", phone="+1 415 555 0142",
            registration_number="C4812345", tax_number="94-3127465", **stamps,
        ),
    ]
    session.add_all([e for e in entities if e.code not in have])
    session.flush()


def _price_books(session: Session, stamps: dict[str, Any]) -> None:
    """A standard list price book per demo currency, with a volume tier (8 % off) from ten times
    the minimum quantity, so that catalog pricing, quotes and bulk orders work in the demo."""
    have = set(session.execute(select(PriceBook.currency).where(PriceBook.is_standard.is_(True))).scalars())
    products = catalog()
    for currency in sorted(EUR_RATES):
        if currency in have:
            continue
        book_id = new_id()
        session.execute(insert(PriceBook), [{
            "id": book_id, "code": f"LIST-{currency}", "name": f"List prices {currency}", "currency": currency,
            "kind": "list", "is_standard": True, "active": True, "version": 1, **stamps,
        }])
        entries = [{"id": new_id(), "price_book_id": book_id, "sku": p.sku,
                    "unit_price": unit_price(p.price_eur, Decimal(1), currency), "updated_at": stamps["updated_at"]}
                   for p in products]
        session.execute(insert(PriceBookEntry), entries)
        session.execute(insert(PriceBookTier), [
            {"entry_id": e["id"], "from_quantity": p.minimum * 10,
             "unit_price": unit_price(p.price_eur, Decimal("0.92"), currency)}
            for e, p in zip(entries, products, strict=True)
        ])


def _channels(session: Session, stamps: dict[str, Any]) -> int:
    have = set(session.execute(select(SalesChannel.code)).scalars())
    rows = [SalesChannel(code=c.code, name=c.name, kind=c.kind, active=True, **stamps)
            for c in CHANNELS if c.code not in have]
    session.add_all(rows)
    return len(rows)


def _locations(session: Session, stamps: dict[str, Any]) -> int:
    have = set(session.execute(select(Location.code)).scalars())
    rows = []
    for spec in LOCATIONS:
        if spec.code in have:
            continue
        where = place(spec.place)
        rows.append(Location(
            code=spec.code, name=spec.name, kind=spec.kind, line1=spec.line1, city=where.city,
            postal_code=where.postal_code, region=where.subdivision if where.country == "US" else None,
            country=where.country, latitude=where.lat, longitude=where.lon, timezone=where.timezone,
            active=True, **stamps,
        ))
    session.add_all(rows)
    return len(rows)


def _products(session: Session, stamps: dict[str, Any]) -> int:
    have = set(session.execute(select(Product.sku)).scalars())
    rows = [
        Product(
            sku=p.sku, name=p.name, description=p.description, unit_of_measure=p.unit,
            minimum_quantity=p.minimum, order_multiple=p.multiple, tax_class=p.tax_class,
            weight_kg=p.weight_kg, active=True, **stamps,
        )
        for p in catalog()
        if p.sku not in have
    ]
    session.add_all(rows)
    return len(rows)


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text.replace("ł", "l").replace("ß", "ss"))
    return "".join(ch for ch in folded if ch.isascii() and (ch.isalnum() or ch in ".-")).lower()


def _accounts(session: Session, stamps: dict[str, Any]) -> dict[str, int]:
    ids = {c.number: new_id() for c in COMPANIES}
    contacts = addresses = 0
    # Parents first: the child's foreign key needs its parent's row.
    for spec in sorted(COMPANIES, key=lambda c: c.parent is not None):
        session.add(_account(spec, ids, stamps))
        session.flush()
        for person in spec.contacts:
            session.add(Contact(
                account_id=ids[spec.number], first_name=person.first_name, last_name=person.last_name,
                email=f"{_ascii(person.first_name)}.{_ascii(person.last_name)}@{spec.domain}",
                phone=person.phone, title=person.title, **stamps,
            ))
            contacts += 1
        first_shipping = True
        for a in spec.addresses:
            is_default = a.kind == "billing" or first_shipping
            first_shipping = first_shipping and a.kind != "shipping"
            session.add(Address(
                account_id=ids[spec.number], reference=a.reference, kind=a.kind, name=a.name,
                line1=a.line1, city=a.city, postal_code=a.postal_code, region=a.region, country=spec.country,
                phone=spec.contacts[0].phone, is_default=is_default, **stamps,
            ))
            addresses += 1
    return {"accounts": len(COMPANIES), "contacts": contacts, "addresses": addresses}


def _account(spec: CompanySpec, ids: dict[str, uuid.UUID], stamps: dict[str, Any]) -> Account:
    return Account(
        id=ids[spec.number], number=spec.number, name=spec.name, currency=spec.currency, locale=spec.locale,
        country=spec.country, tax_id=spec.tax_id, parent_id=ids[spec.parent] if spec.parent else None,
        status="active", **_einvoicing(spec), **stamps,
    )


# Electronic addresses where the VAT ID cannot serve as one (no Peppol VAT scheme, or no VAT ID):
# the US employer identification number (9959), Japan's invoice registration number (0221) and the
# Swedish organisation number (0007, the VAT ID's ten middle digits).
_ENDPOINTS: dict[str, Callable[[str], tuple[str, str]]] = {
    "US": lambda tax_id: ("9959", tax_id.replace("-", "")),
    "JP": lambda tax_id: ("0221", tax_id),
    "SE": lambda tax_id: ("0007", tax_id[2:12]),
}


def _einvoicing(spec: CompanySpec) -> dict[str, Any]:
    """How the demo's buyers receive invoices: ACME by Peppol, HANSA (a public utility's supplier
    portal) as XRechnung with its Leitweg-ID, HANSA-SUED paying by SEPA direct debit."""
    fields: dict[str, Any] = {}
    endpoint = _ENDPOINTS.get(spec.country)
    if endpoint is not None:
        fields["endpoint_scheme"], fields["endpoint_id"] = endpoint(spec.tax_id)
    if spec.number == "ACME":
        fields["einvoice_format"] = "peppol"
    if spec.number == "HANSA":
        fields.update(einvoice_format="xrechnung", buyer_reference="02000000-4711123456-63")
    if spec.number == "HANSA-SUED":
        fields.update(direct_debit_mandate="HANSA-SUED-2026-01", direct_debit_iban="DE02120300000000202051")
    return fields

