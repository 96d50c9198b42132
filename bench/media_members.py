"""Members for the media benchmark, many in one process, each with its own peer connection to the hub.

Run as `python -m bench.media_members SOCKET FIRST COUNT [--speaker] [--probes N]` inside the namespace.
Every member sends audio (pre-encoded Opus: the benchmark measures the hub, not the members' encoders)
and a heartbeat; the speaker also sends video and a tone burst every second. Members do not decode what they
receive (their receivers are off), except `--probes` listeners, which time each burst's arrival: the
mouth-to-ear latency. Prints "joined" once everyone is connected; on end of input prints a JSON report.
"""

from __future__ import annotations

import argparse
import asyncio
import fractions
import json
import sys
import time
from collections.abc import Iterator
from itertools import cycle
from typing import Any

import av
import numpy as np
import numpy.typing as npt
from aiortc import MediaStreamTrack, RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError
from aiortc.rtcconfiguration import RTCBundlePolicy
from av.audio.frame import AudioFrame
from av.packet import Packet
from av.video.frame import PictureType, VideoFrame

from media.fanout import EncodedPacket
from media.hooks import set_receiving

RATE = 48_000
FRAME = 960
BURST_FRAMES = 10  # 200 ms of tone at the start of every second
CYCLE_FRAMES = 50
VIDEO_FPS = 15
BURST_HZ = 1000.0
BURST_LEVEL = 2000.0  # of the tone's 8000
QUIET_FRAMES = 10
JOIN_BATCH = 5


def opus_cycle(frequency: float, burst: bool) -> list[bytes]:
    """One second of Opus packets: a tone throughout, or a 200 ms burst of it and then silence."""
    codec = av.CodecContext.create("libopus", "w")
    assert isinstance(codec, av.AudioCodecContext)
    codec.sample_rate, codec.layout, codec.format, codec.bit_rate = RATE, "mono", "s16", 32_000
    codec.open()
    packets = []
    for index in range(CYCLE_FRAMES):
        t = (index * FRAME + np.arange(FRAME)) / RATE
        loud = not burst or index < BURST_FRAMES
        samples = (8000 * np.sin(2 * np.pi * frequency * t) * loud).astype(np.int16)
        frame = AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = RATE
        packets += [bytes(p) for p in codec.encode(frame)]
    return packets


def vp8_cycle(seconds: int = 2) -> list[tuple[bytes, bool]]:
    """A moving picture, 320x240, VP8, starting with a keyframe (so the loop heals any loss)."""
    codec = av.CodecContext.create("libvpx", "w")
    assert isinstance(codec, av.VideoCodecContext)
    codec.width, codec.height, codec.pix_fmt, codec.bit_rate = 320, 240, "yuv420p", 300_000
    codec.time_base = fractions.Fraction(1, VIDEO_FPS)
    codec.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"}
    packets = []
    for index in range(seconds * VIDEO_FPS):
        image = np.zeros((240, 320, 3), np.uint8)
        image[:, (index * 10) % 320 :][:, :40] = 255
        frame = VideoFrame.from_ndarray(image, format="rgb24")
        frame.pts = index
        frame.pict_type = PictureType.I if index == 0 else PictureType.NONE
        packets += [(bytes(p), p.is_keyframe) for p in codec.encode(frame)]
    return packets


class PacedTrack(MediaStreamTrack):
    """Pre-encoded packets in real time; `sent_at` holds when each cycle began (the burst's mouth time)."""

    def __init__(self, kind: str, packets: list[bytes], rate: int, step: int) -> None:
        super().__init__()
        self.kind = kind
        self.sent_at: list[float] = []
        self._packets: Iterator[bytes] = cycle(packets)
        self._cycle = len(packets)
        self._rate, self._step = rate, step
        self._count = 0
        self._start: float | None = None

    async def recv(self) -> EncodedPacket:
        loop = asyncio.get_running_loop()
        self._start = self._start if self._start is not None else loop.time()
        wait = self._start + self._count * self._step / self._rate - loop.time()
        if wait > 0:
            await asyncio.sleep(wait)
        packet = Packet(next(self._packets))
        packet.pts = self._count * self._step
        packet.time_base = fractions.Fraction(1, self._rate)
        if self._count % self._cycle == 0:
            self.sent_at.append(time.monotonic())
        self._count += 1
        return packet


