"""Settings from the environment (ORDINO_*), read once at start-up."""

from __future__ import annotations

import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from ordino.kernel.money import is_currency

DEFAULT_DATABASE_URL = "sqlite:///ordino.db"
MIN_SECRET = 32  # characters of a server secret


class ConfigurationError(Exception):
    """A setting is missing or not valid; the process does not start."""


def _flag(value: str | None) -> bool | None:
    if value is None or value.strip() == "" or value.strip().lower() == "auto":
        return None
    return value.strip().lower() not in ("0", "false", "no", "off")


def _currency(value: str) -> str:
    code = value.strip().upper()
    if not is_currency(code):
        raise ValueError(f"ORDINO_CORPORATE_CURRENCY: '{value}' is not an active ISO 4217 currency")
    return code


def _secret(name: str) -> str | None:
    """ORDINO_<NAME> or the file named by ORDINO_<NAME>_FILE (e.g. a mounted secret)."""
    value = os.environ.get(name) or None
    file = os.environ.get(f"{name}_FILE") or None
    if value and file:
        raise ConfigurationError(f"set {name} or {name}_FILE, not both")
    if file:
        try:
            value = Path(file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigurationError(f"{name}_FILE: cannot read {file}: {exc.strerror}") from None
    if value is not None and len(value) < MIN_SECRET:
        raise ConfigurationError(
            f"{name}: at least {MIN_SECRET} characters; make one with "
            "python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"
        )
    return value
def _bytes(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"{name}: '{value}' is not a positive number of bytes")
    return int(value)


MIB = 1024 * 1024
LOG_FORMATS = ("json", "text")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def _choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = os.environ.get(name, "").strip() or default
    folded = value.upper() if choices[0].isupper() else value.lower()
    if folded not in choices:
        raise ValueError(f"{name}: '{value}' is not one of {', '.join(choices)}")
    return folded


def _otel_enabled() -> bool:
    """ORDINO_OTEL_ENABLED, or, when it is not set, whether an OTLP endpoint is configured."""
    flag = _flag(os.environ.get("ORDINO_OTEL_ENABLED"))
    if flag is not None:
        return flag
    return bool(os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))


