"""Failures are audited in full up to a few per source, kind and window, and summarised beyond, on both
Limiter backends (a Redis one is shared by every worker)."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from audit.models import AuditAction
from auth.failures import (
    FULL_PER_WINDOW,
    WINDOW_SECONDS,
    Failure,
    flush_failure_summaries,
    record_failure,
)
from auth.ratelimit import Limiter, MemoryLimiter, RedisLimiter
from core.clock import FixedClock
from core.config import Settings
from core.db import Database
from tests.factories import audit_entries
from web.context import AppContext, build_context

BACKENDS = ["memory"] + (["redis"] if os.environ.get("KOKOUS_TEST_REDIS_URL") else [])
FLOOD = "198.51.100.7"
BYSTANDER = "2001:db8::42"


@pytest.fixture(params=BACKENDS)
async def limiter(request: pytest.FixtureRequest, clock: FixedClock) -> AsyncIterator[Limiter]:
    if request.param == "memory":
        yield MemoryLimiter(clock)
        return
    redis = Redis.from_url(os.environ["KOKOUS_TEST_REDIS_URL"])
    yield RedisLimiter(redis, prefix=f"kokous-test:{secrets.token_hex(4)}:", clock=clock)
    await redis.aclose()


@pytest.fixture
def shared(settings: Settings, db: Database, clock: FixedClock, limiter: Limiter) -> AppContext:
    return build_context(settings, db=db, clock=clock, limiter=limiter)


@pytest.fixture
def start_of_window(clock: FixedClock) -> None:
    clock.now = clock.now.replace(minute=0, second=0, microsecond=0)


def denial(address: str = FLOOD, kind: str = "not_found") -> Failure:
    return Failure(
        AuditAction.ACCESS_DENIED, kind, "anonymous", "route:GET /api/meetings/9", "missing", address
    )


async def summaries(context: AppContext) -> list[dict[str, object]]:
    entries = await audit_entries(context, AuditAction.FAILURES_SUMMARISED)
    assert all(e.actor == "system" for e in entries)
    return [json.loads(e.data) | {"subject": e.subject} for e in entries]


@pytest.mark.usefixtures("start_of_window")
async def test_a_flood_is_written_in_full_a_few_times_and_summarised(
    shared: AppContext, clock: FixedClock
) -> None:
    written = [await record_failure(shared.db, denial()) for _ in range(200)]
    assert written == [True] * FULL_PER_WINDOW + [False] * (200 - FULL_PER_WINDOW)
    assert await record_failure(shared.db, denial(BYSTANDER))  # another address is not held back
    assert await flush_failure_summaries(shared.db) == 0  # the window has not ended yet

    clock.advance(seconds=WINDOW_SECONDS)
    assert await flush_failure_summaries(shared.db) == 1
    assert await flush_failure_summaries(shared.db) == 0  # a tally is written once

    full = await audit_entries(shared, AuditAction.ACCESS_DENIED)
    assert [json.loads(e.data)["address"] for e in full] == [FLOOD] * FULL_PER_WINDOW + [BYSTANDER]
    [summary] = await summaries(shared)
    assert summary == {
        "subject": f"address:{FLOOD}",
        "address": FLOOD,
        "window_start": "2026-11-28T09:00:00.000000Z",
        "window_end": "2026-11-28T09:01:00.000000Z",
        "suppressed": {"not_found": 200 - FULL_PER_WINDOW},
        "total": 200 - FULL_PER_WINDOW,
    }


@pytest.mark.usefixtures("start_of_window")
async def test_the_next_failure_after_the_window_writes_its_summary(
    shared: AppContext, clock: FixedClock
) -> None:
    for kind in ("not_found", "csrf"):
        for _ in range(FULL_PER_WINDOW + 3):
            await record_failure(shared.db, denial(kind=kind))
    clock.advance(seconds=WINDOW_SECONDS + 1)
    assert await record_failure(shared.db, denial(kind="csrf"))  # a new window: in full again

    [summary] = await summaries(shared)
    assert summary["suppressed"] == {"csrf": 3, "not_found": 3}
    assert summary["total"] == 6
    entries = await audit_entries(shared)
    actions = [e.action for e in entries if e.action in ("access.denied", "failures.summarised")]
    assert actions[-2:] == ["failures.summarised", "access.denied"]  # the older news first
    assert await flush_failure_summaries(shared.db) == 0


@pytest.mark.usefixtures("start_of_window")
async def test_at_shutdown_the_window_in_progress_is_summarised_too(
    shared: AppContext, clock: FixedClock
) -> None:
    for _ in range(FULL_PER_WINDOW + 2):
        await record_failure(shared.db, denial(kind="origin"))
    clock.advance(seconds=10)
    assert await flush_failure_summaries(shared.db) == 0
    assert await flush_failure_summaries(shared.db, everything=True) == 1
    [summary] = await summaries(shared)
    assert summary["suppressed"] == {"origin": 2}


@pytest.mark.usefixtures("start_of_window")
async def test_a_tally_survives_a_failed_write(
    shared: AppContext, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    for _ in range(FULL_PER_WINDOW + 4):
        await record_failure(shared.db, denial())
    clock.advance(seconds=WINDOW_SECONDS)

    async def broken(*_: object, **__: object) -> None:
        raise RuntimeError("the database is away")

    monkeypatch.setattr("auth.failures.do_summarise_failures", broken)
    with pytest.raises(RuntimeError):
        await flush_failure_summaries(shared.db)
    monkeypatch.undo()
    assert await flush_failure_summaries(shared.db) == 1
    [summary] = await summaries(shared)
    assert summary["total"] == 4
