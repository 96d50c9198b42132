"""Encode once, fan out packets: each subscriber's sender reads the same `av.Packet`s from its own queue.

aiortc's sender only packetises and encrypts a packet it is given (no decoding, no encoding per subscriber).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeAlias

from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError
from av.packet import Packet

# One encoded frame as PyAV gives it; the same object goes to every subscriber, which must not change it.
# (PyAV's stubs make Packet generic; the class itself is not subscriptable at run time.)
if TYPE_CHECKING:
    EncodedPacket: TypeAlias = Packet[Any]
else:
    EncodedPacket = Packet


class PacketTrack(MediaStreamTrack):
    """A bounded queue of encoded packets for one subscriber's sender.

    Audio drops the oldest packet when full. Video cannot skip a packet without breaking the picture, so a
    full video queue is emptied and waits for the next keyframe, which it asks for. A new video subscriber
    also starts at a keyframe.
    """

    def __init__(self, kind: str, *, capacity: int, want_keyframe: Callable[[], None]) -> None:
        super().__init__()
        self.kind = kind
        self.dropped = 0
        self.sent = 0  # handed to the sender
        self._packets: deque[EncodedPacket] = deque()
        self._capacity = capacity
        # The sender waiting for a packet, woken by the next one: one future per wait, not an asyncio.Event
        # (this runs for every packet of every subscriber).
        self._waiter: asyncio.Future[None] | None = None
        self._want_keyframe = want_keyframe
        self._needs_keyframe = kind == "video"

    @property
    def depth(self) -> int:
        return len(self._packets)

    def offer(self, packet: EncodedPacket, *, keyframe: bool) -> None:
        if self.readyState != "live":
            return
        if len(self._packets) >= self._capacity:
            self._overflow()
        if self._needs_keyframe and not keyframe:
            self.dropped += 1
            return
        self._needs_keyframe = False
        self._packets.append(packet)
        self._wake()

    def _wake(self) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def restart(self) -> None:
        """Forget what is queued (the subscriber stops receiving for a while); video resumes at a keyframe."""
        self.dropped += len(self._packets)
        self._packets.clear()
        if self.kind == "video":
            self._needs_keyframe = True
            self._want_keyframe()

    def _overflow(self) -> None:
        if self.kind == "audio":
            self._packets.popleft()
            self.dropped += 1
        else:
            self.restart()

    async def recv(self) -> EncodedPacket:
        while not self._packets:
            if self.readyState != "live":
                raise MediaStreamError
            self._waiter = asyncio.get_running_loop().create_future()
            await self._waiter
        self.sent += 1
        return self._packets.popleft()

    def stop(self) -> None:
        super().stop()
        self._packets.clear()
        self._wake()
