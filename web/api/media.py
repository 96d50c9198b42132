"""Sound and picture of a held meeting: signalling (an SDP offer answered in one exchange), hanging up, the
closed item's confirmation (R-EMEET-6), and what the page needs to know (docs/media.md)."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Router, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from sqlalchemy.ext.asyncio import AsyncSession

from audit.models import AuditAction
from auth.models import User
from auth.queries import Principal
from core.errors import Forbidden, KokousError, NotFound
from core.text import translatable
from media import Role
from meetings.access import Capability, Viewer, access_meeting, access_meeting_and_body
from web.guards import principal_of, signed_in
from web.http import Req
from web.media_bridge import (
    MAX_SDP,
    NOT_IN_USE,
    NOT_PARTICIPANT,
    PUBLIC_PEER,
    Admission,
    MediaBridge,
    admit,
    attested,
    bridge_of,
    ice_servers,
    meeting_media,
    participant_peer,
    plan,
)
from web.media_signalling import Exchange, audit_media, join_media, renegotiate_media, unchanged
from web.security import BOUNDED_READS, app_context, client_address
from web.viewer import current_viewer, local_today

PeerId = Annotated[str, msgspec.Meta(max_length=64)]
ONLY_OFFER = translatable("Only an offer starts a connection.")


class OfferIn(msgspec.Struct, forbid_unknown_fields=True):
    sdp: Annotated[str, msgspec.Meta(max_length=MAX_SDP)]
    type: Annotated[str, msgspec.Meta(max_length=16)] = "offer"


class AnswerOut(msgspec.Struct):
    type: str
    sdp: str
    peer: str
    role: str


class LeaveIn(msgspec.Struct, forbid_unknown_fields=True):
    peer: PeerId = ""  # a public viewer's own peer id (its proof); a participant leaves as themselves


class LeftOut(msgspec.Struct):
    left: bool


class AttestedOut(msgspec.Struct):
    item: int


class PeerOut(msgspec.Struct):
    peer: str
    connection: str
    present: bool | None
    waiting: bool
    audible: bool
    attested: bool


class MediaOut(msgspec.Struct):
    role: str | None  # how this viewer may join now: "participant", "public", or None (then `reason`)
    reason: str | None
    ice_servers: list[dict[str, str]]
    heartbeat_seconds: float
    under_way: bool
    public_stream: bool
    closed_item: int | None
    must_attest: bool  # a closed item is under way and this participant has not confirmed (R-EMEET-6)
    waiting: bool  # in the waiting room: disqualified, or not yet confirmed (R-DISQ-3, R-EMEET-6)
    speaker: str | None
    speaker_name: str | None  # who is heard and seen now: the floor holder, else the chair
    roll_call: bool  # a roll call shows the person named in speaker_name (R-EMEET-1(1))
    peers: list[PeerOut]  # the chair and the secretary see everyone's connection (R-EMEET-1(1))


async def _name(session: AsyncSession, peer: str | None) -> str | None:
    user = await session.get(User, int(peer)) if peer is not None else None
    return user.display_name if user is not None else None


def _bridge(request: Req) -> MediaBridge:
    bridge = bridge_of(request.app)
    if bridge is None:
        raise NotFound(NOT_IN_USE)
    return bridge


@get("/meetings/{meeting_id:int}/media", opt=BOUNDED_READS)
async def media_state(
    request: Req,
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    meeting_id: FromPath[int],
) -> MediaOut:
    """How this viewer may join, the ICE servers to use, the floor and the closed item; for the chair and the
    secretary, everyone's connection."""
    bridge = _bridge(request)
    meeting = await access_meeting(session, viewer, meeting_id)
    state = await meeting_media(session, meeting.id)
    role: str | None = None
    reason: str | None = None
    try:
        role = str((await admit(session, viewer, meeting.id)).role)
    except KokousError as refused:
        reason = refused.message
    own = participant_peer(viewer.user_id) if viewer.user_id is not None else None
    confirmed = await attested(session, state.closed_item)
    room_id = str(meeting.id)
    peers = bridge.hub.room(room_id).stats().peers if room_id in bridge.hub.rooms() else ()
    participants = [p.peer_id for p in peers if p.role is Role.PARTICIPANT]
    chosen = plan(state, participants if own is None else [*participants, own], confirmed)
    sees_all = viewer.can(Capability.RECORD_ATTENDANCE, meeting.body_id)
    return MediaOut(
        role=role,
        reason=reason,
        ice_servers=ice_servers(bridge.settings) if role is not None else [],
        heartbeat_seconds=bridge.settings.heartbeat_seconds,
        under_way=state.under_way,
        public_stream=chosen.public_stream,
        closed_item=state.closed_item,
        must_attest=role == Role.PARTICIPANT and state.closed_item is not None and own not in confirmed,
        waiting=role == Role.PARTICIPANT and own in chosen.waiting,
        speaker=state.speaker,
        speaker_name=await _name(session, chosen.video),
        roll_call=state.roll_call is not None,
        peers=[
            PeerOut(p.peer_id, p.connection, p.present, p.waiting, p.audible, p.peer_id in confirmed)
            for p in peers
            if sees_all and p.role is Role.PARTICIPANT
        ],
    )


