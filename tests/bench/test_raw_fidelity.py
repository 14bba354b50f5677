"""The raw baseline sends the same SQL as Ordino's intake: both are captured and compared.

If this fails, place_order changed its statements: update ordino/bench/raw_sql.py (order pricing)
or ordino/bench/raw_catalog.py (catalog pricing) to match, so that the baseline keeps measuring the
same database work without Ordino.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import replace
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event

from ordino.bench.baseline import RawConnection
from ordino.bench.common import BenchDatabase
from ordino.bench.raw_catalog import place_catalog_order
from ordino.bench.raw_sql import place_order
from ordino.bench.seed import CONTRACT_EVERY, TIER_FROM, seed
from ordino.bench.workload import OrderSource, line_amount_cents, vat_cents
from ordino.kernel.db import Database

_CAST = re.compile(r"::(timestamp with time zone|[a-z]+)")
_PARAM = re.compile(r"%\(\w+\)s|%s|\?")
_PREFIX = re.compile(r"\b[a-z_]+\.(?=[a-z_])")


def canonical(sql: str) -> str:
    """The statement without what differs only in spelling: casts, quotes, parameter styles, table
    prefixes on columns, whitespace."""
    s = sql.lower().replace('"', "")
    s = _CAST.sub("", s)
    s = _PARAM.sub("?", s)
    s = _PREFIX.sub("", s)
    return " ".join(s.split())


class Recorder:
    """A cursor that notes every statement (and how many rows an executemany sends)."""

    def __init__(self, cursor: Any) -> None:
        self.cursor = cursor
        self.log: list[tuple[str, int]] = []

    def execute(self, query: Any, params: Any = ()) -> Any:
        self.log.append((canonical(query), 1))
        return self.cursor.execute(query, params)

    def executemany(self, query: Any, params_seq: Any) -> Any:
        rows = list(params_seq)
        self.log.append((canonical(query), len(rows)))
        return self.cursor.executemany(query, rows)

    def fetchone(self) -> Any:
        return self.cursor.fetchone()

    def fetchall(self) -> Any:
        return self.cursor.fetchall()


PLACE = {"order": place_order, "catalog": place_catalog_order}


@pytest.mark.parametrize("pricing", ["order", "catalog"])
def test_raw_baseline_sends_the_statements_that_ordino_sends(db: Database, app: Any, pricing: str) -> None:
    # given a seeded database and two orders of the benchmark workload
    world = seed(db, accounts=3, products=20, pricing=pricing)
    source = OrderSource(world, "FID", seed=1)
    headers = {"Authorization": f"Bearer {world.api_key}", "Content-Type": "application/json"}
    captured: list[tuple[str, int]] = []
    placed = source.make(2)
    # the same account: with catalog pricing, whether it has a contract book decides the statements
    raw = replace(source.make(3), account=placed.account)

    def listen(_conn: Any, _cur: Any, statement: str, params: Any, _ctx: Any, many: bool) -> None:
        captured.append((canonical(statement), len(params) if many else 1))

    with TestClient(app) as client:
        first = client.post("/api/v1/orders", content=source.make(1).body(world.channel),
                            headers={**headers, "Idempotency-Key": str(uuid.uuid4())})
        assert first.status_code == 201, first.text  # authenticates and caches the key
        # when Ordino places an order, every statement it sends is captured
        event.listen(db.engine, "before_cursor_execute", listen)
        try:
            second = client.post("/api/v1/orders", content=placed.body(world.channel),
                                 headers={**headers, "Idempotency-Key": str(uuid.uuid4())})
        finally:
            event.remove(db.engine, "before_cursor_execute", listen)
    assert second.status_code == 201, second.text
    ordino = [(sql, rows) for sql, rows in captured if sql not in ("begin immediate", "begin")]

    # and the raw baseline places one with the bare driver
    conn = RawConnection(BenchDatabase(db.url, db.dialect))
    recorder = Recorder(conn.cursor)
    try:
        conn.begin()
        PLACE[pricing](recorder, conn.dialect, raw, channel=world.channel,
                       api_key_id=world.api_key_id, key=str(uuid.uuid4()))
        conn.commit()
    finally:
        conn.close()

    # then both sent the same statements, in the same order, with the same row counts
    assert recorder.log == ordino


def test_raw_baseline_writes_what_ordino_writes(db: Database, app: Any) -> None:
    # given a seeded database
    world = seed(db, accounts=3, products=20)
    source = OrderSource(world, "ROWS", seed=2)
    with TestClient(app) as client:
        r = client.post("/api/v1/orders", content=source.make(1).body(world.channel),
                        headers={"Authorization": f"Bearer {world.api_key}", "Content-Type": "application/json",
                                 "Idempotency-Key": "k1"})
    assert r.status_code == 201, r.text
    # when the raw baseline places an order too
    conn = RawConnection(BenchDatabase(db.url, db.dialect))
    try:
        conn.begin()
        place_order(conn.cursor, conn.dialect, source.make(2), channel=world.channel,
                    api_key_id=world.api_key_id, key="k2")
        conn.commit()
    finally:
        conn.close()
    # then Ordino reads the raw order back like its own: same shape, same derived totals
    with TestClient(app) as client:
        listed = client.get("/api/v1/orders", headers={"Authorization": f"Bearer {world.api_key}"}).json()
        docs = {o["external_reference"]: client.get(f"/api/v1/orders/{o['id']}", headers={
            "Authorization": f"Bearer {world.api_key}"}).json() for o in listed["items"]}
    ours, raw = docs["ROWS-0000001"], docs["ROWS-0000002"]
    assert set(raw) == set(ours)
    assert [i["type"] for i in raw["delivery_groups"][0]["items"]] == ["product"] * 5 + ["delivery_charge"]
    replay = OrderSource(world, "ROWS", seed=2)
    replay.make(1)
    expected = replay.make(2)
    # the lines, the 12.50 shipping charge and the VAT the sender put on each of them
    amounts = [line_amount_cents(ln) for ln in expected.lines] + [1250]
    grand_total = sum(amounts) + sum(vat_cents(a) for a in amounts)
    assert raw["totals"]["grand_total"] == f"{grand_total // 100}.{grand_total % 100:02d}"
    # and both keep the tax the sender gave: one VAT line on every item
    assert (raw["tax"], ours["tax"]) == ("given", "given")
    assert [[(t["name"], t["rate"], t["amount"], t["category"]) for t in i["tax_lines"]]
            for i in raw["delivery_groups"][0]["items"]] == [
        [("VAT 19%", "0.19", f"{v // 100}.{v % 100:02d}", "S")] for v in map(vat_cents, amounts)]
    assert raw["number"] == "SO-000002"
    assert raw["account"] == expected.account


def _items(doc: dict[str, Any]) -> list[tuple[Any, ...]]:
    """What pricing and tax decided for each item of an order document."""
    return [
        (i["type"], i["sku"], i["unit_price"], i["line_amount"], i["adjustment_amount"], i["tax_amount"],
         [(a["source"], a["reference"], a["amount"]) for a in i["adjustments"]],
         [(t["name"], t["rate"], t["amount"], t["taxable_amount"], t["category"]) for t in i["tax_lines"]])
        for g in doc["delivery_groups"] for i in g["items"]
    ]


def test_raw_catalog_baseline_prices_and_taxes_as_ordino_does(db: Database, app: Any) -> None:
    # given a catalog-priced world (contract books for every other account, tiers, a promotion)
    world = seed(db, accounts=4, products=40, pricing="catalog")
    source = OrderSource(world, "CAT", seed=3)
    specs = [source.make(n) for n in range(1, 9)]
    headers = {"Authorization": f"Bearer {world.api_key}", "Content-Type": "application/json"}
    # when Ordino places eight orders over HTTP and the raw baseline the same eight again
    with TestClient(app) as client:
        for spec in specs:
            r = client.post("/api/v1/orders", content=spec.body(world.channel),
                            headers={**headers, "Idempotency-Key": str(uuid.uuid4())})
            assert r.status_code == 201, r.text
    conn = RawConnection(BenchDatabase(db.url, db.dialect))
    try:
        for spec in specs:
            conn.begin()
            again = replace(spec, external_reference=f"RAW-{spec.external_reference}")
            place_catalog_order(conn.cursor, conn.dialect, again, channel=world.channel,
                                api_key_id=world.api_key_id, key=str(uuid.uuid4()))
            conn.commit()
    finally:
        conn.close()
    # then Ordino reads back the raw orders with the same prices, discounts, taxes and totals as its own
    with TestClient(app) as client:
        listed = client.get("/api/v1/orders?limit=100", headers=headers).json()["items"]
        docs = {o["external_reference"]: client.get(f"/api/v1/orders/{o['id']}", headers=headers).json()
                for o in listed}
    assert len(docs) == 16
    for spec in specs:
        ours, raw = docs[spec.external_reference], docs[f"RAW-{spec.external_reference}"]
        assert _items(raw) == _items(ours)
        assert raw["totals"] == ours["totals"]
        assert (raw["pricing"], raw["tax"], raw["tax_notes"]) == ("catalog", "calculate", [])
    # and the workload reaches both the tiers and the contract prices
    lines = [(spec.account, line) for spec in specs for line in spec.lines]
    assert sum(1 for _, line in lines if line.quantity >= TIER_FROM) > 0
    assert sum(1 for account, line in lines
               if account in world.accounts[::2] and int(line.sku[4:]) % CONTRACT_EVERY == 0) > 0
