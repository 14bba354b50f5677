"""Stock records: set on hand, safety stock and futures of many positions at once.

`apply_records` is the engine behind `PUT /inventory` and file imports. Each record is atomic
(all of its changes apply, or none); a batch is not: the valid records apply and each record is
reported as applied, duplicate or error. Writes are set-based: one query per referenced table,
one claim of the record ids, and multi-row statements per batch (never one round trip per record):

- a record whose `record_id` was applied before is skipped (`duplicate`); the ids are claimed
  with `INSERT … ON CONFLICT DO NOTHING`, so two concurrent calls with one id apply it once;
- absolute records and deltas that only add are one multi-row upsert;
- deltas that lower a counter are one `UPDATE … FROM (VALUES …)` whose WHERE keeps the counter
  at zero or more; a record it does not return is refused, and its claim is given back;
- when a batch names a position twice, its records apply in order, in successive statements.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Date,
    String,
    Table,
    Uuid,
    and_,
    bindparam,
    delete,
    literal_column,
    null,
    select,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeEngine

from ordino.catalog.models import Location, Product
from ordino.inventory import domain
from ordino.inventory.bulk import (
    SQLITE_IN,
    among,
    any_in,
    bulk_insert,
    dialect_insert,
    is_pg,
    json_rows,
    json_text,
    keys_in,
    rows_source,
)
from ordino.inventory.domain import Figures, StockRecord
from ordino.inventory.models import InventoryFuture, InventoryPosition, InventoryRecord
from ordino.inventory.schemas import InventoryUpdateIn
from ordino.kernel import clock
from ordino.kernel.errors import FieldError, ValidationFailed
from ordino.kernel.ids import new_id
from ordino.kernel.outbox import emit
from ordino.kernel.types import UTCDateTime

POSITION = cast(Table, InventoryPosition.__table__)
PRODUCT = cast(Table, Product.__table__)
LOCATION = cast(Table, Location.__table__)
FUTURE = cast(Table, InventoryFuture.__table__)
RECORD = cast(Table, InventoryRecord.__table__)
CHUNK = 5000  # keys per statement (SQLite: per IN list, at most bulk.SQLITE_IN)

Key = tuple[str, uuid.UUID]
Counts = tuple[int, int, int, int, int]  # on hand, reserved, safety stock, futures, backordered
KEY_COLUMNS: list[tuple[str, TypeEngine[Any]]] = [("sku", String(64)), ("location_id", Uuid())]


@dataclass(slots=True)
class Outcome:
    record: StockRecord
    status: str = "applied"  # applied | duplicate | error
    errors: tuple[tuple[str, str], ...] = ()  # (no list per record: one object less to collect)
    figures: Counts | None = None  # the position after the record
    location_id: uuid.UUID | None = None

    @property
    def key(self) -> Key:
        assert self.location_id is not None
        return (self.record.sku, self.location_id)

    def refuse(self, name: str, message: str) -> None:
        self.status = "error"
        self.errors += ((name, message),)


def upsert(session: Session, table: Table) -> Any:
    """The dialect's INSERT with ON CONFLICT support."""
    return dialect_insert(session, table)


def chunks(items: Sequence[Any], size: int = SQLITE_IN) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _batch(session: Session) -> int:
    return CHUNK if is_pg(session) else SQLITE_IN


def _references(pg: bool) -> Any:
    """Known SKUs and location ids by code, in one statement."""
    products = select(literal_column("'sku'").label("kind"), PRODUCT.c.sku.label("ref"), null().label("id"))
    locations = select(literal_column("'location'"), LOCATION.c.code, LOCATION.c.id)
    return union_all(
        locations.where(among(pg, LOCATION.c.code, "codes", String())),  # first: its id column types the union
        products.where(among(pg, PRODUCT.c.sku, "skus", String())),
    )


_REFERENCES = {pg: _references(pg) for pg in (True, False)}


def references(session: Session, skus: set[str], codes: set[str]) -> tuple[set[str], dict[str, uuid.UUID]]:
    """The SKUs that exist and the ids of the location codes that exist."""
    conn = session.connection()
    stmt = _REFERENCES[conn.dialect.name == "postgresql"]
    size = _batch(session)
    sku_parts, code_parts = list(chunks(sorted(skus), size)), list(chunks(sorted(codes), size))
    found: set[str] = set()
    ids: dict[str, uuid.UUID] = {}
    for n in range(max(len(sku_parts), len(code_parts))):
        params = {"skus": list(sku_parts[n]) if n < len(sku_parts) else [],
                  "codes": list(code_parts[n]) if n < len(code_parts) else []}
        for kind, ref, ident in conn.execute(stmt, params).all():
            if kind == "sku":
                found.add(ref)
            else:
                ids[ref] = ident
    return found, ids


