"""The aiortc media hub: peers, floor-controlled forwarding and liveness, by opaque ids."""

from media.events import PeerStats, PresenceCallback, PresenceEvent, Role, RoomStats
from media.hub import Hub
from media.room import Room

__all__ = ["Hub", "PeerStats", "PresenceCallback", "PresenceEvent", "Role", "Room", "RoomStats"]
