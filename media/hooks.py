"""The aiortc internals the hub relies on, in one place, each guarded and each covered by a test.

aiortc is pinned to the version these were read from (pyproject.toml); `check_aiortc()` refuses another,
so that an upgrade fails at start-up and in tests instead of quietly decoding everyone again
(docs/decisions/0009-media-hub.md).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Protocol

import aiortc
from aioice import Connection
from aiortc import RTCPeerConnection, RTCRtpCodecParameters, RTCRtpReceiver, RTCRtpSender
from aiortc.codecs import is_rtx
from aiortc.jitterbuffer import JitterBuffer
from aiortc.rtcdtlstransport import RTCDtlsTransport, State
from aiortc.rtcrtpreceiver import NackGenerator
from aiortc.rtp import HeaderExtensions
from aiortc.sdp import SessionDescription

TESTED_AIORTC = "1.16.0"


def check_aiortc() -> None:
    if aiortc.__version__ != TESTED_AIORTC:
        raise RuntimeError(
            f"the media hub was tested with aiortc {TESTED_AIORTC}, not {aiortc.__version__}: "
            "re-check media/hooks.py against the new version and its tests before changing the pin"
        )
    if not callable(getattr(RTCRtpSender, "_send_keyframe", None)):
        raise RuntimeError("aiortc's RTCRtpSender has no _send_keyframe: media/hooks.py needs updating")
    if not callable(getattr(Connection, "data_received", None)):
        raise RuntimeError("aioice's Connection has no data_received: media/hooks.py needs updating")
    for name in ("_run_rtp", "_retransmit"):
        if not callable(getattr(RTCRtpSender, name, None)):
            raise RuntimeError(f"aiortc's RTCRtpSender has no {name}: media/hooks.py needs updating")


def set_receiving(receiver: RTCRtpReceiver, on: bool) -> None:
    """Let the receiver depacketise and decode what arrives, or drop it on arrival.

    aiortc decodes every received track and queues the frames without bound. Its receiver drops incoming
    RTP at once while the private `_enabled` is false (RTCP, and so liveness, still flows), and
    `setLocalDescription` sets the flag from the negotiated direction: call this after every negotiation.
    """
    if not isinstance(getattr(receiver, "_enabled", None), bool):
        raise RuntimeError("aiortc's RTCRtpReceiver has no _enabled flag: media/hooks.py needs updating")
    if on and not receiver._enabled:
        _forget_dropped(receiver)
    receiver._enabled = on


def _forget_dropped(receiver: RTCRtpReceiver) -> None:
    """Start the receiver's jitter buffer and its NACK bookkeeping afresh before it reads again.

    The packets dropped while it was off leave a hole. Kept, the hole is asked for again (NACK) and the
    buffer waits for it: once it is longer than the sender keeps for retransmission (128 packets, under ten
    seconds of a still picture), no frame comes out until 512 packets have passed, half a minute. Afresh,
    the next frame comes out at once; it cannot be decoded without the ones missed, and the decoder's error
    asks the sender for a keyframe (PLI). Before the first negotiation there is nothing to forget.
    """
    buffer = getattr(receiver, "_RTCRtpReceiver__jitter_buffer", None)
    if buffer is None:
        return
    if not isinstance(buffer, JitterBuffer):
        raise RuntimeError("aiortc's RTCRtpReceiver has no jitter buffer: media/hooks.py needs updating")
    fresh = JitterBuffer(buffer.capacity, prefetch=buffer._prefetch, is_video=buffer._is_video)
    setattr(receiver, "_RTCRtpReceiver__jitter_buffer", fresh)  # noqa: B010 - a private, name-mangled field
    if isinstance(getattr(receiver, "_RTCRtpReceiver__nack_generator", None), NackGenerator):
        setattr(receiver, "_RTCRtpReceiver__nack_generator", NackGenerator())  # noqa: B010 - as above


def route_keyframe_requests(sender: RTCRtpSender, request: Callable[[], None]) -> None:
    """Send the sender's incoming PLI and FIR to the shared encoder.

    A sender that only packs encoded packets keeps a keyframe request to itself (it applies it only when
    it encodes frames), so the hub replaces the sender's `_send_keyframe` with its own.
    """
    setattr(sender, "_send_keyframe", request)  # noqa: B010 - an instance attribute shadows the method


def _is_rtp(data: bytes) -> bool:
    """SRTP and not SRTCP: version 2 in the first byte, and not an RTCP packet type (aiortc.rtp.is_rtcp) in
    the second; both are readable before decryption."""
    return len(data) > 1 and 127 < data[0] < 192 and not 192 <= data[1] <= 208


# One dropped RTP packet in this many is let through (aiortc decrypts it and its switched-off receiver drops
# it): SRTP's receiver works out each packet's 48-bit index from the 16-bit sequence number and the last one
# it saw, which goes wrong after a gap of 2^15 packets (11 minutes of audio). A member who has not had the
# floor for longer would otherwise never be heard again.
SRTP_SYNC_EVERY = 64


class ArrivalScreen:
    """What the hub puts in place of an aioice connection's `data_received` (`screen_arrivals`)."""

    def __init__(
        self, passed: Callable[[bytes, int], None], keep_rtp: Callable[[], bool], arrived: Callable[[], None]
    ) -> None:
        self._passed, self._keep_rtp, self._arrived = passed, keep_rtp, arrived
        self.dropped = 0

    def __call__(self, data: bytes, component: int) -> None:
        self._arrived()
        if _is_rtp(data) and not self._keep_rtp():
            self.dropped += 1
            if self.dropped % SRTP_SYNC_EVERY:
                return
        self._passed(data, component)


