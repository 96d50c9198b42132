"""Encode once, pack once, send to everyone: each subscriber's stream turns the same RTP payloads into its own
packets (sequence numbers, timestamps, SSRC), encrypts and sends them at once, without a task or a queue.

aiortc's own sender runs a task per subscriber that waits for every packet, packs it again (VP8's payload
descriptor, Opus' timestamp), builds a packet object with header extensions and awaits four coroutines to
send it. At 85 members that was most of the hub's time (docs/decisions/0009-media-hub.md, "The send path").
The hub now packs each encoded frame once (`pack_audio`, `Vp8Packer`) and writes the packets itself
(`Outgoing.send`); what it needs of aiortc's sender is in `media.hooks` (`RtpLink`, `take_over_sending`).
"""

from __future__ import annotations

import secrets
import struct
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Any, TypeAlias

from aiortc import MediaStreamTrack
from aiortc.clock import current_ntp_time
from aiortc.codecs.vpx import Vp8Encoder
from aiortc.mediastreams import MediaStreamError
from av.packet import Packet

from media.hooks import RtpLink

# One encoded frame as PyAV gives it; the same object goes to every subscriber, which must not change it.
# (PyAV's stubs make Packet generic; the class itself is not subscriptable at run time.)
if TYPE_CHECKING:
    EncodedPacket: TypeAlias = Packet[Any]
else:
    EncodedPacket = Packet

AUDIO_CLOCK = 48_000  # Opus' RTP clock
VIDEO_CLOCK = 90_000  # VP8's
# Packets kept for retransmission when a subscriber reports one lost (NACK), as aiortc's sender keeps.
HISTORY = 128
# Bytes waiting in a subscriber's socket beyond which its packets are dropped instead of queued without end.
SOCKET_BACKLOG = 256 * 1024
_HEADER = struct.Struct("!BBHII")
_RTX_PREFIX = struct.Struct("!H")


@dataclass(frozen=True, slots=True)
class Encoded:
    """One encoded frame packed for RTP once for every subscriber: its payloads (one per packet), its
    timestamp in the codec's clock, and when it was sent (NTP, for sender reports and abs-send-time)."""

    payloads: tuple[bytes, ...]
    timestamp: int
    keyframe: bool
    ntp: int
    abs_send_time: bytes  # the 24-bit header extension's three bytes
    size: int


def _stamp() -> tuple[int, bytes]:
    """The wire's own time (NTP) for the sender reports and abs-send-time, read as aiortc's sender reads it:
    a timestamp for the receiving browser, never a date the service decides anything by (core.clock)."""
    ntp = current_ntp_time()
    return ntp, ((ntp >> 14) & 0xFFFFFF).to_bytes(3, "big")


def _ticks(packet: EncodedPacket, clock: int) -> int:
    if packet.pts is None:
        raise ValueError("the hub's encoders set every packet's pts")
    base = packet.time_base
    if base is None or base == Fraction(1, clock):
        return int(packet.pts)
    return int(packet.pts * base * clock)


def pack_audio(packet: EncodedPacket) -> Encoded:
    """An Opus packet is one RTP payload as it is."""
    payload = bytes(packet)
    ntp, abs_send_time = _stamp()
    return Encoded((payload,), _ticks(packet, AUDIO_CLOCK), True, ntp, abs_send_time, len(payload))


class Vp8Packer:
    """Splits each VP8 frame into RTP payloads with aiortc's payload descriptor, numbering the pictures."""

    def __init__(self) -> None:
        self._picture_id = Vp8Encoder().picture_id  # aiortc's random start

    def pack(self, packet: EncodedPacket, *, keyframe: bool) -> Encoded:
        payloads = tuple(Vp8Encoder._packetize(bytes(packet), self._picture_id))
        self._picture_id = (self._picture_id + 1) % (1 << 15)
        ntp, abs_send_time = _stamp()
        size = sum(len(p) for p in payloads)
        return Encoded(payloads, _ticks(packet, VIDEO_CLOCK), keyframe, ntp, abs_send_time, size)


