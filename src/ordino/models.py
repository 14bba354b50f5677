"""Every table of every capability, imported so that metadata (Alembic, tests) sees them all."""

from ordino.accounts import models as accounts
from ordino.audit import models as audit
from ordino.catalog import models as catalog
from ordino.fulfillment import models as fulfillment
from ordino.inventory import models as inventory
from ordino.invoicing import models as invoicing
from ordino.kernel import auth, idempotency, numbering, outbox, statemachine
from ordino.kernel.db import Base
from ordino.notifications import models as notifications
from ordino.orders import models as orders
from ordino.orders.approvals import models as approvals
from ordino.orders.process_exceptions import models as process_exceptions
from ordino.orders.quotes import models as quotes
from ordino.payments import models as payments
from ordino.pricing import models as pricing
from ordino.privacy import models as privacy
from ordino.servicing.returns import models as returns
from ordino.tax import models as tax
from ordino.webhooks import models as webhooks

metadata = Base.metadata

__all__ = [
    "accounts", "approvals", "audit", "auth", "catalog", "fulfillment", "idempotency", "inventory", "invoicing",
    "metadata", "notifications", "numbering", "orders", "outbox", "payments", "pricing", "privacy",
    "process_exceptions", "quotes", "returns", "statemachine", "tax", "webhooks",
]
