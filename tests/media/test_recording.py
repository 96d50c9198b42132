"""The public stream recorded to a file by a subscriber, checked with PyAV."""

from __future__ import annotations

import asyncio
import itertools
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from av.packet import Packet

from media import Room
from media.recorder import Recorder
from tests.media.client import Member
from tests.media.conftest import Joiner
from tests.media.sound import tones_in

pytestmark = pytest.mark.media


def decoded_audio(path: Path) -> np.ndarray:
    """The file's sound as mono 16-bit samples at 48 kHz (PyAV decodes Opus to floats)."""
    resampler = av.AudioResampler(format="s16", layout="mono", rate=48_000)
    with av.open(str(path)) as container:
        frames = [
            r.to_ndarray().reshape(-1) for f in container.decode(audio=0) for r in resampler.resample(f)
        ]
    return np.concatenate(frames).astype(np.int16) if frames else np.zeros(0, np.int16)


def stream_kinds(path: Path) -> list[str]:
    with av.open(str(path)) as container:
        return [s.type for s in container.streams]


async def test_the_public_stream_is_recorded_to_webm_with_sound_and_picture(
    room: Room, join: Joiner, tmp_path: Path
) -> None:
    await join(Member("chair", frequency=440.0, colour=(200, 30, 30)))
    room.set_floor({"chair"}, video="chair")
    await asyncio.sleep(0.5)
    path = tmp_path / "meeting.webm"

    room.record(path)
    assert room.stats().recording == path
    await asyncio.sleep(2.0)
    room.record(None)

    assert stream_kinds(path) == ["audio", "video"]
    audio = decoded_audio(path)
    assert 1.5 * 48_000 <= len(audio) <= 2.5 * 48_000
    assert tones_in(audio[48_000:]) == {440.0}
    with av.open(str(path)) as container:
        assert sum(1 for _ in container.decode(video=0)) >= 15


async def test_a_closed_item_is_left_out_of_an_ogg_recording(
    room: Room, join: Joiner, tmp_path: Path
) -> None:
    await join(Member("chair", frequency=660.0))
    room.set_floor({"chair"}, video=None)
    await asyncio.sleep(0.5)
    path = tmp_path / "meeting.ogg"

    room.record(path)
    await asyncio.sleep(1.0)
    room.set_public_stream(False)  # R-EMEET-6
    await asyncio.sleep(1.0)
    room.set_public_stream(True)
    await asyncio.sleep(1.0)
    room.record(None)

    assert stream_kinds(path) == ["audio"]
    audio = decoded_audio(path)
    assert 1.7 * 48_000 <= len(audio) <= 2.3 * 48_000  # two seconds, not three
    assert tones_in(audio) == {660.0}


async def test_a_recording_must_be_webm_or_ogg(room: Room, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="webm"):
        room.record(tmp_path / "meeting.mp4")


async def test_after_a_closed_item_the_recorded_picture_resumes_at_a_keyframe(
    room: Room, join: Joiner, tmp_path: Path
) -> None:
    await join(Member("chair", frequency=440.0, colour=(30, 200, 30), grain=40))
    room.set_floor({"chair"}, video="chair")
    await asyncio.sleep(0.5)
    path = tmp_path / "meeting.webm"

    room.record(path)
    await asyncio.sleep(1.0)
    room.set_public_stream(False)
    await asyncio.sleep(1.0)
    room.set_public_stream(True)
    await asyncio.sleep(1.0)
    room.record(None)

    with av.open(str(path)) as container:
        video = [
            (float(p.pts * p.time_base), p.is_keyframe) for p in container.demux(video=0) if p.pts is not None
        ]
    after_gap = next(
        keyframe for (before, _), (at, keyframe) in itertools.pairwise(video) if at - before > 0.5
    )
    assert after_gap


def test_a_file_that_cannot_be_written_ends_the_recording_not_the_stream(tmp_path: Path) -> None:
    recorder = Recorder(tmp_path / "gone" / "meeting.webm", width=160, height=120, fps=15)
    packet = Packet(b"\xf8\xff\xfe")
    packet.pts, packet.time_base = 0, Fraction(1, 48_000)
    recorder.write("audio", packet, keyframe=True)  # the folder does not exist: no exception reaches the room
    assert recorder.failed
    recorder.write("audio", packet, keyframe=True)
    assert recorder.packets == 0
    recorder.close()
