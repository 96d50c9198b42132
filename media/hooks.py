"""The aiortc internals the hub relies on, in one place, each guarded and each covered by a test.

aiortc is pinned to the version these were read from (pyproject.toml); `check_aiortc()` refuses another,
so that an upgrade fails at start-up and in tests instead of quietly decoding everyone again
(docs/decisions/0009-media-hub.md).
"""

from __future__ import annotations

from collections.abc import Callable

import aiortc
from aiortc import RTCRtpReceiver, RTCRtpSender

TESTED_AIORTC = "1.16.0"


def check_aiortc() -> None:
    if aiortc.__version__ != TESTED_AIORTC:
        raise RuntimeError(
            f"the media hub was tested with aiortc {TESTED_AIORTC}, not {aiortc.__version__}: "
            "re-check media/hooks.py against the new version and its tests before changing the pin"
        )
    if not callable(getattr(RTCRtpSender, "_send_keyframe", None)):
        raise RuntimeError("aiortc's RTCRtpSender has no _send_keyframe: media/hooks.py needs updating")


def set_receiving(receiver: RTCRtpReceiver, on: bool) -> None:
    """Let the receiver depacketise and decode what arrives, or drop it on arrival.

    aiortc decodes every received track and queues the frames without bound. Its receiver drops incoming
    RTP at once while the private `_enabled` is false (RTCP, and so liveness, still flows), and
    `setLocalDescription` sets the flag from the negotiated direction: call this after every negotiation.
    """
    if not isinstance(getattr(receiver, "_enabled", None), bool):
        raise RuntimeError("aiortc's RTCRtpReceiver has no _enabled flag: media/hooks.py needs updating")
    receiver._enabled = on


def route_keyframe_requests(sender: RTCRtpSender, request: Callable[[], None]) -> None:
    """Send the sender's incoming PLI and FIR to the shared encoder.

    A sender that only packs encoded packets keeps a keyframe request to itself (it applies it only when
    it encodes frames), so the hub replaces the sender's `_send_keyframe` with its own.
    """
    setattr(sender, "_send_keyframe", request)  # noqa: B010 - an instance attribute shadows the method
