"""Daily capacity per location: hold, confirm, release, never over capacity."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import date

import pytest

from ordino.inventory import groups
from ordino.kernel.db import Database
from ordino.kernel.errors import Conflict, Problem, ValidationFailed

DAY = date(2026, 12, 1)


def _state(db: Database, location: str = "WH-BER", day: date = DAY) -> dict[str, object]:
    with db.read() as s:
        return groups.capacity(s, location, day)


def test_holds_fit_until_the_day_is_full(world) -> None:  # type: ignore[no-untyped-def]
    # given a location handling 10 units a day
    world.transaction(lambda s: groups.set_daily_capacity(s, "WH-BER", 10))
    # when 6 and then 4 units are held
    world.transaction(lambda s: groups.hold_capacity(s, "WH-BER", DAY, 6))
    world.transaction(lambda s: groups.hold_capacity(s, "WH-BER", DAY, 4))
    # then the day is full
    assert _state(world) == {"day": DAY, "capacity": 10, "held": 10, "confirmed": 0, "remaining": 0}


def test_a_hold_over_capacity_is_refused_and_changes_nothing(world) -> None:  # type: ignore[no-untyped-def]
    world.transaction(lambda s: groups.set_daily_capacity(s, "WH-BER", 10))
    world.transaction(lambda s: groups.hold_capacity(s, "WH-BER", DAY, 7))
    with pytest.raises(Conflict) as refused:
        world.transaction(lambda s: groups.hold_capacity(s, "WH-BER", DAY, 4))
    assert refused.value.slug == "capacity-exhausted"
    assert refused.value.detail == (
        "cannot hold 4 capacity units at WH-BER on 2026-12-01: capacity 10, held 7, confirmed 0"
    )
    assert _state(world) == {"day": DAY, "capacity": 10, "held": 7, "confirmed": 0, "remaining": 3}


def test_confirm_and_release(world) -> None:  # type: ignore[no-untyped-def]
    world.transaction(lambda s: groups.set_daily_capacity(s, "WH-BER", 10))
    world.transaction(lambda s: groups.hold_capacity(s, "WH-BER", DAY, 8))
    world.transaction(lambda s: groups.confirm_capacity(s, "WH-BER", DAY, 5))
    world.transaction(lambda s: groups.release_capacity(s, "WH-BER", DAY, 2))
    world.transaction(lambda s: groups.release_capacity(s, "WH-BER", DAY, 1, confirmed=True))
    assert _state(world) == {"day": DAY, "capacity": 10, "held": 1, "confirmed": 4, "remaining": 5}


def test_confirming_or_releasing_more_than_held_changes_nothing(world) -> None:  # type: ignore[no-untyped-def]
    world.transaction(lambda s: groups.set_daily_capacity(s, "WH-BER", 10))
    world.transaction(lambda s: groups.hold_capacity(s, "WH-BER", DAY, 2))
    for attempt in (
        lambda s: groups.confirm_capacity(s, "WH-BER", DAY, 3),
        lambda s: groups.release_capacity(s, "WH-BER", DAY, 3),
        lambda s: groups.release_capacity(s, "WH-BER", DAY, 1, confirmed=True),
    ):
        with pytest.raises(Conflict) as refused:
            world.transaction(attempt)
        assert refused.value.slug == "capacity-not-held"
    with pytest.raises(ValidationFailed):
        world.transaction(lambda s: groups.hold_capacity(s, "WH-BER", DAY, 0))
    assert _state(world) == {"day": DAY, "capacity": 10, "held": 2, "confirmed": 0, "remaining": 8}


def test_a_location_without_capacity_has_no_limit_but_counts(world) -> None:  # type: ignore[no-untyped-def]
    world.transaction(lambda s: groups.hold_capacity(s, "WH-HAM", DAY, 1000))
    assert _state(world, "WH-HAM") == {"day": DAY, "capacity": None, "held": 1000, "confirmed": 0, "remaining": None}


def test_a_day_override_replaces_the_default(world) -> None:  # type: ignore[no-untyped-def]
    # given 10 a day, but only 2 on the first of December
    world.transaction(lambda s: groups.set_daily_capacity(s, "WH-BER", 10))
    world.transaction(lambda s: groups.set_day_capacity(s, "WH-BER", DAY, 2))
    with pytest.raises(Conflict):
        world.transaction(lambda s: groups.hold_capacity(s, "WH-BER", DAY, 3))
    world.transaction(lambda s: groups.hold_capacity(s, "WH-BER", date(2026, 12, 2), 3))
    assert _state(world)["capacity"] == 2
    assert _state(world, day=date(2026, 12, 2)) == {
        "day": date(2026, 12, 2), "capacity": 10, "held": 3, "confirmed": 0, "remaining": 7
    }
    # when the override is removed and the default lowered, the day follows the default
    world.transaction(lambda s: groups.set_day_capacity(s, "WH-BER", DAY, None))
    world.transaction(lambda s: groups.set_daily_capacity(s, "WH-BER", 5))
    assert _state(world)["capacity"] == 5


def test_unknown_location_is_named(world) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationFailed) as refused:
        world.transaction(lambda s: groups.hold_capacity(s, "WH-XX", DAY, 1))
    assert refused.value.errors[0].message == "no location 'WH-XX'"


def test_concurrent_holds_never_exceed_capacity(world) -> None:  # type: ignore[no-untyped-def]
    if world.dialect != "postgresql":
        pytest.skip("concurrency is proven on PostgreSQL")
    world.transaction(lambda s: groups.set_daily_capacity(s, "WH-BER", 7))
    world.transaction(lambda s: groups.hold_capacity(s, "WH-BER", DAY, 1))  # the day row exists
    world.transaction(lambda s: groups.release_capacity(s, "WH-BER", DAY, 1))
    barrier = threading.Barrier(20)
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()

    def hold() -> None:
        barrier.wait()
        try:
            world.transaction(lambda s: groups.hold_capacity(s, "WH-BER", DAY, 1))
            outcome = "ok"
        except Problem as exc:
            outcome = exc.slug
        with lock:
            outcomes[outcome] += 1

    threads = [threading.Thread(target=hold) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes == Counter({"ok": 7, "capacity-exhausted": 13})
    assert _state(world)["held"] == 7
