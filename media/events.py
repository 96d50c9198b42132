"""What the hub tells its caller, as plain data: roles, presence changes and statistics."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path


class Role(StrEnum):
    """How a peer takes part: a participant sends and receives; the public only receives."""

    PARTICIPANT = "participant"
    PUBLIC = "public"


@dataclass(frozen=True, slots=True)
class PresenceEvent:
    """A peer's media came (`present`) or has been gone for the loss time (not `present`).

    `at` is when the hub decided; `last_seen` is the last sign of the peer before it (None if none came),
    which is when its connection dropped (R-EMEET-8).
    """

    room_id: str
    peer_id: str
    present: bool
    at: datetime
    last_seen: datetime | None


PresenceCallback = Callable[[PresenceEvent], Awaitable[None] | None]


@dataclass(frozen=True, slots=True)
class PeerStats:
    peer_id: str
    role: Role
    connection: str
    present: bool | None
    waiting: bool
    audible: bool
    audio_frames_decoded: int
    video_frames_decoded: int
    queued_bytes: int  # waiting in the peer's sockets: the hub keeps no queue of its own
    dropped_packets: int
    heartbeats: int


@dataclass(frozen=True, slots=True)
class RoomStats:
    room_id: str
    peers: tuple[PeerStats, ...]
    audible: frozenset[str]
    video: str | None
    public_stream: bool
    recording: Path | None
    audio_packets: int
    video_packets: int
    keyframes: int
    keyframe_requests: int

    def peer(self, peer_id: str) -> PeerStats:
        return next(p for p in self.peers if p.peer_id == peer_id)
