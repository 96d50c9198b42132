"""A participant's side of the connection, as a browser page would make it: aiortc with no ICE servers,
one peer connection, audio (a tone) and optionally video (a solid colour), and a data-channel heartbeat."""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import time
from dataclasses import dataclass, field

import numpy as np
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError
from aiortc.rtcconfiguration import RTCBundlePolicy
from av.audio.frame import AudioFrame
from av.frame import Frame
from av.video.frame import VideoFrame

from tests.media.sound import FRAME, RATE, Samples, tone

VIDEO_SIZE = (160, 120)
VIDEO_FPS = 15
CONNECT_SECONDS = 10.0


class ToneTrack(MediaStreamTrack):
    """A sine tone in real time, 20 ms a frame (silence when `frequency` is None)."""

    kind = "audio"

    def __init__(self, frequency: float | None) -> None:
        super().__init__()
        self.frequency = frequency
        self._sent = 0
        self._start: float | None = None

    async def recv(self) -> Frame:
        loop = asyncio.get_running_loop()
        if self._start is None:
            self._start = loop.time()
        wait = self._start + self._sent / RATE - loop.time()
        if wait > 0:
            await asyncio.sleep(wait)
        samples = (
            np.zeros(FRAME, np.int16) if self.frequency is None else tone(self.frequency, self._sent, FRAME)
        )
        frame = AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = RATE
        frame.pts = self._sent
        frame.time_base = fractions.Fraction(1, RATE)
        self._sent += FRAME
        return frame


class ColourTrack(MediaStreamTrack):
    """A picture of one colour, VIDEO_FPS frames a second; with `grain`, new noise in every frame, which
    takes several packets a picture."""

    kind = "video"

    def __init__(self, colour: tuple[int, int, int], *, grain: int = 0) -> None:
        super().__init__()
        width, height = VIDEO_SIZE
        self._image = np.full((height, width, 3), colour, dtype=np.int16)
        self._grain = grain
        self._random = np.random.default_rng(0)
        self._count = 0
        self._start: float | None = None

    async def recv(self) -> Frame:
        loop = asyncio.get_running_loop()
        if self._start is None:
            self._start = loop.time()
        wait = self._start + self._count / VIDEO_FPS - loop.time()
        if wait > 0:
            await asyncio.sleep(wait)
        image = self._image
        if self._grain:
            image = image + self._random.integers(-self._grain, self._grain, image.shape, dtype=np.int16)
        frame = VideoFrame.from_ndarray(np.clip(image, 0, 255).astype(np.uint8), format="rgb24")
        frame.pts = self._count * 90_000 // VIDEO_FPS
        frame.time_base = fractions.Fraction(1, 90_000)
        self._count += 1
        return frame


@dataclass
class Received:
    """What a member got: audio as (arrival time, samples) and video frames' arrival times and colours."""

    audio: list[tuple[float, Samples]] = field(default_factory=list)
    video: list[tuple[float, tuple[int, int, int]]] = field(default_factory=list)

    def audio_between(self, start: float, end: float = float("inf")) -> Samples:
        parts = [s for at, s in self.audio if start <= at < end]
        return np.concatenate(parts) if parts else np.zeros(0, np.int16)

    def colours_since(self, start: float) -> list[tuple[int, int, int]]:
        return [c for at, c in self.video if at >= start]


class Member:
    """Sends audio (and video when given a colour) unless `listen_only`; records what it receives."""

    def __init__(
        self,
        name: str,
        *,
        frequency: float | None = None,
        colour: tuple[int, int, int] | None = None,
        grain: int = 0,
        listen_only: bool = False,
        heartbeat_seconds: float = 0.5,
    ) -> None:
        self.name = name
        self.received = Received()
        self.echoes = 0
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))
        self.tone = ToneTrack(frequency)
        if listen_only:
            self.pc.addTransceiver("audio", direction="recvonly")
            self.pc.addTransceiver("video", direction="recvonly")
        else:
            self.pc.addTrack(self.tone)
            if colour is not None:
                self.pc.addTrack(ColourTrack(colour, grain=grain))
            else:
                self.pc.addTransceiver("video", direction="recvonly")
        self.channel = self.pc.createDataChannel("heartbeat")
        self.channel.on("message", self._on_echo)
        self._heartbeat_seconds = heartbeat_seconds
        self._tasks: set[asyncio.Task[None]] = set()
        self.pc.on("track", self._on_track)

    async def offer(self) -> str:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return self.pc.localDescription.sdp

    async def accept(self, answer_sdp: str) -> None:
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=answer_sdp, type="answer"))
        self._spawn(self._beat())

    async def connected(self) -> None:
        """Wait (at most CONNECT_SECONDS) until ICE, DTLS and the data channel are up."""
        async with asyncio.timeout(CONNECT_SECONDS):
            while self.pc.connectionState != "connected" or self.channel.readyState != "open":  # noqa: ASYNC110 - aiortc has no event for both
                await asyncio.sleep(0.05)

    def port(self) -> int:
        """The local UDP port of the connection's (only, bundled) ICE transport."""
        sdp = self.pc.localDescription.sdp
        ports = {int(line.split()[5]) for line in sdp.splitlines() if line.startswith("a=candidate:")}
        (port,) = ports
        return port

    def _on_echo(self, message: object) -> None:
        self.echoes += 1

    async def _beat(self) -> None:
        while True:
            if self.channel.readyState == "open":
                self.channel.send("ping")
            await asyncio.sleep(self._heartbeat_seconds)

    def _on_track(self, track: MediaStreamTrack) -> None:
        self._spawn(self._read(track))

    async def _read(self, track: MediaStreamTrack) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                frame = await track.recv()
                now = time.monotonic()
                if isinstance(frame, AudioFrame):
                    self.received.audio.append((now, frame.to_ndarray().reshape(-1, 2)[:, 0].copy()))
                elif isinstance(frame, VideoFrame):
                    mean = frame.to_ndarray(format="rgb24").reshape(-1, 3).mean(axis=0)
                    self.received.video.append((now, (int(mean[0]), int(mean[1]), int(mean[2]))))

    def _spawn(self, coroutine: object) -> None:
        task = asyncio.ensure_future(coroutine)  # type: ignore[call-overload]
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.pc.close()
