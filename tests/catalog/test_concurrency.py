"""Concurrent catalog writes, proven on PostgreSQL with parallel connections."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from ordino.catalog import service
from ordino.catalog.models import Product
from ordino.catalog.schemas import ProductIn, ProductPatch
from ordino.kernel.db import Database
from ordino.kernel.errors import Problem
from tests import factories

THREADS = 8


@pytest.fixture
def pg(db: Database) -> Database:
    if db.dialect != "postgresql":
        pytest.skip("concurrency is proven on PostgreSQL")
    return db


def _race(db: Database, works: list[Callable[[Any], object]]) -> Counter[str]:
    """Run each work in its own transaction and thread, released together; count the outcomes."""
    barrier = threading.Barrier(len(works))
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()

    def run(work: Callable[[Any], object]) -> None:
        barrier.wait()
        try:
            db.transaction(work)
            outcome = "ok"
        except Problem as exc:
            outcome = f"{exc.status} {exc.slug}"
        except Exception as exc:  # anything else would be a 500
            outcome = f"error {type(exc).__name__}"
        with lock:
            outcomes[outcome] += 1

    threads = [threading.Thread(target=run, args=(w,)) for w in works]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes


def test_same_sku_created_at_once_is_one_product_and_409s(pg: Database) -> None:
    data = ProductIn(sku="BOLT-M8", name="Hex bolt M8")
    outcomes = _race(pg, [lambda s: service.create(s, service.PRODUCT, data)] * THREADS)
    assert outcomes == Counter({"ok": 1, "409 duplicate": THREADS - 1})
    with pg.read() as s:
        assert s.execute(select(Product.sku)).scalars().all() == ["BOLT-M8"]


def test_same_version_patched_at_once_has_exactly_one_winner(pg: Database) -> None:
    factories.product(pg, "BOLT-M8")
    works = [
        (lambda s, n=n: service.update(s, service.PRODUCT, "BOLT-M8", ProductPatch(name=f"By {n}"), '"1"'))
        for n in range(THREADS)
    ]
    assert _race(pg, works) == Counter({"ok": 1, "409 version-conflict": THREADS - 1})
    with pg.read() as s:
        assert s.execute(select(Product.version)).scalar_one() == 2
