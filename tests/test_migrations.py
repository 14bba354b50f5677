"""The Alembic migrations build exactly the schema that the models declare, on both databases."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect

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