def screen_arrivals(
    pc: RTCPeerConnection, *, keep_rtp: Callable[[], bool], arrived: Callable[[], None]
) -> None:
    """Note every datagram that arrives on the peer's connection (a sign of life: media, RTCP reports, the
    data channel's heartbeat), and drop its RTP on arrival while `keep_rtp()` is false (all but one in
    SRTP_SYNC_EVERY).

    aiortc queues each datagram to the DTLS transport's task, which decrypts, parses and routes it to a
    receiver that then drops it when switched off (`set_receiving`): per member without the floor, 50 audio
    packets a second of work for nothing. aioice's `Connection.data_received` is where STUN has been taken
    out and nothing has been queued yet, so the hub replaces it on each connection with an `ArrivalScreen`,
    which passes DTLS, SRTCP and the RTP that is wanted. Call it after every negotiation (a new transport
    gets it once).
    """
    transports = {t.receiver.transport for t in pc.getTransceivers() if t.receiver.transport is not None}
    if pc.sctp is not None:
        transports.add(pc.sctp.transport)
    for dtls in transports:
        connection = getattr(dtls.transport, "_connection", None)
        if not isinstance(connection, Connection):
            raise RuntimeError("aiortc's RTCIceTransport has no aioice _connection: update media/hooks.py")
        if isinstance(connection.data_received, ArrivalScreen):
            continue
        screen = ArrivalScreen(connection.data_received, keep_rtp, arrived)
        setattr(connection, "data_received", screen)  # noqa: B010 - an instance attribute shadows the method


# The codecs the hub encodes, and so the only ones it may answer with (with their retransmission, RTX).
HUB_CODECS = {"audio": "audio/opus", "video": "video/vp8"}


def offers_hub_codecs(offer_sdp: str) -> None:
    """Refuse an offer whose audio or video lacks the codec the hub sends, before it touches the connection
    (a refused offer must leave an existing connection as it was)."""
    for media in SessionDescription.parse(offer_sdp).media:
        wanted = HUB_CODECS.get(media.kind)
        if wanted is not None and not any(c.mimeType.lower() == wanted for c in media.rtp.codecs):
            raise ValueError(f"the offer's {media.kind} has no {wanted}")


