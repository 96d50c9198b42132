"""A room: its peers, who is heard and seen, the shared encoders, the public stream and its recording."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections.abc import Awaitable, Coroutine, Iterable
from datetime import timedelta
from pathlib import Path
from typing import Any

from av.audio.frame import AudioFrame
from av.frame import Frame
from av.video.frame import VideoFrame

from core.clock import Clock
from core.config import MediaSettings
from core.errors import NotFound
from media.audio import FRAME_SAMPLES, FRAME_SECONDS, Mixer
from media.events import PeerStats, PresenceCallback, PresenceEvent, Role, RoomStats
from media.fanout import EncodedPacket, Vp8Packer, pack_audio
from media.liveness import Liveness, State
from media.peer import Peer
from media.recorder import Recorder
from media.video import CLOCK_RATE, VideoEncoder

log = logging.getLogger(__name__)
# The mixer catches up after a stall of at most this many ticks; a longer stall skips ahead.
MAX_LATE_TICKS = 10


class Room:
    """Create rooms with `Hub.room()`. Every method is called on the hub's event loop."""

    def __init__(self, room_id: str, settings: MediaSettings, clock: Clock) -> None:
        self.id = room_id
        self.peers: dict[str, Peer] = {}
        self._settings = settings
        self._clock = clock
        self._callbacks: dict[str, PresenceCallback] = {}
        self._floor: frozenset[str] = frozenset()
        self._video: str | None = None
        self._source: str | None = None
        self._public = True
        self._recorder: Recorder | None = None
        self._loop = asyncio.get_running_loop()
        self._origin = self._loop.time()
        self._mixer = Mixer(settings.audio_bitrate)
        self._encoder = VideoEncoder(settings, now=self._loop.time)
        self._packer = Vp8Packer()
        self._frames: asyncio.Queue[VideoFrame] = asyncio.Queue(maxsize=1)
        self._packets = {"audio": 0, "video": 0}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._running = [self._spawn(c) for c in (self._run_audio(), self._run_video(), self._run_liveness())]

    # The web layer's controls (docs/media.md).

    async def join(
        self,
        peer_id: str,
        offer_sdp: str,
        *,
        role: Role = Role.PARTICIPANT,
        on_presence: PresenceCallback | None = None,
    ) -> str:
        """Connect a peer and return the SDP answer. A peer that joins again replaces its old connection and
        keeps its presence, its place on the floor and in the waiting room."""
        old = self.peers.pop(peer_id, None)
        peer = Peer(
            peer_id,
            role,
            settings=self._settings,
            liveness=old.liveness if old else self._liveness(),
            sink=self._on_frame,
            want_keyframe=self._encoder.request_keyframe,
        )
        peer.waiting = old.waiting if old else False
        if old is not None:
            await old.close()
        if on_presence is not None:
            self._callbacks[peer_id] = on_presence
        self.peers[peer_id] = peer
        try:
            answer = await peer.answer(offer_sdp)
        except Exception:
            self.peers.pop(peer_id, None)
            await peer.close()
            raise
        self._apply()
        self._encoder.request_keyframe()
        return answer

    async def renegotiate(self, peer_id: str, offer_sdp: str) -> str:
        """A new offer on the peer's connection (a camera turned on); returns the answer."""
        peer = self._peer(peer_id)
        answer = await peer.answer(offer_sdp)
        self._apply()
        return answer

    async def leave(self, peer_id: str) -> None:
        """Close the peer's connection; no presence event follows (the caller knows)."""
        peer = self.peers.pop(peer_id, None)
        self._callbacks.pop(peer_id, None)
        if peer is not None:
            await peer.close()
            self._apply()

    def set_floor(self, peer_ids: Iterable[str], *, video: str | None) -> None:
        """Who is heard (the floor holder and the chair) and whose picture everyone sees. Ids of peers that
        have not joined yet take effect when they join."""
        self._floor = frozenset(peer_ids)
        self._video = video
        self._apply()

    def set_video(self, peer_id: str | None) -> None:
        """Show any peer's picture (a roll call), or none."""
        self._video = peer_id
        self._apply()

    def wait(self, peer_id: str, waiting: bool) -> None:
        """Put a peer in the waiting room (it receives nothing and nobody hears or sees it), or bring it
        back (R-DISQ-3)."""
        peer = self._peer(peer_id)
        if peer.waiting != waiting:
            peer.waiting = waiting
            peer.audio_out.restart()
            peer.video_out.restart()
            self._apply()

    def set_public_stream(self, on: bool) -> None:
        """Stop the public peers' stream and the recording during a closed item (R-EMEET-6), or resume."""
        if self._public != on:
            self._public = on
            if self._recorder is not None:
                self._recorder.pause()
            for peer in self.peers.values():
                if peer.role is Role.PUBLIC:
                    peer.audio_out.restart()
                    peer.video_out.restart()
            self._encoder.request_keyframe()

    def record(self, path: Path | None) -> None:
        """Record the public stream to a .webm (audio and video) or .ogg/.opus file, or stop recording."""
        if self._recorder is not None:
            self._recorder.close()
            self._recorder = None
        if path is not None:
            settings = self._settings
            self._recorder = Recorder(
                path, width=settings.video_width, height=settings.video_height, fps=settings.video_fps
            )
            self._encoder.request_keyframe()

    def stats(self) -> RoomStats:
        return RoomStats(
            room_id=self.id,
            peers=tuple(self._peer_stats(p) for p in self.peers.values()),
            audible=self._mixer.audible,
            video=self._source,
            public_stream=self._public,
            recording=self._recorder.path if self._recorder else None,
            audio_packets=self._packets["audio"],
            video_packets=self._packets["video"],
            keyframes=self._encoder.keyframes,
            keyframe_requests=self._encoder.requests,
        )

    async def close(self) -> None:
        for task in self._running:
            task.cancel()
        await asyncio.gather(*self._running, return_exceptions=True)
        for peer_id in list(self.peers):
            await self.leave(peer_id)
        self.record(None)
        await asyncio.gather(*self._tasks, return_exceptions=True)

    # Inside.

    def _peer(self, peer_id: str) -> Peer:
        peer = self.peers.get(peer_id)
        if peer is None:
            raise NotFound("This participant is not connected to the meeting's sound and picture.")
        return peer

    def _liveness(self) -> Liveness:
        s = self._settings
        return Liveness(
            self._clock(),
            lost_after=timedelta(seconds=s.lost_after_seconds),
            back_after=timedelta(seconds=s.back_after_seconds),
            gap=timedelta(seconds=1.5 * s.heartbeat_seconds),
        )

    def _takes_part(self, peer_id: str | None) -> bool:
        peer = self.peers.get(peer_id) if peer_id is not None else None
        return peer is not None and peer.role is Role.PARTICIPANT and not peer.waiting

    def _apply(self) -> None:
        audible = {p for p in self._floor if self._takes_part(p)}
        source = self._video if self._takes_part(self._video) else None
        self._mixer.set_audible(audible)
        if source != self._source:
            self._source = source
            with contextlib.suppress(asyncio.QueueEmpty):
                self._frames.get_nowait()
            self._encoder.request_keyframe()
        for peer in self.peers.values():
            peer.audible = peer.id in audible
            peer.video_source = peer.id == source
            peer.apply_receiving()

    def _on_frame(self, peer_id: str, kind: str, frame: Frame) -> None:
        if isinstance(frame, AudioFrame):
            self._mixer.push(peer_id, frame)
        elif isinstance(frame, VideoFrame) and peer_id == self._source:
            with contextlib.suppress(asyncio.QueueEmpty):
                self._frames.get_nowait()
            self._frames.put_nowait(frame)

    def _receivers(self) -> Iterable[Peer]:
        return (
            p for p in self.peers.values() if not p.waiting and (self._public or p.role is Role.PARTICIPANT)
        )

    def _fan_out_audio(self, packets: dict[str | None, EncodedPacket]) -> None:
        """Everyone gets the mix; the audible get it without their own voice. Each is packed once."""
        packed = {key: pack_audio(packet) for key, packet in packets.items()}
        everyone = packed[None]
        for peer in self._receivers():
            peer.audio_out.send(packed.get(peer.id, everyone))
        if self._recorder is not None and self._public:
            self._recorder.write("audio", packets[None], keyframe=True)
        self._packets["audio"] += 1

    def _fan_out_video(self, packet: EncodedPacket, keyframe: bool) -> None:
        packed = self._packer.pack(packet, keyframe=keyframe)
        for peer in self._receivers():
            peer.video_out.send(packed)
        if self._recorder is not None and self._public:
            self._recorder.write("video", packet, keyframe=keyframe)
        self._packets["video"] += 1

    async def _run_audio(self) -> None:
        """One mix every 20 ms, timed by the event loop; packets' timestamps count ticks since the start."""
        tick = 0
        while True:
            tick += 1
            delay = self._origin + tick * FRAME_SECONDS - self._loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            elif delay < -MAX_LATE_TICKS * FRAME_SECONDS:
                tick = int((self._loop.time() - self._origin) / FRAME_SECONDS)
            if not self.peers and self._recorder is None:
                continue
            packets = self._mixer.mix(tick * FRAME_SAMPLES)
            if None in packets:
                self._fan_out_audio(packets)

    async def _run_video(self) -> None:
        """Encode the source's latest frame, at most `video_fps` a second, in a worker thread."""
        interval = 1 / self._settings.video_fps
        while True:
            frame = await self._frames.get()
            started = self._loop.time()
            pts = int((started - self._origin) * CLOCK_RATE)
            for packet, keyframe in await asyncio.to_thread(self._encoder.encode, frame, pts):
                self._fan_out_video(packet, keyframe)
            await asyncio.sleep(max(0.0, started + interval - self._loop.time()))

    async def _run_liveness(self) -> None:
        interval = min(1.0, self._settings.heartbeat_seconds / 2)
        while True:
            await asyncio.sleep(interval)
            for peer in list(self.peers.values()):
                if await peer.alive_since_last_look():
                    peer.liveness.seen(self._clock())
                self._decide(peer)

    def _decide(self, peer: Peer) -> None:
        now = self._clock()
        present = peer.liveness.decide(now)
        callback = self._callbacks.get(peer.id)
        if present is None or callback is None:
            return
        event = PresenceEvent(self.id, peer.id, present, now, peer.liveness.last_seen)
        result = callback(event)
        if inspect.isawaitable(result):
            self._spawn(_awaited(result))

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("media room %s: a task failed", self.id, exc_info=task.exception())

    def _peer_stats(self, peer: Peer) -> PeerStats:
        state = peer.liveness.state
        return PeerStats(
            peer_id=peer.id,
            role=peer.role,
            connection=peer.pc.connectionState,
            present=None if state is State.PENDING else state is State.PRESENT,
            waiting=peer.waiting,
            audible=peer.audible,
            audio_frames_decoded=peer.frames["audio"],
            video_frames_decoded=peer.frames["video"],
            queued_bytes=peer.queued,
            dropped_packets=peer.dropped,
            heartbeats=peer.heartbeats,
        )


async def _awaited(result: Awaitable[None]) -> None:
    await result
