"""Commands in worker threads, and commands combined: many requests, one transaction.

Every command runs in a worker thread, at most `COMMAND_THREADS` at once per process; the others
wait their turn on the event loop. More threads do not add throughput (one GIL per process),
they only fight for it: a thread whose statement has returned waits for the GIL while it holds
row locks (a hot SKU's position), and CPU per command grows with every thread (measured: 3.0 ms
per reservation at 4 threads, 4.2 ms at 32).

A `Combiner` goes further for a command that many clients send at once (cart holds on a popular
SKU, order placement): the requests queue, and one thread runs all those queued in one
transaction, so one COMMIT (and, where the use case allows, one statement per table) serves them
all, and a hot row is locked once per batch rather than once per request. This is group commit
done by the application: while a batch runs, the next one fills.

`run_combined` is the shape such a batch takes: the calls run `together` in one transaction,
each answered as if alone; a call whose idempotency key an earlier call of the batch carries (a
client's retry), or that `together` sends back as `ALONE`, runs alone after the batch has
committed; and if the batch fails as a whole, every call runs alone, so one bad call never fails
the others.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar, cast

from anyio import CapacityLimiter, to_thread
from sqlalchemy.orm import Session

from ordino.kernel.db import Database

COMMAND_THREADS = 8
_slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, CapacityLimiter] = weakref.WeakKeyDictionary()

T = TypeVar("T")
R = TypeVar("R")


def command_slots() -> CapacityLimiter:
    """The limiter of the running event loop (tests run apps on several loops)."""
    loop = asyncio.get_running_loop()
    slots = _slots.get(loop)
    if slots is None:
        slots = _slots[loop] = CapacityLimiter(COMMAND_THREADS)
    return slots


BatchRun = Callable[[Sequence[T]], Sequence["R | BaseException"]]


@dataclass(eq=False)
class Combiner(Generic[T, R]):
    """Queues items and runs them `max_items` at a time through `run`, at most `batches` batches
    at once. As many batches as command threads: a request never waits behind a batch that is
    itself waiting (on a row lock, say) while a thread is free, and requests combine only when
    every thread is busy, which is when combining pays."""

    run: BatchRun[T, R]
    max_items: int = 64
    batches: int = COMMAND_THREADS
    _queue: list[tuple[T, asyncio.Future[R]]] = field(default_factory=list)
    _running: int = 0
    _drainers: set[asyncio.Task[None]] = field(default_factory=set)  # the loop keeps only weak references

    async def submit(self, item: T) -> R:
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._queue.append((item, future))
        if self._running < self.batches:
            self._running += 1
            drainer = asyncio.get_running_loop().create_task(self._drain())
            self._drainers.add(drainer)
            drainer.add_done_callback(self._drainers.discard)
        return await future

    async def _drain(self) -> None:
        try:
            while self._queue:
                batch = self._queue[: self.max_items]
                del self._queue[: self.max_items]
                try:
                    results = await to_thread.run_sync(self.run, [item for item, _ in batch], limiter=command_slots())
                except asyncio.CancelledError:
                    for _, future in batch:
                        future.cancel()
                    raise
                except Exception as exc:  # the batch itself failed: every item gets the error
                    results = [exc] * len(batch)
                for (_, future), result in zip(batch, results, strict=True):
                    if future.cancelled():
                        continue
                    if isinstance(result, BaseException):
                        future.set_exception(result)
                    else:
                        future.set_result(result)
        finally:
            self._running -= 1


_combiners: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[object, Combiner[object, object]]] = (
    weakref.WeakKeyDictionary()
)


def combiner(key: object, make: Callable[[], Combiner[T, R]]) -> Combiner[T, R]:
    """The running event loop's combiner for `key` (a use case and its database), made once."""
    loop = asyncio.get_running_loop()
    mine = _combiners.setdefault(loop, {})
    found = mine.get(key)
    if found is None:
        found = mine[key] = make()  # type: ignore[assignment]
    return found  # type: ignore[return-value]


class Alone:
    """What `together` answers for a call that must run in a transaction of its own."""


ALONE = Alone()
C = TypeVar("C")


def run_combined(
    db: Database,
    calls: Sequence[C],
    *,
    key: Callable[[C], Hashable | None],
    together: Callable[[Sequence[C], Session], Sequence[R | BaseException | Alone]],
    alone: Callable[[C], R | BaseException],
) -> list[R | BaseException]:
    """Each call's answer or its problem: `together` in one transaction where it can, `alone`
    otherwise (see the module's docstring). `key` is a call's idempotency key, if it has one."""
    seen: set[Hashable] = set()
    first: list[int] = []
    later: list[int] = []
    for i, call in enumerate(calls):
        k = key(call)
        (later if k is not None and k in seen else first).append(i)
        if k is not None:
            seen.add(k)
    out: list[R | BaseException | None] = [None] * len(calls)
    if len(first) > 1:
        try:
            answers = db.transaction(lambda session: together([calls[i] for i in first], session))
        except Exception:  # one of them broke the batch: alone, only it fails
            later = first + later
        else:
            for i, answer in zip(first, answers, strict=True):
                if isinstance(answer, Alone):
                    later.append(i)
                else:
                    out[i] = answer
    else:
        later = first + later
    for i in sorted(later):
        out[i] = alone(calls[i])
    return cast(list[R | BaseException], out)
