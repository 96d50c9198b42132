"""A subscriber that writes the public stream's packets to a file: WebM (Opus and VP8) or Ogg (Opus only).

The packets are the ones every subscriber gets; the recorder copies each (muxing rewrites a packet's times)
and starts its file at the first packet, video at the first keyframe.
"""

from __future__ import annotations

import logging
from fractions import Fraction
from pathlib import Path

import av
from av.container import OutputContainer
from av.packet import Packet
from av.stream import Stream

from media.audio import SAMPLE_RATE
from media.fanout import EncodedPacket
from media.video import CLOCK_RATE

FORMATS = {".webm": "webm", ".ogg": "ogg", ".opus": "ogg"}
log = logging.getLogger(__name__)


class Recorder:
    def __init__(self, path: Path, *, width: int, height: int, fps: int) -> None:
        muxer = FORMATS.get(path.suffix.lower())
        if muxer is None:
            raise ValueError(f"a recording is a .webm, .ogg or .opus file, not {path.name!r}")
        self.path = path
        self.packets = 0
        self._container: OutputContainer = av.open(str(path), "w", format=muxer)
        self._audio = self._container.add_stream("libopus", rate=SAMPLE_RATE, layout="mono")
        self._audio.time_base = Fraction(1, SAMPLE_RATE)
        self._video: Stream | None = None
        if muxer == "webm":
            video = self._container.add_stream("libvpx", rate=fps)
            video.width, video.height, video.pix_fmt = width, height, "yuv420p"
            video.time_base = Fraction(1, CLOCK_RATE)
            self._video = video
        self._origin: float | None = None
        self._video_started = False
        # A file that cannot be written (a full disk, a folder gone) ends the recording, not the stream.
        self.failed = False

    def write(self, kind: str, packet: EncodedPacket, *, keyframe: bool) -> None:
        stream = self._audio if kind == "audio" else self._video
        if self.failed or stream is None or packet.pts is None or packet.time_base is None:
            return
        if kind == "video" and not (self._video_started or keyframe):
            return
        self._video_started |= kind == "video"
        seconds = float(packet.pts * packet.time_base)
        if self._origin is None:
            self._origin = seconds
        if seconds < self._origin:
            return
        copy = Packet(bytes(packet))
        copy.pts = copy.dts = packet.pts - round(self._origin / packet.time_base)
        copy.time_base = packet.time_base
        copy.is_keyframe = keyframe
        copy.stream = stream
        try:
            self._container.mux(copy)
        except (OSError, av.error.FFmpegError):
            self.failed = True
            log.exception("the recording %s stopped: its file cannot be written", self.path)
            return
        self.packets += 1

    def pause(self) -> None:
        """Packets stop for a while (a closed item): video resumes in the file at the next keyframe."""
        self._video_started = False

    def close(self) -> None:
        try:
            self._container.close()
        except (OSError, av.error.FFmpegError):
            log.exception("the recording %s could not be closed", self.path)
