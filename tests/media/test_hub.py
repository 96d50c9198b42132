"""The hub with real aiortc peers: who is heard, the floor, the picture, the waiting room, the public."""

from __future__ import annotations

import asyncio
import time

import pytest

from media import Role, Room
from tests.media.client import Member
from tests.media.conftest import Joiner
from tests.media.sound import tones_in

pytestmark = pytest.mark.media

A, B, C = 440.0, 660.0, 880.0


async def heard(member: Member, seconds: float = 0.6) -> set[float]:
    """The tones the member hears over the next `seconds`."""
    start = time.monotonic()
    await asyncio.sleep(seconds)
    return tones_in(member.received.audio_between(start))


async def test_everyone_hears_the_floor_holder_and_the_chair_and_nobody_else(
    room: Room, join: Joiner
) -> None:
    chair = await join(Member("chair", frequency=A))
    speaker = await join(Member("speaker", frequency=B))
    other = await join(Member("other", frequency=C))
    room.set_floor({"chair", "speaker"}, video="speaker")
    await asyncio.sleep(0.5)

    assert await heard(other) == {A, B}
    # The speaker and the chair get a mix without their own voice.
    assert await heard(speaker) == {A}
    assert await heard(chair) == {B}
    stats = room.stats()
    assert stats.audible == {"chair", "speaker"}
    # Nobody decodes the member without the floor (the receiver is off), but its connection is alive.
    assert stats.peer("other").audio_frames_decoded == 0
    assert stats.peer("speaker").audio_frames_decoded > 0


async def test_the_new_floor_holder_is_heard_within_a_second(room: Room, join: Joiner) -> None:
    await join(Member("first", frequency=A))
    await join(Member("second", frequency=B))
    listener = await join(Member("listener", frequency=C))
    room.set_floor({"first"}, video=None)
    assert await heard(listener) == {A}

    switched = time.monotonic()
    room.set_floor({"second"}, video=None)
    await asyncio.sleep(1.5)

    audio = listener.received.audio
    windows = [(at, listener.received.audio_between(at, at + 0.1)) for at, _ in audio if at >= switched]
    arrival = next(at for at, samples in windows if tones_in(samples) == {B})
    assert arrival - switched < 1.0
    assert await heard(listener) == {B}


async def test_everyone_sees_the_chosen_picture_and_a_roll_call_moves_it(room: Room, join: Joiner) -> None:
    red, blue = (220, 30, 30), (30, 30, 220)
    await join(Member("red", frequency=A, colour=red))
    await join(Member("blue", frequency=B, colour=blue))
    watcher = await join(Member("watcher", frequency=C))
    room.set_floor({"red"}, video="red")
    await asyncio.sleep(1.5)
    assert nearest(watcher.received.colours_since(time.monotonic() - 0.5), red, blue) == red

    room.set_video("blue")
    await asyncio.sleep(1.5)
    assert nearest(watcher.received.colours_since(time.monotonic() - 0.5), red, blue) == blue
    stats = room.stats()
    assert stats.video == "blue"
    # Only the picture shown is decoded.
    assert stats.peer("blue").video_frames_decoded > 0
    assert stats.peer("watcher").video_frames_decoded == 0


def nearest(
    colours: list[tuple[int, int, int]], *choices: tuple[int, int, int]
) -> tuple[int, int, int] | None:
    """The choice closest to the colours seen (None if no picture came)."""
    if not colours:
        return None
    mean = [sum(c[i] for c in colours) / len(colours) for i in range(3)]
    return min(choices, key=lambda choice: sum((m - c) ** 2 for m, c in zip(mean, choice, strict=True)))


async def test_a_member_in_the_waiting_room_gets_nothing_and_is_heard_by_nobody(
    room: Room, join: Joiner
) -> None:
    await join(Member("chair", frequency=A))
    disqualified = await join(Member("disqualified", frequency=B))
    listener = await join(Member("listener", frequency=C))
    room.set_floor({"chair", "disqualified"}, video="disqualified")
    await asyncio.sleep(0.5)  # receivers switched on fill their jitter buffers first (media.hooks)
    assert await heard(listener) == {A, B}

    room.wait("disqualified", True)  # R-DISQ-3
    await asyncio.sleep(0.3)
    before = len(disqualified.received.audio)
    assert await heard(listener) == {A}
    assert len(disqualified.received.audio) == before
    assert room.stats().peer("disqualified").waiting
    assert room.stats().video is None

    room.wait("disqualified", False)
    assert await heard(listener, 1.0) == {A, B}
    assert await heard(disqualified) == {A}


async def test_the_public_receives_without_being_heard_and_stops_for_a_closed_item(
    room: Room, join: Joiner
) -> None:
    await join(Member("chair", frequency=A))
    public = await join(Member("public", listen_only=True), role=Role.PUBLIC)
    member = await join(Member("member", frequency=B))
    room.set_floor({"chair", "public"}, video="public")
    assert await heard(public) == {A}
    assert await heard(member) == {A}
    assert room.stats().audible == {"chair"}

    room.set_public_stream(False)  # R-EMEET-6
    await asyncio.sleep(0.3)
    before = len(public.received.audio)
    assert await heard(member) == {A}
    assert len(public.received.audio) == before

    room.set_public_stream(True)
    assert await heard(public, 1.0) == {A}


async def test_a_member_who_joins_again_replaces_the_old_connection(room: Room, join: Joiner) -> None:
    await join(Member("chair", frequency=A))
    first = await join(Member("member", frequency=B))
    room.set_floor({"chair", "member"}, video=None)
    await first.close()

    again = await join(Member("member", frequency=B))
    assert await heard(again) == {A}
    assert len(room.stats().peers) == 2
    assert room.stats().audible == {"chair", "member"}