def keep_hub_codecs(pc: RTCPeerConnection) -> None:
    """Answer with Opus and VP8 only, whatever the offer lists first.

    aiortc answers with the codecs both sides know in the offer's order and sends with the first; an offer
    that puts H.264 first (Safari does) would get VP8 packets labelled H.264. Call it after
    `setRemoteDescription` and before `createAnswer`. A media section without the hub's codec is refused.
    """
    for transceiver in pc.getTransceivers():
        wanted = HUB_CODECS.get(transceiver.kind)
        codecs: list[RTCRtpCodecParameters] = getattr(transceiver, "_codecs", None) or []
        kept = [c for c in codecs if c.mimeType.lower() == wanted]
        if wanted is None or not kept:
            raise ValueError(f"the offer's {transceiver.kind} has no {wanted or 'codec the hub sends'}")
        types = {c.payloadType for c in kept}
        kept += [c for c in codecs if is_rtx(c) and c.parameters.get("apt") in types]
        transceiver._codecs = kept


class Outlet(Protocol):
    """What takes a sender's packets over (`media.fanout.Outgoing`)."""

    def attach(self, link: RtpLink) -> None: ...

    def detach(self, link: RtpLink) -> None: ...

    def retransmit(self, sequence: int) -> None: ...


def take_over_sending(sender: RTCRtpSender, outlet: Outlet) -> None:
    """Let the hub write the sender's RTP packets itself (`media.fanout`).

    aiortc starts `_run_rtp(codec)` once the connection is negotiated and up: a task that awaits the track's
    next packet, packs it, builds and serialises a packet object, and awaits the transport. In its place the
    sender runs a task that hands the outlet an `RtpLink` (the negotiated codec, SSRC and header extensions,
    and a way to send) and waits to be stopped; a lost packet's retransmission (NACK) goes to the outlet too.
    aiortc's RTCP task keeps sending reports, from the counts the link writes back. Call it before the
    first negotiation.
    """

    async def run(codec: RTCRtpCodecParameters) -> None:
        _event(sender, "_RTCRtpSender__rtp_started").set()
        link = RtpLink(sender, codec)
        outlet.attach(link)
        try:
            await asyncio.get_running_loop().create_future()  # until the sender stops
        except asyncio.CancelledError:
            pass
        finally:
            outlet.detach(link)
            _event(sender, "_RTCRtpSender__rtp_exited").set()

    async def retransmit(sequence: int) -> None:
        outlet.retransmit(sequence)

    setattr(sender, "_run_rtp", run)  # noqa: B010 - instance attributes shadow the methods
    setattr(sender, "_retransmit", retransmit)  # noqa: B010


def _event(sender: RTCRtpSender, name: str) -> asyncio.Event:
    event = getattr(sender, name, None)
    if not isinstance(event, asyncio.Event):
        raise RuntimeError(f"aiortc's RTCRtpSender has no {name}: media/hooks.py needs updating")
    return event


