"""Authorizations about to expire are re-authorized once, before they lapse; a decline is announced."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from ordino.kernel import clock
from ordino.kernel.db import Database
from ordino.kernel.outbox import OutboxEvent
from ordino.kernel.worker import AfterCommit
from ordino.payments import renewal
from ordino.payments.gateway import HttpGateway
from tests.payments.support import Sim, authorize, capture, kinds, new_order, payment

G = dict[str, HttpGateway]


@pytest.fixture
def behind() -> Iterator[None]:
    """Ordino's clock a minute behind the gateway's, as in test_service's expiry tests."""
    t0 = datetime.now(UTC)
    clock.set_clock(lambda: t0 - timedelta(minutes=1))
    yield
    clock.set_clock(None)


def run_job(db: Database, gateways: G) -> None:
    later = db.transaction(renewal.reauthorize_expiring_job(gateways))
    if isinstance(later, AfterCommit):
        later.run(db, lambda _s: None)


def failures(db: Database) -> list[dict[str, object]]:
    with db.read() as s:
        return list(s.execute(select(OutboxEvent.data).where(OutboxEvent.type == renewal.AUTHORIZATION_FAILED))
                    .scalars())


@pytest.mark.usefixtures("behind")
def test_an_authorization_about_to_expire_is_reauthorized_for_what_is_left(db: Database, sim: Sim,
                                                                          gateways: G) -> None:
    # given: 50.00 lapsing in 2 hours with 10.00 captured, and 30.00 lasting the gateway's week
    expiring = authorize(db, gateways, new_order(), 5000, token="tok_expires_in_7200").payment_id
    capture(db, gateways, expiring, 1000)
    lasting = authorize(db, gateways, new_order(), 3000).payment_id

    # when
    run_job(db, gateways)

    # then: the 40.00 left is on a new authorization; the old one's remainder reversed
    assert sim.performed("reauthorize") == 1
    assert payment(db, expiring).status == "closed"
    assert payment(db, lasting).status == "authorized"
    assert kinds(db)[-1] == ("authorization", "authorized", 4000)
    assert failures(db) == []


@pytest.mark.usefixtures("behind")
def test_a_renewal_run_again_reauthorizes_nothing_twice(db: Database, sim: Sim, gateways: G) -> None:
    auth = authorize(db, gateways, new_order(), 5000, token="tok_expires_in_7200").payment_id

    first = renewal.renew(db, gateways, auth, 5000)
    again = renewal.renew(db, gateways, auth, 5000)  # another worker, or the same after a crash

    assert (first.payment_id, first.settled_now) == (again.payment_id, True)
    assert again.settled_now is False
    assert sim.performed("reauthorize") == 1


@pytest.mark.usefixtures("behind")
def test_a_declined_renewal_is_announced_once(db: Database, sim: Sim, gateways: G) -> None:
    # given: an authorization the gateway no longer holds (reversed on its side)
    order = new_order()
    auth = authorize(db, gateways, order, 5000, token="tok_expires_in_7200").payment_id
    sim.state.authorizations[payment(db, auth).gateway_reference].status = "reversed"

    # when: the job runs twice
    run_job(db, gateways)
    run_job(db, gateways)

    # then: one decline at the gateway, one announcement for the payment process exception
    assert sim.performed("reauthorize") == 1
    [failure] = failures(db)
    assert (failure["order_summary_id"], failure["replaces"], failure["code"], failure["amount"]) == (
        str(order.id), str(auth), "authorization_not_active", "50.00")
    assert payment(db, auth).status == "authorized"  # the old one stays until it lapses
