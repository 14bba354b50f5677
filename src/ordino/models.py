"""Every table of every capability, imported so that metadata (Alembic, tests) sees them all."""

from ordino.accounts import models as accounts
from ordino.catalog import models as catalog
from ordino.kernel import auth, idempotency, numbering, outbox, statemachine
from ordino.kernel.db import Base
from ordino.orders import models as orders

metadata = Base.metadata

__all__ = [
    "accounts", "auth", "catalog", "idempotency", "metadata", "numbering", "orders", "outbox",
    "statemachine",
]
