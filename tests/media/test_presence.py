"""Presence from the media (R-EMEET-8): a member whose connection drops is reported lost after the loss
time, and back once its media returns (TEST_MEDIA: lost after 2 s, back after 1 s)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from media import PresenceEvent, Room
from tests.media.client import Member
from tests.media.conftest import TEST_MEDIA, Joiner
from tests.media.netns import Namespace

pytestmark = pytest.mark.media


async def settle(presence: list[PresenceEvent], count: int, seconds: float) -> None:
    async with asyncio.timeout(seconds):
        while len(presence) < count:  # noqa: ASYNC110 - the events come through a plain callback
            await asyncio.sleep(0.05)


async def test_a_cut_connection_is_lost_after_the_loss_time_and_back_when_it_returns(
    room: Room, join: Joiner, presence: list[PresenceEvent], inside: Namespace
) -> None:
    await join(Member("chair", frequency=440.0))
    member = await join(Member("member", frequency=660.0))
    await settle(presence, 2, 3.0)
    assert {(e.peer_id, e.present) for e in presence} == {("chair", True), ("member", True)}
    presence.clear()

    with inside.cut(member.port()):
        await settle(presence, 1, 6.0)
        (lost,) = presence
        assert (lost.room_id, lost.peer_id, lost.present) == ("room-1", "member", False)
        assert lost.last_seen is not None
        silent = lost.at - lost.last_seen
        assert timedelta(seconds=TEST_MEDIA.lost_after_seconds) <= silent < timedelta(seconds=3.5)
        assert room.stats().peer("member").present is False
        await asyncio.sleep(1.0)
        assert len(presence) == 1  # nothing more while it stays away

    await settle(presence, 2, 6.0)
    back = presence[1]
    assert (back.peer_id, back.present) == ("member", True)
    assert back.at - lost.at >= timedelta(seconds=TEST_MEDIA.back_after_seconds)
    assert room.stats().peer("member").present is True
    assert all(e.peer_id == "member" for e in presence)


async def test_a_peer_that_never_connects_is_reported_lost(room: Room, presence: list[PresenceEvent]) -> None:
    ghost = Member("ghost")
    try:
        await room.join("ghost", await ghost.offer(), on_presence=presence.append)
        # The answer never reaches the ghost, so nothing of it ever arrives.
        await settle(presence, 1, 5.0)
    finally:
        await ghost.close()
    (event,) = presence
    assert (event.peer_id, event.present, event.last_seen) == ("ghost", False, None)


async def test_presence_callbacks_may_be_coroutines(room: Room, join: Joiner, members: list[Member]) -> None:
    seen: list[PresenceEvent] = []

    async def record(event: PresenceEvent) -> None:
        await asyncio.sleep(0)
        seen.append(event)

    member = Member("member", frequency=440.0)
    members.append(member)
    answer = await room.join("member", await member.offer(), on_presence=record)
    await member.accept(answer)
    await settle(seen, 1, 5.0)
    assert seen[0].present is True
