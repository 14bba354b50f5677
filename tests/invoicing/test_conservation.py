"""Money conservation: a Hypothesis state machine drives random order lifecycles through the real
intake, routing, fulfilment API, flows, invoicing and payments services and the gateway simulator
served over HTTP, and checks after every step that no minor unit is made or lost.

Rules: place orders (a card, two cards, invoice terms, a card and invoice terms; 1–3 products,
sub-cent unit prices, line discounts, shipping), run the worker, ship in part or in full, cancel
the unshipped units (fulfilment order cancel + a cancel change order) and credit them, return
shipped units and credit them, appease, capture up front, record remittances, `POST /refunds`,
`POST /invoices/{id}/ensure-funds`, run the periodic jobs, and give the gateway trouble: answers
lost after the work was done (as with `tok_timeout` when every attempt times out) or no gateway
at all; `tok_timeout` cards make the adapter retry with the same key.

After every step, per order and over all orders, in minor units:

    Σ captures − Σ refunds                          (payments engine, succeeded)
      = Σ capture applications to invoices           (payment_application, applied)
      − Σ credit memo refunds of applied money       (refund_application, source applied, applied)
      + unapplied money                              (captures − applications − refunds of
                                                      unapplied money; ≥ 0 per capture)

  every refund is a credit memo's or an order's refund application of the same amount and status;
  invoice.total = net + tax = Σ applied applications (captures + remittances) + balance;
  credit_memo.total = Σ applied refunds + not_charged + balance; balances ≥ 0;
  per authorization captured + pending ≤ authorized, per capture refunded + pending ≤ captured,
  summaries = the sums of their records; nothing negative;
  the simulator performed exactly the captures and refunds the engine recorded (succeeded, or
  pending with an answer that was lost): one capture per record, same amounts;
  invoiced units ≤ shipped units, and an item's invoiced amounts are its cumulative shares
  round_half_up(amount × invoiced / ordered) exactly; a fully shipped order without change
  orders is invoiced for exactly its grand total; credit memos total what their change orders
  take off.

At the end of every example everything is settled (gateway back, events retried, periodic jobs,
ensure funds on open invoices, `POST /refunds` per order) and then: nothing is pending, every
shipped unit is invoiced, and an order paid by healthy cards has every invoice paid, every credit
memo closed and keeps no captured money beyond what it must still pay (none once every unit is
shipped or cancelled).

CI runs a fixed, derandomized set of examples; `ORDINO_CONSERVATION_EXAMPLES=300` runs more.
"""

# ruff: noqa: F811 (fixtures imported from tests.invoicing.support)

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field, replace
from datetime import timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test
from sqlalchemy import func, select, text, update

from ordino.fulfillment.models import FulfillmentOrder
from ordino.invoicing import service as invoicing
from ordino.invoicing.models import (
    CreditMemo,
    Invoice,
    InvoiceLine,
    PaymentApplication,
    RefundApplication,
    Remittance,
)
from ordino.kernel import clock
from ordino.kernel.auth import forget_cached_keys
from ordino.kernel.db import Database
from ordino.kernel.outbox import OutboxEvent
from ordino.kernel.worker import Dispatcher
from ordino.models import metadata
from ordino.orders.models import OrderItemSummary
from ordino.payments import service as payments
from ordino.payments.gateway import CallRecord, GatewayResult, GatewayUnavailable, HttpGateway
from ordino.payments.models import OrderPaymentSummary, Payment
from ordino.payments.simulator import SimulatorConfig
from tests import factories
from tests.conftest import api_key
from tests.invoicing.support import NOW, Sim, change_order, flows, frozen, item_ids, place, sim, sim_server  # noqa: F401

