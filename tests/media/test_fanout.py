"""A subscriber's queue of shared packets: bounded, and video that always starts at a keyframe."""

from __future__ import annotations

import asyncio

import pytest
from aiortc.mediastreams import MediaStreamError
from av.packet import Packet

from media.fanout import PacketTrack


class Requests:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> None:
        self.count += 1


def packet(number: int) -> Packet:
    made = Packet(bytes([number]))
    made.pts = number
    return made


async def drain(track: PacketTrack) -> list[int]:
    return [bytes(await track.recv())[0] for _ in range(track.depth)]


async def test_audio_drops_the_oldest_packets_when_a_subscriber_falls_behind() -> None:
    track = PacketTrack("audio", capacity=3, want_keyframe=Requests())
    for number in range(5):
        track.offer(packet(number), keyframe=True)
    assert await drain(track) == [2, 3, 4]
    assert track.dropped == 2


async def test_video_starts_at_a_keyframe_and_starts_again_at_one_after_an_overflow() -> None:
    requests = Requests()
    track = PacketTrack("video", capacity=3, want_keyframe=requests)
    track.offer(packet(1), keyframe=False)
    track.offer(packet(2), keyframe=True)
    track.offer(packet(3), keyframe=False)
    track.offer(packet(4), keyframe=False)
    assert track.depth == 3
    track.offer(packet(5), keyframe=False)  # full: start again at the next keyframe, and ask for one
    track.offer(packet(6), keyframe=True)
    track.offer(packet(7), keyframe=False)
    assert await drain(track) == [6, 7]
    assert requests.count == 1


async def test_every_subscriber_gets_the_same_packet_object() -> None:
    tracks = [PacketTrack("audio", capacity=4, want_keyframe=Requests()) for _ in range(3)]
    shared = packet(9)
    for track in tracks:
        track.offer(shared, keyframe=True)
    assert [await t.recv() for t in tracks] == [shared] * 3


async def test_a_stopped_track_ends_its_waiting_reader() -> None:
    track = PacketTrack("audio", capacity=4, want_keyframe=Requests())
    reader = asyncio.ensure_future(track.recv())
    await asyncio.sleep(0)
    track.stop()
    with pytest.raises(MediaStreamError):
        await reader
