"""Which handlers react to which events. Capabilities add their handlers here as they grow."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ordino.kernel.db import Database
from ordino.kernel.worker import Dispatcher, Periodic, Registration

HANDLERS: Mapping[str, Sequence[Registration]] = {}
PERIODIC: Sequence[Periodic] = ()


def build_dispatcher(db: Database, handlers: Mapping[str, Sequence[Registration]] | None = None) -> Dispatcher:
    return Dispatcher(db, HANDLERS if handlers is None else handlers, periodic=PERIODIC)
