"""Attempt counters in memory and in Redis behave the same."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from auth.ratelimit import Limiter, MemoryLimiter, RedisLimiter
from core.clock import FixedClock

BACKENDS = ["memory"] + (["redis"] if os.environ.get("KOKOUS_TEST_REDIS_URL") else [])


@pytest.fixture(params=BACKENDS)
async def limiter(request: pytest.FixtureRequest, clock: FixedClock) -> AsyncIterator[Limiter]:
    if request.param == "memory":
        yield MemoryLimiter(clock)
        return
    redis = Redis.from_url(os.environ["KOKOUS_TEST_REDIS_URL"])
    yield RedisLimiter(redis, prefix=f"kokous-test:{secrets.token_hex(4)}:", clock=clock)
    await redis.aclose()


async def test_counts_within_a_window_and_resets_after_it(limiter: Limiter, clock: FixedClock) -> None:
    clock.now = clock.now.replace(minute=0, second=0)
    for expected in range(1, 4):
        hit = await limiter.hit("login-address:192.0.2.1", window=300)
        assert hit.count == expected
    assert hit.over(2)
    assert not hit.over(3)
    assert 1 <= hit.retry_after <= 300
    clock.advance(seconds=300)
    assert (await limiter.hit("login-address:192.0.2.1", window=300)).count == 1


async def test_keys_are_independent(limiter: Limiter) -> None:
    await limiter.hit("a", window=60)
    await limiter.hit("a", window=60)
    assert (await limiter.peek("b", window=60)).count == 0
    assert (await limiter.peek("a", window=60)).count == 2


async def test_failures_are_remembered_for_a_while_after_the_latest(
    limiter: Limiter, clock: FixedClock
) -> None:
    assert (await limiter.failures("pair", memory=600)).count == 0
    first = await limiter.fail("pair", memory=600)
    assert (first.count, first.last) == (1, clock().timestamp())
    clock.advance(seconds=500)
    second = await limiter.fail("pair", memory=600)
    assert (second.count, second.last) == (2, clock().timestamp())
    clock.advance(seconds=599)  # 1099 s after the first failure, 599 s after the latest
    assert await limiter.failures("pair", memory=600) == second
    assert (await limiter.failures("other", memory=600)).count == 0
    clock.advance(seconds=1)
    assert (await limiter.failures("pair", memory=600)).count == 0
    assert (await limiter.fail("pair", memory=600)).count == 1


async def test_failures_can_be_forgotten(limiter: Limiter) -> None:
    await limiter.fail("pair", memory=600)
    await limiter.fail("other", memory=600)
    await limiter.forget("pair")
    assert (await limiter.failures("pair", memory=600)).count == 0
    assert (await limiter.failures("other", memory=600)).count == 1
