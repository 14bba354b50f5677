"""Settings from the environment (ORDINO_*), read once at start-up."""

from __future__ import annotations

import os
from dataclasses import dataclass

DEFAULT_DATABASE_URL = "sqlite:///ordino.db"


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    admin_api_key: str | None = None
    run_worker: bool = True
    db_pool_size: int = 10

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            database_url=os.environ.get("ORDINO_DATABASE_URL", DEFAULT_DATABASE_URL),
            admin_api_key=os.environ.get("ORDINO_ADMIN_API_KEY") or None,
            run_worker=os.environ.get("ORDINO_RUN_WORKER", "1") not in ("0", "false", "no"),
            db_pool_size=int(os.environ.get("ORDINO_DB_POOL_SIZE", "10")),
        )
