"""How a committed event reaches every process's hub: directly in one process, through Redis across several.

Every process delivers its own commits to its own hub at once (so a process's followers never wait for
Redis), and with Redis also publishes them; each process's subscriber hands the other processes' messages
to its hub, which puts them in version order and reads the log for any that went missing
(decision 0011, docs/live.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import secrets
from datetime import datetime
from typing import Any

from redis.asyncio import Redis
from sqlalchemy.engine import make_url

from core.config import Settings
from core.db import Database
from meetings.live.events import LIVE_EVENT, VOTE_PROGRESS, LiveEvent
from web.realtime.hub import Hub, Limits

log = logging.getLogger("kokous.live")

CHANNEL = "kokous:live:"
OUTBOX = 10_000  # messages waiting for Redis; beyond this they are dropped and the others read the log
RETRY_SECONDS = (0.5, 1.0, 2.0, 5.0)


def channel_for(settings: Settings) -> str:
    """The Redis channel of the processes that serve one database: Redis's pub/sub is shared by every
    database number and by every service on the server, so the name says whose events these are."""
    database = make_url(settings.resolved_database_url).database or ""
    return CHANNEL + hashlib.sha256(f"{settings.origin}|{database}".encode()).hexdigest()[:16]


def _call_soon(callback: Any, *args: Any) -> None:
    """Run `callback` on the event loop after the commit that raised the signal has returned: the commit
    (and the request that made it) does not wait for the fan-out."""
    try:
        asyncio.get_running_loop().call_soon(callback, *args)
    except RuntimeError:  # no loop runs this thread (a synchronous caller): deliver at once
        callback(*args)


class LiveFanOut:
    """The hub of this process and its link to the others; `start()`/`stop()` run in the app's lifespan."""

    def __init__(
        self,
        db: Database,
        *,
        redis_url: str | None = None,
        channel: str = CHANNEL,
        limits: Limits | None = None,
    ) -> None:
        self.hub = Hub(db, limits)
        self.redis_url = redis_url
        self.channel = channel
        self.origin = secrets.token_hex(8)  # this process: its own messages come back from Redis
        self._outbox: asyncio.Queue[str] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._redis: Redis | None = None
        self.subscribed = asyncio.Event()
        db.signals.subscribe(LIVE_EVENT, self._committed_event)
        db.signals.subscribe(VOTE_PROGRESS, self._committed_progress)

    @property
    def backend(self) -> str:
        return "redis" if self.redis_url else "memory"

    def _committed_event(self, event: LiveEvent) -> None:
        _call_soon(self.hub.event, event)
        self._publish(
            {
                "kind": "event",
                "meeting": event.meeting_id,
                "version": event.version,
                "type": event.type,
                "item": event.item_id,
                "data": event.data,
                "at": event.at.isoformat(),
            }
        )

    def _committed_progress(self, payload: dict[str, Any]) -> None:
        _call_soon(self.hub.progress, payload)
        self._publish({"kind": "progress", **payload})

    def _publish(self, message: dict[str, Any]) -> None:
        if self._outbox is None:
            return
        try:
            self._outbox.put_nowait(json.dumps({"origin": self.origin, **message}, separators=(",", ":")))
        except asyncio.QueueFull:
            log.warning("the live fan-out outbox is full: a message to the other processes was dropped")

    async def start(self) -> None:
        if not self.redis_url:
            return
        self._redis = Redis.from_url(self.redis_url)
        self._outbox = asyncio.Queue(OUTBOX)
        self._tasks = [
            asyncio.create_task(self._publisher(self._redis, self._outbox)),
            asyncio.create_task(self._subscriber(self._redis)),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        self._outbox = None
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None

    async def _publisher(self, redis: Redis, outbox: asyncio.Queue[str]) -> None:
        while True:
            message = await outbox.get()
            for delay in (*RETRY_SECONDS, None):
                try:
                    await redis.publish(self.channel, message)
                    break
                except Exception:
                    if delay is None:
                        log.exception("publishing a live event failed; the other processes read the log")
                        break
                    await asyncio.sleep(delay)

    async def _subscriber(self, redis: Redis) -> None:
        attempt = 0
        while True:
            try:
                async with redis.pubsub(ignore_subscribe_messages=True) as pubsub:
                    await pubsub.subscribe(self.channel)
                    self.subscribed.set()
                    if attempt:
                        await self.hub.catch_up()  # what was committed while we were away
                    attempt = 0
                    async for message in pubsub.listen():
                        if message.get("type") == "message":
                            self._received(message["data"])
            except asyncio.CancelledError:
                raise
            except Exception:
                self.subscribed.clear()
                log.exception("the live fan-out lost Redis; reconnecting")
                await asyncio.sleep(RETRY_SECONDS[min(attempt, len(RETRY_SECONDS) - 1)])
                attempt += 1

    def _received(self, raw: bytes | str) -> None:
        try:
            message = json.loads(raw)
            if message.get("origin") == self.origin:
                return
            if message["kind"] == "event":
                self.hub.event(
                    LiveEvent(
                        int(message["meeting"]),
                        int(message["version"]),
                        str(message["type"]),
                        None if message["item"] is None else int(message["item"]),
                        dict(message["data"]),
                        datetime.fromisoformat(message["at"]),
                    )
                )
            elif message["kind"] == "progress":
                self.hub.progress(message)
        except (ValueError, KeyError, TypeError):
            log.warning("a malformed live message from Redis was ignored")