def known_skus(session: Session, skus: set[str]) -> set[str]:
    return references(session, skus, set())[0]


def location_ids(session: Session, codes: set[str]) -> dict[str, uuid.UUID]:
    return references(session, set(), codes)[1]


def _figures(row: Any) -> Figures:
    return Figures(row.on_hand, row.reserved, row.safety_stock, row.futures, row.backordered)


def _counts(row: Any) -> Counts:
    return (row.on_hand, row.reserved, row.safety_stock, row.futures, row.backordered)


_RETURNED = (
    POSITION.c.sku, POSITION.c.location_id, POSITION.c.on_hand, POSITION.c.reserved, POSITION.c.safety_stock,
    POSITION.c.futures, POSITION.c.backordered,
)


def current_figures(session: Session, keys: Sequence[Key]) -> dict[Key, Figures]:
    out: dict[Key, Figures] = {}
    for part in chunks(list(keys), _batch(session)):
        cond = keys_in(session, (POSITION.c.sku, POSITION.c.location_id), KEY_COLUMNS, part)
        out.update(((r.sku, r.location_id), _figures(r)) for r in session.execute(select(*_RETURNED).where(cond)))
    return out


def apply_records(session: Session, records: Sequence[StockRecord]) -> list[Outcome]:
    """Apply what can be applied; one outcome per record, in the records' order."""
    now = clock.now()
    outcomes = [Outcome(r) for r in records]
    skus, locations = references(session, {r.sku for r in records}, {r.location for r in records})
    seen: set[int] = set()  # record ids as integers: hashed in C, not by UUID.__hash__
    candidates: list[Outcome] = []
    for o in outcomes:
        r = o.record
        if r.sku not in skus:
            o.refuse("sku", f"no product '{r.sku}'")
        o.location_id = locations.get(r.location)
        if o.location_id is None:
            o.refuse("location", f"no location '{r.location}'")
        if r.record_id is not None:
            if r.record_id.int in seen:
                o.refuse("record_id", "is used by an earlier record of this batch")
            seen.add(r.record_id.int)
        if o.status == "applied":
            candidates.append(o)

    _claim(session, [o for o in candidates if o.record.record_id is not None], now)
    ready = [o for o in candidates if o.status == "applied"]

    refused_ids: list[uuid.UUID] = []
    for wave in domain.waves(ready, key=_lock_order):
        wave.sort(key=_lock_order)  # rows are locked in the same order as reservations take them
        for part in chunks(wave, _batch(session)):
            _apply_wave(session, list(part), now)
        refused_ids += [o.record.record_id for o in wave if o.status == "error" and o.record.record_id]
    for part in chunks(refused_ids, _batch(session)):
        session.execute(delete(RECORD).where(any_in(session, RECORD.c.record_id, part, Uuid())))
    return outcomes


_AS_INT = attrgetter("int")  # UUIDs sort as their integers do, without Python's UUID comparison


def _lock_order(o: Outcome) -> tuple[str, int]:
    """(sku, location id) order."""
    assert o.location_id is not None
    return (o.record.sku, o.location_id.int)


def _claim(session: Session, outcomes: list[Outcome], now: Any) -> None:
    """Claim the record ids for this transaction; a record whose id was applied before becomes
    a duplicate. Ids are inserted in sorted order, so two calls sharing ids wait, not deadlock."""
    conn = session.connection()
    for part in chunks(outcomes, _batch(session)):
        ids = sorted((cast(uuid.UUID, o.record.record_id) for o in part), key=_AS_INT)
        if is_pg(session):
            # Answers only the places (from 1) of the ids already applied: usually none.
            applied = conn.execute(_CLAIM_PG, {"ids": json_text([(i,) for i in ids]), "now": now}).scalars().all()
            duplicates = {ids[n - 1] for n in applied}
            for o in part if duplicates else ():
                if o.record.record_id in duplicates:
                    o.status = "duplicate"
            continue
        bulk = bulk_insert(session, RECORD, [("record_id", Uuid())], [(i,) for i in ids], {"applied_at": now})
        stmt = bulk.insert.on_conflict_do_nothing(index_elements=["record_id"]).returning(RECORD.c.record_id)
        claimed = set(bulk.execute(session, stmt).scalars())
        for o in part:
            if o.record.record_id not in claimed:
                o.status = "duplicate"


def _claim_pg() -> Any:
    ids = json_rows("ids", [("record_id", Uuid())], ordinal="n").cte("ids")
    claimed = (
        pg_insert(RECORD)
        .from_select(
            ["record_id", "applied_at"],
            select(ids.c.record_id, bindparam("now", type_=UTCDateTime())).order_by(ids.c.n),
        )
        .on_conflict_do_nothing(index_elements=["record_id"])
        .returning(RECORD.c.record_id)
        .cte("claimed")
    )
    return select(ids.c.n).where(ids.c.record_id.not_in(select(claimed.c.record_id)))