class RtpLink:
    """A started sender as the hub's outlet sees it: the negotiated payload types, SSRCs and header
    extensions, the socket to send on, and the counts for the sender's reports (RTCP SR)."""

    def __init__(self, sender: RTCRtpSender, codec: RTCRtpCodecParameters) -> None:
        transport = sender.transport
        if not isinstance(transport, RTCDtlsTransport):
            raise RuntimeError("aiortc's RTCRtpSender has no DTLS transport: media/hooks.py needs updating")
        extensions = getattr(sender, "_RTCRtpSender__rtp_header_extensions_map", None)
        mid = getattr(sender, "_RTCRtpSender__mid", None)
        if extensions is None or not hasattr(sender, "_RTCRtpSender__packet_count"):
            raise RuntimeError("aiortc's RTCRtpSender has other fields: media/hooks.py needs updating")
        if codec.payloadType is None:
            raise RuntimeError("aiortc started a sender without a payload type: update media/hooks.py")
        self.payload_type: int = codec.payloadType
        self.rtx_payload_type: int | None = getattr(sender, "_RTCRtpSender__rtx_payload_type", None)
        self.ssrc: int = sender._ssrc
        self.rtx_ssrc: int = sender._rtx_ssrc
        self._sender = sender
        self._dtls = transport
        self._head, self._tail, self._stamped = _extension_template(extensions, mid)
        connection = getattr(transport.transport, "_connection", None)
        if not isinstance(connection, Connection) or not isinstance(connection._nominated, dict):
            raise RuntimeError("aiortc's RTCIceTransport has no aioice _connection: update media/hooks.py")
        # aioice keeps one dict of nominated pairs per connection (component -> pair) for its whole life.
        self._nominated: dict[int, Any] = connection._nominated
        self._pair: Any = None
        self._udp: Any = None
        self._address: Any = None
        self._packets = 0
        self._octets = 0

    @property
    def first_byte(self) -> int:
        """RTP version 2, with the extension bit when there is an extension block."""
        return 0x90 if self._head else 0x80

    def extension(self, abs_send_time: bytes) -> bytes:
        """The packet's header extension block (its profile and length first): the section's mid and the
        time it was sent, as aiortc serialises them; empty when none was negotiated."""
        return self._head + abs_send_time + self._tail if self._stamped else self._head

    def sending(self) -> bool:
        """Whether packets can go now: the connection is up and the sender is on. Finds the socket of the
        nominated candidate pair when it changes."""
        if self._dtls._state is not State.CONNECTED or not self._sender._enabled:
            return False
        pair = self._nominated.get(1)
        if pair is not self._pair:
            if pair is None or pair.protocol.transport is None:
                return False
            self._pair, self._udp, self._address = pair, pair.protocol.transport, pair.remote_addr
        return True

    def send(self, packet: bytes) -> None:
        """Encrypt and send one RTP packet (after `sending()` said yes)."""
        self._udp.sendto(self._dtls._tx_srtp.protect(packet), self._address)

    def backlog(self) -> int:
        udp = self._udp
        return int(udp.get_write_buffer_size()) if udp is not None else 0

    def sent(self, ntp: int, timestamp: int, packets: int, octets: int) -> None:
        """Note what was sent for the sender's next report, as aiortc's own RTP task does."""
        self._packets += packets
        self._octets += octets
        sender = self._sender
        setattr(sender, "_RTCRtpSender__ntp_timestamp", ntp)  # noqa: B010 - name-mangled private fields
        setattr(sender, "_RTCRtpSender__rtp_timestamp", timestamp)  # noqa: B010
        setattr(sender, "_RTCRtpSender__packet_count", self._packets)  # noqa: B010
        setattr(sender, "_RTCRtpSender__octet_count", self._octets)  # noqa: B010


def _extension_template(extensions: Any, mid: str | None) -> tuple[bytes, bytes, bool]:
    """The header extension block for a packet, split around abs-send-time's three bytes, from aiortc's own
    serialiser: serialised with two different times, the bytes that differ are the time's."""
    blocks = []
    for moment in (0, 0xFFFFFF):
        profile, value = extensions.set(HeaderExtensions(mid=mid, abs_send_time=moment))
        if not value:  # none negotiated: the packet has no extension block
            return b"", b"", False
        blocks.append(profile.to_bytes(2, "big") + (len(value) // 4).to_bytes(2, "big") + value)
    zero, full = blocks
    differ = [i for i, (a, b) in enumerate(zip(zero, full, strict=True)) if a != b]
    if not differ:
        return zero, b"", False
    start = differ[0]
    if differ != [start, start + 1, start + 2]:
        raise RuntimeError("aiortc serialises abs-send-time otherwise: media/hooks.py needs updating")
    return zero[:start], zero[start + 3 :], True
