"""core.clock.wait_until: sleeping until a clock time without polling, with real and test clocks."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

from core.clock import FixedClock, system_clock, wait_until

START = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


async def test_a_moment_already_past_returns_at_once() -> None:
    clock = FixedClock(START)
    await asyncio.wait_for(wait_until(clock, START - timedelta(seconds=1), asyncio.Event(), longest=60), 1)


async def test_moving_a_test_clock_ends_the_wait() -> None:
    clock = FixedClock(START)
    task = asyncio.create_task(wait_until(clock, START + timedelta(hours=1), asyncio.Event(), longest=600))
    await asyncio.sleep(0.05)
    assert not task.done()  # a fixed clock does not move by itself
    clock.advance(hours=1)
    await asyncio.wait_for(task, 1)
    assert clock._watchers == []  # the waiter stopped watching


async def test_the_wake_event_ends_the_wait() -> None:
    wake = asyncio.Event()
    task = asyncio.create_task(wait_until(FixedClock(START), None, wake, longest=600))
    await asyncio.sleep(0.01)
    wake.set()
    await asyncio.wait_for(task, 1)


async def test_the_real_clock_sleeps_until_the_moment() -> None:
    began = time.monotonic()
    await wait_until(system_clock, system_clock() + timedelta(milliseconds=150), asyncio.Event(), longest=5)
    assert 0.1 <= time.monotonic() - began < 2


async def test_longest_bounds_the_wait() -> None:
    began = time.monotonic()
    await wait_until(system_clock, None, asyncio.Event(), longest=0.05)
    assert time.monotonic() - began < 2
