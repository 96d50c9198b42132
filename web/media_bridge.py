"""The media hub wired to the live meetings: who joins and how, the floor, presence into attendance, closed
items and the waiting room (docs/media.md, "Wiring to meetings"; DESIGN.md §7).

`media/` knows rooms and peers by opaque ids; here a held meeting is a room (`str(meeting.id)`), a person
taking part is a peer named by their user id, and a public viewer a peer with a random id. The rules that
decide what the hub does are pure (`plan`); `MediaBridge` reads the meeting, applies the plan to its room
and turns the hub's presence reports into the attendance actions (R-EMEET-8).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import AsyncIterator, Coroutine, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from litestar import Litestar
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from audit.actions import record
from audit.models import AuditAction, AuditEntry, names_of
from core.clock import Clock, rfc3339
from core.config import MediaSettings
from core.db import Database
from core.errors import Conflict, Forbidden, KokousError, NotAuthenticated, NotFound, RateLimited
from core.text import translatable
from media import Hub, PresenceEvent, Role, Room
from meetings.access import Viewer, access_meeting_and_body
from meetings.live.actions.attendance import (
    do_record_arrival,
    do_record_disconnection,
    do_record_reconnection,
)
from meetings.live.actions.floor import speaker
from meetings.live.actions.roll_call import latest_roll_call
from meetings.live.events import LIVE_EVENT, EventType, LiveEvent
from meetings.live.models import LiveMeeting, Recusal
from meetings.live.state import seating_of
from meetings.models import AgendaItem, Meeting, MeetingStatus, MemberRole, Publicity
from web.recordings import new_path, recording_on

log = logging.getLogger(__name__)

ACTOR = "system:media"
PUBLIC_PEER = "public-"
# A browser's offer with audio, video, a data channel and its candidates is 5-10 KB; aiortc's is smaller.
MAX_SDP = 32 * 1024
# Rooms are also brought in step this often, for changes no event of this process told of (another worker,
# the command line): the events make it quick, this makes it sure.
RESYNC_SECONDS = 5.0
UNDER_WAY = frozenset({MeetingStatus.HELD, MeetingStatus.SUSPENDED})
# The roles that take part with sound and picture even before they are recorded present: members arrive by
# joining (R-EMEET-3); the chair runs the meeting and the secretary records it (R-EMEET-1(1)).
TAKING_PART = frozenset({MemberRole.MEMBER, MemberRole.CHAIR, MemberRole.VICE_CHAIR, MemberRole.SECRETARY})
# The events after which the room must follow the meeting.
FOLLOWED = frozenset(
    {
        EventType.OPENED,
        EventType.SUSPENDED,
        EventType.RESUMED,
        EventType.CLOSED,
        EventType.ITEM_TAKEN_UP,
        EventType.RECUSED,
        EventType.FLOOR_GRANTED,
        EventType.FLOOR_ENDED,
        EventType.ROLL_CALL_STARTED,
        EventType.ROLL_CALL_MARKED,
        EventType.ROLL_CALL_ENDED,
    }
)

NOT_IN_USE = translatable("Sound and picture are not in use in this service.")
NOT_UNDER_WAY = translatable(
    "The meeting is not being held now: sound and picture open when the chair opens it."
)
NOT_PUBLIC = translatable(
    "Only the body's members, its chair and its secretary take part in this meeting, and it is not public."
)
CLOSED_NOW = translatable("A closed item is being handled: the public stream resumes after it.")
BAD_OFFER = translatable("Your browser's connection offer could not be used. Reload the page and try again.")
NOT_AN_OFFER = translatable("This is not a WebRTC session description.")
PUBLIC_FULL = translatable(
    "The meeting's public stream has as many viewers as it can take. Try again in a minute, or follow the "
    "meeting's page without sound and picture."
)
FULL_RETRY_SECONDS = 60
NOT_JOINED = translatable(
    "You have not joined the meeting's sound and picture: join first, then turn the camera or microphone on."
)
NOT_CLOSED_ITEM = translatable("Only a closed item under way needs this confirmation.")
NOT_PARTICIPANT = translatable("Only those taking part in the meeting confirm this.")
SIGN_IN = translatable("Please sign in.")


@dataclass(frozen=True, slots=True)
class MeetingMedia:
    """What the meeting says the room must do now."""

    under_way: bool
    chair: str | None
    speaker: str | None
    public_meeting: bool
    # The item under way if it is not public: from its taking up until the next item or the end (R-EMEET-6).
    closed_item: int | None
    # Disqualified in the item under way, for as long as it is under way (R-DISQ-3).
    recused: frozenset[str]
    # The item under way and its §, whether the meeting is suspended, and whether its public items are
    # recorded (a setting of the meeting, web/recordings.py).
    item: int | None = None
    section: int | None = None
    suspended: bool = False
    recording: bool = False
    # Whose picture a roll call shows now (R-EMEET-1(1)): it wins over the floor until the roll call ends.
    roll_call: str | None = None


@dataclass(frozen=True, slots=True)
class Plan:
    floor: frozenset[str]
    video: str | None
    public_stream: bool
    waiting: frozenset[str]
    record: int | None = None  # the public item whose recording runs, if any


def plan(state: MeetingMedia, participants: Iterable[str], attested: frozenset[str]) -> Plan:
    """Pure: the floor holder and the chair are heard, the floor holder (else the chair) is seen; during a
    roll call the person called is seen and heard instead (R-EMEET-1(1)); the public stream runs only for
    public items of a public meeting (R-EMEET-5/6), so nobody outside sees a closed item's roll call either;
    the disqualified wait out their item (R-DISQ-3), and in a closed item so does everyone who has not
    confirmed that no outsider sees or hears (R-EMEET-6). With the recording on, each public item under way
    is recorded, a closed one never, and nothing while the meeting is suspended."""
    floor = frozenset(p for p in (state.chair, state.speaker, state.roll_call) if p is not None)
    public = state.public_meeting and state.closed_item is None
    unconfirmed = frozenset(participants) - attested if state.closed_item is not None else frozenset()
    seen = state.roll_call or state.speaker or state.chair
    recorded = state.item if state.recording and public and not state.suspended else None
    return Plan(floor, seen, public, state.recused | unconfirmed, recorded)


@dataclass(slots=True)
class Sending:
    """What a participant's last offer said they send (audio, video), and how many renegotiations since their
    last audit entry changed nothing (web/media_signalling.py writes them into the next one)."""

    kinds: tuple[str, ...]
    unchanged: int = 0


@dataclass(frozen=True, slots=True)
class Recording:
    item: int
    section: int
    path: Path


@dataclass(frozen=True, slots=True)
class Admission:
    meeting_id: int
    role: Role
    peer_id: str


def participant_peer(user_id: int) -> str:
    return str(user_id)


def ice_servers(settings: MediaSettings) -> list[dict[str, str]]:
    """The hub's STUN/TURN servers as a page's RTCPeerConnection takes them (with the TURN credentials)."""
    servers = []
    for url in settings.ice_servers:
        server = {"urls": url}
        if url.startswith(("turn:", "turns:")):
            server |= {"username": settings.turn_username or "", "credential": settings.turn_password or ""}
        servers.append(server)
    return servers


def takes_part(viewer: Viewer, meeting: Meeting, live: LiveMeeting) -> bool:
    """The body's members, its chair and secretary, and whoever is seated or recorded present (a deputy
    called in, a presenter) take part with sound and picture."""
    if viewer.user_id is None:
        return False
    seating = seating_of(live)
    holders = {seat.holder for seat in seating.seats}
    return bool(
        viewer.roles_in(meeting.body_id) & TAKING_PART
        or viewer.user_id in seating.present
        or viewer.user_id in holders
        or viewer.user_id == live.chaired_by
    )


async def admit(session: AsyncSession, viewer: Viewer, meeting_id: int) -> Admission:
    """Who may join the meeting's room, and as what; refuses the rest with a reason a person understands."""
    meeting, _ = await access_meeting_and_body(session, viewer, meeting_id)
    live = await session.get(LiveMeeting, meeting.id)
    if live is None or meeting.status not in UNDER_WAY:
        raise Conflict(NOT_UNDER_WAY)
    if viewer.user_id is not None and takes_part(viewer, meeting, live):
        return Admission(meeting.id, Role.PARTICIPANT, participant_peer(viewer.user_id))
    if not meeting.is_public:
        if viewer.user_id is None:
            raise NotAuthenticated(SIGN_IN)
        raise Forbidden(NOT_PUBLIC)
    if await _closed_item(session, live) is not None:
        raise Conflict(CLOSED_NOW)
    return Admission(meeting.id, Role.PUBLIC, PUBLIC_PEER + secrets.token_urlsafe(16))


