"""Every table of every capability, imported so that metadata (Alembic, tests) sees them all."""

from ordino.accounts import models as accounts
from ordino.catalog import models as catalog
from ordino.fulfillment import models as fulfillment
from ordino.inventory import models as inventory
from ordino.invoicing import models as invoicing
from ordino.kernel import auth, idempotency, numbering, outbox, statemachine
from ordino.kernel.db import Base
from ordino.orders import buying_models as buying
from ordino.orders import exception_models as process_exceptions
from ordino.orders import models as orders
from ordino.payments import models as payments
from ordino.pricing import models as pricing
from ordino.tax import models as tax

metadata = Base.metadata

__all__ = [
    "accounts", "auth", "buying", "catalog", "fulfillment", "idempotency", "inventory", "invoicing", "metadata",
    "numbering", "orders", "outbox", "payments", "pricing", "process_exceptions", "statemachine", "tax",
]
