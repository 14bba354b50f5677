"""Which handlers react to which events. Capabilities add their handlers here as they grow."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ordino.inventory import service as inventory
from ordino.kernel.db import Database
from ordino.kernel.worker import Dispatcher, Periodic, Registration

HANDLERS: Mapping[str, Sequence[Registration]] = {}
PERIODIC: Sequence[Periodic] = (
    # Cart holds are released within seconds of expiring.
    Periodic("inventory.expire_holds", 5.0, lambda session: inventory.expire_holds(session)),
    # Backordered reservations move onto stock as it arrives, oldest first.
    Periodic("inventory.allocate_backorders", 5.0, lambda session: inventory.allocate_backorders(session)),
)


def build_dispatcher(db: Database, handlers: Mapping[str, Sequence[Registration]] | None = None) -> Dispatcher:
    return Dispatcher(db, HANDLERS if handlers is None else handlers, periodic=PERIODIC)