class SenderTrack(MediaStreamTrack):
    """The track aiortc's sender is given so that the session description names a stream (a=msid); the hub
    writes the packets itself (`Outgoing`), so nothing reads it."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind

    async def recv(self) -> Any:
        raise MediaStreamError


class Outgoing:
    """One subscriber's outgoing audio or video: RTP packets written straight from the shared payloads.

    Video starts at a keyframe, and starts again at one (which it asks for) after packets were dropped.
    Until aiortc's sender has started (the connection is up and negotiated) nothing is sent.
    """

    def __init__(self, kind: str, *, want_keyframe: Callable[[], None]) -> None:
        self.kind = kind
        self.track = SenderTrack(kind)
        self.sent = 0  # encoded frames sent
        self.dropped = 0
        self._want_keyframe = want_keyframe
        self._needs_keyframe = kind == "video"
        self._link: RtpLink | None = None
        self._live = True
        self._sequence = 0
        self._origin = 0
        self._rtx_sequence = 0
        # Video's last packets (sequence, header, payload) for retransmission; audio is not asked for again.
        self._history: list[tuple[int, bytes, bytes] | None] | None = None
        if kind == "video":
            self._history = [None] * HISTORY

    # What media.hooks.take_over_sending calls.

    def attach(self, link: RtpLink) -> None:
        self._link = link
        # Random starts, as RFC 3550 asks (aiortc's sender does the same).
        self._sequence, self._rtx_sequence = secrets.randbelow(1 << 16), secrets.randbelow(1 << 16)
        self._origin = secrets.randbelow(1 << 32)
        if self.kind == "video":
            self._needs_keyframe = True
            self._want_keyframe()

    def detach(self, link: RtpLink) -> None:
        if self._link is link:
            self._link = None

    def retransmit(self, sequence: int) -> None:
        """Send a packet again that the subscriber reported lost, in RTX when negotiated (as aiortc does)."""
        link, history = self._link, self._history
        if link is None or history is None:
            return
        kept = history[sequence % HISTORY]
        if kept is None or kept[0] != sequence:
            return
        _, header, payload = kept
        if link.rtx_payload_type is None:
            link.send(header + payload)
            return
        # RTX (RFC 4588): the packet under the RTX payload type, sequence and SSRC, its sequence number first.
        timestamp = int.from_bytes(header[4:8], "big")
        marker = header[1] & 0x80
        rtx_header = _HEADER.pack(
            header[0], marker | link.rtx_payload_type, self._rtx_sequence, timestamp, link.rtx_ssrc
        )
        self._rtx_sequence = (self._rtx_sequence + 1) & 0xFFFF
        link.send(rtx_header + header[_HEADER.size :] + _RTX_PREFIX.pack(sequence) + payload)

    # What the room calls.

    @property
    def depth(self) -> int:
        """Bytes waiting in the subscriber's socket (the hub itself keeps no queue)."""
        link = self._link
        return link.backlog() if link is not None else 0

    def send(self, frame: Encoded) -> None:
        link = self._link
        if link is None or not self._live:
            return
        if self._needs_keyframe:
            if not frame.keyframe:
                self.dropped += 1
                return
            self._needs_keyframe = False
        if not link.sending() or link.backlog() > SOCKET_BACKLOG:
            self._drop()
            return
        first = link.first_byte
        payload_type = link.payload_type
        timestamp = (self._origin + frame.timestamp) & 0xFFFFFFFF
        ssrc = link.ssrc
        extension = link.extension(frame.abs_send_time)
        history = self._history
        sequence = self._sequence
        last = len(frame.payloads) - 1
        for index, payload in enumerate(frame.payloads):
            header = (
                _HEADER.pack(first, payload_type | (0x80 if index == last else 0), sequence, timestamp, ssrc)
                + extension
            )
            if history is not None:
                history[sequence % HISTORY] = (sequence, header, payload)
            link.send(header + payload)
            sequence = (sequence + 1) & 0xFFFF
        self._sequence = sequence
        link.sent(frame.ntp, timestamp, len(frame.payloads), frame.size)
        self.sent += 1

    def _drop(self) -> None:
        self.dropped += 1
        if self.kind == "video" and not self._needs_keyframe:
            self._needs_keyframe = True
            self._want_keyframe()

    def restart(self) -> None:
        """The subscriber stops receiving for a while (the waiting room, a closed item for the public): its
        video resumes at a keyframe, which is asked for."""
        if self.kind == "video":
            self._needs_keyframe = True
            self._want_keyframe()

    def stop(self) -> None:
        self._live = False
        self.track.stop()
