"""Money conservation: a Hypothesis state machine drives random order lifecycles through the real
intake, routing, fulfilment API, flows, invoicing and payments services and the gateway simulator
served over HTTP, and checks after every step that no minor unit is made or lost.

Rules: place orders (a card, two cards, invoice terms, a card and invoice terms; 1–3 products,
sub-cent unit prices, line discounts, shipping), run the worker and the periodic jobs, ship in part
or in full, cancel the unshipped units (fulfilment order cancel + a cancel change order), return
shipped units, appease (each credited), capture up front, record remittances, `POST /refunds`,
`POST /invoices/{id}/ensure-funds`, and gateway trouble: answers lost after the work was done (as
with `tok_timeout` when every attempt times out) or no gateway at all; `tok_timeout` cards make
the adapter retry with its key.

After every step, per order and over all orders, in minor units:

    Σ captures − Σ refunds                          (payments engine, succeeded)
      = Σ capture applications to invoices           (payment_application, applied)
      − Σ credit memo refunds of applied money       (refund_application, source applied, applied)
      + unapplied money                              (captures − applications − refunds of
                                                      unapplied money; ≥ 0 per capture)

  every refund is a refund application of a credit memo or of excess funds, same amount and status;
  invoice.total = net + tax = Σ applied applications (captures, remittances, credit memos) + balance;
  credit_memo.total = Σ applied refunds + not_charged + applied to invoices + balance (applied only
  on orders with invoice terms); statuses follow the balances;
  per authorization captured + pending ≤ authorized, per capture refunded + pending ≤ captured,
  summaries are the sums of their records, nothing is negative;
  the simulator performed exactly the captures, refunds and voids the engine recorded (succeeded,
  or pending with a lost answer), one per record, same amounts: nothing twice;
  invoiced units ≤ shipped units, an item's invoiced amounts are round_half_up(amount × invoiced
  units / ordered) exactly, a fully invoiced order without change orders is invoiced for its grand
  total, and the credit memos total what their change orders take off.

Every example ends settled (gateway back, events retried, periodic jobs, ensure funds on open
invoices, `POST /refunds` per order), then again once the rest has shipped: nothing is pending,
every shipped unit is invoiced, and an order paid by cards that work has every invoice paid, every
credit memo closed, keeps no captured money beyond what it must still pay, and its authorizations
hold no more than what that captured money leaves to pay (none once every unit is shipped or
cancelled).

CI runs a fixed, derandomized set of examples; `ORDINO_CONSERVATION_EXAMPLES=300` runs more.
"""

# ruff: noqa: F811 (fixtures imported from tests.invoicing.support)

from __future__ import annotations

import os
import uuid
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from hypothesis.stateful import run_state_machine_as_test as run_machine
from sqlalchemy import func, select, text, update

from ordino.fulfillment.models import FulfillmentOrder
from ordino.invoicing import service as invoicing
from ordino.invoicing.models import CreditMemo, Invoice, InvoiceLine, PaymentApplication, RefundApplication, Remittance
from ordino.kernel import clock
from ordino.kernel.auth import forget_cached_keys
from ordino.kernel.db import Database
from ordino.kernel.outbox import OutboxEvent
from ordino.kernel.worker import Dispatcher
from ordino.models import metadata
from ordino.orders.models import OrderItemSummary, OrderSummary
from ordino.payments import service as payments
from ordino.payments.gateway import CallRecord, GatewayResult, GatewayUnavailable, HttpGateway
from ordino.payments.models import GatewayCall, OrderPaymentSummary, Payment
from ordino.payments.simulator import SimulatorConfig
from tests import factories
from tests.conftest import api_key
from tests.invoicing import support
from tests.invoicing.support import NOW, Sim, api, frozen, gateways, sim, sim_server, world  # noqa: F401

