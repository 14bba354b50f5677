"""UUIDv7 ids: valid, unique, increasing, and carrying the clock's time even when made fast."""

from __future__ import annotations

import threading
import time
import uuid

from ordino.kernel.ids import new_id, parse_id, timestamp_ms


def test_ids_are_version_7_with_the_rfc_variant() -> None:
    value = new_id()
    assert (value.version, value.variant) == (7, uuid.RFC_4122)


def test_a_burst_of_ids_is_strictly_increasing_and_keeps_the_clock_time() -> None:
    # given 200,000 ids made as fast as this process can
    before = time.time_ns() // 1_000_000
    ids = [new_id() for _ in range(200_000)]
    after = time.time_ns() // 1_000_000
    # then they are unique and sorted, and their time stays within the clock's
    assert ids == sorted(ids)
    assert len(set(ids)) == 200_000
    assert before <= timestamp_ms(ids[0])
    assert timestamp_ms(ids[-1]) <= after + 1


def test_ids_made_by_many_threads_never_collide() -> None:
    made: list[uuid.UUID] = []
    lock = threading.Lock()

    def work() -> None:
        mine = [new_id() for _ in range(5_000)]
        with lock:
            made.extend(mine)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(made)) == 40_000


def test_parse_id_accepts_uuids_and_refuses_anything_else() -> None:
    value = new_id()
    assert parse_id(str(value)) == value
    assert [parse_id(x) for x in ("SO-000001", "", "123")] == [None, None, None]
