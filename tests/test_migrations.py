"""The Alembic migrations build exactly the schema that the models declare, on both databases."""

from __future__ import annotations

import hashlib
import uuid

from alembic import command
from sqlalchemy import inspect, text

from ordino.kernel.db import Database
from ordino.migrate import alembic_config, current_matches_models, upgrade


def test_migrated_schema_matches_the_models(db: Database) -> None:
    # given the database migrated by the harness; then autogenerate finds nothing to change
    assert current_matches_models(db.url) == []


def test_downgrade_to_base_and_upgrade_again(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # given a fresh SQLite database at head
    url = f"sqlite:///{tmp_path / 'm.db'}"
    upgrade(url)
    # when it is downgraded to base, nothing of Ordino's is left
    command.downgrade(alembic_config(url), "base")
    probe = Database(url)
    assert set(inspect(probe.engine).get_table_names()) == {"alembic_version"}
    probe.dispose()
    # and it upgrades again cleanly
    upgrade(url)
    assert current_matches_models(url) == []


def test_0014_blanks_hints_that_could_give_away_most_of_a_secret(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # given keys stored before 0014, each with the first 12 characters of its secret as hint
    url = f"sqlite:///{tmp_path / 'm.db'}"
    command.upgrade(alembic_config(url), "0013")
    generated = "ordino_" + "Q" * 43
    secrets = {
        "generated": generated,  # hint "ordino_QQQQQ": kept
        "short": "rs-admin",  # the whole secret
        "twelve": "ordino_abcde",  # 12 characters starting with ordino_: the whole secret
        "chosen": "my-own-admin-key-of-forty-characters-xx",  # not a generated key
        "empty": "ordino_" + "E" * 43,  # no hint at all
    }
    probe = Database(url)
    with probe.engine.begin() as conn:
        for name, secret in secrets.items():
            conn.execute(text(
                "INSERT INTO api_key (id, name, role, digest, hint, created_at) "
                "VALUES (:id, :name, 'admin', :digest, :hint, '2026-12-01 00:00:00.000000')"
            ), {"id": uuid.uuid4().hex, "name": name, "digest": hashlib.sha256(secret.encode()).hexdigest(),
                "hint": "" if name == "empty" else secret[:12]})
    # when the database is upgraded
    upgrade(url)
    # then only the generated key's hint is left, and every digest is marked as plain SHA-256
    with probe.engine.connect() as conn:
        rows = conn.execute(text("SELECT name, hint, digest_scheme FROM api_key ORDER BY name")).all()
    probe.dispose()
    assert [tuple(r) for r in rows] == [
        ("chosen", "", "sha256"), ("empty", "", "sha256"), ("generated", "ordino_QQQQQ", "sha256"),
        ("short", "", "sha256"), ("twelve", "", "sha256"),
    ]


def test_0015_makes_units_of_measure_codes_that_en16931_accepts(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # given products stored before 0015 with package codes lacking their X, a code of no list, and valid ones
    url = f"sqlite:///{tmp_path / 'm.db'}"
    command.upgrade(alembic_config(url), "0014")
    probe = Database(url)
    units = {"box": "BX", "roll": "RL", "each": "EA", "kilo": "KGM", "made-up": "PCS", "pallet": "XPX"}
    with probe.engine.begin() as conn:
        for sku, unit in units.items():
            conn.execute(text(
                "INSERT INTO product (id, sku, name, unit_of_measure, minimum_quantity, order_multiple, tax_class,"
                " backorder_policy, active, version, created_at, updated_at) VALUES (:id, :sku, :sku, :unit, 1, 1,"
                " 'standard', 'deny', 1, 1, '2026-12-01 00:00:00.000000', '2026-12-01 00:00:00.000000')"
            ), {"id": uuid.uuid4().hex, "sku": sku, "unit": unit})
    # when the database is upgraded
    upgrade(url)
    # then package codes get their X, an unknown code becomes C62, valid codes stay
    with probe.engine.connect() as conn:
        rows = dict(conn.execute(text("SELECT sku, unit_of_measure FROM product")).all())
    probe.dispose()
    assert rows == {"box": "XBX", "roll": "XRL", "each": "EA", "kilo": "KGM", "made-up": "C62", "pallet": "XPX"}
