"""The inventory the stock scenarios start from: the intake seed (products, an admin key), N
locations, a location group holding all of them, and positions.

Positions are written by one `INSERT … SELECT` over products × locations, so that the database
makes the rows: 5M positions (100k SKUs × 50 locations) take about half a minute on PostgreSQL.
There, when the role may, the statement runs with `session_replication_role = replica`, which
skips the per-row foreign-key triggers (the rows come from the two referenced tables, so they
cannot break them) and saves about two thirds of the time.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import bindparam, create_engine, insert, text
from sqlalchemy.orm import Session

from ordino.bench.common import BenchDatabase
from ordino.bench.seed import prepare
from ordino.catalog.models import Location
from ordino.inventory.models import InventoryPosition, LocationGroup, LocationGroupMember
from ordino.kernel import clock
from ordino.kernel.db import Database
from ordino.kernel.ids import new_id
from ordino.kernel.types import UTCDateTime

GROUP = "ALL"

# on hand 0–999, a quarter of it reserved, safety stock 0–6: every kind of figure, some positions
# with nothing available
_FILL = (
    "INSERT INTO inventory_position (sku, location_id, on_hand, reserved, safety_stock, futures, backordered,"
    " version, updated_at) SELECT sku, id, r, r / 4, r % 7, 0, 0, 1, :now"
    " FROM (SELECT p.sku, l.id, {random} AS r FROM product p CROSS JOIN location l) AS s"
)
_SUPERUSER = text("SELECT current_setting('is_superuser')")
_RANDOM = {"postgresql": "(random() * 999)::bigint", "sqlite": "abs(random()) % 1000"}


@dataclass(frozen=True, slots=True)
class Stockroom:
    """What the load generators need to know about the seeded database."""

    api_key: str
    skus: tuple[str, ...]
    locations: tuple[str, ...]  # codes
    location_ids: tuple[uuid.UUID, ...]
    group_id: uuid.UUID
    group: str = GROUP


def location_codes(count: int) -> tuple[str, ...]:
    return tuple(f"LOC-{i:03d}" for i in range(1, count + 1))


def prepare_stockroom(db: BenchDatabase, *, skus: int, locations: int) -> Stockroom:
    """Migrate and seed an empty database: products, locations and the group of all of them."""
    world = prepare(db.url, accounts=1, products=skus)
    codes = location_codes(locations)
    ids = tuple(new_id() for _ in codes)
    group_id = new_id()
    now = clock.now()

    def work(session: Session) -> None:
        session.execute(
            insert(Location),
            [{"id": i, "code": c, "name": f"Warehouse {c}", "kind": "warehouse", "country": "DE", "active": True,
              "version": 1, "created_at": now, "updated_at": now} for i, c in zip(ids, codes, strict=True)],
        )
        session.execute(insert(LocationGroup), [{"id": group_id, "code": GROUP, "name": "All locations",
                                                 "version": 1, "created_at": now, "updated_at": now}])
        session.execute(insert(LocationGroupMember), [{"group_id": group_id, "location_id": i} for i in ids])

    database = Database(db.url, pool_size=1)
    try:
        database.transaction(work)
    finally:
        database.dispose()
    return Stockroom(world.api_key, world.skus, codes, ids, group_id)


def fill_positions(db: BenchDatabase) -> int:
    """A position for every product at every location, with random figures; returns the count."""
    engine = create_engine(db.url)
    try:
        with engine.begin() as conn:
            superuser = db.dialect == "postgresql" and conn.execute(_SUPERUSER).scalar() == "on"
            if superuser:
                conn.execute(text("SET LOCAL session_replication_role = replica"))
            fill = text(_FILL.format(random=_RANDOM[db.dialect])).bindparams(bindparam("now", type_=UTCDateTime()))
            count = conn.execute(fill, {"now": clock.now()}).rowcount
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE inventory_position" if db.dialect == "postgresql" else "ANALYZE"))
    finally:
        engine.dispose()
    return int(count)


def put_position(db: BenchDatabase, sku: str, location_id: uuid.UUID, *, on_hand: int, safety_stock: int = 0) -> None:
    """One position with nothing reserved."""
    engine = create_engine(db.url)
    try:
        with engine.begin() as conn:
            conn.execute(insert(InventoryPosition).values(
                sku=sku, location_id=location_id, on_hand=on_hand, reserved=0, safety_stock=safety_stock,
                futures=0, backordered=0, version=1, updated_at=clock.now(),
            ))
    finally:
        engine.dispose()
