"""The audible voices, mixed and encoded once per 20 ms: one mix for everyone, and for each audible peer one
without its own voice (the speaker and the chair must not hear themselves back)."""

from __future__ import annotations

from collections.abc import Iterable
from fractions import Fraction

import av
import numpy as np
import numpy.typing as npt
from av.audio.frame import AudioFrame
from av.audio.resampler import AudioResampler

from media.fanout import EncodedPacket

SAMPLE_RATE = 48_000
FRAME_SAMPLES = 960
FRAME_SECONDS = FRAME_SAMPLES / SAMPLE_RATE
TIME_BASE = Fraction(1, SAMPLE_RATE)
# A voice is mixed once two chunks wait (absorbing the jitter of its arrival against the mixer's tick) and
# never holds more than six (120 ms): beyond that the oldest are dropped to keep the delay bounded.
PREFILL_CHUNKS = 2
MAX_CHUNKS = 6

Samples = npt.NDArray[np.int16]


class Voice:
    """One audible peer's decoded audio as mono 48 kHz samples, taken 20 ms at a time."""

    def __init__(self) -> None:
        self._resampler = AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
        self._buffer: Samples = np.zeros(0, dtype=np.int16)
        self._flowing = False

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    def push(self, frame: AudioFrame) -> None:
        parts = [self._buffer, *(f.to_ndarray().reshape(-1) for f in self._resampler.resample(frame))]
        self._buffer = np.concatenate(parts).astype(np.int16, copy=False)
        excess = len(self._buffer) - MAX_CHUNKS * FRAME_SAMPLES
        if excess > 0:
            self._buffer = self._buffer[excess:]

    def take(self) -> Samples | None:
        needed = FRAME_SAMPLES if self._flowing else PREFILL_CHUNKS * FRAME_SAMPLES
        if len(self._buffer) < needed:
            self._flowing = False
            return None
        self._flowing = True
        chunk, self._buffer = self._buffer[:FRAME_SAMPLES], self._buffer[FRAME_SAMPLES:]
        return chunk


class OpusStream:
    """One Opus encoder; its packets carry the mixer's own timestamps, shared by every stream."""

    def __init__(self, bitrate: int) -> None:
        codec = av.CodecContext.create("libopus", "w")
        if not isinstance(codec, av.AudioCodecContext):
            raise TypeError("PyAV's libopus encoder is not an audio codec")
        codec.sample_rate = SAMPLE_RATE
        codec.layout = "mono"
        codec.format = "s16"
        codec.bit_rate = bitrate
        codec.time_base = TIME_BASE
        # Complexity 5 of 10 halves the encoder's time (measured) for speech at this bitrate.
        codec.options = {"application": "voip", "frame_duration": "20", "compression_level": "5"}
        codec.open()
        self.codec = codec

    def encode(self, samples: Samples, pts: int) -> EncodedPacket | None:
        frame = AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = SAMPLE_RATE
        frame.pts = pts
        packets = self.codec.encode(frame)
        if not packets:
            return None
        packet = packets[-1]
        packet.pts = packet.dts = pts
        packet.time_base = TIME_BASE
        return packet


class Mixer:
    """Mixes the audible peers' voices. `mix()` returns the packet for everyone under the key None and,
    under each audible peer's id, the packet without that peer's voice."""

    def __init__(self, bitrate: int) -> None:
        self._bitrate = bitrate
        self._voices: dict[str, Voice] = {}
        self._streams: dict[str | None, OpusStream] = {None: OpusStream(bitrate)}
        self._silence: Samples = np.zeros(FRAME_SAMPLES, dtype=np.int16)

    @property
    def audible(self) -> frozenset[str]:
        return frozenset(self._voices)

    def set_audible(self, peer_ids: Iterable[str]) -> None:
        wanted = set(peer_ids)
        self._voices = {p: self._voices.get(p) or Voice() for p in wanted}
        self._streams = {k: s for k, s in self._streams.items() if k is None or k in wanted}

    def push(self, peer_id: str, frame: AudioFrame) -> bool:
        """Queue a decoded frame; False when the peer is not audible (the frame is dropped)."""
        voice = self._voices.get(peer_id)
        if voice is None:
            return False
        voice.push(frame)
        return True

    def mix(self, pts: int) -> dict[str | None, EncodedPacket]:
        chunks = {p: c for p, v in self._voices.items() if (c := v.take()) is not None}
        total = np.zeros(FRAME_SAMPLES, dtype=np.int32)
        for chunk in chunks.values():
            total += chunk
        encoded: dict[str | None, EncodedPacket | None] = {None: self._encode(None, total, pts)}
        for peer_id in self._voices:
            own = chunks.get(peer_id)
            encoded[peer_id] = self._encode(peer_id, total if own is None else total - own, pts)
        return {k: p for k, p in encoded.items() if p is not None}

    def _encode(self, key: str | None, total: npt.NDArray[np.int32], pts: int) -> EncodedPacket | None:
        stream = self._streams.get(key)
        if stream is None:
            stream = self._streams[key] = OpusStream(self._bitrate)
        samples = np.clip(total, -32768, 32767).astype(np.int16) if total.any() else self._silence
        return stream.encode(samples, pts)
