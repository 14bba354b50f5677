"""The flows that run: the packaged files keep the chain, a deployment's file overrides a flow for
one channel, and a condition gates a step on the order."""

# ruff: noqa: F811 (fixtures imported from tests.invoicing.support)

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from ordino.flows.registry import build_dispatcher, handlers, load, periodic
from ordino.kernel.db import Database
from ordino.orders.models import OrderSummary
from ordino.payments.gateway import Gateways
from ordino.payments.models import Payment
from tests import factories
from tests.invoicing.support import (  # noqa: F401
    Sim,
    frozen,
    gateways,
    order_payload,
    place,
    sim,
    sim_server,
    world,
)


def test_the_packaged_flows_run_the_chain_in_its_order() -> None:
    assert {event: [r.name for r in regs] for event, regs in handlers({}).items()} == {
        "order.created": ["fulfillment.approve_and_route", "payments.authorize_order",
                          "notifications.order_confirmation", "notifications.approval_requested"],
        "order.approved": ["fulfillment.approve_and_route", "payments.authorize_order",
                           "notifications.order_confirmation"],
        "inventory.backorders_allocated": ["fulfillment.route_arrived_stock"],
        "fulfillment_order.partially_shipped": ["invoicing.invoice_shipment", "notifications.shipment"],
        "fulfillment_order.fulfilled": ["invoicing.invoice_shipment", "notifications.shipment"],
        "invoice.created": ["invoicing.ensure_funds", "notifications.invoice"],
        "credit_memo.created": ["invoicing.ensure_refunds"],
        "order.items_added": ["payments.authorize_added_items"],
        "order.exchanged": ["payments.authorize_added_items"],
        "payment.authorization_failed": ["process_exceptions.authorization_failed"],
        "order.pending_approval": ["notifications.approval_requested"],
        "return_order.received": ["notifications.return_credited"],
        "quote.sent": ["notifications.quote_sent"],
        "process_exception.created": ["notifications.process_exception"],
        "contact.erased": ["notifications.erase_contact"],
        "*": ["webhooks.fan_out"],
    }
    assert [(job.name, job.seconds) for job in periodic({})] == [
        ("inventory.expire_holds", 5.0), ("inventory.allocate_backorders", 5.0),
        ("payments.expire_authorizations", 60.0), ("payments.reauthorize_expiring", 600.0),
        ("payments.resolve_pending", 60.0),
        ("invoicing.settle_pending", 60.0), ("invoicing.remind_overdue", 3600.0), ("quotes.expire", 60.0),
    ]


def _status(db: Database, number: str) -> str:
    with db.read() as s:
        return str(s.execute(select(OrderSummary.status).where(OrderSummary.number == number)).scalar_one())


def _authorized(db: Database) -> dict[str, int]:
    """Order number → its authorizations."""
    with db.read() as s:
        orders = dict(s.execute(select(OrderSummary.id, OrderSummary.number)).tuples().all())
        found = s.execute(select(Payment.order_summary_id).where(Payment.kind == "authorization")).scalars().all()
    return {number: sum(1 for o in found if o == order_id) for order_id, number in orders.items()}


def _two_orders(db: Database) -> tuple[dict[str, Any], dict[str, Any]]:
    factories.channel(db, "pos", kind="pos")
    web = place(db, order_payload(reference="WEB-1"))
    pos = place(db, order_payload(reference="POS-1", channel="pos"))
    return web, pos


def test_a_flow_file_for_one_channel_runs_there_and_the_packaged_flow_elsewhere(
    world: Database, gateways: Gateways, sim: Sim, tmp_path: Path
) -> None:
    # given: POS orders are paid at the till, so their activation routes but never authorizes
    (tmp_path / "pos.yaml").write_text(
        "flow: order-activation\nversion: 2\nscope: {channel: pos}\nsteps:\n"
        "  - name: route\n    on: order.created\n    action: orders.credit_check_and_route\n"
    )
    web, pos = _two_orders(world)

    # when
    build_dispatcher(world, gateways, plan=load(tmp_path)).drain()

    # then: both routed; only the web order's card authorized
    assert (_status(world, web["number"]), _status(world, pos["number"])) == ("approved", "approved")
    assert sim.performed("authorize") == 1
    assert _authorized(world) == {web["number"]: 1, pos["number"]: 0}


def test_a_condition_gates_a_step_on_the_order(
    world: Database, gateways: Gateways, sim: Sim, tmp_path: Path
) -> None:
    # given: authorizations only from 100.00 up (the orders are 36.78)
    packaged = (Path(__file__).parents[2] / "src/ordino/flows/definitions/order-activation.yaml").read_text()
    (tmp_path / "activation.yaml").write_text(packaged.replace(
        "    action: payments.authorize_order\n",
        "    action: payments.authorize_order\n    when: order.grand_total >= 10000\n",
    ).replace("version: 1", "version: 2"))
    web, pos = _two_orders(world)

    # when
    build_dispatcher(world, gateways, plan=load(tmp_path)).drain()

    # then: routed, not authorized
    assert (_status(world, web["number"]), _status(world, pos["number"])) == ("approved", "approved")
    assert sim.performed("authorize") == 0
    assert _authorized(world) == {web["number"]: 0, pos["number"]: 0}


@pytest.mark.usefixtures("frozen")
def test_the_packaged_flows_authorize_every_card_order(world: Database, gateways: Gateways, sim: Sim) -> None:
    _two_orders(world)

    build_dispatcher(world, gateways).drain()

    assert sim.performed("authorize") == 2
