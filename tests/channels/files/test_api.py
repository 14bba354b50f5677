"""POST /orders/bulk: CSV and XLSX files become one catalog-priced, taxed order, or a problem
that names every bad row and writes nothing."""

from __future__ import annotations

import io
import zipfile
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import openpyxl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from ordino.accounts.models import Account, Address
from ordino.inventory import sourcing
from ordino.inventory.models import InventoryReservation
from ordino.kernel import clock
from ordino.kernel.auth import Role
from ordino.kernel.db import Database
from ordino.kernel.ids import new_id
from ordino.kernel.outbox import OutboxEvent
from ordino.orders.models import OrderDeliveryGroupSummary, OrderItemSummary, OrderSummary
from tests import factories
from tests.conftest import api_key
from tests.pricing.conftest import book, entry

CSV = "text/csv"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FIELDS = {"channel": "web", "account": "ACME", "currency": "EUR", "external_reference": "BULK-1",
          "ordered_at": "2026-11-26T10:00:00Z", "po_number": "PO-4711"}
# SKU: (unit price, tier from, tier price)
PRICES = {"BOLT-M8": ("0.0350", 1000, "0.0300"), "NUT-M8": ("0.0125", None, None), "WASHER-M8": ("0.0049", None, None),
          "SCREW-4x40": ("0.0815", 500, "0.0790"), "PALLET": ("129.90", None, None)}


def address(db: Database, reference: str, *, kind: str = "shipping", default: bool = False, city: str = "Berlin",
            postal_code: str = "10115", account: str = "ACME") -> None:
    def work(s: Any) -> None:
        account_id = s.execute(select(Account.id).where(Account.number == account)).scalar_one()
        now = clock.now()
        s.add(Address(
            id=new_id(), account_id=account_id, reference=reference, kind=kind, name=f"ACME {reference}",
            line1="Invalidenstraße 1", city=city, postal_code=postal_code, country="DE", is_default=default,
            version=1, created_at=now, updated_at=now,
        ))
        s.flush()

    db.transaction(work)


@pytest.fixture
def world(db: Database) -> Database:
    """ACME (DE) buys from the German seller on channel web; a standard EUR list prices the
    fasteners (with tiers); BOX-10 comes in tens from 20; OLD is inactive; NOPRICE has no price.
    ACME ships to BER (default), HAM, and bills to HQ."""
    factories.intake_world(db)
    factories.account(db, "OTHER")
    for sku in ("NUT-M8", "WASHER-M8", "SCREW-4x40", "PALLET", "NOPRICE"):
        factories.product(db, sku)
    factories.product(db, "BOX-10", minimum_quantity=20, order_multiple=10)
    factories.product(db, "OLD", active=False)
    book(db, "EUR-LIST", standard=True)
    for sku, (price, tier_from, tier_price) in PRICES.items():
        entry(db, "EUR-LIST", sku, price, {tier_from: tier_price} if tier_from else None)
    entry(db, "EUR-LIST", "BOX-10", "1.00")
    entry(db, "EUR-LIST", "OLD", "1.00")
    address(db, "BER", default=True)
    address(db, "HAM", city="Hamburg", postal_code="20095")
    address(db, "HQ", kind="billing")
    return db


def upload(client: TestClient, headers: dict[str, str], content: bytes, content_type: str = CSV,
           name: str = "order.csv", **fields: str) -> Any:
    return client.post("/api/v1/orders/bulk", headers=headers, files={"file": (name, content, content_type)},
                       data={**FIELDS, **fields})


def counts(db: Database) -> tuple[int, int, int, int]:
    """Orders, items, reservations and outbox events."""
    with db.read() as s:
        return tuple(  # type: ignore[return-value]
            int(s.execute(select(func.count()).select_from(m)).scalar_one())
            for m in (OrderSummary, OrderItemSummary, InventoryReservation, OutboxEvent)
        )


