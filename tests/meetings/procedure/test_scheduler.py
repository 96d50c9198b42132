"""The scheduler settles each deadline exactly once, never loses one, and sleeps between them (R-EDP-3)."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from core.clock import LOCAL, FixedClock
from meetings.models import OutboxMessage
from meetings.procedure.scheduler import DeadlineScheduler
from tests.conftest import BASE_URL
from tests.meetings.procedure.steps import at, entries, procedure_row, state
from tests.meetings.procedure.world import DEADLINE, make_world, scheduler
from web.context import AppContext


async def settle_soon(task_scheduler: DeadlineScheduler, passes: int) -> None:
    for _ in range(200):
        if task_scheduler.passes >= passes:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"the scheduler made {task_scheduler.passes} passes, not {passes}")


async def test_a_deadline_passed_while_down_is_settled_at_start_up_and_says_so(
    context: AppContext, clock: FixedClock
) -> None:
    world = await make_world(context)
    at(clock, -3600)
    for who in ("aino", "bertta", "cecilia"):
        await state(context, world, who, "accept")
    at(clock, 2 * 3600)  # the service was down from before the deadline until two hours after it
    job = scheduler(context)
    task = asyncio.create_task(job.run())
    try:
        await settle_soon(job, 1)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    row = await procedure_row(context, world)
    assert (row.state, row.settled_at, row.late) == ("decided", DEADLINE, True)
    assert row.processed_at == DEADLINE + timedelta(hours=2)
    [entry] = await entries(context, "procedure.decided")
    assert entry["late"] is True
    assert entry["reason"].startswith("start-up: settled 7200 s after its moment")
    assert (entry["settled_at"], entry["processed_at"]) == (
        "2026-12-01T09:00:00.000000Z",
        "2026-12-01T11:00:00.000000Z",
    )


async def test_it_sleeps_until_the_deadline_and_settles_it_once(
    context: AppContext, clock: FixedClock
) -> None:
    world = await make_world(context)
    job = scheduler(context)
    task = asyncio.create_task(job.run())
    try:
        await settle_soon(job, 1)
        await asyncio.sleep(0.3)
        assert job.passes == 1  # asleep: no polling between deadlines
        at(clock, -1)
        await settle_soon(job, 2)  # moving the clock wakes it; not due yet
        assert (await procedure_row(context, world)).state == "open"
        at(clock, 0)
        await settle_soon(job, 3)
        assert (await procedure_row(context, world)).state == "moved_to_meeting"
        at(clock, 3600)
        await settle_soon(job, 4)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert len(await entries(context, "procedure.moved_to_meeting")) == 1
    assert not (await entries(context, "procedure.moved_to_meeting"))[0]["late"]


async def test_a_new_deadline_in_this_process_wakes_it(context: AppContext, clock: FixedClock) -> None:
    job = scheduler(context)
    task = asyncio.create_task(job.run())
    try:
        await settle_soon(job, 1)
        assert (await job.run_once()).next_at is None  # nothing to wait for: it sleeps its long interval
        before = job.passes
        await make_world(context)  # the call opens an item: its commit signals the new deadline
        await settle_soon(job, before + 1)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_two_schedulers_settle_an_item_once(context: AppContext, clock: FixedClock) -> None:
    """On one connection the two passes run one after the other; the PostgreSQL test runs them at once."""
    world = await make_world(context)
    at(clock, 0)
    first, second = (
        DeadlineScheduler(context.db, base_url=BASE_URL),
        DeadlineScheduler(context.db, base_url=BASE_URL),
    )
    assert (await first.run_once()).settled == [world.procedure_id]
    assert (await second.run_once()).settled == []
    assert len(await entries(context, "procedure.moved_to_meeting")) == 1


async def test_the_reminder_goes_once_and_only_to_those_without_a_stance(
    context: AppContext, clock: FixedClock
) -> None:
    world = await make_world(context)
    at(clock, -2 * 24 * 3600)
    await state(context, world, "aino", "accept")
    await state(context, world, "bertta", "disqualified", "party")  # her deputy answers for her seat
    job = scheduler(context)
    at(clock, -24 * 3600 - 1)
    assert (await job.run_once()).reminded == []
    at(clock, -24 * 3600)
    assert (await job.run_once()).reminded == [world.procedure_id]
    assert (await job.run_once()).reminded == []
    async with context.db.read() as session:
        query = select(OutboxMessage.recipient).where(OutboxMessage.kind == "procedure.reminder")
        reminded = sorted((await session.execute(query)).scalars())
    assert reminded == ["bvara@example.test", "cecilia@example.test"]
    [entry] = await entries(context, "procedure.reminded")
    assert entry["mailed"] == 2


async def test_times_across_the_change_to_summer_time(context: AppContext, clock: FixedClock) -> None:
    """Stored in UTC, shown in Helsinki time: the deadline is 12.00 on the day the clocks go forward."""
    clock.now = datetime(2027, 3, 20, 8, 0, tzinfo=UTC)
    deadline = datetime(2027, 3, 28, 12, 0, tzinfo=LOCAL)  # 09.00 UTC: summer time began at 01.00 UTC
    world = await make_world(context, deadline=deadline, starts_at=datetime(2027, 3, 30, 16, 0, tzinfo=LOCAL))
    row = await procedure_row(context, world)
    assert row.deadline_at == datetime(2027, 3, 28, 9, 0, tzinfo=UTC)
    assert row.deadline_at.tzinfo is not None
    async with context.db.read() as session:
        query = select(OutboxMessage.body).where(OutboxMessage.kind == "procedure.opened")
        body = (await session.execute(query)).scalars().first()
    assert body is not None
    assert "viimeistään 28.3.2027 klo 12.00" in body
    assert "senast 28.3.2027 kl. 12.00" in body
    clock.now = datetime(2027, 3, 28, 8, 59, 59, tzinfo=UTC)  # 11.59.59 summer time
    assert (await scheduler(context).run_once()).settled == []
    clock.now = datetime(2027, 3, 28, 9, 0, tzinfo=UTC)
    assert (await scheduler(context).run_once()).settled == [world.procedure_id]


async def test_a_deadline_that_fell_due_during_a_pass_is_not_slept_past(
    context: AppContext, clock: FixedClock
) -> None:
    """A deadline passing while a pass runs is not 'ahead' any more, and must not be forgotten until the
    long recheck: the next moment is the earliest open deadline, past ones included."""
    world = await make_world(context)
    at(clock, 5)  # as if the pass began before the deadline and ended after it
    assert await scheduler(context).next_moment() == DEADLINE
    job = scheduler(context)
    task = asyncio.create_task(job.run())
    try:
        await settle_soon(job, 1)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert (await procedure_row(context, world)).state == "moved_to_meeting"
