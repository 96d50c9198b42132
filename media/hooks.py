"""The aiortc internals the hub relies on, in one place, each guarded and each covered by a test.

aiortc is pinned to the version these were read from (pyproject.toml); `check_aiortc()` refuses another,
so that an upgrade fails at start-up and in tests instead of quietly decoding everyone again
(docs/decisions/0009-media-hub.md).
"""

from __future__ import annotations

from collections.abc import Callable

import aiortc
from aioice import Connection
from aiortc import RTCPeerConnection, RTCRtpReceiver, RTCRtpSender
from aiortc.jitterbuffer import JitterBuffer
from aiortc.rtcrtpreceiver import NackGenerator

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
