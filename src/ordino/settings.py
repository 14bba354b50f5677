"""Settings from the environment (ORDINO_*), read once at start-up."""

from __future__ import annotations

import os
from dataclasses import dataclass

from ordino.kernel.money import is_currency

DEFAULT_DATABASE_URL = "sqlite:///ordino.db"


def _flag(value: str | None) -> bool | None:
    if value is None or value.strip() == "" or value.strip().lower() == "auto":
        return None
    return value.strip().lower() not in ("0", "false", "no", "off")


def _currency(value: str) -> str:
    code = value.strip().upper()
    if not is_currency(code):
        raise ValueError(f"ORDINO_CORPORATE_CURRENCY: '{value}' is not an active ISO 4217 currency")
    return code


def _bytes(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"{name}: '{value}' is not a positive number of bytes")
    return int(value)


MIB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    admin_api_key: str | None = None
    # The in-process event worker: on by default for SQLite, where `ordino serve` is all there
    # is; off for PostgreSQL, where `ordino worker` processes run on their own.
    run_worker: bool | None = None
    db_pool_size: int = 10
    # The currency of the company's books: conversions for reporting default to it.
    corporate_currency: str = "EUR"
    # The largest request body (413 past it, before it is read). A 10,000-line order or stock
    # update takes about 1.5 MB. POST /orders/bulk has its own (a 4 MiB file); imports are
    # parsed as they arrive, so theirs may be much larger.
    max_body_bytes: int = 4 * MIB
    max_import_bytes: int = 1024 * MIB

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            database_url=os.environ.get("ORDINO_DATABASE_URL", DEFAULT_DATABASE_URL),
            admin_api_key=os.environ.get("ORDINO_ADMIN_API_KEY") or None,
            run_worker=_flag(os.environ.get("ORDINO_RUN_WORKER")),
            db_pool_size=int(os.environ.get("ORDINO_DB_POOL_SIZE", "10")),
            corporate_currency=_currency(os.environ.get("ORDINO_CORPORATE_CURRENCY", "EUR")),
            max_body_bytes=_bytes("ORDINO_MAX_BODY_BYTES", 4 * MIB),
            max_import_bytes=_bytes("ORDINO_MAX_IMPORT_BYTES", 1024 * MIB),
        )

    def worker_in_process(self) -> bool:
        if self.run_worker is not None:
            return self.run_worker
        return self.database_url.startswith("sqlite")
