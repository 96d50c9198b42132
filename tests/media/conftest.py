"""Real WebRTC peers in a network namespace of their own, made and removed here.

CI sets KOKOUS_REQUIRE_MEDIA=1: there a namespace that cannot be made fails the run instead of skipping it.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import pytest

from core.clock import Clock, system_clock
from core.config import MediaSettings
from media import Hub, PresenceEvent, Role, Room
from tests.media.client import Member
from tests.media.netns import Namespace, Unavailable

# Read at import: the root conftest strips KOKOUS_* variables from every test's environment.
REQUIRE_MEDIA = os.environ.get("KOKOUS_REQUIRE_MEDIA") == "1"
# Fast enough for tests: loss after 2 s, heartbeats every 0.5 s.
TEST_MEDIA = replace(MediaSettings(), lost_after_seconds=2.0, back_after_seconds=1.0, heartbeat_seconds=0.5)


def unavailable(reason: str) -> None:
    if REQUIRE_MEDIA:
        pytest.fail(f"KOKOUS_REQUIRE_MEDIA=1 but {reason}")
    pytest.skip(reason)


# One namespace per test process: other test modules reuse this fixture (tests/web/test_media_wiring.py,
# tests/browser/test_media_join.py), and each module that names it gets a session fixture of its own.
_MADE: list[Namespace] = []


@pytest.fixture(scope="session")
def namespace() -> Iterator[Namespace]:
    if _MADE:
        yield _MADE[0]
        return
    try:
        made = Namespace.create(f"kokous-media-{os.getpid()}")
    except Unavailable as error:
        unavailable(f"no network namespace for the media tests (needs root and iproute2): {error}")
        raise
    _MADE.append(made)
    yield made
    _MADE.clear()
    made.remove()


@pytest.fixture
async def inside(namespace: Namespace) -> AsyncIterator[Namespace]:
    """The test's thread (and so the event loop) opens its sockets in the namespace.

    A thread started meanwhile stays in the namespace for good, so the loop's worker threads (which the hub's
    video encoder uses) are replaced on the way in and out: later tests' workers must reach the real
    loopback (an SMTP server, a database)."""
    loop = asyncio.get_running_loop()
    workers = ThreadPoolExecutor(thread_name_prefix="media-test")
    loop.set_default_executor(workers)
    with namespace.entered():
        yield namespace
    loop.set_default_executor(ThreadPoolExecutor())
    workers.shutdown(wait=False)


@pytest.fixture
def media_clock() -> Clock:
    """Real peers run in real time, so presence is decided on the real clock here; the rules themselves are
    tested on a fixed clock in test_liveness.py."""
    return system_clock


@pytest.fixture
async def hub(inside: Namespace, media_clock: Clock) -> AsyncIterator[Hub]:
    made = Hub(TEST_MEDIA, clock=media_clock)
    yield made
    await made.close()


@pytest.fixture
async def room(hub: Hub) -> Room:
    return hub.room("room-1")


@pytest.fixture
def presence() -> list[PresenceEvent]:
    return []


@pytest.fixture
async def members() -> AsyncIterator[list[Member]]:
    """Every member a test makes, closed after it."""
    made: list[Member] = []
    yield made
    for member in made:
        await member.close()


class Joiner:
    def __init__(self, room: Room, members: list[Member], presence: list[PresenceEvent]) -> None:
        self.room, self.members, self.presence = room, members, presence

    async def __call__(self, member: Member, *, role: Role = Role.PARTICIPANT) -> Member:
        self.members.append(member)
        answer = await self.room.join(
            member.name, await member.offer(), role=role, on_presence=self.presence.append
        )
        await member.accept(answer)
        await member.connected()
        return member


@pytest.fixture
def join(room: Room, members: list[Member], presence: list[PresenceEvent]) -> Joiner:
    return Joiner(room, members, presence)