class BenchMember:
    def __init__(self, name: str, audio: list[bytes], video: list[tuple[bytes, bool]] | None) -> None:
        self.name = name
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))
        self.audio = PacedTrack("audio", audio, RATE, FRAME)
        self.pc.addTrack(self.audio)
        if video is not None:
            self.pc.addTrack(PacedTrack("video", [p for p, _ in video], 90_000, 90_000 // VIDEO_FPS))
        else:
            self.pc.addTransceiver("video", direction="recvonly")
        self.channel = self.pc.createDataChannel("heartbeat")
        self.onsets: list[float] = []
        self.tasks: list[asyncio.Task[None]] = []

    async def join(self, control: Control, *, probe: bool) -> None:
        if probe:
            self.pc.on("track", lambda track: self.tasks.append(asyncio.ensure_future(self._listen(track))))
        await self.pc.setLocalDescription(await self.pc.createOffer())
        reply = await control.ask({"op": "join", "peer": self.name, "sdp": self.pc.localDescription.sdp})
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=reply["sdp"], type="answer"))
        if not probe:
            for transceiver in self.pc.getTransceivers():
                set_receiving(transceiver.receiver, False)
        self.tasks.append(asyncio.ensure_future(self._beat()))

    async def _beat(self) -> None:
        while True:
            if self.channel.readyState == "open":
                self.channel.send("ping")
            await asyncio.sleep(2.0)

    async def _listen(self, track: MediaStreamTrack) -> None:
        """Note the arrival of each burst: a 20 ms frame with the burst's tone after at least QUIET_FRAMES
        frames without it (the chair's own tone and a dropout inside a burst do not count)."""
        quiet = 0
        try:
            while True:
                frame = await track.recv()
                if not isinstance(frame, AudioFrame):
                    continue
                samples = frame.to_ndarray().reshape(-1, 2)[:, 0].astype(np.float64)
                loud = burst_level(samples) > BURST_LEVEL
                if loud and quiet >= QUIET_FRAMES:
                    self.onsets.append(time.monotonic())
                quiet = 0 if loud else quiet + 1
        except MediaStreamError:
            return


def burst_level(samples: npt.NDArray[np.float64]) -> float:
    """The amplitude of the burst's tone in the samples (a Hann-windowed Fourier coefficient)."""
    window = np.hanning(len(samples))
    t = np.arange(len(samples)) / RATE
    coefficient = np.sum(samples * window * np.exp(-2j * np.pi * BURST_HZ * t))
    return float(2 * abs(coefficient) / np.sum(window))


class Control:
    """This process's line to the hub process."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader, self._writer = reader, writer
        self._lock = asyncio.Lock()

    async def ask(self, request: dict[str, Any]) -> dict[str, Any]:
        async with self._lock:
            self._writer.write(json.dumps(request).encode() + b"\n")
            reply: dict[str, Any] = json.loads(await self._reader.readline())
            return reply


def latencies(sent_at: list[float], onsets: list[float]) -> list[float]:
    """Each onset against the latest burst sent before it (bursts are a second apart, latency far less)."""
    found = []
    for onset in onsets:
        earlier = [s for s in sent_at if s <= onset]
        if earlier and onset - earlier[-1] < 0.8:
            found.append(onset - earlier[-1])
    return found


async def run(args: argparse.Namespace) -> None:
    reader, writer = await asyncio.open_unix_connection(args.socket, limit=1 << 20)
    control = Control(reader, writer)
    background, burst = opus_cycle(300.0, burst=False), opus_cycle(BURST_HZ, burst=True)
    video = vp8_cycle() if args.speaker else None
    members = [
        BenchMember(
            f"m{args.first + i:03d}",
            burst if args.speaker and i == 0 else background,
            video if args.speaker and i == 0 else None,
        )
        for i in range(args.count)
    ]
    probes = set(range(1, 1 + args.probes))
    for start in range(0, len(members), JOIN_BATCH):
        batch = list(enumerate(members))[start : start + JOIN_BATCH]
        await asyncio.gather(*(m.join(control, probe=i in probes) for i, m in batch))
    print("joined", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    sent_at = members[0].audio.sent_at if args.speaker else []
    found = [x for i in probes for x in latencies(sent_at, members[i].onsets)]
    connected = sum(m.pc.connectionState == "connected" for m in members)
    # Bursts count from the first one heard: before it the floor was not yet given.
    first_heard = min((o for i in probes for o in members[i].onsets), default=float("inf"))
    expected = len([s for s in sent_at if s >= first_heard - 1.0]) * len(probes)
    print(json.dumps({"latencies": found, "bursts": expected, "connected": connected}), flush=True)
    for member in members:
        for task in member.tasks:
            task.cancel()
        await member.pc.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("socket")
    parser.add_argument("first", type=int)
    parser.add_argument("count", type=int)
    parser.add_argument("--speaker", action="store_true", help="the first member speaks and sends video")
    parser.add_argument("--probes", type=int, default=0, help="members after the speaker that time bursts")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
