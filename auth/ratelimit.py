"""Fixed-window counters, remembered failures and tallies: in memory (one process) or Redis (all workers)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from redis.asyncio import Redis

from core.clock import Clock, system_clock


@dataclass(frozen=True, slots=True)
class Hit:
    count: int
    retry_after: int

    def over(self, limit: int) -> bool:
        return self.count > limit


@dataclass(frozen=True, slots=True)
class Failures:
    """The failures remembered under a key: how many, and when the latest was (a timestamp; 0 for none)."""

    count: int = 0
    last: float = 0.0


class Limiter(Protocol):
    async def hit(self, key: str, *, window: int) -> Hit: ...

    async def peek(self, key: str, *, window: int) -> Hit: ...

    async def fail(self, key: str, *, memory: int) -> Failures:
        """Count one more failure under `key`. The count is forgotten once `memory` seconds pass after the
        latest failure (judged by the limiter's clock), so each failure keeps the earlier ones in mind."""
        ...

    async def failures(self, key: str, *, memory: int) -> Failures: ...

    async def forget(self, key: str) -> None:
        """Drop the failures under `key`."""
        ...

    async def add(self, key: str, name: str, *, amount: int = 1, ttl: int) -> None:
        """Count `amount` more of `name` in the tally `key`, which is kept `ttl` seconds after this."""
        ...

    async def take(self, key: str) -> dict[str, int]:
        """The tally `key`, removed in the same step, so that only one caller (of all workers) gets it."""
        ...

    async def tallies(self, prefix: str) -> list[str]:
        """The keys of the tallies that start with `prefix`."""
        ...


def _window(window: int, now: float) -> tuple[int, int]:
    start = int(now // window) * window
    return start, start + window - int(now)


class MemoryLimiter:
    def __init__(self, clock: Clock = system_clock) -> None:
        self._clock = clock
        self._counts: dict[tuple[str, int], int] = {}
        self._failures: dict[str, Failures] = {}
        self._tallies: dict[str, tuple[float, dict[str, int]]] = {}

    async def hit(self, key: str, *, window: int) -> Hit:
        start, retry = _window(window, self._clock().timestamp())
        self._sweep(start, window)
        count = self._counts.get((key, start), 0) + 1
        self._counts[(key, start)] = count
        return Hit(count, max(retry, 1))

    async def peek(self, key: str, *, window: int) -> Hit:
        start, retry = _window(window, self._clock().timestamp())
        return Hit(self._counts.get((key, start), 0), max(retry, 1))

    async def fail(self, key: str, *, memory: int) -> Failures:
        now = self._clock().timestamp()
        known = await self.failures(key, memory=memory)
        self._failures[key] = found = Failures(known.count + 1, now)
        if len(self._failures) > 10_000:
            for stale in [k for k, f in self._failures.items() if now - f.last >= memory]:
                del self._failures[stale]
        return found

    async def failures(self, key: str, *, memory: int) -> Failures:
        found = self._failures.get(key)
        if found is None or self._clock().timestamp() - found.last >= memory:
            return Failures()
        return found

    async def forget(self, key: str) -> None:
        self._failures.pop(key, None)

    async def add(self, key: str, name: str, *, amount: int = 1, ttl: int) -> None:
        _, counts = self._tallies.get(key, (0.0, {}))
        counts[name] = counts.get(name, 0) + amount
        self._tallies[key] = (self._clock().timestamp() + ttl, counts)

    async def take(self, key: str) -> dict[str, int]:
        expires, counts = self._tallies.pop(key, (0.0, {}))
        return counts if expires > self._clock().timestamp() else {}

    async def tallies(self, prefix: str) -> list[str]:
        now = self._clock().timestamp()
        for stale in [k for k, (expires, _) in self._tallies.items() if expires <= now]:
            del self._tallies[stale]
        return [k for k in self._tallies if k.startswith(prefix)]

    def _sweep(self, start: int, window: int) -> None:
        if len(self._counts) > 10_000:
            for stale in [k for k in self._counts if k[1] + window <= start]:
                del self._counts[stale]


# Atomically: forget failures older than the memory (by the caller's clock), count one more, remember when.
# Redis's own expiry only collects the key afterwards, since tests move the clock and Redis's does not move.
_FAIL = """
local last = tonumber(redis.call('HGET', KEYS[1], 'last') or '0')
local now = tonumber(ARGV[1])
local memory = tonumber(ARGV[2])
local count = 0
if now - last < memory then count = tonumber(redis.call('HGET', KEYS[1], 'count') or '0') end
count = count + 1
redis.call('HSET', KEYS[1], 'count', count, 'last', ARGV[1])
redis.call('EXPIRE', KEYS[1], memory + 1)
return count
"""


class RedisLimiter:
    def __init__(self, redis: Redis, *, prefix: str = "kokous:rl:", clock: Clock = system_clock) -> None:
        self._clock = clock
        self._redis = redis
        self._prefix = prefix
        self._fail = redis.register_script(_FAIL)

    def _key(self, key: str, start: int) -> str:
        return f"{self._prefix}{key}:{start}"

    async def hit(self, key: str, *, window: int) -> Hit:
        start, retry = _window(window, self._clock().timestamp())
        name = self._key(key, start)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(name)
            pipe.expire(name, window + 1)
            count, _ = await pipe.execute()
        return Hit(int(count), max(retry, 1))

    async def peek(self, key: str, *, window: int) -> Hit:
        start, retry = _window(window, self._clock().timestamp())
        value = await self._redis.get(self._key(key, start))
        return Hit(int(value or 0), max(retry, 1))

    async def fail(self, key: str, *, memory: int) -> Failures:
        now = self._clock().timestamp()
        count = await self._fail(keys=[f"{self._prefix}fail:{key}"], args=[repr(now), memory])
        return Failures(int(count), now)

    async def failures(self, key: str, *, memory: int) -> Failures:
        count, last = await self._redis.hmget(f"{self._prefix}fail:{key}", ["count", "last"])
        found = Failures(int(count or 0), float(last or 0))
        return found if self._clock().timestamp() - found.last < memory else Failures()

    async def forget(self, key: str) -> None:
        await self._redis.delete(f"{self._prefix}fail:{key}")

    def _tally(self, key: str) -> str:
        return f"{self._prefix}tally:{key}"

    async def add(self, key: str, name: str, *, amount: int = 1, ttl: int) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hincrby(self._tally(key), name, amount)
            pipe.expire(self._tally(key), ttl)
            await pipe.execute()

    async def take(self, key: str) -> dict[str, int]:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hgetall(self._tally(key))
            pipe.delete(self._tally(key))
            counts, _ = await pipe.execute()
        return {_text(name): int(value) for name, value in counts.items()}

    async def tallies(self, prefix: str) -> list[str]:
        start = self._tally("")
        found = self._redis.scan_iter(match=f"{_glob_escaped(start + prefix)}*")
        return [_text(name)[len(start) :] async for name in found]


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _glob_escaped(text: str) -> str:
    """`text` matched literally by a Redis glob pattern."""
    return "".join(f"\\{c}" if c in "*?[]\\" else c for c in text)