def _port(value: str) -> int:
    if not value.strip():
        return 587
    if not value.strip().isdigit() or not 0 < int(value) < 65536:
        raise ValueError(f"ORDINO_SMTP_PORT: '{value}' is not a port number")
    return int(value)


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
    # The server secret API key digests are keyed with (HMAC-SHA256), and the one it replaced
    # (still accepted; keys are re-stored under the new one on use). From the environment,
    # `server_secret()` supplies the default; Settings built in code (tests) without a secret keep
    # the process's own.
    secret_key: str | None = None
    secret_key_previous: str | None = None
    # Failed authentications a client may have per window before it is answered 429; 0: no limit.
    auth_failure_limit: int = 20
    auth_failure_window: float = 60.0
    # /metrics: not served unless on; with a token, only to `Authorization: Bearer <token>`.
    metrics: bool = False
    metrics_token: str | None = None
    # The largest request body (413 past it, before it is read). A 10,000-line order or stock
    # update takes about 1.5 MB. POST /orders/bulk has its own (a 4 MiB file); imports are
    # parsed as they arrive, so theirs may be much larger.
    max_body_bytes: int = 4 * MIB
    max_import_bytes: int = 1024 * MIB
    # A deployment's flow files (flows/registry): they add to, replace or switch off the packaged flows.
    flows_dir: Path | None = None
    # Logs of `ordino serve` and `ordino worker`: one JSON object per line (for a collector) or
    # text (for a terminal); one `ordino.access` line per request unless switched off.
    log_format: str = "json"
    log_level: str = "INFO"
    access_log: bool = True
    # OpenTelemetry traces over OTLP (the optional `ordino[otel]` packages): kernel.telemetry.
    otel_enabled: bool = False
    # Webhook receivers on loopback or private networks (and plain http to loopback): refused unless
    # on, so that a subscription cannot make the server call its own network (SSRF). Development, tests.
    webhooks_allow_private: bool = False
    # E-mail notifications (ordino.notifications): without an SMTP host they are recorded, not sent.
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = True
    mail_from: str = "Ordino <noreply@ordino.invalid>"
    operations_email: str | None = None

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            database_url=os.environ.get("ORDINO_DATABASE_URL", DEFAULT_DATABASE_URL),
            admin_api_key=os.environ.get("ORDINO_ADMIN_API_KEY") or None,
            run_worker=_flag(os.environ.get("ORDINO_RUN_WORKER")),
            db_pool_size=int(os.environ.get("ORDINO_DB_POOL_SIZE", "10")),
            corporate_currency=_currency(os.environ.get("ORDINO_CORPORATE_CURRENCY", "EUR")),
            secret_key=_secret("ORDINO_SECRET_KEY"),
            secret_key_previous=_secret("ORDINO_SECRET_KEY_PREVIOUS"),
            auth_failure_limit=int(os.environ.get("ORDINO_AUTH_FAILURE_LIMIT", "20")),
            auth_failure_window=float(os.environ.get("ORDINO_AUTH_FAILURE_WINDOW", "60")),
            metrics=bool(_flag(os.environ.get("ORDINO_METRICS"))) or bool(os.environ.get("ORDINO_METRICS_TOKEN")),
            metrics_token=os.environ.get("ORDINO_METRICS_TOKEN") or None,
            max_body_bytes=_bytes("ORDINO_MAX_BODY_BYTES", 4 * MIB),
            max_import_bytes=_bytes("ORDINO_MAX_IMPORT_BYTES", 1024 * MIB),
            flows_dir=Path(os.environ["ORDINO_FLOWS_DIR"]) if os.environ.get("ORDINO_FLOWS_DIR") else None,
            log_format=_choice("ORDINO_LOG_FORMAT", "json", LOG_FORMATS),
            log_level=_choice("ORDINO_LOG_LEVEL", "INFO", LOG_LEVELS),
            access_log=_flag(os.environ.get("ORDINO_ACCESS_LOG")) is not False,
            otel_enabled=_otel_enabled(),
            webhooks_allow_private=bool(_flag(os.environ.get("ORDINO_WEBHOOKS_ALLOW_PRIVATE"))),
            smtp_host=os.environ.get("ORDINO_SMTP_HOST") or None,
            smtp_port=_port(os.environ.get("ORDINO_SMTP_PORT", "")),
            smtp_username=os.environ.get("ORDINO_SMTP_USERNAME") or None,
            smtp_password=os.environ.get("ORDINO_SMTP_PASSWORD") or None,
            smtp_starttls=_flag(os.environ.get("ORDINO_SMTP_STARTTLS")) is not False,
            mail_from=os.environ.get("ORDINO_MAIL_FROM") or "Ordino <noreply@ordino.invalid>",
            operations_email=os.environ.get("ORDINO_OPERATIONS_EMAIL") or None,
        )

    def server_secret(self) -> str:
        """The server secret: ORDINO_SECRET_KEY; without it, on a SQLite database file, a secret
        generated once into the file beside it (`ordino.db-secret`), and on an in-memory database
        one for this process. Any other database needs ORDINO_SECRET_KEY: every process must
        share it, and it must not be kept with the database."""
        if self.secret_key:
            return self.secret_key
        url = make_url(self.database_url)
        if url.get_backend_name() != "sqlite":
            raise ConfigurationError(
                "ORDINO_SECRET_KEY (or ORDINO_SECRET_KEY_FILE) is not set: API key digests are keyed "
                "with it. Make one with python3 -c 'import secrets; print(secrets.token_urlsafe(32))' "
                "and give the same one to every process (see docs/operations.md)"
            )
        if url.database in (None, "", ":memory:"):
            return secrets.token_urlsafe(32)
        return secret_file(Path(f"{url.database}-secret"))

    def worker_in_process(self) -> bool:
        if self.run_worker is not None:
            return self.run_worker
        return self.database_url.startswith("sqlite")


def secret_file(path: Path) -> str:
    """The secret in `path`, generated (mode 600) by the first process that needs it."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _ in range(50):  # another process may be writing it this very moment
            value = path.read_text(encoding="utf-8").strip()
            if value:
                return value
            time.sleep(0.01)
        raise ConfigurationError(f"{path} is empty: delete it or set ORDINO_SECRET_KEY") from None
    value = secrets.token_urlsafe(32)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(value + "\n")
    return value