async def _closed_item(session: AsyncSession, live: LiveMeeting) -> int | None:
    if live.current_item_id is None:
        return None
    item = await session.get(AgendaItem, live.current_item_id)
    return live.current_item_id if item is None or item.publicity != Publicity.PUBLIC else None


async def meeting_media(session: AsyncSession, meeting_id: int) -> MeetingMedia:
    meeting = await session.get(Meeting, meeting_id)
    live = await session.get(LiveMeeting, meeting_id)
    if meeting is None or live is None or meeting.status not in UNDER_WAY:
        return MeetingMedia(False, None, None, False, None, frozenset())
    item_id = live.current_item_id
    item = await session.get(AgendaItem, item_id) if item_id is not None else None
    floor = await speaker(session, item_id) if item_id is not None else None
    recused: frozenset[str] = frozenset()
    if item_id is not None:
        query = select(Recusal.user_id).where(Recusal.item_id == item_id)
        recused = frozenset(participant_peer(u) for u in (await session.execute(query)).scalars())
    roll_call = await latest_roll_call(session, meeting_id)
    called = roll_call.current if roll_call is not None else None
    return MeetingMedia(
        True,
        participant_peer(live.chaired_by),
        participant_peer(floor.user_id) if floor is not None else None,
        meeting.is_public,
        await _closed_item(session, live),
        recused,
        item_id,
        item.section if item is not None else None,
        meeting.status == MeetingStatus.SUSPENDED,
        meeting.is_public and await recording_on(session, meeting_id),
        participant_peer(called) if called is not None else None,
    )


