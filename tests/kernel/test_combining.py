"""Combined commands (kernel.combining): concurrent submissions run together, each gets its own
answer."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence

import pytest

from ordino.kernel.combining import Combiner, combiner


class Recorder:
    """A batch function that records its batches; it answers n * 10, or refuses odd numbers when
    asked to, and can be held until released so that submissions pile up."""

    def __init__(self, refuse_odd: bool = False, fail: bool = False) -> None:
        self.batches: list[list[int]] = []
        self.refuse_odd = refuse_odd
        self.fail = fail
        self.gate = threading.Event()
        self.gate.set()
        self.entered = threading.Event()  # set when a batch has started

    def __call__(self, items: Sequence[int]) -> list[int | BaseException]:
        self.entered.set()
        self.gate.wait(5)
        self.batches.append(list(items))
        if self.fail:
            raise RuntimeError("the batch broke")
        return [ValueError(f"odd {n}") if self.refuse_odd and n % 2 else n * 10 for n in items]


async def _submit_all(c: Combiner[int, int], items: range, recorder: Recorder) -> list[object]:
    recorder.gate.clear()  # the first batch waits, so that the rest queue behind it
    tasks = [asyncio.ensure_future(c.submit(n)) for n in items]
    # every submission is queued before the first batch starts (the loop runs tasks in order)
    assert await asyncio.to_thread(recorder.entered.wait, 5), "no batch started within 5 s"
    recorder.gate.set()
    return list(await asyncio.gather(*tasks, return_exceptions=True))


def test_queued_submissions_run_together_in_order() -> None:
    recorder = Recorder()
    c: Combiner[int, int] = Combiner(recorder, max_items=4, batches=1)
    results = asyncio.run(_submit_all(c, range(10), recorder))
    assert results == [n * 10 for n in range(10)]
    # the first batch took what had arrived when it started; the others what queued meanwhile
    assert [n for batch in recorder.batches for n in batch] == list(range(10))
    assert max(len(b) for b in recorder.batches) == 4
    assert len(recorder.batches) < 10


def test_each_submitter_gets_its_own_refusal() -> None:
    recorder = Recorder(refuse_odd=True)
    results = asyncio.run(_submit_all(Combiner(recorder, batches=1), range(4), recorder))
    assert results[0::2] == [0, 20]
    assert [str(r) for r in results[1::2]] == ["odd 1", "odd 3"]
    assert all(isinstance(r, ValueError) for r in results[1::2])


def test_a_broken_batch_fails_each_of_its_submitters() -> None:
    recorder = Recorder(fail=True)
    results = asyncio.run(_submit_all(Combiner(recorder, batches=1), range(3), recorder))
    assert [str(r) for r in results] == ["the batch broke"] * 3


def test_one_combiner_per_key_and_event_loop() -> None:
    async def two() -> tuple[object, object, object]:
        made = combiner(("use case", 1), lambda: Combiner(Recorder()))
        return made, combiner(("use case", 1), lambda: Combiner(Recorder())), combiner(("use case", 2),
                                                                                       lambda: Combiner(Recorder()))

    first, same, other = asyncio.run(two())
    assert first is same
    assert other is not first
    again, _, _ = asyncio.run(two())  # another event loop: another combiner
    assert again is not first


@pytest.mark.parametrize("batches", [1, 2])
def test_nothing_is_lost_when_batches_overlap(batches: int) -> None:
    recorder = Recorder()
    results = asyncio.run(_submit_all(Combiner(recorder, max_items=3, batches=batches), range(20), recorder))
    assert results == [n * 10 for n in range(20)]
    assert sorted(n for batch in recorder.batches for n in batch) == list(range(20))