def cents(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def expected_totals(rows: list[tuple[str, int]]) -> tuple[str, str, str]:
    """The rules stated plainly: tier by the SKU's total, each line rounded once, 19 % German VAT
    on the document total, rounded once."""
    volume: dict[str, int] = {}
    for sku, quantity in rows:
        volume[sku] = volume.get(sku, 0) + quantity
    product = Decimal(0)
    for sku, quantity in rows:
        price, tier_from, tier_price = PRICES[sku]
        unit = Decimal(tier_price) if tier_from and volume[sku] >= tier_from else Decimal(price)
        product += cents(unit * quantity)
    tax = cents(product * Decimal("0.19"))
    return str(product), str(tax), str(product + tax)


def ten_thousand_rows() -> list[tuple[str, int]]:
    skus = list(PRICES)
    return [(skus[i % len(skus)], 1 + (i * 7) % 97) for i in range(10_000)]


# ----------------------------------------------------------------------------------------------
# Good files


def test_a_ten_thousand_line_csv_becomes_one_priced_taxed_order(world, client, admin) -> None:  # type: ignore[no-untyped-def]
    # given 10,000 rows over five SKUs, shipped to the account's default address
    rows = ten_thousand_rows()
    content = ("sku,quantity\n" + "".join(f"{sku},{q}\n" for sku, q in rows)).encode()
    # when the file is uploaded
    r = upload(client, admin, content)
    # then one order holds 10,000 catalog-priced lines with the exact totals
    assert r.status_code == 201, r.text[:2000]
    doc = r.json()
    product, tax, grand_total = expected_totals(rows)
    assert doc["totals"] == {"product": product, "adjustment": "0.00", "delivery": "0.00", "tax": tax,
                             "grand_total": grand_total}
    assert (doc["number"], doc["pricing"], doc["lines"], doc["file"]["rows"]) == (
        "SO-000001", "catalog", 10_000, 10_000
    )
    assert [(g["ship_to"]["name"], g["lines"]) for g in doc["delivery_groups"]] == [("ACME BER", 10_000)]
    assert r.headers["Location"] == f"/api/v1/orders/{doc['id']}"
    with world.read() as s:
        items = s.execute(
            select(OrderItemSummary.line_number, OrderItemSummary.sku, OrderItemSummary.quantity_ordered)
            .order_by(OrderItemSummary.line_number)
        ).all()
    assert [tuple(i) for i in items] == [(n + 1, sku, q) for n, (sku, q) in enumerate(rows)]
    assert counts(world)[0] == 1


def test_ship_tos_make_delivery_groups_and_repeated_skus_stay_separate_lines(world, client, admin) -> None:  # type: ignore[no-untyped-def]
    # given a European Excel export: BOM, semicolons, quoted cells, a blank row, an empty ship-to
    content = (
        "\ufeffSKU;Quantity;Ship To\r\n"
        'BOLT-M8;600;HAM\r\n'
        '"NUT-M8";"100";\r\n'
        "\r\n"
        "BOLT-M8;500;HAM\r\n"
        "PALLET;2;BER\r\n"
    ).encode()
    r = upload(client, admin, content)
    assert r.status_code == 201, r.text
    doc = r.json()
    # then HAM (first named) and the default BER are two groups; BOLT-M8 is two lines at the tier price
    assert [(g["ship_to"]["city"], g["lines"]) for g in doc["delivery_groups"]] == [("Hamburg", 2), ("Berlin", 2)]
    order = client.get(f"/api/v1/orders/{doc['id']}", headers=admin).json()
    lines = [
        (g["ship_to"]["city"], i["sku"], i["quantities"]["ordered"], i["unit_price"], i["line_amount"])
        for g in order["delivery_groups"] for i in g["items"]
    ]
    assert lines == [
        ("Hamburg", "BOLT-M8", 600, "0.03", "18.00"),
        ("Hamburg", "BOLT-M8", 500, "0.03", "15.00"),
        ("Berlin", "NUT-M8", 100, "0.0125", "1.25"),
        ("Berlin", "PALLET", 2, "129.90", "259.80"),
    ]
    assert doc["totals"]["product"] == "294.05"


def xlsx(rows: list[list[Any]]) -> bytes:
    book_ = openpyxl.Workbook()
    sheet = book_.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book_.save(out)
    return out.getvalue()


def test_an_xlsx_file_works_the_same_as_the_csv(world, client, admin) -> None:  # type: ignore[no-untyped-def]
    rows = ten_thousand_rows()[:300]
    table = [["sku", "quantity", "ship_to"]]
    table += [[sku, q, "HAM" if i % 3 == 0 else None] for i, (sku, q) in enumerate(rows)]
    as_csv = "".join(",".join("" if c is None else str(c) for c in row) + "\n" for row in table).encode()
    from_csv = upload(client, admin, as_csv)
    from_xlsx = upload(client, admin, xlsx(table), XLSX, "order.xlsx", external_reference="BULK-2")
    assert from_csv.status_code == from_xlsx.status_code == 201, (from_csv.text, from_xlsx.text)
    assert from_xlsx.json()["totals"] == from_csv.json()["totals"]
    assert from_xlsx.json()["totals"]["product"] == expected_totals(rows)[0]
    assert [g["lines"] for g in from_xlsx.json()["delivery_groups"]] == [100, 200]
    assert from_xlsx.json()["file"]["format"] == "xlsx"


def test_the_ship_to_field_and_numbers_that_a_spreadsheet_made_of_text(world, client, admin) -> None:  # type: ignore[no-untyped-def]
    factories.product(world, "4711")
    entry(world, "EUR-LIST", "4711", "2.50")
    content = xlsx([[None], ["Quantity", "SKU"], [3.0, 4711], [2, "PALLET"]])
    r = upload(client, admin, content, XLSX, ship_to="HAM")
    assert r.status_code == 201, r.text
    assert [(g["ship_to"]["city"], g["lines"]) for g in r.json()["delivery_groups"]] == [("Hamburg", 2)]
    assert r.json()["totals"]["product"] == "267.30"


# ----------------------------------------------------------------------------------------------
# Bad rows


def test_every_bad_row_is_reported_with_its_reason_and_nothing_is_created(world, client, admin) -> None:  # type: ignore[no-untyped-def]
    content = (
        b"sku,quantity,ship_to\n"
        b"BOLT-M8,500,\n"  # 2: good
        b"NOPE,5,\n"  # 3: unknown SKU
        b"OLD,5,\n"  # 4: inactive
        b"BOLT-M8,0,\n"  # 5: not positive
        b"BOLT-M8,abc,\n"  # 6: not a number
        b"BOLT-M8,2.5,\n"  # 7: not whole
        b"BOX-10,10,\n"  # 8: below the minimum
        b"BOX-10,25,\n"  # 9: not a multiple
        b"NOPRICE,5,\n"  # 10: no price
        b"BOLT-M8,5,PARIS\n"  # 11: unknown address
        b"BOLT-M8,5,HQ\n"  # 12: a billing address
        b",5,\n"  # 13: no SKU
        b"BOLT-M8,,BER\n"  # 14: no quantity
        b"BOLT-M8,5,BER,extra\n"  # 15: a value without a header
    )
    before = counts(world)
    r = upload(client, admin, content)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["detail"] == "not valid: 13 rows of the file; nothing was created"
    assert body["rows"] == [
        {"row": 3, "column": "sku", "message": "no product 'NOPE'"},
        {"row": 4, "column": "sku", "message": "product 'OLD' is not active"},
        {"row": 5, "column": "quantity", "message": "must be at least 1"},
        {"row": 6, "column": "quantity", "message": "'abc' is not a whole number"},
        {"row": 7, "column": "quantity", "message": "'2.5' is not a whole number"},
        {"row": 8, "column": "quantity", "message": "the minimum quantity is 20"},
        {"row": 9, "column": "quantity", "message": "must be a multiple of 10"},
        {"row": 10, "column": "sku",
         "message": "no price for 'NOPRICE' in EUR for this account on 2026-11-26"},
        {"row": 11, "column": "ship_to", "message": "no address 'PARIS' for account 'ACME'"},
        {"row": 12, "column": "ship_to", "message": "'HQ' is a billing address"},
        {"row": 13, "column": "sku", "message": "is required"},
        {"row": 14, "column": "quantity", "message": "is required"},
        {"row": 15, "column": None, "message": "has a value in column 4, which has no header"},
    ]
    assert body["errors"][0] == {"field": "rows[3].sku", "message": "no product 'NOPE'"}
    assert body["errors"][-1] == {"field": "rows[15]", "message": "has a value in column 4, which has no header"}
    assert counts(world) == before


def test_bad_rows_refuse_the_file_even_when_the_catalog_accepts_the_rest(world, client, admin) -> None:  # type: ignore[no-untyped-def]
    # given good catalog rows and one row whose quantity is not a number
    content = b"sku,quantity\nBOLT-M8,500\nNUT-M8,many\nPALLET,1\n"
    before = counts(world)
    r = upload(client, admin, content)
    # then that row is named and no order, item, reservation or event exists
    assert r.status_code == 422
    assert r.json()["errors"] == [{"field": "rows[3].quantity", "message": "'many' is not a whole number"}]
    assert counts(world) == before
    # and the corrected file is accepted under the same reference
    assert upload(client, admin, content.replace(b"many", b"100")).status_code == 201


def test_header_fields_and_row_problems_are_reported_together(world, client, admin) -> None:  # type: ignore[no-untyped-def]
    r = client.post("/api/v1/orders/bulk", headers=admin, files={"file": ("o.csv", b"sku,quantity\nBOLT-M8,-1\n", CSV)},
                    data={"account": "ACME", "currency": "euro", "external_reference": "B-9",
                          "ordered_at": "26.11.2026 10:00",
                          "colour": "red"})
    assert r.status_code == 422
    assert r.json()["errors"] == [
        {"field": "channel", "message": "Field required"},
        {"field": "currency", "message": "String should match pattern '^[A-Z]{3}$'"},
        {"field": "ordered_at", "message": "Input should be a valid datetime or date, invalid character in year"},
        {"field": "colour", "message": "Extra inputs are not permitted"},
        {"field": "rows[2].quantity", "message": "must be at least 1"},
    ]


def test_unknown_references_in_the_header_are_named(world, client, admin) -> None:  # type: ignore[no-untyped-def]
    r = upload(client, admin, b"sku,quantity\nBOLT-M8,5\nNOPE,1\n", channel="fax", ship_to="PARIS")
    assert r.status_code == 422
    assert r.json()["errors"] == [
        {"field": "ship_to", "message": "no address 'PARIS' for account 'ACME'"},
    ]
    r = upload(client, admin, b"sku,quantity\nBOLT-M8,5\nNOPE,1\n", channel="fax")
    assert r.json()["errors"] == [
        {"field": "channel", "message": "no sales channel 'fax'"},
        {"field": "rows[3].sku", "message": "no product 'NOPE'"},
    ]


def test_a_nul_character_in_a_field_and_an_unknown_gateway_are_named(world, client, admin) -> None:  # type: ignore[no-untyped-def]
    # given header fields with a NUL character, or a card payment at a gateway the installation lacks
    nul = upload(client, admin, b"sku,quantity\nBOLT-M8,5\n", po_number="PO\x001")
    gateway = upload(client, admin, b"sku,quantity\nBOLT-M8,5\n", payment_method="card",
                     payment_gateway="no-such-gateway", payment_token="tok_visa")
    # then each is refused naming its field, and nothing was created
    assert (nul.status_code, nul.json()["errors"]) == (
        422, [{"field": "po_number", "message": "must not contain the NUL character (\\u0000)"}])
    assert (gateway.status_code, gateway.json()["errors"]) == (422, [{
        "field": "payment_gateway",
        "message": "no payment gateway 'no-such-gateway' (this installation has: simulator)"}])
    assert counts(world) == (0, 0, 0, 0)


def test_a_buyer_orders_for_its_own_account_only(world, client) -> None:  # type: ignore[no-untyped-def]
    with world.read() as s:
        other = s.execute(select(Account.id).where(Account.number == "OTHER")).scalar_one()
        acme = s.execute(select(Account.id).where(Account.number == "ACME")).scalar_one()
    r = upload(client, api_key(world, Role.BUYER, other), b"sku,quantity\nBOLT-M8,5\n")
    assert (r.status_code, r.json()["errors"]) == (422, [{"field": "account", "message": "no account 'ACME'"}])
    assert upload(client, api_key(world, Role.BUYER, acme), b"sku,quantity\nBOLT-M8,5\n").status_code == 201
    assert upload(client, api_key(world, Role.FULFILLMENT), b"sku,quantity\nBOLT-M8,5\n").status_code == 403


def test_rows_without_any_ship_to_are_named(world, client, admin) -> None:  # type: ignore[no-untyped-def]
    factories.account(world, "NEWCO")
    address(world, "ONLY", account="NEWCO")  # not the default
    r = upload(client, admin, b"sku,quantity,ship_to\nBOLT-M8,5,ONLY\nNUT-M8,5,\n", account="NEWCO")
    assert r.status_code == 422
    assert r.json()["errors"] == [{
        "field": "rows[3].ship_to",
        "message": "is needed: the account has no default shipping address and the ship_to field is not given",
    }]


def test_out_of_stock_keeps_its_409_with_the_row_named(world, client, admin) -> None:  # type: ignore[no-untyped-def]
    factories.location(world, "WH-BER")
    factories.position(world, "BOLT-M8", "WH-BER", on_hand=100)
    factories.position(world, "NUT-M8", "WH-BER", on_hand=1000)
    world.transaction(lambda s: sourcing.set_sourcing(s, "web", "location", "WH-BER"))
    r = upload(client, admin, b"sku,quantity\nNUT-M8,10\nBOLT-M8,500\n")
    assert r.status_code == 409, r.text
    assert [(e["row"], e["column"]) for e in r.json()["rows"]] == [(3, "quantity")]
    assert counts(world)[0] == 0


# ----------------------------------------------------------------------------------------------
# Malformed files


def _zip(name: str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr(name, "x")
    return out.getvalue()


EMPTY = "is empty; the first row must be the header sku,quantity[,ship_to]"
NO_HEADER = "the first row must be the header sku,quantity[,ship_to]"
BROKEN = "is not a readable XLSX workbook (a broken ZIP file)"


@pytest.mark.parametrize(
    ("content", "content_type", "status", "error"),
    [
        (b"", CSV, 422, {"field": "file", "message": EMPTY}),
        (b"\n ,\n\n", CSV, 422, {"field": "file", "message": EMPTY}),
        (b"sku,quantity\n", CSV, 422, {"field": "file", "message": "has no rows after the header"}),
        (b"BOLT-M8,5\n", CSV, 422, [{"field": "header", "message": NO_HEADER}]),
        (b"sku,qty\nBOLT-M8,5\n", CSV, 422, [
            {"field": "header", "message": "column 2 has 'qty'; the columns are sku, quantity, ship_to"},
            {"field": "header", "message": "needs a 'quantity' column"},
        ]),
        (b"sku,quantity,sku\nA,1,A\n", CSV, 422, {"field": "header", "message": "column 'sku' appears twice"}),
        ("sku,quantity\nSCHRAUBE-\xc4,1\n".encode("latin-1"), CSV, 422,
         {"field": "file", "message": "is not UTF-8 text (line 2); save it as 'CSV UTF-8'"}),
        (b'sku,quantity\n"BOLT-M8,5\n', CSV, 422,
         {"field": "file", "message": "cannot be read as CSV after row 1: unexpected end of data"}),
        (bytes(range(256)) * 4, "application/octet-stream", 415, None),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 50, "image/png", 415, None),
        (b"sku,quantity\nBOLT-M8,5\n", "image/png", 415, None),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "application/vnd.ms-excel", 415, None),
        (_zip("word/document.xml"), XLSX, 415, None),
        (b"PK\x03\x04 broken", XLSX, 422, {"field": "file", "message": BROKEN}),
    ],
)
def test_malformed_files_get_a_problem_and_nothing_is_written(  # type: ignore[no-untyped-def]
    world, client, admin, content: bytes, content_type: str, status: int, error: Any
) -> None:
    r = upload(client, admin, content, content_type)
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    if error is not None:
        assert r.json()["errors"] == (error if isinstance(error, list) else [error])
    assert counts(world)[0] == 0


