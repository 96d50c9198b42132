"""The media hub: rooms of peers by opaque ids, floor-controlled forwarding, presence from the media.

It knows nothing of meetings; the web layer maps a meeting to a room and its members to peers
(docs/media.md, docs/decisions/0009-media-hub.md).
"""

from __future__ import annotations

from core.clock import Clock
from core.config import MediaSettings
from media.events import RoomStats
from media.hooks import check_aiortc
from media.room import Room


class Hub:
    """One per process; every method runs on the event loop that serves the peers."""

    def __init__(self, settings: MediaSettings, *, clock: Clock) -> None:
        check_aiortc()
        self.settings = settings
        self._clock = clock
        self._rooms: dict[str, Room] = {}

    def room(self, room_id: str) -> Room:
        """The room, opened on first use."""
        room = self._rooms.get(room_id)
        if room is None:
            room = self._rooms[room_id] = Room(room_id, self.settings, self._clock)
        return room

    def rooms(self) -> tuple[str, ...]:
        return tuple(self._rooms)

    async def close_room(self, room_id: str) -> None:
        """Disconnect everyone in the room and stop its recording; the id may be used again later."""
        room = self._rooms.pop(room_id, None)
        if room is not None:
            await room.close()

    async def close(self) -> None:
        for room_id in list(self._rooms):
            await self.close_room(room_id)

    def stats(self) -> tuple[RoomStats, ...]:
        return tuple(room.stats() for room in self._rooms.values())