EXAMPLES = int(os.environ.get("ORDINO_CONSERVATION_EXAMPLES", "20"))
SETTINGS = settings(max_examples=EXAMPLES, stateful_step_count=30, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
SKUS = ("BOLT-M8", "NUT-M8", "WASHER-M8")
HEALTHY = {"tok_visa", "tok_amex", "tok_timeout"}
TOKENS = ["tok_visa"] * 5 + ["tok_timeout", "tok_capture_fails", "tok_refund_fails", "tok_decline"]
MAX_ORDERS = 4
STEP = timedelta(minutes=61)  # past any event backoff (capped at 1 h) and the 5-minute job cutoffs
PATHS: Counter[str] = Counter()  # examples per money path taken


def share(amount: int, units: int, ordered: int) -> int:
    """round_half_up(amount × units / ordered), halves away from zero."""
    exact = abs(Fraction(amount * units, ordered))
    rounded = (exact.numerator * 2 + exact.denominator) // (exact.denominator * 2)
    return -rounded if amount < 0 else rounded


def money(minor: int) -> str:
    return f"{'-' if minor < 0 else ''}{abs(minor) // 100}.{abs(minor) % 100:02d}"


@dataclass
class Trouble:
    """The simulator's adapter; `lost`: the simulator does the work but its answer never comes
    back (every attempt timed out), `down`: nothing reaches it."""

    inner: HttpGateway
    mode: str = "ok"
    name: str = "simulator"

    def __getattr__(self, operation: str) -> Any:  # authorize, capture, refund, void, reauthorize
        call = getattr(self.inner, operation)

        def run(**kw: Any) -> GatewayResult:
            if self.mode == "down":
                raise GatewayUnavailable(f"gateway 'simulator' did not answer {operation}: connection refused", (
                    CallRecord(operation, kw["idempotency_key"], 1, {}, None, None, "connection_error", 0,
                               "connection refused"),))
            result: GatewayResult = call(**kw)
            if self.mode == "lost":
                raise GatewayUnavailable(f"gateway 'simulator' did not answer {operation}: timed out", tuple(
                    replace(c, response=None, http_status=None, outcome="timeout", error="timed out")
                    for c in result.calls))
            return result

        return run


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
    billed_net: int = 0  # line + discount that the item's invoices bill so far
    billed_at: dict[int, int] = field(default_factory=dict)  # units shipped so far → billed net then

    def shares(self, units: int) -> tuple[int, int, int]:
        """(line, adjustment, tax) that invoices billing `units` units add up to. The discount
        follows the cumulative rule on the item's discounts as one amount, but an invoice never
        takes more discount than its share of the line: the billed net is a running maximum."""
        n = self.ordered
        line, discount = share(self.line, units, n), share(sum(self.adjustments), units, n)
        if units in self.billed_at:
            discount = self.billed_at[units] - line
        elif units >= self.shipped:
            discount = max(discount, self.billed_net - line)
        return line, discount, sum(share(t, units, n) for t in self.taxes)

    def bill(self, units: int) -> None:
        """Invoices now bill `units` units."""
        line, discount, _ = self.shares(units)
        self.billed_net = self.billed_at[units] = line + discount

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
    change_orders: dict[uuid.UUID, tuple[str, int]] = field(default_factory=dict)  # id → (kind, credit)
    credited: int = 0  # what the credit memos take off

    @property
    def products(self) -> list[Item]:
        return [i for i in self.items if i.sku is not None]

    def healthy_cards(self) -> bool:
        return self.kind in ("card", "two_cards") and set(self.tokens) <= HEALTHY

    def can_ship(self) -> bool:
        return self.fo_open and any(i.left for i in self.products)

    def can_return(self) -> bool:
        return any(i.shipped > i.returned for i in self.products)

    def can_appease(self) -> bool:
        return any(i.shipped for i in self.products)

    def by_card(self) -> bool:
        return self.kind != "invoice"

    def on_terms(self) -> bool:
        return self.kind in ("invoice", "card_invoice")

    def shipment_total(self, wanted: dict[str | None, int]) -> int:
        """The total of the invoice of a shipment of `wanted` units per SKU."""
        total = sum(sum(i.shares(i.shipped + wanted.get(i.sku, 0))) - sum(i.shares(i.shipped)) for i in self.products)
        if not any(i.shipped for i in self.products):  # the first invoice bills the shipping charge
            total += sum(sum(i.shares(1)) for i in self.items if i.sku is None and not i.canceled)
        return total


line_spec = st.tuples(
    st.integers(1, 600) | st.integers(1, 6),  # quantity
    st.one_of(st.integers(1, 5_000).map(lambda c: Decimal(c).scaleb(-2)),  # whole cents
              st.integers(1, 9_999_999).map(lambda m: Decimal(m).scaleb(-6))),  # sub-cent prices
    st.sampled_from([0, 0, 10, 50, 90, 99, 100]) | st.integers(0, 100),  # discount, % of the line
    st.sampled_from([19, 7]),  # VAT rate, %
)
order_spec = st.fixed_dictionaries({
    "lines": st.lists(line_spec, min_size=1, max_size=3),
    "shipping": st.sampled_from([0, 1250]) | st.integers(0, 3000),
    "kind": st.sampled_from(["card", "card", "two_cards", "invoice", "card_invoice"]),
    "tokens": st.tuples(st.sampled_from(TOKENS), st.sampled_from(["tok_amex", "tok_visa", "tok_timeout"])),
    "split": st.integers(0, 100),  # % of the grand total on the first card
})
pick = st.integers(0, 7)


def new_world(db: Database, skus: tuple[str, ...]) -> dict[str, str]:
    """Empty tables (DELETE is cheaper than TRUNCATE for tables this small), then ACME, the web
    channel and WH-BER holding plenty of each product; the headers of an admin key."""
    with db.engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(text(f"DELETE FROM {table.name}"))
    forget_cached_keys()
    factories.account(db, "ACME")
    factories.channel(db, "web")
    factories.location(db, "WH-BER")
    for sku in skus:
        factories.product(db, sku, name=f"Product {sku}")
        factories.position(db, sku, "WH-BER", on_hand=1_000_000)
    return api_key(db)


class Conservation(RuleBasedStateMachine):
    def __init__(self, db: Database, sim: Sim, client: TestClient, trouble: Trouble) -> None:
        super().__init__()
        self.db, self.sim, self.client, self.trouble = db, sim, client, trouble
        trouble.mode = "ok"
        sim.state.reset(SimulatorConfig(timeout_delay=0.4, expired_after=0.0))
        self.now = NOW
        clock.set_clock(lambda: self.now)
        self.headers = new_world(db, SKUS)
        self.orders: list[Order] = []
        self.count = 0  # for remittance references and idempotency keys
        self._snap: Snapshot | None = None

    # -- helpers -----------------------------------------------------------------------------------

    def _drain(self) -> None:
        self.now += STEP
        Dispatcher(self.db, support.flows({"simulator": self.trouble})).drain()
        with self.db.read() as s:  # handlers fail only when a gateway does not answer
            errors = s.execute(select(OutboxEvent.type, OutboxEvent.last_error).where(
                OutboxEvent.dispatched_at.is_(None), OutboxEvent.last_error.is_not(None))).all()
        assert all("GatewayUnavailable" in str(e.last_error) for e in errors), errors

    def _post(self, url: str, body: dict[str, Any], ok: tuple[int, ...], key: str | None = None) -> Any:
        r = self.client.post(url, json=body, headers={**self.headers, **({"Idempotency-Key": key} if key else {})})
        # 502: the gateway did not answer (in trouble, or too slow on a busy machine); it settles later
        late = self.trouble.mode != "ok" or url.endswith(("/refunds", "/ensure-funds", "/capture"))
        assert r.status_code in ok + ((502,) if late else ()), (url, body, r.status_code, r.text)
        return r

    def _quiet(self) -> None:
        """Retry what was dead-lettered, run the periodic jobs and the worker until nothing is pending."""
        for _ in range(12):
            self.db.transaction(lambda s: s.execute(
                update(OutboxEvent).where(OutboxEvent.failed_at.is_not(None))
                .values(failed_at=None, attempts=0, available_at=None)))
            self.run_periodic_jobs()
            self._drain()
            if not pending_work(self.db):
                return
        raise AssertionError(("still pending", pending_work(self.db)))

    def _some(self, which: Any) -> bool:
        return any(which(o) for o in self.orders)

    def _pick(self, n: int, which: Any) -> Order:
        candidates = [o for o in self.orders if which(o)]
        return candidates[n % len(candidates)]

    def _fo(self, order: Order) -> str | None:
        if order.fo is None:
            with self.db.read() as s:
                found = s.execute(select(FulfillmentOrder.id)
                                  .where(FulfillmentOrder.order_summary_id == order.id)).scalars().all()
            assert len(found) <= 1
            order.fo = str(found[0]) if found else None
        return order.fo

    def _credit(self, order: Order, kind: str, changes: list[tuple[uuid.UUID, int, int, int, int]], credit: int,
                drain: bool, **kw: Any) -> None:
        """A change order and its credit memo: refused (409, nothing written) when it takes nothing off."""
        co = support.change_order(self.db, order.id, kind, changes, **kw)
        order.change_orders[co] = (kind, credit)
        before = support.count(self.db, CreditMemo)
        r = self._post("/api/v1/credit-memos", {"order": order.number, "change_orders": [str(co)]},
                       (201,) if credit > 0 else (409,))
        if credit > 0:
            assert r.json()["totals"]["total"] == money(credit)
            order.credited += credit
        else:
            assert support.count(self.db, CreditMemo) == before
        if drain:
            self._drain()

    def _open_invoices(self, order: Order) -> list[tuple[uuid.UUID, int]]:
        with self.db.read() as s:
            return [(r.id, int(r.balance_amount)) for r in s.execute(
                select(Invoice.id, Invoice.balance_amount).where(
                    Invoice.order_summary_id == order.id, Invoice.status.in_(("open", "partially_paid")))
                .order_by(Invoice.id))]

    def place_order(self, lines: list[tuple[int, Decimal, int, int]], shipping: int, kind: str,
                    tokens: tuple[str, str], split: int, drain: bool) -> None:
        group_lines, items = [], []
        for sku, (quantity, price, discount_pct, rate) in zip(SKUS, lines, strict=False):
            amount = int((price * quantity).scaleb(2).quantize(Decimal(1), "ROUND_HALF_UP"))
            discount = amount * discount_pct // 100
            tax = share((amount - discount) * rate, 1, 100)
            group_lines.append({
                "sku": sku, "quantity": quantity, "unit_price": str(price),
                "tax_lines": support.vat(money(tax), f"0.{rate:02d}"),
                "adjustments": [{"name": "Discount", "amount": money(-discount)}] if discount else [],
            })
            items.append(Item(uuid.UUID(int=0), sku, quantity, amount, [-discount] if discount else [], [tax]))
        shipping_tax = share(shipping * 19, 1, 100)
        if shipping:
            items.append(Item(uuid.UUID(int=0), None, 1, shipping, [], [shipping_tax]))
        grand = sum(sum(i.shares(i.ordered)) for i in items)
        card = {"method": "card", "gateway": "simulator", "token": tokens[0]}
        instructions = {
            "card": [card],
            "two_cards": [{**card, "amount": money(grand * split // 100)}, {**card, "token": tokens[1]}],
            "invoice": [{"method": "invoice", "terms": "net_30"}],
            "card_invoice": [{**card, "amount": money(grand * split // 100)}, {"method": "invoice"}],
        }[kind]
        body = factories.order_payload(external_reference=f"WEB-{len(self.orders) + 1}", payments=instructions)
        group = body["delivery_groups"][0]
        group["lines"], group["shipping_charge"] = group_lines, money(shipping)
        if shipping:
            group["shipping_tax_lines"] = support.vat(money(shipping_tax))
        placed = support.place(self.db, body)
        assert placed["totals"]["grand_total"] == money(grand)
        ids = support.item_ids(self.db, placed["id"])
        for i in items:
            i.id = ids[i.sku or "shipping"]
        used = {"card": tokens[:1], "two_cards": tokens, "invoice": (), "card_invoice": tokens[:1]}[kind]
        self.orders.append(Order(uuid.UUID(placed["id"]), placed["number"], kind, used, grand, items))
        if drain:
            self._drain()

    # -- rules -------------------------------------------------------------------------------------

    @initialize(orders=st.lists(order_spec, min_size=1, max_size=2))
    def first_orders(self, orders: list[dict[str, Any]]) -> None:
        for spec in orders:  # every example has orders, routed and authorized, whichever rules it draws
            self.place_order(**spec, drain=True)

    @precondition(lambda self: len(self.orders) < MAX_ORDERS)
    @rule(spec=order_spec, drain=st.booleans())
    def another_order(self, spec: dict[str, Any], drain: bool) -> None:
        self.place_order(**spec, drain=drain)

    @rule()
    def run_worker(self) -> None:
        self._drain()

    @rule()
    def run_periodic_jobs(self) -> None:
        self.now += STEP
        gateways = {"simulator": self.trouble}
        payments.resolve_pending(self.db, gateways)
        invoicing.settle_pending(self.db, gateways)

    @rule(mode=st.sampled_from(["ok", "ok", "lost", "down"]))
    def gateway_trouble(self, mode: str) -> None:
        self.trouble.mode = mode

    @precondition(lambda self: self._some(Order.can_ship))
    @rule(n=pick, units=st.lists(st.integers(0, 600), min_size=3, max_size=3), full=st.booleans(), drain=st.booleans())
    def ship(self, n: int, units: list[int], full: bool, drain: bool) -> None:
        order = self._pick(n, Order.can_ship)
        fo = self._fo(order)
        if fo is None:  # not routed yet
            return
        wanted = {i.sku: (i.left if full else u % (i.left + 1)) for i, u in zip(order.products, units, strict=False)}
        if not any(wanted.values()):
            wanted = {next(i.sku for i in order.products if i.left): 1}
        assert order.shipment_total(wanted) >= 0
        items = [{"sku": sku, "quantity": q} for sku, q in wanted.items() if q]
        self._post(f"/api/v1/fulfillment-orders/{fo}/ship", {"carrier": "DHL", "items": items}, (200,))
        for i in order.products:
            i.bill(i.shipped + wanted.get(i.sku, 0))
            i.shipped += wanted.get(i.sku, 0)
        order.fo_open = any(i.left for i in order.products)
        if drain:
            self._drain()

    @precondition(lambda self: self._some(Order.can_ship))
    @rule(n=pick, drain=st.booleans())
    def cancel_the_rest(self, n: int, drain: bool) -> None:
        order = self._pick(n, Order.can_ship)
        fo = self._fo(order)
        if fo is None:
            return
        self._post(f"/api/v1/fulfillment-orders/{fo}/cancel", {"reason": "out of stock"}, (200,))
        order.fo_open = False
        nothing_shipped = not order.can_appease()
        invoiced = self.snapshot().invoiced
        changes = []
        for i in order.items:  # what the invoices of the shipped units will not bill
            units = i.left if i.sku is not None else int(nothing_shipped)
            if units:
                line, adj, tax = (a - b for a, b in zip(i.shares(i.ordered), i.shares(i.ordered - units), strict=True))
                billed_units, *_, billed_tax = invoiced.get(i.id, (0, 0, 0, 0))
                if billed_units == i.shipped:
                    # every unit that will be billed is billed: an invoice's VAT follows its category
                    # (base × rate), so what is left of the tax is what its invoices did not take
                    tax = sum(i.taxes) - billed_tax
                changes.append((i.id, units, -line, -adj, -tax))
                i.canceled += units
        self._credit(order, "cancel", changes, -sum(sum(c[2:]) for c in changes), drain)

    @precondition(lambda self: self._some(Order.can_return))
    @rule(n=pick, which=st.integers(0, 2), units=st.integers(1, 600), drain=st.booleans())
    def return_units(self, n: int, which: int, units: int, drain: bool) -> None:
        order = self._pick(n, Order.can_return)
        returnable = [i for i in order.products if i.shipped > i.returned]
        i = returnable[which % len(returnable)]
        billed = sum(i.shares(i.shipped)) - i.appeased  # credits stay within what the item's invoices bill
        units = next((u for u in range(1 + (units - 1) % (i.shipped - i.returned), 0, -1)
                      if sum(i.shares(i.returned + u)) <= billed), 0)
        if units:
            line, adj, tax = (b - a for a, b in zip(i.shares(i.returned), i.shares(i.returned + units), strict=True))
            i.returned += units
            self._credit(order, "return", [(i.id, units, -line, -adj, -tax)], line + adj + tax, drain)

    @precondition(lambda self: self._some(Order.can_appease))
    @rule(n=pick, which=st.integers(0, 2), amount=st.integers(1, 10_000), drain=st.booleans())
    def appease(self, n: int, which: int, amount: int, drain: bool) -> None:
        order = self._pick(n, Order.can_appease)
        shipped = [i for i in order.products if i.shipped]
        i = shipped[which % len(shipped)]
        room = sum(i.shares(i.shipped)) - sum(i.shares(i.returned)) - i.appeased
        if room > 0:
            amount = 1 + (amount - 1) % room
            i.appeased += amount
            self._credit(order, "appeasement", [(i.id, 0, 0, -amount, 0)], amount, drain, tax_lines=False)

    @precondition(lambda self: self._some(Order.by_card))
    @rule(n=pick, part=st.integers(0, 100))
    def capture_up_front(self, n: int, part: int) -> None:
        order, p = self._pick(n, Order.by_card), Payment
        available = p.amount - p.captured_amount - p.pending_capture_amount - p.reversed_amount - (
            p.pending_reverse_amount)
        with self.db.read() as s:
            auth = s.execute(select(p.id, available.label("available")).where(
                p.order_summary_id == order.id, p.kind == "authorization", p.status == "authorized", available > 0,
            ).order_by(p.id).limit(1)).first()
        if auth is not None:
            amount, self.count = int(auth.available) * part // 100, self.count + 1
            self._post(f"/api/v1/payments/{auth.id}/capture", {"amount": money(amount)} if amount else {}, (201,),
                       key=f"capture-{self.count}")

    @precondition(lambda self: self._some(Order.on_terms))
    @rule(n=pick, part=st.integers(0, 100), again=st.booleans())
    def remit(self, n: int, part: int, again: bool) -> None:
        open_invoices = self._open_invoices(self._pick(n, Order.on_terms))
        if not open_invoices:
            return
        invoice_id, balance = open_invoices[n % len(open_invoices)]
        amount, self.count = money(max(1, balance * part // 100)), self.count + 1
        body = {"account": "ACME", "amount": amount, "currency": "EUR", "reference": f"BANK-{self.count}",
                "received_on": "2026-12-01", "applications": [{"invoice": str(invoice_id), "amount": amount}]}
        first = self._post("/api/v1/payments", body, (201,))
        if again:  # the same remittance again is the one recorded, applied once
            assert self._post("/api/v1/payments", body, (200,)).json()["id"] == first.json()["id"]

    @precondition(lambda self: self.orders)
    @rule(n=pick, again=st.booleans())
    def ensure_refunds_of_order(self, n: int, again: bool) -> None:
        order, self.count = self._pick(n, bool), self.count + 1
        r = self._post("/api/v1/refunds", {"order": order.number}, (200,), key=f"refunds-{self.count}")
        if again and r.status_code == 200:
            replay = self._post("/api/v1/refunds", {"order": order.number}, (200,), key=f"refunds-{self.count}")
            assert replay.headers.get("Idempotent-Replayed") == "true"

    @precondition(lambda self: self.orders)
    @rule(n=pick)
    def ensure_funds_again(self, n: int) -> None:
        for invoice_id, _ in self._open_invoices(self._pick(n, bool)):
            self._post(f"/api/v1/invoices/{invoice_id}/ensure-funds", {}, (200,))

    # -- invariants --------------------------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        if self._snap is None:
            self._snap = Snapshot.take(self.db, self.sim)
        return self._snap

    def check_invariants(self, *args: Any, **kwargs: Any) -> None:
        self._snap = None  # one new snapshot per step, for all the invariants
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

    def teardown(self) -> None:
        try:
            if self.orders:
                self.settle_everything()
                for _ in self.orders:  # then the rest ships, and every order ends complete
                    if self._some(Order.can_ship):
                        self.ship(0, [0, 0, 0], True, True)
                self.settle_everything()
                record_paths(self.db, Snapshot.take(self.db, self.sim))
        finally:
            clock.set_clock(lambda: NOW)
            self.trouble.mode = "ok"

    def settle_everything(self) -> None:
        self.trouble.mode = "ok"
        self._quiet()
        for n, order in enumerate(self.orders):  # an operator retries open invoices, then refunds
            if order.by_card():
                self.ensure_funds_again(n)
            for _ in range(5):
                if self._post("/api/v1/refunds", {"order": order.number}, (200,)).status_code == 200:
                    break
                self._quiet()  # the gateway did not answer in time: settle, then ask again
        self._quiet()
        snap = Snapshot.take(self.db, self.sim)
        check_identity(snap, [o.id for o in self.orders])
        check_documents(snap)
        check_payments(snap)
        check_simulator(snap)
        check_invoiced_units(snap, self.orders, settled=True)
        for order in self.orders:
            check_settled_order(snap, order)


# ------------------------------------------------------------------------------------------------
# What the database and the simulator hold, read once per step, and the checks


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
    answers: dict[str, dict[str, Any]]  # the simulator's answer per idempotency key (a payment id)
    sim_captures: dict[str, tuple[int, int]]  # id → (amount, refunded)
    sim_captured: dict[str, int]  # authorization → captured
    sim_reversed: dict[str, int]  # authorization → reversed
    approved: dict[str, int]
    on_terms: set[uuid.UUID]  # orders with an invoice payment instruction

    @staticmethod
    def take(db: Database, sim: Sim) -> Snapshot:
        with db.read() as s:
            def rows(model: Any) -> list[Any]:
                return list(s.execute(select(*model.__table__.c)).all())

            line = InvoiceLine
            invoiced = {r[0]: tuple(int(x) for x in r[1:]) for r in s.execute(
                select(line.order_item_summary_id, func.sum(line.quantity), func.sum(line.line_amount),
                       func.sum(line.adjustment_amount), func.sum(line.tax_amount))
                .join(Invoice, Invoice.id == line.invoice_id).where(Invoice.status != "cancelled")
                .group_by(line.order_item_summary_id))}
            snap = Snapshot(rows(Payment), rows(OrderPaymentSummary), rows(PaymentApplication), rows(RefundApplication),
                            rows(Invoice), invoiced, rows(CreditMemo), rows(Remittance),
                            {r.id: r for r in rows(OrderItemSummary)}, {}, {}, {}, {}, {}, set())
            snap.on_terms = {o.id for o in s.execute(select(OrderSummary.id, OrderSummary.payment_instructions))
                             if any(i.get("method") == "invoice" for i in o.payment_instructions or [])}
        with sim.state.lock:
            snap.answers = {k: v[2] for k, v in sim.state.answers.items()}
            snap.sim_captures = {c.id: (c.amount, c.refunded) for c in sim.state.captures.values()}
            snap.sim_captured = {a.id: a.captured for a in sim.state.authorizations.values()}
            snap.sim_reversed = {a.id: a.reversed for a in sim.state.authorizations.values()}
            snap.approved = dict(sim.state.approved)
        return snap

    def performed(self, payment: Any) -> bool:
        """The simulator did the operation (whether or not its answer arrived)."""
        answer = self.answers.get(str(payment.id))
        return answer is not None and answer["result"] == "approved"


def pending_work(db: Database) -> dict[str, int]:
    with db.read() as s:
        found = {name: int(s.execute(select(func.count()).select_from(model).where(where)).scalar_one())
                 for name, model, where in (
                     ("events", OutboxEvent, OutboxEvent.dispatched_at.is_(None)),
                     ("payments", Payment, Payment.status == "pending"),
                     ("applications", PaymentApplication, PaymentApplication.status == "pending"),
                     ("refunds", RefundApplication, RefundApplication.status == "pending"))}
    return {k: v for k, v in found.items() if v}


REFUND_STATUS = {"pending": "pending", "succeeded": "applied", "failed": "failed"}
LIVE = ("pending", "applied")


def order_money(snap: Snapshot, order_id: uuid.UUID) -> dict[str, int]:
    """The terms of the identity for one order, each from its own records, checked on the way."""
    pay = [p for p in snap.payments if p.order_summary_id == order_id]
    by_id = {p.id: p for p in pay}
    captures = [p for p in pay if p.kind == "capture" and p.status == "succeeded"]
    refunds = {p.id: p for p in pay if p.kind == "refund"}
    apps = [a for a in snap.applications if a.order_summary_id == order_id and a.payment_id is not None]
    given = [r for r in snap.refunds if r.order_summary_id == order_id]
    assert sorted(r.refund_id for r in given) == sorted(refunds), "a refund without its refund application"
    for r in given:
        p = refunds[r.refund_id]
        assert (p.amount, REFUND_STATUS[p.status], p.parent_id) == (r.amount, r.status, r.capture_id), r
    for a in apps:  # an application's capture: applied ⇒ succeeded, pending ⇒ pending
        c = by_id[a.payment_id]
        assert c.kind == "capture" and c.amount >= a.amount, a
        assert (a.status != "applied" or c.status == "succeeded") and (a.status != "pending" or c.status == "pending")
    for c in captures:  # per capture, the money applied and the money unapplied stay ≥ 0
        applied = sum(a.amount for a in apps if a.payment_id == c.id and a.status == "applied")
        back = sum(r.amount for r in given if r.capture_id == c.id and r.source == "applied" and r.status in LIVE)
        out = sum(r.amount for r in given if r.capture_id == c.id and r.source == "unapplied" and r.status in LIVE)
        assert applied - back >= 0, ("more applied money refunded than applied", c.id, applied, back)
        assert c.amount - applied - out >= 0, ("a capture's unapplied money below zero", c.id, c.amount, applied, out)
    ok = [r for r in given if r.status == "applied"]
    captured = sum(c.amount for c in captures)
    applied = sum(a.amount for a in apps if a.status == "applied")
    return {"captured": captured, "refunded": sum(p.amount for p in refunds.values() if p.status == "succeeded"),
            "applied": applied, "given_back_applied": sum(r.amount for r in ok if r.source == "applied"),
            "unapplied": captured - applied - sum(r.amount for r in ok if r.source == "unapplied")}


def check_identity(snap: Snapshot, order_ids: list[uuid.UUID]) -> None:
    assert {p.order_summary_id for p in snap.payments} <= set(order_ids)
    total: Counter[str] = Counter()
    for order_id in order_ids:
        m = order_money(snap, order_id)
        assert m["captured"] - m["refunded"] == m["applied"] - m["given_back_applied"] + m["unapplied"], (order_id, m)
        assert m["unapplied"] >= 0, (order_id, m)
        total.update(m)
    assert total["captured"] - total["refunded"] == total["applied"] - total["given_back_applied"] + total["unapplied"]
    assert (total["captured"], total["refunded"]) == (sum(s.captured_amount for s in snap.summaries),
                                                      sum(s.refunded_amount for s in snap.summaries))


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
        credited = sum(a.amount for a in snap.applications if a.credit_memo_id == m.id and a.status == "applied")
        assert (m.refunded_amount, m.applied_amount) == (refunded, credited), m.number
        assert m.total_amount == refunded + m.not_charged_amount + credited + m.balance_amount, m.number
        assert min(m.total_amount, m.not_charged_amount, m.balance_amount) >= 0, m.number
        assert credited == 0 or m.order_summary_id in snap.on_terms, ("a credit applied on a card order", m.number)
        expected = "closed" if m.balance_amount == 0 else "partially_refunded" if refunded else "open"
        assert m.status == expected, (m.number, m.status, refunded, m.balance_amount)
    for r in snap.remittances:
        assert r.amount == sum(a.amount for a in snap.applications if a.remittance_id == r.id), r.reference


def check_payments(snap: Snapshot) -> None:
    def total(kind: str, status: str, where: Any) -> int:
        return sum(p.amount for p in snap.payments if p.kind == kind and p.status == status and where(p))

    for p in snap.payments:
        assert p.amount > 0 and min(p.captured_amount, p.pending_capture_amount, p.reversed_amount,
                                    p.pending_reverse_amount, p.refunded_amount, p.pending_refund_amount) >= 0, p.id
        if p.kind == "authorization":  # no capture above the authorization
            assert (p.captured_amount, p.pending_capture_amount) == (
                total("capture", "succeeded", lambda c, a=p: c.parent_id == a.id),
                total("capture", "pending", lambda c, a=p: c.parent_id == a.id)), p.id
            assert p.captured_amount + p.pending_capture_amount + p.reversed_amount + p.pending_reverse_amount \
                <= p.amount, p.id
        if p.kind == "capture":  # no refund above the capture
            assert (p.refunded_amount, p.pending_refund_amount) == (
                total("refund", "succeeded", lambda r, c=p: r.parent_id == c.id),
                total("refund", "pending", lambda r, c=p: r.parent_id == c.id)), p.id
            assert p.refunded_amount + p.pending_refund_amount <= p.amount, p.id
    for s in snap.summaries:
        def mine(p: Any, summary: Any = s) -> bool:
            return bool(p.summary_id == summary.id)

        assert (s.captured_amount, s.pending_capture_amount, s.refunded_amount, s.pending_refund_amount) == (
            total("capture", "succeeded", mine), total("capture", "pending", mine),
            total("refund", "succeeded", mine), total("refund", "pending", mine)), s.id
        assert s.authorized_amount == sum(p.amount - p.reversed_amount for p in snap.payments if mine(p) and p.kind
                                          == "authorization" and p.status in ("authorized", "closed", "expired"))
        assert s.authorized_amount - s.captured_amount - s.pending_capture_amount - s.pending_reverse_auth_amount >= 0
        assert s.captured_amount - s.refunded_amount - s.pending_refund_amount >= 0, s.id


def check_simulator(snap: Snapshot) -> None:
    """The simulator performed one capture (refund) per engine record that succeeded, or that is
    pending because its answer was lost, with the same amounts; nothing else, nothing twice."""
    done = {"authorization": ("authorized", "closed", "expired"), "capture": ("succeeded",), "refund": ("succeeded",),
            "void": ("succeeded",)}
    for p in snap.payments:
        answer = snap.answers.get(str(p.id))
        if p.status in done.get(p.kind, ()):
            assert answer is not None and answer["result"] == "approved", p.id
            assert (answer["id"], answer["amount_minor"]) == (p.gateway_reference, p.amount), p.id
        elif p.status != "pending":
            assert not snap.performed(p), ("the simulator did what the engine recorded as failed", p.id)
    captures = [p for p in snap.payments if p.kind == "capture" and snap.performed(p)]
    refunds = [p for p in snap.payments if p.kind == "refund" and snap.performed(p)]
    voids = [p for p in snap.payments if p.kind == "void" and snap.performed(p)]
    assert sorted(snap.answers[str(p.id)]["id"] for p in captures) == sorted(snap.sim_captures)
    assert (snap.approved.get("capture", 0), snap.approved.get("refund", 0), snap.approved.get("void", 0)) == (
        len(captures), len(refunds), len(voids))
    for c in captures:
        assert snap.sim_captures[snap.answers[str(c.id)]["id"]] == (
            c.amount, sum(r.amount for r in refunds if r.parent_id == c.id)), c.id
    for a in snap.payments:
        if a.kind == "authorization" and a.gateway_reference in snap.sim_captured:
            assert snap.sim_captured[a.gateway_reference] == sum(c.amount for c in captures if c.parent_id == a.id)
            if a.status != "expired":  # one void per record, of its amount
                assert snap.sim_reversed[a.gateway_reference] == sum(v.amount for v in voids if v.parent_id == a.id)


def check_invoiced_units(snap: Snapshot, orders: list[Order], settled: bool = False) -> None:
    for order in orders:
        for i in order.items:
            shipped = i.shipped if i.sku is not None else int(order.can_appease())  # shipping: on the first
            if i.sku is not None:
                row = snap.items[i.id]
                assert (row.quantity_fulfilled, row.quantity_canceled) == (i.shipped, i.canceled), i.sku
            units, *amounts = snap.invoiced.get(i.id, (0, 0, 0, 0))
            assert units <= shipped, ("more units invoiced than shipped", order.number, i.sku, units, shipped)
            line, discount, tax = i.shares(units)
            assert tuple(amounts[:2]) == (line, discount), (order.number, i.sku, units, amounts, i.shares(units))
            # An invoice's VAT is its category's base × rate rounded once: an item still being
            # invoiced carries part of that rounding (a minor unit per line of the invoice at most);
            # once it is invoiced whole its tax adds up exactly.
            drift = 0 if units in (0, i.ordered) else len(order.items)
            assert abs(amounts[2] - tax) <= drift, (order.number, i.sku, units, amounts, i.shares(units))
            assert not settled or units == shipped, ("shipped units not invoiced", order.number, i.sku, units)
        if all(snap.invoiced.get(i.id, (0,))[0] == i.ordered for i in order.items) and not order.change_orders:
            assert sum(v.total_amount for v in snap.invoices if v.order_summary_id == order.id) == order.grand_total
        assert sum(m.total_amount for m in snap.memos if m.order_summary_id == order.id) == order.credited


def check_settled_order(snap: Snapshot, order: Order) -> None:
    """An order paid by cards that work: every invoice paid, every credit memo closed, and no
    captured money kept beyond what the order must still pay."""
    if not order.healthy_cards():
        return
    invoices = [v for v in snap.invoices if v.order_summary_id == order.id]
    memos = [m for m in snap.memos if m.order_summary_id == order.id]
    assert all(v.status == "paid" for v in invoices), [(v.number, v.status, v.balance_amount) for v in invoices]
    assert all(m.status == "closed" for m in memos), [(m.number, m.status, m.balance_amount) for m in memos]
    cancelled = sum(credit for kind, credit in order.change_orders.values() if kind == "cancel")
    still_to_pay = order.grand_total - sum(v.total_amount for v in invoices if v.kind == "shipment") - cancelled
    unapplied = order_money(snap, order.id)["unapplied"]
    assert 0 <= unapplied <= still_to_pay, (order.number, unapplied, still_to_pay)
    # and its authorizations hold no more than what captured money does not cover
    held = sum(p.amount - p.captured_amount - p.pending_capture_amount - p.reversed_amount - p.pending_reverse_amount
               for p in snap.payments if p.order_summary_id == order.id and p.kind == "authorization"
               and p.status == "authorized")
    assert held <= still_to_pay - unapplied, (order.number, held, still_to_pay, unapplied)
    if not any(i.left for i in order.products):
        assert (still_to_pay, unapplied, held) == (0, 0, 0), (order.number, still_to_pay, unapplied, held)


def record_paths(db: Database, snap: Snapshot) -> None:
    """Count the money paths the example took (the test prints them; see them with -s)."""
    with db.read() as s:
        calls = s.execute(select(GatewayCall.payment_id, GatewayCall.operation, GatewayCall.outcome)).all()
    status = {p.id: p.status for p in snap.payments}
    PATHS.update(path for path, taken in {
        "invoice paid by captures": any(a.payment_id and a.status == "applied" for a in snap.applications),
        "invoice paid by a remittance": any(a.remittance_id for a in snap.applications),
        "capture not applied (invoice paid meanwhile)": any(
            a.status == "failed" and status.get(a.payment_id) == "succeeded" for a in snap.applications),
        "refund of applied money": any(r.source == "applied" and r.status == "applied" for r in snap.refunds),
        "refund of unapplied money": any(r.source == "unapplied" and r.status == "applied" for r in snap.refunds),
        "refund of excess funds": any(r.credit_memo_id is None for r in snap.refunds),
        "credit memo settled as not charged": any(m.not_charged_amount for m in snap.memos),
        "credit memo applied to an open invoice": any(m.applied_amount for m in snap.memos),
        "authorization released by a void": any(p.kind == "void" and p.status == "succeeded" for p in snap.payments),
        "credit memo left open": any(m.balance_amount for m in snap.memos),
        "declined or failed payment": any(p.status in ("declined", "failed") for p in snap.payments),
        **{f"{c.operation} settled after a timeout": True for c in calls
           if c.outcome in ("timeout", "connection_error") and status.get(c.payment_id) in ("succeeded", "closed")},
    }.items() if taken)


# ------------------------------------------------------------------------------------------------
# The tests


def test_money_is_conserved_over_random_lifecycles(db: Database, sim: Sim, frozen: Any, app: Any) -> None:
    # The adapter gives up on a tok_timeout answer (0.4 s) after 0.15 s and retries with its key.
    inner = HttpGateway("simulator", sim.url, timeout=0.15, attempts=8, backoff=0.01, max_backoff=0.05)
    trouble = Trouble(inner)
    app.state.payment_gateways = {"simulator": trouble}
    PATHS.clear()
    try:
        with TestClient(app) as client:
            run_machine(lambda: Conservation(db, sim, client, trouble), settings=SETTINGS)
    finally:
        inner.close()
    print(f"\n{EXAMPLES} examples on {db.dialect}; examples per path:", dict(sorted(PATHS.items())))


def test_a_shipment_whose_discount_share_exceeds_its_line_share_is_invoiced(
    world: Database, sim: Sim, gateways: Any, api: Any, admin: dict[str, str]
) -> None:
    # given 4 nuts at 0.025 (0.10) less a discount of 0.09, no VAT, no shipping, by card
    body = support.order_payload(support.CARD)
    group = body["delivery_groups"][0]
    group["lines"] = [{"sku": "NUT-M8", "quantity": 4, "unit_price": "0.025", "tax_lines": support.vat("0.00"),
                       "adjustments": [{"name": "Discount", "amount": "-0.09"}]}]
    group["shipping_charge"] = "0"
    del group["shipping_tax_lines"]
    order = support.place(world, body)
    support.drain(world, gateways)
    fo = support.fo_id(world, order["id"])
    # when one nut ships (line 0.03, discount −0.02), then another (line 0.05 − 0.03 = 0.02,
    # discount −0.05 + 0.02 = −0.03: −0.01 in all), then the last two
    for units in (1, 1, 2):
        support.ship(api, admin, fo, NUT_M8=units)
        support.drain(world, gateways)
    # then every shipment is invoiced, no invoice is negative, and together they bill the 0.01
    assert support.pending_events(world) == []
    totals = [total for _, _, total, _, _ in support.invoices(world)]
    assert (len(totals), sum(totals), min(totals)) == (3, 1, 0)
