"""The video source's frames, scaled and encoded once (VP8) for every subscriber.

Keyframes come every `keyframe_seconds`, and on request (a subscriber joined, lost a packet or sent PLI/FIR),
but at most one per `min_keyframe_gap_seconds`: a burst of requests from many subscribers costs one keyframe.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from fractions import Fraction

import av
from av.video.frame import PictureType, VideoFrame

from core.config import MediaSettings
from media.fanout import EncodedPacket

CLOCK_RATE = 90_000
TIME_BASE = Fraction(1, CLOCK_RATE)


class VideoEncoder:
    """Encodes in a worker thread (`encode`); `request_keyframe` is called from the event loop."""

    def __init__(self, settings: MediaSettings, *, now: Callable[[], float]) -> None:
        self.width, self.height = settings.video_width, settings.video_height
        self.keyframes = 0
        self.requests = 0
        self._interval = settings.keyframe_seconds
        self._min_gap = settings.min_keyframe_gap_seconds
        self._now = now
        self._wanted = True
        self._last_keyframe = -math.inf
        self._codec = _vp8(settings)

    def request_keyframe(self) -> None:
        self.requests += 1
        self._wanted = True

    def encode(self, frame: VideoFrame, pts: int) -> list[tuple[EncodedPacket, bool]]:
        """The packets with their keyframe flags; the frame's own timing is replaced by `pts` (90 kHz)."""
        now = self._now()
        since = now - self._last_keyframe
        scaled = frame.reformat(width=self.width, height=self.height, format="yuv420p")
        scaled.pts = pts
        scaled.time_base = TIME_BASE
        if since >= self._interval or (self._wanted and since >= self._min_gap):
            self._wanted = False
            scaled.pict_type = PictureType.I
        encoded = []
        for packet in self._codec.encode(scaled):
            packet.pts = packet.dts = pts
            packet.time_base = TIME_BASE
            if packet.is_keyframe:
                self._last_keyframe = now
                self.keyframes += 1
            encoded.append((packet, packet.is_keyframe))
        return encoded


def _vp8(settings: MediaSettings) -> av.VideoCodecContext:
    codec = av.CodecContext.create("libvpx", "w")
    if not isinstance(codec, av.VideoCodecContext):
        raise TypeError("PyAV's libvpx encoder is not a video codec")
    codec.width = settings.video_width
    codec.height = settings.video_height
    codec.pix_fmt = "yuv420p"
    codec.time_base = TIME_BASE
    codec.framerate = Fraction(settings.video_fps)
    codec.bit_rate = settings.video_bitrate
    # Keyframes are forced by the hub; libvpx's own interval is only a backstop.
    codec.gop_size = 10 * settings.video_fps
    codec.thread_count = 1
    codec.options = {
        "deadline": "realtime",
        "cpu-used": "8",
        "lag-in-frames": "0",
        "error-resilient": "1",
        # A constant bitrate: there is no congestion control per subscriber on this path.
        "minrate": str(settings.video_bitrate),
        "maxrate": str(settings.video_bitrate),
        "bufsize": str(settings.video_bitrate),
        "undershoot-pct": "100",
        "overshoot-pct": "15",
    }
    codec.open()
    return codec
