"""core.desk: a lone item goes straight through in its caller's task; what arrives while a batch is under way
is handled together in the next, and each caller gets its own outcome."""

from __future__ import annotations

import asyncio

import pytest

from core.desk import Desk


class Clerk:
    """A handler that records each batch and the task that handled it, and waits for `release` when told."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.tasks: list[asyncio.Task[object] | None] = []
        self.release: asyncio.Event | None = None
        self.started = asyncio.Event()

    async def handle(self, batch: list[int]) -> list[int | BaseException]:
        self.batches.append(batch)
        self.tasks.append(asyncio.current_task())
        self.started.set()
        if self.release is not None:
            await self.release.wait()
        if -1 in batch:
            raise RuntimeError("the whole batch failed")
        return [ValueError(f"no {n}") if n < 0 else n * 10 for n in batch]


async def test_a_lone_item_is_handled_in_its_callers_task() -> None:
    clerk = Clerk()
    desk: Desk[int, int] = Desk(clerk.handle, batch=10)
    assert await desk.submit(1) == 10
    assert await desk.submit(2) == 20
    assert clerk.batches == [[1], [2]]
    assert clerk.tasks == [asyncio.current_task()] * 2  # no hop through another task


async def test_items_that_arrive_meanwhile_are_handled_together() -> None:
    clerk = Clerk()
    clerk.release = asyncio.Event()
    desk: Desk[int, int] = Desk(clerk.handle, batch=3)
    first = asyncio.create_task(desk.submit(1))
    await clerk.started.wait()
    others = [asyncio.create_task(desk.submit(n)) for n in range(2, 7)]
    await asyncio.sleep(0)
    assert clerk.batches == [[1]]  # the others wait for the one under way
    clerk.release.set()
    assert await asyncio.gather(first, *others) == [10, 20, 30, 40, 50, 60]
    assert clerk.batches == [[1], [2, 3, 4], [5, 6]]  # at most `batch` at a time
    assert clerk.tasks[0] is first
    assert clerk.tasks[1] is clerk.tasks[2]  # the desk's own task
    assert clerk.tasks[1] not in (first, *others)
    assert await desk.submit(7) == 70  # idle again: straight through
    assert clerk.tasks[-1] is asyncio.current_task()


async def test_each_caller_gets_its_own_outcome_and_a_failure_fails_only_its_batch() -> None:
    clerk = Clerk()
    desk: Desk[int, int] = Desk(clerk.handle, batch=10)
    with pytest.raises(ValueError, match="no -5"):
        await desk.submit(-5)
    with pytest.raises(RuntimeError, match="whole batch"):
        await desk.submit(-1)
    clerk.release, clerk.started = asyncio.Event(), asyncio.Event()
    first = asyncio.create_task(desk.submit(1))
    await clerk.started.wait()
    together = [asyncio.create_task(desk.submit(n)) for n in (2, -3, -1)]
    after = asyncio.create_task(desk.submit(4))
    clerk.release.set()
    outcomes = await asyncio.gather(first, *together, after, return_exceptions=True)
    assert outcomes[0] == 10
    # -1 failed the whole batch, and 4 was in it as well: it came before the desk's task took the batch
    assert [type(o) for o in outcomes[1:]] == [RuntimeError] * 4
    assert clerk.batches[-2:] == [[1], [2, -3, -1, 4]]
    clerk.release = None
    assert await desk.submit(5) == 50  # the desk goes on


async def test_a_cancelled_lone_caller_leaves_the_others_handled() -> None:
    clerk = Clerk()
    clerk.release = asyncio.Event()
    desk: Desk[int, int] = Desk(clerk.handle, batch=10)
    first = asyncio.create_task(desk.submit(1))
    await clerk.started.wait()
    waiting = [asyncio.create_task(desk.submit(n)) for n in (2, 3)]
    await asyncio.sleep(0)
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    clerk.release.set()
    assert await asyncio.gather(*waiting) == [20, 30]
    assert clerk.batches == [[1], [2, 3]]


async def test_a_caller_that_goes_away_from_a_batch_does_not_stop_its_work() -> None:
    clerk = Clerk()
    clerk.release = asyncio.Event()
    desk: Desk[int, int] = Desk(clerk.handle, batch=10)
    first = asyncio.create_task(desk.submit(1))
    await clerk.started.wait()
    gone = asyncio.create_task(desk.submit(2))
    stays = asyncio.create_task(desk.submit(3))
    await asyncio.sleep(0)
    gone.cancel()
    clerk.release.set()
    assert await first == 10
    assert await stays == 30
    assert clerk.batches == [[1], [2, 3]]  # the ballot of one who left is still written, just not answered
