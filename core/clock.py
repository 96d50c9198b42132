"""Where the current time comes from; tests pass a fixed or stepping clock instead."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

Clock = Callable[[], datetime]
# Where Kokous's people live: times are stored in UTC and shown, and local days counted, in this zone.
LOCAL = ZoneInfo("Europe/Helsinki")


def system_clock() -> datetime:
    return datetime.now(UTC)


class FixedClock:
    """A clock that stands still until a test moves it."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("a clock must be timezone-aware")
        self.now = start
        self._watchers: list[Callable[[], None]] = []

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        for watcher in list(self._watchers):
            watcher()
        return self.now

    def watch(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call `callback` whenever the test moves the clock; returns what stops it (see `wait_until`)."""
        self._watchers.append(callback)
        return lambda: self._watchers.remove(callback)


async def wait_until(clock: Clock, moment: datetime | None, wake: asyncio.Event, *, longest: float) -> None:
    """Sleep until `clock` shows `moment` (None: no moment), `wake` is set, or `longest` seconds pass.

    No polling: one timer for the real clock. A test clock that can be moved (FixedClock.watch) also ends the
    wait when it is moved, so a sleeper sees a fixed clock's time pass. The caller re-reads the clock after
    the wait: waking early is allowed, waking late by more than the event loop's delay is not.
    """
    delay = longest if moment is None else min(longest, (moment - clock()).total_seconds())
    if delay <= 0 or wake.is_set():
        return
    watch = getattr(clock, "watch", None)
    moved = asyncio.Event()
    stop = watch(moved.set) if callable(watch) else None
    try:
        waits = [asyncio.ensure_future(wake.wait()), asyncio.ensure_future(moved.wait())]
        try:
            await asyncio.wait(waits, timeout=delay, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiting in waits:
                waiting.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await waiting
    finally:
        if stop is not None:
            stop()


def rfc3339(moment: datetime) -> str:
    """UTC with microseconds and a Z, the audit log's timestamp form."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
