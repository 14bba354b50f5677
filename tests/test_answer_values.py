"""The fixed value sets the answer models declare are the ones the domain defines: a state added
to a lifecycle must appear in the document too."""

from __future__ import annotations

from typing import Any, get_args

import pytest
from pydantic import BaseModel

from ordino.fulfillment.domain import FO_STATUSES, FULFILLMENT_ORDER_LIFECYCLE, SHIPMENT_STATUSES
from ordino.fulfillment.schemas import FulfillmentOrderOut, ShipmentOut
from ordino.inventory.models import IMPORT_STATUSES, RESERVATION_STATUSES
from ordino.inventory.schemas import InventoryImportOut, ReservationOut
from ordino.invoicing.domain import CREDIT_MEMO_STATUSES, INVOICE_KINDS, INVOICE_STATUSES
from ordino.invoicing.schemas import CreditMemoOut, InvoiceOut
from ordino.orders.approvals.models import REQUEST_STATUSES
from ordino.orders.approvals.schemas import ApprovalOut
from ordino.orders.domain import ORDER_LIFECYCLE, ORDER_STATUSES, SERVICING_ACTIONS
from ordino.orders.models import ITEM_TYPES
from ordino.orders.process_exceptions.models import CATEGORIES, SEVERITIES, STATUSES
from ordino.orders.process_exceptions.schemas import ProcessExceptionOut
from ordino.orders.quotes.models import QUOTE_STATUSES
from ordino.orders.quotes.schemas import QuoteOut
from ordino.orders.schemas import OrderItemOut, OrderOut
from ordino.payments.domain import KINDS as PAYMENT_KINDS
from ordino.payments.schemas import PaymentOut


def _values(model: type[BaseModel], field: str) -> set[Any]:
    annotation = model.model_fields[field].annotation
    args = get_args(annotation)
    if args and all(isinstance(a, str) for a in args):
        return set(args)
    return {v for a in args for v in get_args(a)}  # list[Literal[...]] or Literal[...] | None


@pytest.mark.parametrize(
    ("model", "field", "values"),
    [
        (OrderOut, "status", ORDER_STATUSES),
        (OrderOut, "available_actions", {*ORDER_LIFECYCLE.transitions, *SERVICING_ACTIONS}),
        (OrderItemOut, "type", ITEM_TYPES),
        (FulfillmentOrderOut, "status", FO_STATUSES),
        (ShipmentOut, "status", SHIPMENT_STATUSES),
        (ReservationOut, "status", RESERVATION_STATUSES),
        (InventoryImportOut, "status", IMPORT_STATUSES),
        (InvoiceOut, "status", INVOICE_STATUSES),
        (InvoiceOut, "kind", INVOICE_KINDS),
        (CreditMemoOut, "status", CREDIT_MEMO_STATUSES),
        (PaymentOut, "kind", PAYMENT_KINDS),
        (ApprovalOut, "status", REQUEST_STATUSES),
        (QuoteOut, "status", QUOTE_STATUSES),
        (ProcessExceptionOut, "status", STATUSES),
        (ProcessExceptionOut, "category", CATEGORIES),
        (ProcessExceptionOut, "severity", SEVERITIES),
    ],
)
def test_an_answer_declares_the_domain_values(model: type[BaseModel], field: str, values: Any) -> None:
    assert _values(model, field) == set(values)


def test_fulfillment_order_actions_are_lifecycle_actions_with_an_endpoint() -> None:
    # the lifecycle's shipping transitions are served by /ship; allocate has no endpoint
    served = {"ship" if a in ("ship_partially", "fulfill") else a for a in FULFILLMENT_ORDER_LIFECYCLE.transitions}
    assert _values(FulfillmentOrderOut, "available_actions") == (served - {"allocate"}) | {"deliver"}
