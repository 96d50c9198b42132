"""Fixed-window attempt counters and tallies, in memory for one process or in Redis across workers."""

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


class Limiter(Protocol):
    async def hit(self, key: str, *, window: int) -> Hit: ...

    async def peek(self, key: str, *, window: int) -> Hit: ...

    async def clear(self, key: str) -> None: ...

    async def lock(self, key: str, *, seconds: int) -> None: ...

    async def locked_for(self, key: str) -> int:
        """Seconds until `key`'s lock ends; 0 when it is not locked."""
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
        self._locks: dict[str, float] = {}
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

    async def clear(self, key: str) -> None:
        for stored in [k for k in self._counts if k[0] == key]:
            del self._counts[stored]

    async def lock(self, key: str, *, seconds: int) -> None:
        self._locks[key] = self._clock().timestamp() + seconds

    async def locked_for(self, key: str) -> int:
        remaining = self._locks.get(key, 0.0) - self._clock().timestamp()
        if remaining <= 0:
            self._locks.pop(key, None)
            return 0
        return max(1, int(remaining + 0.999))

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


class RedisLimiter:
    def __init__(self, redis: Redis, *, prefix: str = "kokous:rl:", clock: Clock = system_clock) -> None:
        self._clock = clock
        self._redis = redis
        self._prefix = prefix

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

    async def clear(self, key: str) -> None:
        async for name in self._redis.scan_iter(match=f"{self._prefix}{key}:*"):
            await self._redis.delete(name)

    async def lock(self, key: str, *, seconds: int) -> None:
        # The lock's end is stored (by our clock) as well as enforced by Redis's expiry.
        until = self._clock().timestamp() + seconds
        await self._redis.set(f"{self._prefix}lock:{key}", str(until), ex=seconds + 1)

    async def locked_for(self, key: str) -> int:
        value = await self._redis.get(f"{self._prefix}lock:{key}")
        remaining = float(value or 0) - self._clock().timestamp()
        return max(1, int(remaining + 0.999)) if remaining > 0 else 0

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