_CLAIM_PG = _claim_pg()


def _ops(r: StockRecord) -> tuple[bool, bool, bool]:
    """Which counters the record sets (True) rather than changes by an amount (False)."""
    absolute = r.mode == "absolute"
    return (
        absolute and r.on_hand is not None,
        absolute and r.safety_stock is not None,
        absolute and r.futures is not None,
    )


def _apply_wave(session: Session, wave: list[Outcome], now: Any) -> None:
    variants: dict[tuple[bool, bool, bool], list[Outcome]] = {}
    lowering: list[Outcome] = []
    for o in wave:
        if o.record.lowers:
            lowering.append(o)
        else:
            variants.setdefault(_ops(o.record), []).append(o)
    for ops, group in variants.items():
        _upsert_positions(session, ops, group, now)
    if lowering:
        _lower_positions(session, lowering, now)
    _write_futures(session, [o for o in wave if o.status == "applied" and o.record.futures is not None])


_COUNTERS: list[tuple[str, TypeEngine[Any]]] = [
    *KEY_COLUMNS, ("on_hand", BigInteger()), ("safety_stock", BigInteger()), ("futures", BigInteger())
]


def _counters(o: Outcome) -> tuple[Any, ...]:
    r = o.record
    return (r.sku, o.location_id, r.on_hand or 0, r.safety_stock or 0, r.futures_total if r.futures else 0)


def _set(ops: tuple[bool, bool, bool], excluded: Any) -> dict[str, Any]:
    """ON CONFLICT DO UPDATE: counters set (absolute) or changed by the record's amount."""

    def op(name: str, sets: bool) -> ColumnElement[Any]:
        return cast(ColumnElement[Any], excluded[name] if sets else POSITION.c[name] + excluded[name])

    return {
        "on_hand": op("on_hand", ops[0]),
        "safety_stock": op("safety_stock", ops[1]),
        "futures": op("futures", ops[2]),
        "version": POSITION.c.version + 1,
        "updated_at": excluded.updated_at,
    }


def _upsert_pg(ops: tuple[bool, bool, bool]) -> Any:
    """PostgreSQL: one upsert of the batch (JSON rows, in lock order) that answers each row's
    place in the batch with the position's figures: integers only, nothing to match up."""
    rows = json_rows("rows", _COUNTERS, ordinal="n").cte("rows")
    consts = [literal_column("0"), literal_column("0"), literal_column("1"), bindparam("now", type_=UTCDateTime())]
    insert = pg_insert(POSITION)
    upserted = (
        insert.from_select(
            [*(n for n, _ in _COUNTERS), "reserved", "backordered", "version", "updated_at"],
            select(*(rows.c[n] for n, _ in _COUNTERS), *consts).order_by(rows.c.n),
        )
        .on_conflict_do_update(index_elements=["sku", "location_id"], set_=_set(ops, insert.excluded))
        .returning(*_RETURNED)
        .cte("upserted")
    )
    u = upserted.c
    return select(rows.c.n, u.on_hand, u.reserved, u.safety_stock, u.futures, u.backordered).join(
        upserted, and_(u.sku == rows.c.sku, u.location_id == rows.c.location_id)
    )


_UPSERT_PG = {(a, b, c): _upsert_pg((a, b, c)) for a, b, c in itertools.product((False, True), repeat=3)}


def _upsert_positions(session: Session, ops: tuple[bool, bool, bool], group: list[Outcome], now: Any) -> None:
    if is_pg(session):
        conn = session.connection()
        params = {"rows": json_text([_counters(o) for o in group]), "now": now}
        for n, on_hand, reserved, safety_stock, futures, backordered in conn.execute(_UPSERT_PG[ops], params).all():
            group[n - 1].figures = (on_hand, reserved, safety_stock, futures, backordered)
        return
    bulk = bulk_insert(
        session, POSITION, _COUNTERS, [_counters(o) for o in group],
        {"reserved": 0, "backordered": 0, "version": 1, "updated_at": now},
    )
    stmt = bulk.insert.on_conflict_do_update(
        index_elements=["sku", "location_id"], set_=_set(ops, bulk.insert.excluded)
    ).returning(*_RETURNED)
    found = {(r.sku, r.location_id): _counts(r) for r in bulk.execute(session, stmt).all()}
    for o in group:
        o.figures = found[o.key]