@post("/meetings/{meeting_id:int}/media/offer", status_code=200)
async def media_offer(request: Req, meeting_id: FromPath[int], data: JSONBody[OfferIn]) -> AnswerOut:
    """Join the meeting's sound and picture: the page's SDP offer, with all its ICE candidates (the page
    waits for gathering to complete), in; the hub's answer, with all of its own, out. The body's members, the
    chair and the secretary send and receive; the public receives public items of a public meeting
    (R-EMEET-5). No transaction is open while the hub answers. The meeting's WebSocket carries the same
    exchange (`media.offer`, web/api/live_socket.py)."""
    return await _exchange(request, meeting_id, data, join_media)


@post("/meetings/{meeting_id:int}/media/renegotiate", status_code=200)
async def media_renegotiate(request: Req, meeting_id: FromPath[int], data: JSONBody[OfferIn]) -> AnswerOut:
    """A new offer on the connection already made, when a participant turns their camera or microphone on
    or off: the same bounds and admission as the offer, for those taking part only, and 409 for someone not
    joined. Audit: media.renegotiated when what they send changes. The meeting's WebSocket carries the same
    exchange (`media.renegotiate`)."""
    return await _exchange(request, meeting_id, data, renegotiate_media)


async def _exchange(request: Req, meeting_id: int, data: OfferIn, exchange: Exchange) -> AnswerOut:
    """An offer or a renegotiation over HTTP, answered as web.media_signalling answers it."""
    bridge = _bridge(request)
    if data.type != "offer":
        raise KokousError(ONLY_OFFER)
    principal = request.scope.get("user")
    done = await exchange(
        app_context(request).db,
        bridge,
        principal if isinstance(principal, Principal) else None,
        meeting_id,
        data.sdp,
        today=local_today(request),
        address=client_address(request),
    )
    return AnswerOut("answer", done.sdp, done.peer, done.role)


@post("/meetings/{meeting_id:int}/media/leave", status_code=200)
async def media_leave(request: Req, meeting_id: FromPath[int], data: JSONBody[LeaveIn]) -> LeftOut:
    """Hang up. A public viewer names its own (secret, random) peer id; a participant leaves as themselves and
    is recorded as disconnected until they join again (R-EMEET-8)."""
    bridge = _bridge(request)
    context = app_context(request)
    async with context.db.read(bounded=True) as session:
        viewer = await current_viewer(request, session)
        meeting, _ = await access_meeting_and_body(session, viewer, meeting_id)
    if data.peer.startswith(PUBLIC_PEER):
        return LeftOut(await bridge.leave(meeting.id, data.peer))
    user_id = principal_of(request).user_id  # a participant must be signed in
    admission = Admission(meeting.id, Role.PARTICIPANT, participant_peer(user_id))
    left = await bridge.leave(meeting.id, admission.peer_id)
    sent = bridge.sending.pop((meeting.id, admission.peer_id), None)
    if left:
        actor = principal_of(request).actor
        await audit_media(context.db, AuditAction.MEDIA_LEFT, admission, actor=actor, data=unchanged(sent))
    return LeftOut(left)


@post("/meetings/{meeting_id:int}/media/attest", status_code=200, guards=[signed_in])
async def media_attest(request: Req, meeting_id: FromPath[int]) -> AttestedOut:
    """A participant confirms that nobody outside can see or hear the closed item under way (R-EMEET-6):
    until then they wait outside it. Audit: media.attested. The room follows once it is committed."""
    bridge = _bridge(request)
    async with app_context(request).db.write() as session:
        viewer = await current_viewer(request, session)
        meeting = await access_meeting(session, viewer, meeting_id)
        if (await admit(session, viewer, meeting.id)).role is not Role.PARTICIPANT:
            raise Forbidden(NOT_PARTICIPANT)
        user_id = principal_of(request).user_id
        item = await bridge.attest(session, meeting=meeting, user_id=user_id)
    await bridge.sync(meeting.id)
    return AttestedOut(item)


media_router = Router(
    path="/api",
    route_handlers=[media_state, media_offer, media_renegotiate, media_leave, media_attest],
    tags=["media"],
)