async def attested(session: AsyncSession, item_id: int | None) -> frozenset[str]:
    """Who has confirmed for a closed item that no outsider sees or hears it (R-EMEET-6), read from the audit
    log's media.attested entries: a confirmation outlives a restart and holds in every serving process."""
    if item_id is None:
        return frozenset()
    query = select(AuditEntry.actor).where(
        AuditEntry.action.in_(names_of(AuditAction.MEDIA_ATTESTED)), AuditEntry.subject == f"item:{item_id}"
    )
    actors = (await session.execute(query)).scalars()
    return frozenset(participant_peer(int(a.removeprefix("user:"))) for a in actors if a.startswith("user:"))


class MediaBridge:
    """The process's hub and its rooms, kept in step with the meetings. Made on the serving event loop."""

    def __init__(
        self,
        db: Database,
        settings: MediaSettings,
        *,
        clock: Clock | None = None,
        data_dir: Path | None = None,
    ) -> None:
        """`data_dir` is KOKOUS_DATA_DIR, where the recordings go; without it nothing is recorded."""
        self.db = db
        self.settings = settings
        self.data_dir = data_dir
        self.hub = Hub(settings, clock=clock or db.clock)
        self._recordings: dict[int, Recording] = {}  # by meeting: the file being written
        self.sending: dict[tuple[int, str], Sending] = {}  # by meeting and participant
        self._lock = asyncio.Lock()  # one change to rooms and attendance at a time, in order
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False
        db.signals.subscribe(LIVE_EVENT, self._on_event)
        self._follower = asyncio.get_running_loop().create_task(self._follow())

    # Joining and leaving.

    async def join(self, admission: Admission, offer_sdp: str) -> str:
        """Connect the peer and bring the room in step before the answer goes out: a disqualified member
        is in the waiting room before their first packet."""
        if not offer_sdp.startswith("v=0") or "\nm=" not in offer_sdp:  # a session with no media is none
            raise KokousError(NOT_AN_OFFER)
        room_id = str(admission.meeting_id)
        if admission.role is Role.PUBLIC:
            peers = self.hub.room(room_id).peers if room_id in self.hub.rooms() else {}
            if sum(peer.startswith(PUBLIC_PEER) for peer in peers) >= self.settings.max_public_viewers:
                raise RateLimited(PUBLIC_FULL, retry_after=FULL_RETRY_SECONDS)
        room = self.hub.room(room_id)
        on_presence = None
        if admission.role is Role.PARTICIPANT:
            on_presence = self._presence_of(admission.meeting_id, int(admission.peer_id))
        try:
            answer = await room.join(
                admission.peer_id, offer_sdp, role=admission.role, on_presence=on_presence
            )
        except KokousError:
            raise
        except Exception as error:  # aiortc's ValueError, InvalidStateError, OperationError … on bad SDP
            log.info("media offer refused for meeting %s: %s", admission.meeting_id, error)
            raise KokousError(BAD_OFFER) from error
        await self.sync(admission.meeting_id)
        return answer

    async def renegotiate(self, admission: Admission, offer_sdp: str) -> str:
        """A new offer on a participant's connection (a camera or microphone turned on or off): the same peer,
        its presence, floor and waiting room kept. Refused (409) for someone not in the room."""
        if not offer_sdp.startswith("v=0") or "\nm=" not in offer_sdp:
            raise KokousError(NOT_AN_OFFER)
        room_id = str(admission.meeting_id)
        if room_id not in self.hub.rooms() or admission.peer_id not in self.hub.room(room_id).peers:
            raise Conflict(NOT_JOINED)
        try:
            answer = await self.hub.room(room_id).renegotiate(admission.peer_id, offer_sdp)
        except NotFound as gone:  # hung up meanwhile
            raise Conflict(NOT_JOINED) from gone
        except Exception as error:  # as in join: aiortc's errors on an offer it cannot use
            log.info("media renegotiation refused for meeting %s: %s", admission.meeting_id, error)
            raise KokousError(BAD_OFFER) from error
        await self.sync(admission.meeting_id)
        return answer

    async def leave(self, meeting_id: int, peer_id: str) -> bool:
        """Hang up; a participant taking part electronically is then disconnected (R-EMEET-8) until they
        join again. Returns whether the peer was in the room."""
        room_id = str(meeting_id)
        if room_id not in self.hub.rooms():
            return False
        room = self.hub.room(room_id)
        present = peer_id in {p.peer_id for p in room.stats().peers}
        await room.leave(peer_id)
        if present and not peer_id.startswith(PUBLIC_PEER):
            lost = PresenceEvent(room_id, peer_id, False, self.db.clock(), self.db.clock())
            await self._locked(self._presence_changed(meeting_id, int(peer_id), lost))
        return present

    async def attest(self, session: AsyncSession, *, meeting: Meeting, user_id: int) -> int:
        """The participant confirms that nobody outside can see or hear the closed item under way
        (R-EMEET-6); returns the item. Audit: media.attested, which is also the record the rooms follow
        (`attested`). Idempotent per item. Call `sync` after the commit."""
        live = await session.get(LiveMeeting, meeting.id)
        item_id = await _closed_item(session, live) if live is not None else None
        if live is None or meeting.status not in UNDER_WAY or item_id is None:
            raise Conflict(NOT_CLOSED_ITEM)
        if participant_peer(user_id) not in await attested(session, item_id):
            await record(
                session,
                AuditAction.MEDIA_ATTESTED,
                actor=f"user:{user_id}",
                subject=f"item:{item_id}",
                data={"meeting": f"meeting:{meeting.id}", "person": f"user:{user_id}"},
            )
        return item_id

    # Following the meeting.

    async def sync(self, meeting_id: int) -> None:
        await self._locked(self._sync(meeting_id))

    async def _sync(self, meeting_id: int) -> None:
        room_id = str(meeting_id)
        if room_id not in self.hub.rooms():
            return
        async with self.db.read() as session:
            state = await meeting_media(session, meeting_id)
            confirmed = await attested(session, state.closed_item)
        if not state.under_way:
            self.sending = {key: sent for key, sent in self.sending.items() if key[0] != meeting_id}
            await self._record(meeting_id, self.hub.room(room_id), None, None)
            await self.hub.close_room(room_id)
            return
        room = self.hub.room(room_id)
        peers = room.stats().peers
        participants = [p.peer_id for p in peers if p.role is Role.PARTICIPANT]
        chosen = plan(state, participants, confirmed)
        if not chosen.public_stream:  # stop the public first, before anything of a closed item flows
            room.set_public_stream(False)
        room.set_floor(chosen.floor, video=chosen.video)
        for peer in participants:
            room.wait(peer, peer in chosen.waiting)
        room.set_public_stream(chosen.public_stream)
        await self._record(meeting_id, room, chosen.record, state.section)

    # Recording the public stream, one file per public item (web/recordings.py).

    def recording(self, meeting_id: int) -> Path | None:
        """The file being written for the meeting now, if any."""
        current = self._recordings.get(meeting_id)
        return current.path if current is not None else None

    async def _record(self, meeting_id: int, room: Room, item: int | None, section: int | None) -> None:
        """Keep the room recording `item` to a file of its own: the previous item's file ends when another
        item is taken up, a closed item starts (R-EMEET-6), the meeting is suspended or ends, or the
        recording is switched off. Audit: media.recording_started and media.recording_stopped."""
        current = self._recordings.get(meeting_id)
        if current is not None and current.item == item:
            return
        if current is not None:
            room.record(None)
            del self._recordings[meeting_id]
            await self._audit_recording(AuditAction.MEDIA_RECORDING_STOPPED, meeting_id, current)
        if item is None or section is None or self.data_dir is None:
            return
        path = new_path(self.data_dir, meeting_id, section, self.db.clock())
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            room.record(path)
        except OSError:  # a full or read-only disk: the meeting goes on unrecorded, and says so in the log
            log.exception("media room %s: the recording %s could not be started", meeting_id, path)
            return
        started = self._recordings[meeting_id] = Recording(item, section, path)
        await self._audit_recording(AuditAction.MEDIA_RECORDING_STARTED, meeting_id, started)

    async def _audit_recording(self, action: AuditAction, meeting_id: int, recording: Recording) -> None:
        data: dict[str, Any] = {
            "meeting": f"meeting:{meeting_id}",
            "section": recording.section,
            "file": recording.path.name,
        }
        if action is AuditAction.MEDIA_RECORDING_STOPPED:
            data["bytes"] = recording.path.stat().st_size if recording.path.exists() else 0
        async with self.db.write() as session:
            await record(session, action, actor=ACTOR, subject=f"item:{recording.item}", data=data)

    def _on_event(self, event: LiveEvent) -> None:
        """After a commit: the floor, the item, a recusal or the meeting's end changes the room."""
        if self._closed or event.type not in FOLLOWED or str(event.meeting_id) not in self.hub.rooms():
            return
        self._spawn(self.sync(event.meeting_id))

    async def _follow(self) -> None:
        while True:
            await asyncio.sleep(RESYNC_SECONDS)
            for room_id in self.hub.rooms():
                try:
                    await self.sync(int(room_id))
                except Exception:
                    log.exception("media room %s could not follow its meeting", room_id)

    # Presence (R-EMEET-8).

    def _presence_of(self, meeting_id: int, user_id: int) -> Any:
        async def on_presence(event: PresenceEvent) -> None:
            await self._locked(self._presence_changed(meeting_id, user_id, event))

        return on_presence

    async def _presence_changed(self, meeting_id: int, user_id: int, event: PresenceEvent) -> None:
        """Media came: a member not yet here arrives electronically (R-EMEET-3), a lost one is back. Media
        gone for the loss time: someone taking part electronically is disconnected, and quorum is recomputed
        with it (R-QUORUM-3); the last sign of them, the drop itself, goes to the audit log."""
        try:
            async with self.db.write() as session:
                meeting = await session.get(Meeting, meeting_id)
                live = await session.get(LiveMeeting, meeting_id)
                if meeting is None or live is None or meeting.status not in UNDER_WAY:
                    return
                seating = seating_of(live)
                if event.present:
                    if user_id in seating.disconnected:
                        await do_record_reconnection(session, meeting=meeting, user_id=user_id, actor=ACTOR)
                    elif user_id not in seating.present:
                        actor = f"user:{user_id}"  # checking in by joining
                        await do_record_arrival(
                            session, meeting=meeting, user_id=user_id, remote=True, actor=actor
                        )
                elif (
                    user_id in live.remote
                    and user_id in seating.present
                    and user_id not in seating.disconnected
                ):
                    await do_record_disconnection(session, meeting=meeting, user_id=user_id, actor=ACTOR)
                    await record(
                        session,
                        AuditAction.MEDIA_LOST,
                        actor=ACTOR,
                        subject=f"meeting:{meeting_id}",
                        data={
                            "person": f"user:{user_id}",
                            "item": live.current_item_id,
                            "last_seen": _time(event.last_seen),
                            "decided": _time(event.at),
                        },
                    )
        except KokousError as error:
            log.info("media presence of user %s in meeting %s not recorded: %s", user_id, meeting_id, error)

    # Housekeeping.

    async def _locked(self, work: Coroutine[Any, Any, None]) -> None:
        async with self._lock:
            await work

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("media bridge: a task failed", exc_info=task.exception())

    async def settled(self) -> None:
        """Wait until the room changes that events started are done (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        self._closed = True
        self._follower.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._follower
        await self.settled()
        for meeting_id in list(self._recordings):
            try:
                await self._record(meeting_id, self.hub.room(str(meeting_id)), None, None)
            except Exception:
                log.exception("media room %s: the recording's end could not be recorded", meeting_id)
        await self.hub.close()


def _time(moment: datetime | None) -> str | None:
    return rfc3339(moment) if moment is not None else None


def bridge_of(app: Litestar) -> MediaBridge | None:
    bridge = app.state.get("media")
    return bridge if isinstance(bridge, MediaBridge) else None


async def follow(app: Litestar, meeting_id: int) -> None:
    """After a committed change of the meeting: let the room follow now rather than at its next look."""
    bridge = bridge_of(app)
    if bridge is not None:
        await bridge.sync(meeting_id)


@contextlib.asynccontextmanager
async def media_lifespan(app: Litestar) -> AsyncIterator[None]:
    """Run the hub for as long as the app when the setting asks for it (KOKOUS_MEDIA_ENABLED)."""
    context = app.state.context
    if not context.settings.media.enabled:
        yield
        return
    bridge = MediaBridge(context.db, context.settings.media, data_dir=context.settings.data_dir)
    app.state.media = bridge
    try:
        yield
    finally:
        app.state.media = None
        await bridge.close()
