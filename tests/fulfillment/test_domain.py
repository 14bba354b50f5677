"""Pure fulfilment rules: the lifecycle tables, sharing a plan among items, moving an item's
reservations, and the order transition a shipment calls for."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ordino.fulfillment.domain import (
    FULFILLMENT_ORDER_LIFECYCLE,
    SHIPMENT_LIFECYCLE,
    Free,
    ItemProgress,
    Moves,
    Need,
    available_actions,
    order_action,
    plan_moves,
    share_plan,
)
from ordino.kernel.errors import Conflict


def test_the_fulfillment_order_lifecycle() -> None:
    lc = FULFILLMENT_ORDER_LIFECYCLE
    assert lc.initial == "draft"
    assert [lc.target("draft", "allocate"), lc.target("allocated", "assign"), lc.target("assigned", "pick"),
            lc.target("picked", "pack"), lc.target("packed", "ship_partially"),
            lc.target("partially_shipped", "fulfill")] == [
        "allocated", "assigned", "picked", "packed", "partially_shipped", "fulfilled"]
    assert lc.event_type("ship_partially") == "fulfillment_order.partially_shipped"
    for terminal in ("fulfilled", "cancelled", "rejected"):
        assert lc.actions_from(terminal) == []
    with pytest.raises(Conflict):
        lc.target("allocated", "pick")
    assert SHIPMENT_LIFECYCLE.actions_from("shipped") == ["deliver"]


def test_available_actions_are_the_endpoints() -> None:
    assert available_actions("draft", undelivered_shipments=False) == ["cancel"]
    assert available_actions("allocated", undelivered_shipments=False) == ["assign", "ship", "reject", "cancel"]
    assert available_actions("packed", undelivered_shipments=False) == ["ship", "reject", "cancel"]
    assert available_actions("partially_shipped", undelivered_shipments=True) == ["ship", "reject", "cancel",
                                                                                  "deliver"]
    assert available_actions("fulfilled", undelivered_shipments=False) == []


def test_share_plan_keeps_units_where_items_hold_them() -> None:
    # two items of one SKU: b holds 3 at HAM; the plan routes 4 at BER and 3 at HAM
    needs = [Need("a", "BOLT", 4), Need("b", "BOLT", 3), Need("c", "NUT", 2)]
    plan = [("BER", "BOLT", 4), ("HAM", "BOLT", 3), ("BER", "NUT", 2)]
    assert share_plan(needs, plan, {"b": {"HAM": 3}}) == {"a": {"BER": 4}, "b": {"HAM": 3}, "c": {"BER": 2}}
    # without holds, items fill in order
    assert share_plan(needs, plan, {}) == {"a": {"BER": 4}, "b": {"HAM": 3}, "c": {"BER": 2}}
    assert share_plan(needs, [("HAM", "BOLT", 5)], {}) == {"a": {"HAM": 4}, "b": {"HAM": 1}, "c": {}}
    with pytest.raises(ValueError):
        share_plan(needs, [("HAM", "BOLT", 8)], {})


@given(st.lists(st.integers(1, 6), min_size=1, max_size=4), st.lists(st.integers(0, 6), min_size=1, max_size=4))
def test_share_plan_conserves_units(needs: list[int], at: list[int]) -> None:
    total = sum(needs)
    routed, left = [], total
    for i, q in enumerate(at):
        q = min(q, left)
        if q:
            routed.append((f"L{i}", "S", q))
            left -= q
    shared = share_plan([Need(n, "S", q) for n, q in enumerate(needs)], routed, {})
    assert all(sum(v.values()) <= needs[k] for k, v in shared.items())
    for loc, _, q in routed:
        assert sum(v.get(loc, 0) for v in shared.values()) == q


def test_plan_moves() -> None:
    # holds stay where the target wants them
    assert plan_moves({"BER": 5}, {"BER": Free(5)}, 0) == Moves()
    # a hold elsewhere is transferred; what is missing beyond is reserved fresh
    assert plan_moves({"BER": 5}, {"HAM": Free(3)}, 0) == Moves(transfers=[("HAM", "BER", 3)], reserves=[("BER", 2)])
    # backordered units are moved too; an unrouted remainder keeps its hold, the excess is released
    assert plan_moves({"BER": 2}, {"HAM": Free(1, 2), "MUC": Free(4)}, 3) == Moves(
        transfers=[("HAM", "BER", 2)], releases=[("HAM", 1), ("MUC", 1)])
    # nothing routed: holds up to what is still needed stay
    assert plan_moves({}, {"HAM": Free(3)}, 3) == Moves()
    assert plan_moves({}, {"HAM": Free(3)}, 1) == Moves(releases=[("HAM", 2)])


@given(st.dictionaries(st.sampled_from("ABCD"), st.integers(1, 5), max_size=3),
       st.dictionaries(st.sampled_from("ABCD"), st.tuples(st.integers(0, 5), st.integers(0, 3)), max_size=4),
       st.integers(0, 6))
def test_plan_moves_ends_with_exactly_the_target_plus_what_is_kept(
    target: dict[str, int], holds: dict[str, tuple[int, int]], keep: int
) -> None:
    free = {k: Free(p, b) for k, (p, b) in holds.items() if p + b}
    moves = plan_moves(target, free, keep)
    stays = {k: min(f.physical, target.get(k, 0)) for k, f in free.items()}
    spare = {k: f.total - stays[k] for k, f in free.items()}
    arrived = {k: stays.get(k, 0) for k in target}
    for src, dst, q in moves.transfers:
        assert src != dst and q > 0
        spare[src] -= q
        arrived[dst] += q
    for dst, q in moves.reserves:
        arrived[dst] += q
    after_transfers = sum(spare.values())
    for loc, q in moves.releases:
        spare[loc] -= q
    # every location ends with its target, nothing is taken twice, and exactly `keep` spare units
    # stay held (or all of them, when there are fewer)
    assert arrived == target
    assert all(v >= 0 for v in spare.values())
    assert sum(spare.values()) == min(keep, after_transfers)


def test_order_action() -> None:
    both = ["fulfill_partially", "fulfill"]
    assert order_action("approved", [ItemProgress(5, 0, 0)], both) is None
    assert order_action("approved", [ItemProgress(5, 0, 2)], both) == "fulfill_partially"
    assert order_action("approved", [ItemProgress(5, 0, 5), ItemProgress(3, 3, 0)], both) == "fulfill"
    assert order_action("partially_fulfilled", [ItemProgress(5, 0, 3)], ["fulfill"]) is None
    assert order_action("partially_fulfilled", [ItemProgress(5, 0, 5)], ["fulfill"]) == "fulfill"
    assert order_action("cancelled", [ItemProgress(5, 0, 5)], ["close"]) is None
