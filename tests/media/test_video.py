"""The shared video encoder's keyframes: periodic, on request, and never more than one per minimum gap."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from av.video.frame import VideoFrame

from core.config import MediaSettings
from media.video import VideoEncoder

SETTINGS = replace(MediaSettings(), keyframe_seconds=2.0, min_keyframe_gap_seconds=0.5)


class Ticks:
    """The encoder's monotonic time, moved by the test."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def frame(width: int = 640, height: int = 480) -> VideoFrame:
    return VideoFrame.from_ndarray(np.full((height, width, 3), 90, np.uint8), format="rgb24")


def keyframes(
    encoder: VideoEncoder, ticks: Ticks, seconds: float, *, requests_at: set[int] = frozenset()
) -> list[int]:
    """Encode 15 frames a second; the frame numbers that came out as keyframes."""
    found = []
    start = ticks.now
    for number in range(round(seconds * 15)):
        ticks.now = start + number / 15
        if number in requests_at:
            encoder.request_keyframe()
        packets = encoder.encode(frame(), pts=number * 6000)
        if any(keyframe for _, keyframe in packets):
            found.append(number)
    return found


def test_the_first_frame_is_a_keyframe_and_then_one_every_two_seconds() -> None:
    ticks = Ticks()
    encoder = VideoEncoder(SETTINGS, now=ticks)
    assert keyframes(encoder, ticks, 5) == [0, 30, 60]


def test_a_burst_of_requests_costs_one_keyframe_per_minimum_gap() -> None:
    ticks = Ticks()
    encoder = VideoEncoder(SETTINGS, now=ticks)
    # Thirty subscribers lose a packet at frames 10 to 12 and at 14; one keyframe answers them all,
    # and one more waits out the minimum gap (0.5 s = 8 frames) for the late request.
    found = keyframes(encoder, ticks, 1.9, requests_at={10, 11, 12, 14})
    assert found == [0, 10, 18]
    assert encoder.requests == 4


def test_pictures_of_any_size_come_out_at_the_hub_size() -> None:
    encoder = VideoEncoder(SETTINGS, now=Ticks())
    (packet, keyframe), *_ = encoder.encode(frame(1280, 720), pts=0)
    assert keyframe
    assert packet.pts == 0
    assert (encoder.width, encoder.height) == (320, 240)
