"""One peer's connection to the hub: negotiation, the tracks it sends and receives, and its signs of life."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCDataChannel,
    RTCIceServer,
    RTCPeerConnection,
    RTCRtpTransceiver,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError
from av.frame import Frame

from core.config import MediaSettings
from media.events import Role
from media.fanout import Outgoing
from media.hooks import (
    keep_hub_codecs,
    offers_hub_codecs,
    route_keyframe_requests,
    screen_arrivals,
    set_receiving,
    take_over_sending,
)
from media.liveness import Liveness

log = logging.getLogger(__name__)
FrameSink = Callable[[str, str, Frame], None]
# The heartbeat is echoed so that the page can measure the round trip; anything longer is not a heartbeat.
MAX_HEARTBEAT = 64


def configuration(settings: MediaSettings) -> RTCConfiguration:
    """No servers means none: aiortc's default would ask a public STUN server."""
    servers = [
        RTCIceServer(urls=url, username=settings.turn_username, credential=settings.turn_password)
        if url.startswith(("turn:", "turns:"))
        else RTCIceServer(urls=url)
        for url in settings.ice_servers
    ]
    return RTCConfiguration(iceServers=servers)


class Peer:
    def __init__(
        self,
        peer_id: str,
        role: Role,
        *,
        settings: MediaSettings,
        liveness: Liveness,
        sink: FrameSink,
        want_keyframe: Callable[[], None],
    ) -> None:
        self.id = peer_id
        self.role = role
        self.liveness = liveness
        self.waiting = False
        self.audible = False
        self.video_source = False
        self.heartbeats = 0
        self.frames = {"audio": 0, "video": 0}
        self.audio_out = Outgoing("audio", want_keyframe=want_keyframe)
        self.video_out = Outgoing("video", want_keyframe=want_keyframe)
        self.pc = RTCPeerConnection(configuration(settings))
        self._sink = sink
        self._want_keyframe = want_keyframe
        self._readers: set[asyncio.Task[None]] = set()
        self._arrived = False
        self._heartbeat = False
        self.pc.on("track", self._on_track)
        self.pc.on("datachannel", self._on_datachannel)
        self.pc.on("connectionstatechange", self._on_connection)

    async def answer(self, offer_sdp: str) -> str:
        """Apply the peer's offer and return the answer, ICE candidates included (aiortc does not trickle)."""
        offers_hub_codecs(offer_sdp)
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
        keep_hub_codecs(self.pc)
        self._attach_senders()
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        self.apply_receiving()
        screen_arrivals(self.pc, keep_rtp=self._takes_media, arrived=self._on_arrival)
        return self.pc.localDescription.sdp

    def _attach_senders(self) -> None:
        outs: dict[str, Outgoing] = {"audio": self.audio_out, "video": self.video_out}
        for transceiver in self.pc.getTransceivers():
            out = outs.pop(transceiver.kind, None)
            if out is None:
                if transceiver.sender.track is None:
                    transceiver.direction = "inactive"
                continue
            transceiver.direction = "sendrecv" if self.role is Role.PARTICIPANT else "sendonly"
            if transceiver.sender.track is None:
                transceiver.sender.replaceTrack(out.track)
                take_over_sending(transceiver.sender, out)
            if transceiver.kind == "video":
                route_keyframe_requests(transceiver.sender, self._want_keyframe)

    def apply_receiving(self) -> None:
        """Decode only what the room uses: the audible peers' audio and the video source's video."""
        for transceiver in self.pc.getTransceivers():
            set_receiving(transceiver.receiver, self._wants(transceiver))

    def _wants(self, transceiver: RTCRtpTransceiver) -> bool:
        if self.role is not Role.PARTICIPANT or self.waiting:
            return False
        return self.audible if transceiver.kind == "audio" else self.video_source

    def _takes_media(self) -> bool:
        """Whether any of the peer's media is used; if not, its RTP is dropped on arrival."""
        return self.role is Role.PARTICIPANT and not self.waiting and (self.audible or self.video_source)

    def _on_arrival(self) -> None:
        self._arrived = True

    def _on_connection(self) -> None:
        # A failed connection is usually ICE consent expiring: no answer to a check within 0.5 s, six
        # times in a row (aioice), so a long event-loop stall on either side can end it.
        log.info("media peer %s: connection %s", self.id, self.pc.connectionState)

    def _on_track(self, track: MediaStreamTrack) -> None:
        reader = asyncio.ensure_future(self._read(track))
        self._readers.add(reader)
        reader.add_done_callback(self._readers.discard)

    async def _read(self, track: MediaStreamTrack) -> None:
        """Every received track is read to its end, whether or not its frames are used."""
        with contextlib.suppress(MediaStreamError):
            while True:
                frame = await track.recv()
                if isinstance(frame, Frame):
                    self.frames[track.kind] += 1
                    self._sink(self.id, track.kind, frame)

    def _on_datachannel(self, channel: RTCDataChannel) -> None:
        @channel.on("message")
        def _heartbeat(message: str | bytes) -> None:
            self.heartbeats += 1
            self._heartbeat = True
            if isinstance(message, str) and len(message) <= MAX_HEARTBEAT and channel.readyState == "open":
                channel.send(message)

    async def alive_since_last_look(self) -> bool:
        """Whether anything came from the peer since the last call: its media, its RTCP reports (which flow
        even while its media is dropped), or the data channel's heartbeat. A flag set on arrival, not a
        look at every stream's statistics: the look runs for every peer twice a second."""
        arrived, self._arrived = self._arrived or self._heartbeat, False
        self._heartbeat = False
        return arrived

    @property
    def queued(self) -> int:
        """Bytes waiting in the peer's socket (its audio and video share one when bundled)."""
        return max(self.audio_out.depth, self.video_out.depth)

    @property
    def dropped(self) -> int:
        return self.audio_out.dropped + self.video_out.dropped

    async def close(self) -> None:
        self.audio_out.stop()
        self.video_out.stop()
        await self.pc.close()
        for reader in list(self._readers):
            reader.cancel()
        await asyncio.gather(*self._readers, return_exceptions=True)
