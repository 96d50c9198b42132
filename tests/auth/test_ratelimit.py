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


async def test_a_tally_counts_by_name_and_is_taken_once(limiter: Limiter) -> None:
    await limiter.add("failure-tally:60:2001:db8::1", "not_found", ttl=3600)
    await limiter.add("failure-tally:60:2001:db8::1", "not_found", amount=2, ttl=3600)
    await limiter.add("failure-tally:60:2001:db8::1", "csrf", ttl=3600)
    await limiter.add("failure-tally:120:192.0.2.1", "csrf", ttl=3600)
    await limiter.add("other:1", "csrf", ttl=3600)
    assert sorted(await limiter.tallies("failure-tally:")) == [
        "failure-tally:120:192.0.2.1",
        "failure-tally:60:2001:db8::1",
    ]
    assert await limiter.take("failure-tally:60:2001:db8::1") == {"not_found": 3, "csrf": 1}
    assert await limiter.take("failure-tally:60:2001:db8::1") == {}
    assert await limiter.tallies("failure-tally:") == ["failure-tally:120:192.0.2.1"]


async def test_a_prefix_with_glob_characters_is_matched_literally(limiter: Limiter) -> None:
    await limiter.add("a*:1", "x", ttl=60)
    await limiter.add("ab:1", "x", ttl=60)
    assert await limiter.tallies("a*") == ["a*:1"]