def test_too_many_rows_and_too_many_bytes_are_refused(world, client, admin) -> None:  # type: ignore[no-untyped-def]
    rows = b"sku,quantity\n" + b"BOLT-M8,1\n" * 10_001
    r = upload(client, admin, rows)
    assert (r.status_code, r.json()["errors"]) == (
        422, [{"field": "file", "message": "has more than 10000 rows; split it into several orders"}]
    )
    big = b"sku,quantity\n" + b"BOLT-M8,1" + b" " * (4 * 1024 * 1024) + b"\n"
    r = upload(client, admin, big)
    assert r.status_code == 413
    assert r.json()["type"] == "https://ordino.dev/problems/file-too-large"
    assert counts(world)[0] == 0


def test_requests_that_are_not_uploads_are_refused(world, client, admin) -> None:  # type: ignore[no-untyped-def]
    r = client.post("/api/v1/orders/bulk", headers=admin, json=FIELDS)
    assert (r.status_code, r.json()["type"]) == (415, "https://ordino.dev/problems/unsupported-media-type")
    r = client.post("/api/v1/orders/bulk", headers=admin, data=FIELDS, files={"other": ("x.csv", b"a", CSV)})
    assert r.status_code == 422
    assert r.json()["errors"] == [{"field": "file", "message": "is required: the CSV or XLSX file, in the part 'file'"}]


# ----------------------------------------------------------------------------------------------
# Idempotency


def test_the_idempotency_key_and_the_reference_never_duplicate(world, client, admin) -> None:  # type: ignore[no-untyped-def]
    content = b"sku,quantity\nBOLT-M8,500\nPALLET,1\n"
    keyed = {**admin, "Idempotency-Key": "bulk-1"}
    first = upload(client, keyed, content)
    replay = upload(client, keyed, content)  # a new multipart boundary, the same fields and file
    assert (first.status_code, replay.status_code) == (201, 201)
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json() == first.json()
    assert upload(client, keyed, content + b"NUT-M8,1\n").status_code == 422
    # without a key, the same (channel, external_reference) answers the existing order
    again = upload(client, admin, content)
    assert (again.status_code, again.json()["id"]) == (200, first.json()["id"])
    with world.read() as s:
        assert s.execute(select(func.count()).select_from(OrderDeliveryGroupSummary)).scalar_one() == 1
    assert counts(world)[0] == 1
