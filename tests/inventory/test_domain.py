"""The pure rules of the inventory engine: formulas, stock records, reservation planners."""

from __future__ import annotations

import uuid
from datetime import date

import pytest

from ordino.inventory import domain
from ordino.inventory.domain import Figures, Hold, StockRecord

A, B, C = (uuid.UUID(int=n) for n in (1, 2, 3))


def test_available_to_fulfill_and_to_order() -> None:
    f = Figures(on_hand=100, reserved=30, safety_stock=10, futures=50, backordered=20)
    assert (f.available_to_fulfill, f.available_to_order) == (60, 90)
    assert f.as_dict() == {
        "on_hand": 100, "reserved": 30, "safety_stock": 10, "backordered": 20, "futures_total": 50,
        "available_to_fulfill": 60, "available_to_order": 90,
    }


def test_a_count_below_the_reservations_gives_a_negative_available_to_fulfill() -> None:
    assert Figures(on_hand=3, reserved=5, safety_stock=1).available_to_fulfill == -3


def test_group_figures_are_sums() -> None:
    total = Figures(10, 2, 1, 5, 0) + Figures(3, 5, 0, 0, 1)
    assert total == Figures(13, 7, 1, 5, 1)
    assert total.available_to_fulfill == 5


def test_absolute_record_sets_what_it_names_and_keeps_the_rest() -> None:
    current = Figures(on_hand=10, reserved=4, safety_stock=2, futures=7)
    record = StockRecord(0, None, "S", "L", "absolute", on_hand=1, futures=[(date(2026, 12, 1), 3)])
    assert domain.apply_record(current, record) == Figures(on_hand=1, reserved=4, safety_stock=2, futures=3)


def test_delta_record_adds_and_refuses_a_negative_result() -> None:
    current = Figures(on_hand=10, safety_stock=2, futures=7)
    plus = StockRecord(0, None, "S", "L", "delta", on_hand=-4, safety_stock=1, futures=[(date(2026, 12, 1), 3)])
    assert domain.apply_record(current, plus) == Figures(on_hand=6, safety_stock=3, futures=10)
    assert plus.lowers
    too_much = StockRecord(0, None, "S", "L", "delta", on_hand=-11)
    assert domain.apply_record(current, too_much) is None


def test_futures_of_one_record_are_merged_per_date() -> None:
    record = StockRecord(
        0, None, "S", "L", "delta", futures=[(date(2026, 12, 1), 3), (date(2026, 12, 2), 1), (date(2026, 12, 1), 2)]
    )
    assert record.merged_futures() == {date(2026, 12, 1): 5, date(2026, 12, 2): 1}
    assert record.futures_total == 6


def test_check_values_names_each_problem() -> None:
    assert domain.check_values("absolute", -1, -2, False) == [
        ("on_hand", "must be 0 or more in absolute mode"),
        ("safety_stock", "must be 0 or more in absolute mode"),
    ]
    assert domain.check_values("delta", -1, None, False) == []
    assert domain.check_values("delta", None, None, False) == [("on_hand", "give on_hand, safety_stock or futures")]
    assert domain.check_values("absolute", None, None, True) == []
    assert domain.check_values("delta", 10**12 + 1, None, False) == [
        ("on_hand", "must be between -1000000000000 and 1000000000000")
    ]


def test_waves_keep_each_position_once_per_wave_and_in_order() -> None:
    items = [("a", 1), ("b", 2), ("a", 3), ("a", 4), ("c", 5), ("b", 6)]
    assert domain.waves(items, key=lambda x: x[0]) == [
        [("a", 1), ("b", 2), ("c", 5)],
        [("a", 3), ("b", 6)],
        [("a", 4)],
    ]


def test_quantities_are_summed_per_position_and_sorted() -> None:
    lines = [("NUT", B, 2), ("BOLT", B, 1), ("NUT", A, 4), ("BOLT", B, 5)]
    assert domain.sum_quantities(lines) == [(("BOLT", B), 6), (("NUT", A), 4), (("NUT", B), 2)]


def test_release_plan_takes_backordered_units_first_then_stock_in_row_order() -> None:
    holds = [Hold(A, open=5, backordered=0), Hold(B, open=4, backordered=3), Hold(C, open=2, backordered=0)]
    plan = domain.plan_release(holds, 6)
    assert [(t.id, t.quantity, t.backordered) for t in plan.takes] == [(A, 3, 0), (B, 3, 3)]
    assert (plan.quantity, plan.backordered, plan.physical) == (6, 3, 3)


def test_release_plan_without_quantity_takes_everything_open() -> None:
    holds = [Hold(A, open=5, backordered=1), Hold(B, open=0, backordered=0)]
    assert [(t.id, t.quantity, t.backordered) for t in domain.plan_release(holds, None).takes] == [(A, 5, 1)]


def test_release_plan_refuses_more_than_is_open() -> None:
    with pytest.raises(ValueError, match="not enough open units"):
        domain.plan_release([Hold(A, open=1, backordered=0)], 2)


def test_fulfil_plan_takes_only_units_reserved_from_stock() -> None:
    holds = [Hold(A, open=3, backordered=3), Hold(B, open=4, backordered=1), Hold(C, open=2, backordered=0)]
    plan = domain.plan_fulfil(holds, 4)
    assert [(t.id, t.quantity, t.backordered) for t in plan.takes] == [(B, 3, 0), (C, 1, 0)]
    with pytest.raises(ValueError):
        domain.plan_fulfil(holds, 6)


def test_capacity_remaining() -> None:
    assert domain.capacity_remaining(10, 3, 4) == 3
    assert domain.capacity_remaining(None, 3, 4) is None