EXAMPLES = int(os.environ.get("ORDINO_CONSERVATION_EXAMPLES", "12"))
SETTINGS = settings(max_examples=EXAMPLES, stateful_step_count=20, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
SKUS = ("BOLT-M8", "NUT-M8", "WASHER-M8")
HEALTHY = {"tok_visa", "tok_amex", "tok_timeout"}
TOKENS = ["tok_visa"] * 5 + ["tok_timeout", "tok_capture_fails", "tok_refund_fails", "tok_decline"]
MAX_ORDERS = 4
STEP = timedelta(minutes=61)  # past any event backoff (capped at 1 h) and the 5-minute job cutoffs


def share(amount: int, units: int, ordered: int) -> int:
    """round_half_up(amount × units / ordered), halves away from zero."""
    exact = abs(Fraction(amount * units, ordered))
    rounded = (exact.numerator * 2 + exact.denominator) // (exact.denominator * 2)
    return -rounded if amount < 0 else rounded


def money(minor: int) -> str:
    return f"{'-' if minor < 0 else ''}{abs(minor) // 100}.{abs(minor) % 100:02d}"


# ------------------------------------------------------------------------------------------------
# The gateway, with trouble on demand


@dataclass
class Trouble:
    """The simulator's adapter; `lost`: the simulator does the work but the answer never comes
    back (every attempt timed out), `down`: nothing reaches it."""

    inner: HttpGateway
    mode: str = "ok"
    name: str = "simulator"

    def _run(self, operation: str, key: str, call: Any) -> GatewayResult:
        if self.mode == "down":
            raise GatewayUnavailable(f"gateway 'simulator' did not answer {operation}: connection refused", (
                CallRecord(operation, key, 1, {}, None, None, "connection_error", 0, "connection refused"),))
        result: GatewayResult = call()
        if self.mode == "lost":
            raise GatewayUnavailable(f"gateway 'simulator' did not answer {operation}: timed out", tuple(
                replace(c, response=None, http_status=None, outcome="timeout", error="timed out")
                for c in result.calls))
        return result

    def authorize(self, **kw: Any) -> GatewayResult:
        return self._run("authorize", kw["idempotency_key"], lambda: self.inner.authorize(**kw))

    def capture(self, **kw: Any) -> GatewayResult:
        return self._run("capture", kw["idempotency_key"], lambda: self.inner.capture(**kw))

    def refund(self, **kw: Any) -> GatewayResult:
        return self._run("refund", kw["idempotency_key"], lambda: self.inner.refund(**kw))

    def void(self, **kw: Any) -> GatewayResult:
        return self._run("void", kw["idempotency_key"], lambda: self.inner.void(**kw))

    def reauthorize(self, **kw: Any) -> GatewayResult:
        return self._run("reauthorize", kw["idempotency_key"], lambda: self.inner.reauthorize(**kw))


# ------------------------------------------------------------------------------------------------
# The model: what the test itself knows of each order


@dataclass
class Item:
    id: uuid.UUID
    sku: str | None  # None: the delivery group's shipping charge
    ordered: int
    line: int
    adjustments: list[int]
    taxes: list[int]
    shipped: int = 0
    canceled: int = 0
    returned: int = 0
    appeased: int = 0

    def shares(self, units: int) -> tuple[int, int, int]:
        """(line, adjustment, tax) that invoices billing `units` units add up to."""
        return (share(self.line, units, self.ordered), sum(share(a, units, self.ordered) for a in self.adjustments),
                sum(share(t, units, self.ordered) for t in self.taxes))

    @property
    def left(self) -> int:
        return self.ordered - self.shipped - self.canceled


@dataclass
class Order:
    id: uuid.UUID
    number: str
    kind: str  # card | two_cards | invoice | card_invoice
    tokens: tuple[str, ...]
    grand_total: int
    items: list[Item]
    fo: str | None = None
    fo_open: bool = True
    change_orders: dict[uuid.UUID, tuple[str, int]] = field(default_factory=dict)  # id → (kind, grand total)
    credited: int = 0  # what the credit memos made so far take off

    @property
    def healthy_cards(self) -> bool:
        return self.kind in ("card", "two_cards") and set(self.tokens) <= HEALTHY

    @property
    def products(self) -> list[Item]:
        return [i for i in self.items if i.sku is not None]


def _reset(db: Database) -> None:
    """Empty every table (cheaper than TRUNCATE on PostgreSQL for tables this small)."""
    with db.engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(text(f"DELETE FROM {table.name}"))
    forget_cached_keys()


def _world(db: Database) -> None:
    factories.account(db, "ACME")
    factories.channel(db, "web")
    factories.location(db, "WH-BER")
    for sku in SKUS:
        factories.product(db, sku, name=f"Product {sku}")
        factories.position(db, sku, "WH-BER", on_hand=1_000_000)


line_spec = st.tuples(
    st.integers(1, 600),  # quantity
    st.one_of(st.integers(1, 5_000).map(lambda c: Decimal(c).scaleb(-2)),  # whole cents
              st.integers(1, 9_999_999).map(lambda m: Decimal(m).scaleb(-6))),  # sub-cent prices
    st.sampled_from([0, 0, 10, 50, 90, 99, 100]) | st.integers(0, 100),  # discount, % of the line
    st.sampled_from([19, 7]),  # VAT rate, %
)


class Conservation(RuleBasedStateMachine):
    def __init__(self, db: Database, sim: Sim, client: TestClient, trouble: Trouble) -> None:
        super().__init__()
        self.db, self.sim, self.client, self.trouble = db, sim, client, trouble
        trouble.mode = "ok"
        sim.state.reset(SimulatorConfig(timeout_delay=0.4, expired_after=0.0))
        self.now = NOW
        clock.set_clock(lambda: self.now)
        _reset(db)
        _world(db)
        self.headers = api_key(db)
        self.orders: list[Order] = []
        self.count = 0  # steps, for remittance references, idempotency keys and the snapshot cache
        self._snap: Snapshot | None = None

    # -- helpers -----------------------------------------------------------------------------------

    def _later(self) -> None:
        self.now = self.now + STEP

    def _drain(self) -> None:
        self._later()
        Dispatcher(self.db, flows({"simulator": self.trouble})).drain()
        with self.db.read() as s:  # handlers fail only when a gateway does not answer
            errors = s.execute(select(OutboxEvent.type, OutboxEvent.last_error).where(
                OutboxEvent.dispatched_at.is_(None), OutboxEvent.last_error.is_not(None))).all()
        assert all("GatewayUnavailable" in str(e.last_error) for e in errors), errors

    def _post(self, url: str, body: dict[str, Any], ok: tuple[int, ...], key: str | None = None) -> Any:
        headers = {**self.headers, **({"Idempotency-Key": key} if key else {})}
        r = self.client.post(url, json=body, headers=headers)
        allowed = ok + ((502,) if self.trouble.mode != "ok" else ())
        assert r.status_code in allowed, (url, body, r.status_code, r.text)
        return r

    def _fo(self, order: Order) -> str | None:
        if order.fo is None:
            with self.db.read() as s:
                found = s.execute(select(FulfillmentOrder.id).where(FulfillmentOrder.order_summary_id == order.id)
                                  ).scalars().all()
            assert len(found) <= 1
            order.fo = str(found[0]) if found else None
        return order.fo

    def _credit(self, order: Order, co: uuid.UUID, total: int) -> None:
        """Credit a change order: refused (409, nothing written) when it takes nothing off."""
        before = self._count(CreditMemo)
        r = self._post("/api/v1/credit-memos", {"order": order.number, "change_orders": [str(co)]},
                       (201,) if total < 0 else (409,))
        if total < 0:
            assert r.json()["totals"]["total"] == money(-total)
            order.credited += -total
        else:
            assert self._count(CreditMemo) == before

    def _count(self, model: Any) -> int:
        with self.db.read() as s:
            return int(s.execute(select(func.count()).select_from(model)).scalar_one())

    def _open_invoices(self, order: Order) -> list[tuple[uuid.UUID, int]]:
        with self.db.read() as s:
            rows = s.execute(select(Invoice.id, Invoice.balance_amount).where(
                Invoice.order_summary_id == order.id, Invoice.status.in_(("open", "partially_paid")))
                .order_by(Invoice.id)).all()
        return [(r.id, int(r.balance_amount)) for r in rows]

    # -- rules -------------------------------------------------------------------------------------

    @precondition(lambda self: len(self.orders) < MAX_ORDERS)
    @rule(lines=st.lists(line_spec, min_size=1, max_size=3), shipping=st.sampled_from([0, 1250]) | st.integers(0, 3000),
          kind=st.sampled_from(["card", "card", "two_cards", "invoice", "card_invoice"]),
          tokens=st.tuples(st.sampled_from(TOKENS), st.sampled_from(["tok_amex", "tok_visa", "tok_timeout"])),
          split=st.integers(0, 100), drain=st.booleans())
    def place_order(self, lines: list[tuple[int, Decimal, int, int]], shipping: int, kind: str,
                    tokens: tuple[str, str], split: int, drain: bool) -> None:
        group_lines, amounts = [], []
        for sku, (quantity, price, discount_pct, rate) in zip(SKUS, lines, strict=False):
            amount = int((price * quantity).scaleb(2).quantize(Decimal(1), "ROUND_HALF_UP"))
            discount = amount * discount_pct // 100
            tax = share((amount - discount) * rate, 1, 100)
            line: dict[str, Any] = {"sku": sku, "quantity": quantity, "unit_price": str(price), "tax_lines": [
                {"name": f"VAT {rate}%", "rate": f"0.{rate:02d}", "amount": money(tax), "category": "S",
                 "jurisdiction": "DE"}]}
            if discount:
                line["adjustments"] = [{"name": "Discount", "amount": money(-discount), "reference": "D"}]
            group_lines.append(line)
            amounts.append((sku, quantity, amount, [-discount] if discount else [], [tax]))
        shipping_tax = share(shipping * 19, 1, 100)
        grand = sum(a + sum(d) + sum(t) for _, _, a, d, t in amounts) + shipping + shipping_tax
        first, second = {"method": "card", "gateway": "simulator", "token": tokens[0]}, tokens[1]
        instructions = {
            "card": [first],
            "two_cards": [{**first, "amount": money(grand * split // 100)},
                          {"method": "card", "gateway": "simulator", "token": second}],
            "invoice": [{"method": "invoice", "terms": "net_30"}],
            "card_invoice": [{**first, "amount": money(grand * split // 100)}, {"method": "invoice"}],
        }[kind]
        body = factories.order_payload(external_reference=f"WEB-{len(self.orders) + 1}", payments=instructions)
        group = body["delivery_groups"][0]
        group["lines"], group["shipping_charge"] = group_lines, money(shipping)
        if shipping:
            group["shipping_tax_lines"] = [{"name": "VAT 19%", "rate": "0.19", "amount": money(shipping_tax),
                                            "category": "S", "jurisdiction": "DE"}]
        placed = place(self.db, body)
        assert placed["totals"]["grand_total"] == money(grand)
        ids = item_ids(self.db, placed["id"])
        items = [Item(ids[sku], sku, q, a, d, t) for sku, q, a, d, t in amounts]
        if shipping:
            items.append(Item(ids["shipping"], None, 1, shipping, [], [shipping_tax]))
        used = {"card": tokens[:1], "two_cards": tokens, "invoice": (), "card_invoice": tokens[:1]}[kind]
        self.orders.append(Order(uuid.UUID(placed["id"]), placed["number"], kind, used, grand, items))
        if drain:
            self._drain()

    @rule()
    def run_worker(self) -> None:
        self._drain()

    @rule()
    def run_periodic_jobs(self) -> None:
        self._later()
        gateways = {"simulator": self.trouble}
        self.db.transaction(lambda s: payments.resolve_pending(s, gateways))
        self.db.transaction(lambda s: invoicing.settle_pending(s, gateways))

    @rule(mode=st.sampled_from(["ok", "ok", "lost", "down"]))
    def gateway_trouble(self, mode: str) -> None:
        self.trouble.mode = mode

    @precondition(lambda self: self.orders)
    @rule(pick=st.integers(0, 7), units=st.lists(st.integers(0, 600), min_size=3, max_size=3), full=st.booleans(),
          drain=st.booleans())
    def ship(self, pick: int, units: list[int], full: bool, drain: bool) -> None:
        order = self.orders[pick % len(self.orders)]
        fo = self._fo(order)
        if fo is None or not order.fo_open or not any(i.left for i in order.products):
            return
        wanted = {i.sku: (i.left if full else u % (i.left + 1)) for i, u in zip(order.products, units, strict=False)}
        if not any(wanted.values()):
            wanted = {next(i.sku for i in order.products if i.left): 1}
        items = [{"sku": sku, "quantity": q} for sku, q in wanted.items() if q]
        self._post(f"/api/v1/fulfillment-orders/{fo}/ship", {"carrier": "DHL", "items": items}, (200,))
        for i in order.products:
            i.shipped += wanted.get(i.sku, 0)
        if not any(i.left for i in order.products):
            order.fo_open = False
        if drain:
            self._drain()

    @precondition(lambda self: self.orders)
    @rule(pick=st.integers(0, 7), drain=st.booleans())
    def cancel_the_rest(self, pick: int, drain: bool) -> None:
        order = self.orders[pick % len(self.orders)]
        fo = self._fo(order)
        if fo is None or not order.fo_open:
            return
        self._post(f"/api/v1/fulfillment-orders/{fo}/cancel", {"reason": "out of stock"}, (200,))
        order.fo_open = False
        changes = []
        nothing_shipped = not any(i.shipped for i in order.products)
        for i in order.items:
            units = i.left if i.sku is not None else (1 if nothing_shipped else 0)
            if not units:
                continue
            shipped = i.shipped if i.sku is not None else 0
            line, adj, tax = (full - part for full, part in zip(i.shares(i.ordered), i.shares(shipped), strict=True))
            changes.append((i.id, units, -line, -adj, -tax))
            i.canceled += units
        if not changes:
            return
        total = -sum(line + adj + tax for _, _, line, adj, tax in changes)
        co = change_order(self.db, order.id, "cancel", changes)
        order.change_orders[co] = ("cancel", total)
        self._credit(order, co, total)
        if drain:
            self._drain()

    @precondition(lambda self: self.orders)
    @rule(pick=st.integers(0, 7), which=st.integers(0, 2), units=st.integers(1, 600), drain=st.booleans())
    def return_units(self, pick: int, which: int, units: int, drain: bool) -> None:
        order = self.orders[pick % len(self.orders)]
        returnable = [i for i in order.products if i.shipped > i.returned]
        if not returnable:
            return
        i = returnable[which % len(returnable)]
        units = 1 + (units - 1) % (i.shipped - i.returned)
        before, after = i.shares(i.returned), i.shares(i.returned + units)
        line, adj, tax = (b - a for a, b in zip(before, after, strict=True))
        i.returned += units
        total = -(line + adj + tax)
        co = change_order(self.db, order.id, "return", [(i.id, units, -line, -adj, -tax)])
        order.change_orders[co] = ("return", total)
        self._credit(order, co, total)
        if drain:
            self._drain()

    @precondition(lambda self: self.orders)
    @rule(pick=st.integers(0, 7), which=st.integers(0, 2), amount=st.integers(1, 10_000), drain=st.booleans())
    def appease(self, pick: int, which: int, amount: int, drain: bool) -> None:
        order = self.orders[pick % len(self.orders)]
        shipped = [i for i in order.products if i.shipped]
        if not shipped:
            return
        i = shipped[which % len(shipped)]
        # An appeasement gives back at most what the item's invoices bill and nothing took off yet.
        room = sum(i.shares(i.shipped)) - sum(i.shares(i.returned)) - i.appeased
        if room <= 0:
            return
        amount = 1 + (amount - 1) % room
        i.appeased += amount
        co = change_order(self.db, order.id, "appeasement", [(i.id, 0, 0, -amount, 0)], tax_lines=False)
        order.change_orders[co] = ("appeasement", -amount)
        self._credit(order, co, -amount)
        if drain:
            self._drain()

    @precondition(lambda self: self.orders)
    @rule(pick=st.integers(0, 7), part=st.integers(0, 100))
    def capture_up_front(self, pick: int, part: int) -> None:
        order = self.orders[pick % len(self.orders)]
        p = Payment
        available = (p.amount - p.captured_amount - p.pending_capture_amount - p.reversed_amount
                     - p.pending_reverse_amount)
        with self.db.read() as s:
            auth = s.execute(select(p.id, available.label("available")).where(
                p.order_summary_id == order.id, p.kind == "authorization", p.status == "authorized", available > 0,
            ).order_by(p.id).limit(1)).first()
        if auth is None:
            return
        amount = int(auth.available) * part // 100
        body = {"amount": money(amount)} if amount else {}
        self._post(f"/api/v1/payments/{auth.id}/capture", body, (201,), key=f"capture-{self.count}")

    @precondition(lambda self: any(o.kind in ("invoice", "card_invoice") for o in self.orders))
    @rule(pick=st.integers(0, 7), part=st.integers(0, 100), again=st.booleans())
    def remit(self, pick: int, part: int, again: bool) -> None:
        terms = [o for o in self.orders if o.kind in ("invoice", "card_invoice")]
        order = terms[pick % len(terms)]
        open_invoices = self._open_invoices(order)
        if not open_invoices:
            return
        invoice_id, balance = open_invoices[pick % len(open_invoices)]
        amount = max(1, balance * part // 100)
        self.count += 1
        body = {"account": "ACME", "amount": money(amount), "currency": "EUR", "reference": f"BANK-{self.count}",
                "received_on": "2026-12-01", "applications": [{"invoice": str(invoice_id), "amount": money(amount)}]}
        first = self._post("/api/v1/payments", body, (201,))
        if again:  # the same remittance again is the one recorded, applied once
            replay = self._post("/api/v1/payments", body, (200,))
            assert replay.json()["id"] == first.json()["id"]

    @precondition(lambda self: self.orders)
    @rule(pick=st.integers(0, 7), again=st.booleans())
    def ensure_refunds_of_order(self, pick: int, again: bool) -> None:
        order = self.orders[pick % len(self.orders)]
        self.count += 1
        key = f"refunds-{self.count}"
        r = self._post("/api/v1/refunds", {"order": order.number}, (200,), key=key)
        if again and r.status_code == 200:
            replay = self._post("/api/v1/refunds", {"order": order.number}, (200,), key=key)
            assert replay.headers.get("Idempotent-Replayed") == "true"

    @precondition(lambda self: self.orders)
    @rule(pick=st.integers(0, 7))
    def ensure_funds_again(self, pick: int) -> None:
        order = self.orders[pick % len(self.orders)]
        for invoice_id, _ in self._open_invoices(order):
            self._post(f"/api/v1/invoices/{invoice_id}/ensure-funds", {}, (200,))

    # -- invariants --------------------------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        if self._snap is None:
            self._snap = Snapshot.take(self.db, self.sim)
        return self._snap

    def check_invariants(self, *args: Any, **kwargs: Any) -> None:
        self._snap = None  # the step may have changed anything: one new snapshot for all invariants
        super().check_invariants(*args, **kwargs)

    @invariant()
    def money_identity_per_order_and_in_total(self) -> None:
        check_identity(self.snapshot(), [o.id for o in self.orders])

    @invariant()
    def documents_balance(self) -> None:
        check_documents(self.snapshot())

    @invariant()
    def payment_records_stay_within_their_parents(self) -> None:
        check_payments(self.snapshot())

    @invariant()
    def the_simulator_did_what_the_engine_recorded(self) -> None:
        check_simulator(self.snapshot())

    @invariant()
    def invoices_bill_shipped_units_by_the_cumulative_rule(self) -> None:
        check_invoiced_units(self.snapshot(), self.orders)

    # -- the end of an example ---------------------------------------------------------------------

    def teardown(self) -> None:
        try:
            if self.orders:
                self.settle_everything()
        finally:
            clock.set_clock(lambda: NOW)
            self.trouble.mode = "ok"

    def settle_everything(self) -> None:
        self.trouble.mode = "ok"
        for _ in range(12):
            self.db.transaction(lambda s: s.execute(  # an operator retries what was dead-lettered
                update(OutboxEvent).where(OutboxEvent.failed_at.is_not(None))
                .values(failed_at=None, attempts=0, available_at=None)))
            self.run_periodic_jobs()
            self._drain()
            if not pending_work(self.db):
                break
        for order in self.orders:
            if order.kind != "invoice":
                self.ensure_funds_again(self.orders.index(order))
        for order in self.orders:
            self._post("/api/v1/refunds", {"order": order.number}, (200,))
        self._drain()
        assert not pending_work(self.db), pending_work(self.db)
        self._snap = None
        snap = self.snapshot()
        check_identity(snap, [o.id for o in self.orders])
        check_documents(snap)
        check_payments(snap)
        check_simulator(snap)
        check_invoiced_units(snap, self.orders, settled=True)
        for order in self.orders:
            check_settled_order(snap, order)


# ------------------------------------------------------------------------------------------------
# What the database and the simulator hold, read once per step


@dataclass
class Snapshot:
    payments: list[Any]
    summaries: list[Any]
    applications: list[Any]
    refunds: list[Any]  # refund applications
    invoices: list[Any]
    invoiced: dict[uuid.UUID, tuple[int, int, int, int]]  # item → (units, line, adjustment, tax) invoiced
    memos: list[Any]
    remittances: list[Any]
    items: dict[uuid.UUID, Any]
    answers: dict[str, dict[str, Any]]  # the simulator's answer per idempotency key
    sim_captures: dict[str, tuple[str, int, int]]  # id → (authorization, amount, refunded)
    sim_captured: dict[str, int]  # authorization → captured
    approved: dict[str, int]

    @staticmethod
    def take(db: Database, sim: Sim) -> Snapshot:
        with db.read() as s:
            def rows(model: Any) -> list[Any]:
                return list(s.execute(select(*model.__table__.c)).all())

            live = Invoice.status != "cancelled"
            invoiced = {
                r[0]: (int(r[1]), int(r[2]), int(r[3]), int(r[4])) for r in s.execute(
                    select(InvoiceLine.order_item_summary_id, func.sum(InvoiceLine.quantity),
                           func.sum(InvoiceLine.line_amount), func.sum(InvoiceLine.adjustment_amount),
                           func.sum(InvoiceLine.tax_amount))
                    .join(Invoice, Invoice.id == InvoiceLine.invoice_id).where(live)
                    .group_by(InvoiceLine.order_item_summary_id))
            }
            snap = Snapshot(rows(Payment), rows(OrderPaymentSummary), rows(PaymentApplication), rows(RefundApplication),
                            rows(Invoice), invoiced, rows(CreditMemo), rows(Remittance),
                            {r.id: r for r in rows(OrderItemSummary)}, {}, {}, {}, {})
        state = sim.state
        with state.lock:
            snap.answers = {k: v[2] for k, v in state.answers.items()}
            snap.sim_captures = {c.id: (c.authorization_id, c.amount, c.refunded) for c in state.captures.values()}
            snap.sim_captured = {a.id: a.captured for a in state.authorizations.values()}
            snap.approved = dict(state.approved)
        return snap

    def performed(self, payment: Any) -> bool:
        """The simulator did the operation (whether or not its answer arrived)."""
        answer = self.answers.get(str(payment.id))
        return answer is not None and answer["result"] == "approved"


def pending_work(db: Database) -> dict[str, int]:
    with db.read() as s:
        def n(stmt: Any) -> int:
            return int(s.execute(stmt).scalar_one())

        found = {
            "events": n(select(func.count()).select_from(OutboxEvent).where(OutboxEvent.dispatched_at.is_(None))),
            "payments": n(select(func.count()).select_from(Payment).where(Payment.status == "pending")),
            "applications": n(select(func.count()).select_from(PaymentApplication)
                              .where(PaymentApplication.status == "pending")),
            "refunds": n(select(func.count()).select_from(RefundApplication)
                         .where(RefundApplication.status == "pending")),
        }
    return {k: v for k, v in found.items() if v}


REFUND_STATUS = {"pending": "pending", "succeeded": "applied", "failed": "failed"}


def order_money(snap: Snapshot, order_id: uuid.UUID) -> dict[str, int]:
    """The terms of the identity for one order, each from its own records, checked on the way."""
    pay = [p for p in snap.payments if p.order_summary_id == order_id]
    by_id = {p.id: p for p in pay}
    captures = [p for p in pay if p.kind == "capture" and p.status == "succeeded"]
    refunds = {p.id: p for p in pay if p.kind == "refund"}
    apps = [a for a in snap.applications if a.order_summary_id == order_id and a.payment_id is not None]
    given = [r for r in snap.refunds if r.order_summary_id == order_id]
    # Every refund is invoicing's (a credit memo's or the order's excess funds), same amount and status.
    assert sorted(r.refund_id for r in given) == sorted(refunds), "a refund without its refund application"
    for r in given:
        p = refunds[r.refund_id]
        assert (p.amount, REFUND_STATUS[p.status], p.parent_id) == (r.amount, r.status, r.capture_id), r
    for a in apps:  # an application's capture: applied ⇒ succeeded, pending ⇒ pending
        c = by_id[a.payment_id]
        assert c.kind == "capture" and c.amount >= a.amount, a
        assert a.status != "applied" or c.status == "succeeded", a
        assert a.status != "pending" or c.status == "pending", a
    live = ("pending", "applied")
    for c in captures:  # per capture: the money applied and the money unapplied stay ≥ 0
        applied = sum(a.amount for a in apps if a.payment_id == c.id and a.status == "applied")
        back = sum(r.amount for r in given if r.capture_id == c.id and r.source == "applied" and r.status in live)
        out = sum(r.amount for r in given if r.capture_id == c.id and r.source == "unapplied" and r.status in live)
        assert applied - back >= 0, ("more applied money refunded than applied", c.id, applied, back)
        assert c.amount - applied - out >= 0, ("a capture's unapplied money below zero", c.id, c.amount, applied, out)
    ok = [r for r in given if r.status == "applied"]
    captured = sum(c.amount for c in captures)
    applied = sum(a.amount for a in apps if a.status == "applied")
    back = sum(r.amount for r in ok if r.source == "applied")
    unapplied = captured - applied - sum(r.amount for r in ok if r.source == "unapplied")
    refunded = sum(p.amount for p in refunds.values() if p.status == "succeeded")
    return {"captured": captured, "refunded": refunded, "applied": applied, "given_back_applied": back,
            "unapplied": unapplied}


def check_identity(snap: Snapshot, order_ids: list[uuid.UUID]) -> None:
    assert {p.order_summary_id for p in snap.payments} <= set(order_ids)
    total = dict.fromkeys(("captured", "refunded", "applied", "given_back_applied", "unapplied"), 0)
    for order_id in order_ids:
        m = order_money(snap, order_id)
        assert m["captured"] - m["refunded"] == m["applied"] - m["given_back_applied"] + m["unapplied"], (order_id, m)
        assert m["unapplied"] >= 0, (order_id, m)
        total = {k: total[k] + m[k] for k in total}
    assert total["captured"] - total["refunded"] == total["applied"] - total["given_back_applied"] + total["unapplied"]
    assert total["captured"] == sum(s.captured_amount for s in snap.summaries)
    assert total["refunded"] == sum(s.refunded_amount for s in snap.summaries)


def check_documents(snap: Snapshot) -> None:
    for i in snap.invoices:
        applied = sum(a.amount for a in snap.applications if a.invoice_id == i.id and a.status == "applied")
        assert i.total_amount == i.net_amount + i.tax_amount, i.number
        assert (i.applied_amount, i.total_amount) == (applied, applied + i.balance_amount), i.number
        assert min(i.total_amount, i.balance_amount, applied) >= 0, i.number
        expected = "paid" if i.balance_amount == 0 else "partially_paid" if applied else "open"
        assert i.status in (expected, "cancelled"), (i.number, i.status, applied, i.balance_amount)
    for m in snap.memos:
        refunded = sum(r.amount for r in snap.refunds if r.credit_memo_id == m.id and r.status == "applied")
        assert m.refunded_amount == refunded, m.number
        assert m.total_amount == refunded + m.not_charged_amount + m.balance_amount, m.number
        assert min(m.total_amount, m.not_charged_amount, m.balance_amount) >= 0, m.number
        expected = "closed" if m.balance_amount == 0 else "partially_refunded" if refunded else "open"
        assert m.status == expected, (m.number, m.status, refunded, m.balance_amount)
    for r in snap.remittances:
        assert r.amount == sum(a.amount for a in snap.applications if a.remittance_id == r.id), r.reference


def check_payments(snap: Snapshot) -> None:
    def children(parent: Any, kind: str, status: str) -> int:
        return sum(p.amount for p in snap.payments if p.parent_id == parent.id and p.kind == kind
                   and p.status == status)

    for p in snap.payments:
        amounts = (p.amount, p.captured_amount, p.pending_capture_amount, p.reversed_amount, p.pending_reverse_amount,
                   p.refunded_amount, p.pending_refund_amount)
        assert min(amounts) >= 0 and p.amount > 0, p.id
        if p.kind == "authorization":  # no capture above the authorization
            assert p.captured_amount == children(p, "capture", "succeeded"), p.id
            assert p.pending_capture_amount == children(p, "capture", "pending"), p.id
            assert p.captured_amount + p.pending_capture_amount + p.reversed_amount + p.pending_reverse_amount \
                <= p.amount, p.id
        if p.kind == "capture":  # no refund above the capture
            assert p.refunded_amount == children(p, "refund", "succeeded"), p.id
            assert p.pending_refund_amount == children(p, "refund", "pending"), p.id
            assert p.refunded_amount + p.pending_refund_amount <= p.amount, p.id
    for s in snap.summaries:
        mine = [p for p in snap.payments if p.summary_id == s.id]

        def total(kind: str, status: str, records: list[Any] = mine) -> int:
            return sum(p.amount for p in records if p.kind == kind and p.status == status)

        assert (s.captured_amount, s.pending_capture_amount) == (total("capture", "succeeded"),
                                                                 total("capture", "pending")), s.id
        assert (s.refunded_amount, s.pending_refund_amount) == (total("refund", "succeeded"),
                                                                total("refund", "pending")), s.id
        assert s.authorized_amount == sum(p.amount - p.reversed_amount for p in mine if p.kind == "authorization"
                                          and p.status in ("authorized", "closed", "expired")), s.id
        assert s.authorized_amount - s.captured_amount - s.pending_capture_amount - s.pending_reverse_auth_amount >= 0
        assert s.captured_amount - s.refunded_amount - s.pending_refund_amount >= 0, s.id


def check_simulator(snap: Snapshot) -> None:
    """The simulator performed one capture (refund) per engine record that succeeded, or that is
    pending because its answer was lost, with the same amounts; nothing else, nothing twice."""
    done = {"authorization": ("authorized", "closed", "expired"), "capture": ("succeeded",), "refund": ("succeeded",)}
    for p in snap.payments:
        answer = snap.answers.get(str(p.id))
        if p.status in done.get(p.kind, ()):
            assert answer is not None and answer["result"] == "approved", p.id
            assert (answer["id"], answer["amount_minor"]) == (p.gateway_reference, p.amount), p.id
        elif p.status != "pending":
            assert not snap.performed(p), ("the simulator did what the engine recorded as failed", p.id)
    performed = [p for p in snap.payments if p.kind == "capture" and snap.performed(p)]
    assert sorted(snap.answers[str(p.id)]["id"] for p in performed) == sorted(snap.sim_captures)
    assert snap.approved.get("capture", 0) == len(snap.sim_captures)
    refunds = [p for p in snap.payments if p.kind == "refund" and snap.performed(p)]
    assert snap.approved.get("refund", 0) == len(refunds)
    for c in performed:
        _, amount, refunded = snap.sim_captures[snap.answers[str(c.id)]["id"]]
        assert amount == c.amount, c.id
        assert refunded == sum(r.amount for r in refunds if r.parent_id == c.id), c.id
    for a in snap.payments:
        if a.kind == "authorization" and a.gateway_reference in snap.sim_captured:
            assert snap.sim_captured[a.gateway_reference] == sum(
                c.amount for c in performed if c.parent_id == a.id), a.id


def check_invoiced_units(snap: Snapshot, orders: list[Order], settled: bool = False) -> None:
    for order in orders:
        anything_shipped = any(i.shipped for i in order.products)
        for i in order.items:
            row = snap.items[i.id]
            shipped = i.shipped if i.sku is not None else int(anything_shipped)
            if i.sku is not None:
                assert (row.quantity_fulfilled, row.quantity_canceled) == (i.shipped, i.canceled), i.sku
            units, *amounts = snap.invoiced.get(i.id, (0, 0, 0, 0))
            assert units <= shipped, ("more units invoiced than shipped", order.number, i.sku, units, shipped)
            assert tuple(amounts) == i.shares(units), (order.number, i.sku, units, amounts, i.shares(units))
            if settled:
                assert units == shipped, ("shipped units never invoiced", order.number, i.sku, units, shipped)
        invoices = [v for v in snap.invoices if v.order_summary_id == order.id and v.kind == "shipment"]
        everything_invoiced = all(snap.invoiced.get(i.id, (0,))[0] == i.ordered for i in order.items)
        if everything_invoiced and not order.change_orders:
            assert sum(v.total_amount for v in invoices) == order.grand_total, order.number
        assert sum(m.total_amount for m in snap.memos if m.order_summary_id == order.id) == order.credited


def check_settled_order(snap: Snapshot, order: Order) -> None:
    """An order paid by cards that work: every invoice paid, every credit memo closed, and no
    captured money kept beyond what the order must still pay."""
    if not order.healthy_cards:
        return
    invoices = [v for v in snap.invoices if v.order_summary_id == order.id]
    memos = [m for m in snap.memos if m.order_summary_id == order.id]
    assert all(v.status == "paid" for v in invoices), [(v.number, v.status, v.balance_amount) for v in invoices]
    assert all(m.status == "closed" for m in memos), [(m.number, m.status, m.balance_amount) for m in memos]
    cancelled = sum(credit for kind, credit in order.change_orders.values() if kind == "cancel")
    still_to_pay = order.grand_total - sum(v.total_amount for v in invoices if v.kind == "shipment") - cancelled
    unapplied = order_money(snap, order.id)["unapplied"]
    assert 0 <= unapplied <= still_to_pay, (order.number, unapplied, still_to_pay)
    if not any(i.left for i in order.products):
        assert (still_to_pay, unapplied) == (0, 0), (order.number, still_to_pay, unapplied)


# ------------------------------------------------------------------------------------------------
# The test


def test_money_is_conserved_over_random_lifecycles(db: Database, sim: Sim, frozen: Any, app: Any) -> None:
    # The adapter gives up on a tok_timeout answer (0.4 s) after 0.15 s and retries with its key.
    inner = HttpGateway("simulator", sim.url, timeout=0.15, attempts=4, backoff=0.01, max_backoff=0.05)
    trouble = Trouble(inner)
    app.state.payment_gateways = {"simulator": trouble}
    try:
        with TestClient(app) as client:
            run_state_machine_as_test(lambda: Conservation(db, sim, client, trouble), settings=SETTINGS)
    finally:
        inner.close()