def _lower_positions(session: Session, group: list[Outcome], now: Any) -> None:
    v = rows_source(session, "v", _COUNTERS, [_counters(o) for o in group])
    p = POSITION.c
    stmt = (
        update(POSITION)
        .values(
            on_hand=p.on_hand + v.c.on_hand,
            safety_stock=p.safety_stock + v.c.safety_stock,
            futures=p.futures + v.c.futures,
            version=p.version + 1,
            updated_at=now,
        )
        .where(
            p.sku == v.c.sku,
            p.location_id == v.c.location_id,
            p.on_hand + v.c.on_hand >= 0,
            p.safety_stock + v.c.safety_stock >= 0,
        )
        .returning(*_RETURNED)
    )
    figures = {(r.sku, r.location_id): _counts(r) for r in session.execute(stmt).all()}
    refused = [o for o in group if o.key not in figures]
    current = current_figures(session, [o.key for o in refused]) if refused else {}
    for o in group:
        if o.key in figures:
            o.figures = figures[o.key]
            continue
        now_figures = current.get(o.key, Figures())
        for name, have, change in (
            ("on_hand", now_figures.on_hand, o.record.on_hand or 0),
            ("safety_stock", now_figures.safety_stock, o.record.safety_stock or 0),
        ):
            if have + change < 0:
                o.refuse(name, f"would be negative: {have} now, change {change}")


_FUTURE_COLUMNS: list[tuple[str, TypeEngine[Any]]] = [
    ("id", Uuid()), *KEY_COLUMNS, ("expected_on", Date()), ("quantity", BigInteger())
]


def _future_rows(outcomes: list[Outcome]) -> list[tuple[Any, ...]]:
    return [
        (new_id(), o.record.sku, o.location_id, day, quantity)
        for o in outcomes
        for day, quantity in sorted(o.record.merged_futures().items())
    ]


def _write_futures(session: Session, applied: list[Outcome]) -> None:
    replace = [o for o in applied if o.record.mode == "absolute"]
    add = [o for o in applied if o.record.mode == "delta"]
    if replace:
        cond = keys_in(session, (FUTURE.c.sku, FUTURE.c.location_id), KEY_COLUMNS, [o.key for o in replace])
        session.execute(delete(FUTURE).where(cond))
    rows = _future_rows(replace)
    if rows:
        bulk = bulk_insert(session, FUTURE, _FUTURE_COLUMNS, rows, {})
        bulk.execute(session, bulk.insert)
    rows = _future_rows(add)
    if rows:
        bulk = bulk_insert(session, FUTURE, _FUTURE_COLUMNS, rows, {})
        stmt = bulk.insert.on_conflict_do_update(
            index_elements=["sku", "location_id", "expected_on"],
            set_={"quantity": FUTURE.c.quantity + bulk.insert.excluded.quantity},
        )
        bulk.execute(session, stmt)


def position_doc(sku: str, location: str, figures: Figures) -> dict[str, Any]:
    return {"sku": sku, "location": location, **figures.as_dict()}


# ------------------------------------------------------------------------------------------------
# PUT /inventory


def update_inventory(session: Session, data: InventoryUpdateIn) -> dict[str, Any]:
    """Apply a call's records; one `inventory.updated` event with the counts."""
    errors: list[FieldError] = []
    records: list[StockRecord] = []
    for i, r in enumerate(data.records):
        for name, message in domain.check_values(data.mode, r.on_hand, r.safety_stock, r.futures is not None):
            errors.append(FieldError(f"records[{i}].{name}", message))
        futures = None if r.futures is None else [(f.expected_on, f.quantity) for f in r.futures]
        records.append(StockRecord(i, r.record_id, r.sku, r.location, data.mode, r.on_hand, r.safety_stock, futures))
    if errors:
        raise ValidationFailed(errors)
    outcomes = apply_records(session, records)
    counts = summarize(outcomes)
    emit(session, "inventory.updated", None, {"source": "api", "mode": data.mode, **counts})
    return {"mode": data.mode, **counts, "records": [_outcome_doc(o) for o in outcomes]}


def summarize(outcomes: Sequence[Outcome]) -> dict[str, int]:
    statuses = [o.status for o in outcomes]
    return {
        "applied": statuses.count("applied"),
        "duplicates": statuses.count("duplicate"),
        "errors": statuses.count("error"),
    }


def _outcome_doc(o: Outcome) -> dict[str, Any]:
    r = o.record
    doc: dict[str, Any] = {"record_id": r.record_id, "sku": r.sku, "location": r.location, "status": o.status}
    if o.figures is not None:
        on_hand, reserved, safety_stock, futures, backordered = o.figures
        atf = on_hand - reserved - safety_stock
        doc["position"] = {
            "on_hand": on_hand, "reserved": reserved, "safety_stock": safety_stock, "backordered": backordered,
            "futures_total": futures, "available_to_fulfill": atf, "available_to_order": atf + futures - backordered,
        }
    if o.errors:
        doc["errors"] = [{"field": f"records[{r.index}].{name}", "message": message} for name, message in o.errors]
    return doc
