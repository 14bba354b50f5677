"""Logs: one JSON object per line (or plain text), each carrying what the process is working on.

A request's lines carry its `request_id` (kernel.observe); lines written while the code works on
an order carry `order_number` (or `order_id` when only the id is known): the order routes bind it
from their path, the worker from the event it delivers. The context is a mutable holder in a
context variable, so what an endpoint binds in a worker thread is on the request's last line too.

What goes into a line is chosen where it is written: messages name records by number or id,
never a person's name or address; database errors lose their values (kernel.db); SQL is not
echoed (the engines are made with echo off and hide their parameters).
"""

from __future__ import annotations

import logging
import logging.config
import os
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass
from typing import Any

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

FORMATS = ("json", "text")


@dataclass(slots=True)
class LogContext:
    request_id: str | None = None
    order_number: str | None = None
    order_id: str | None = None

    def fields(self) -> dict[str, str]:
        return {name: value for name in ("request_id", "order_number", "order_id")
                if (value := getattr(self, name)) is not None}


_context: ContextVar[LogContext | None] = ContextVar("ordino_log_context", default=None)

_UUID = re.compile(r"^[0-9a-fA-F]{8}-?([0-9a-fA-F]{4}-?){3}[0-9a-fA-F]{12}$")
# A client's X-Request-ID is kept when it is a plain token; anything else is replaced.
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def current() -> LogContext | None:
    return _context.get()


@contextmanager
def log_context(request_id: str | None = None) -> Iterator[LogContext]:
    """A fresh context for a request or an event, for the code run inside."""
    ctx = LogContext(request_id=request_id)
    token = _context.set(ctx)
    try:
        yield ctx
    finally:
        _context.reset(token)


def enter(request_id: str | None = None) -> Token[LogContext | None]:
    """`log_context` without a context manager (a middleware's hot path); `leave` ends it."""
    return _context.set(LogContext(request_id=request_id))


def leave(token: Token[LogContext | None]) -> None:
    _context.reset(token)


def request_id(given: str | None) -> str:
    """The client's request id when it is a plain token, else a new one."""
    if given and _REQUEST_ID.match(given):
        return given
    return os.urandom(16).hex()


def bind_order(ref: str) -> None:
    """Name the order the current code works on: a number, or an id (UUID)."""
    ctx = _context.get()
    if ctx is None:
        return
    if _UUID.match(ref):
        ctx.order_id = ref
    else:
        ctx.order_number = ref


def bind_event(subject: str | None, data: Mapping[str, Any]) -> None:
    """Name the order an outbox event is about: its subject (`order/<id>`) and the number in its
    data (`number` on order events, `order_number` on others)."""
    ctx = _context.get()
    if ctx is None:
        return
    is_order = bool(subject and subject.startswith("order/"))
    if is_order:
        ctx.order_id = str(subject)[len("order/"):]
    number = data.get("order_number") or (data.get("number") if is_order else None)
    if isinstance(number, str):
        ctx.order_number = number


# Set by kernel.telemetry when tracing is on: a span around the handling of one event.
event_span: Callable[[str], AbstractContextManager[object]] | None = None


@contextmanager
def event_context(event_type: str, subject: str | None, data: Mapping[str, Any]) -> Iterator[LogContext]:
    """The worker's context for delivering one event: a fresh log context naming its order, and
    a span (`event <type>`) over its handlers' SQL when tracing is on."""
    with log_context() as ctx:
        bind_event(subject, data)
        if event_span is None:
            yield ctx
        else:
            with event_span(event_type):
                yield ctx


class ContextFilter(logging.Filter):
    """Puts the current context's fields on every record a handler writes."""

    def filter(self, record: logging.LogRecord) -> bool:
        ctx = _context.get()
        if ctx is not None:
            for name, value in ctx.fields().items():
                setattr(record, name, value)
        return True


class TextFormatter(logging.Formatter):
    """`time level logger message key=value...` with the context fields."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        extra = [f"{name}={getattr(record, name)}" for name in ("request_id", "order_number", "order_id")
                 if hasattr(record, name)]
        if not extra:
            return line
        first, sep, rest = line.partition("\n")
        return f"{first} {' '.join(extra)}{sep}{rest}"


def json_formatter() -> logging.Formatter:
    return JsonFormatter(
        ["asctime", "levelname", "name", "message"],
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        datefmt="%Y-%m-%dT%H:%M:%S%z",
        reserved_attrs=[*RESERVED_ATTRS, "color_message"],  # uvicorn's message with terminal colours
    )


def logging_config(fmt: str = "json", level: str = "INFO") -> dict[str, Any]:
    """A `logging.config.dictConfig` for the process, uvicorn's loggers included (uvicorn is given
    it as its `log_config`, so its worker processes log the same way)."""
    if fmt not in FORMATS:
        raise ValueError(f"log format '{fmt}': one of {', '.join(FORMATS)}")
    formatter = {"()": json_formatter} if fmt == "json" else {"()": TextFormatter}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"context": {"()": ContextFilter}},
        "formatters": {"ordino": formatter},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "ordino", "filters": ["context"],
                                "stream": "ext://sys.stderr"}},
        "root": {"handlers": ["stderr"], "level": level.upper()},
        "loggers": {name: {"handlers": [], "propagate": True, "level": level.upper()}
                    for name in ("uvicorn", "uvicorn.error")}
                   # uvicorn's access lines quote the path with its query string: ours (kernel.observe) do not
                   | {"uvicorn.access": {"handlers": [], "propagate": False}}
                   # never statements with their values; never outgoing URLs with their queries (tokens)
                   | {"sqlalchemy.engine": {"level": "WARNING"}, "httpx": {"level": "WARNING"}},
    }


def configure_logging(fmt: str = "json", level: str = "INFO") -> None:
    logging.config.dictConfig(logging_config(fmt, level))
