"""The live meeting's JSON API: its snapshot, and every step of the proceedings (DESIGN.md §6, docs/live.md).

Each route checks who may take the step (docs/access.md: `run` for the chair, `record_attendance` for the
secretary, one's own arrival, floor, proposals, ballot and dissent for everyone with a seat) and calls the
domain's `do_*` function, which checks the rules, writes the audit entry and appends the event. The request's
transaction commits before the answer is sent (web.app.provide_session; ballots, web.ballots), so a ballot
acknowledged with 200 is stored; the event reaches WebSocket clients after that commit. Changes answer the
meeting's new `version`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from litestar import Router, delete, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from sqlalchemy.ext.asyncio import AsyncSession

from core.bounds import EXPLANATION, LONG_TEXT
from core.errors import Forbidden, InvalidTransition, NotFound
from core.text import translatable
from meetings.access import Capability, Viewer, access_meeting, parent_row
from meetings.live.actions.attendance import do_record_arrival, do_record_departure
from meetings.live.actions.dissents import do_register_dissent
from meetings.live.actions.elections import (
    Nomination,
    do_cast_election_ballot,
    do_close_election,
    do_open_election,
)
from meetings.live.actions.floor import (
    do_end_floor,
    do_grant_floor,
    do_request_floor,
    do_set_floor_rules,
    do_withdraw_floor_request,
    speaker,
)
from meetings.live.actions.items import (
    do_approve_order,
    do_close_discussion,
    do_decide_without_vote,
    do_record_recusal,
    do_take_up_item,
)
from meetings.live.actions.proposals import (
    do_amend_proposal,
    do_make_proposal,
    do_second_proposal,
    do_withdraw_proposal,
)
from meetings.live.actions.sitting import (
    do_choose_checkers,
    do_close_meeting,
    do_declare_lawful,
    do_open_meeting,
    do_resume_meeting,
    do_suspend_meeting,
)
from meetings.live.actions.statements import SUMMARY, do_record_statement
from meetings.live.actions.voting import do_close_vote, do_open_vote
from meetings.live.models import Election, FloorKind, FloorRequest, LiveMeeting, Proposal, Vote
from meetings.live.queries import as_json, live_view, may_follow
from meetings.live.state import NOT_OPEN
from meetings.models import AgendaItem, DisqualificationGround, Meeting
from meetings.rules.elections import Method
from meetings.rules.voting import ProposalKind
from web.ballots import NO_VOTE, ballot_desk
from web.guards import principal_of, signed_in
from web.http import Req
from web.limits import LONG_TEXT_BODY
from web.openapi import answers
from web.schemas import Id
from web.security import BOUNDED_READS, app_context

NOT_FOLLOWER = translatable("Only the body follows a closed meeting live.")
NOT_CHAIR = translatable("Only the chair runs the meeting.")
NOT_RECORDER = translatable("Only the secretary or the chair records the attendance of others.")
NOT_PARTICIPANT = translatable("Only those with a role in the body take part in its meeting.")
NOT_SPEAKER = translatable("Only those with the right to speak ask for the floor.")
NOT_DECLARER = translatable("Only those who take part in handling the item declare a disqualification.")
BODY_FINDS = translatable("The body's finding of a disqualification is recorded by the chair (R-DISQ-4).")
NOT_YOURS = translatable("Only the one who asked for the floor, or the chair, withdraws the request.")
NOT_ENDER = translatable("Only the chair, or the one who has the floor, ends a speech.")
NO_ITEM = translatable("No such agenda item in this meeting.")
NO_PROPOSAL = translatable("No such proposal in this meeting.")
NO_REQUEST = translatable("No such request for the floor in this meeting.")
NO_ELECTION = translatable("No such election in this meeting.")

Reasons = Annotated[str, msgspec.Meta(max_length=EXPLANATION)]
Text = Annotated[str, msgspec.Meta(max_length=LONG_TEXT)]
Seconds = Annotated[int, msgspec.Meta(ge=0, le=86_400)]


class SuspendIn(msgspec.Struct, forbid_unknown_fields=True):
    reason: Annotated[str, msgspec.Meta(max_length=500)] = ""


class CheckersIn(msgspec.Struct, forbid_unknown_fields=True):
    checkers: Annotated[list[Id], msgspec.Meta(max_length=2)]


class AttendanceIn(msgspec.Struct, forbid_unknown_fields=True):
    user_id: Id | None = None  # someone else: the secretary records them; none: oneself
    remote: bool = False  # taking part electronically (R-EMEET-3)


class RecusalIn(msgspec.Struct, forbid_unknown_fields=True):
    ground: DisqualificationGround
    user_id: Id | None = None  # someone else, found disqualified by the body; none: oneself, declaring it
    decided_by_body: bool = False  # R-DISQ-4
    explanation: Reasons = ""


class FloorIn(msgspec.Struct, forbid_unknown_fields=True):
    kind: FloorKind = FloorKind.SPEECH  # or a reply (repliikki)


class FloorRulesIn(msgspec.Struct, forbid_unknown_fields=True):
    speaking_seconds: Seconds | None = None
    replies_allowed: bool = True


class ProposalIn(msgspec.Struct, forbid_unknown_fields=True):
    kind: ProposalKind
    text: Text


class AmendIn(msgspec.Struct, forbid_unknown_fields=True):
    text: Text


class OrderIn(msgspec.Struct, forbid_unknown_fields=True):
    order: Annotated[list[Id], msgspec.Meta(max_length=100)]


class BallotIn(msgspec.Struct, forbid_unknown_fields=True):
    choice: Literal["jaa", "ei", "tyhja"]  # Choice, but "poissa" is no ballot: it is not voting


class DissentIn(msgspec.Struct, forbid_unknown_fields=True):
    reasons: Reasons = ""


Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class CandidateIn(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    nominated_by: Id | None = None  # the member who nominated (no seconding needed)
    list: Annotated[int, msgspec.Meta(ge=1, le=200)] | None = None  # proportional: the list, in its order


class ElectionIn(msgspec.Struct, forbid_unknown_fields=True):
    title: Name
    candidates: Annotated[list[CandidateIn], msgspec.Meta(min_length=1, max_length=200)]
    seats: Annotated[int, msgspec.Meta(ge=1, le=99)] = 1
    deputies: Annotated[int, msgspec.Meta(ge=0, le=99)] = 0
    method: Method = Method.MAJORITY
    secret: bool = False  # a proportional election is always secret (R-ELECT-4)


class ElectionBallotIn(msgspec.Struct, forbid_unknown_fields=True):
    choice: Annotated[list[Id], msgspec.Meta(max_length=99)]  # candidate ids, or one list number; []: blank


class StatementIn(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    title: Annotated[str, msgspec.Meta(max_length=200)] = ""
    summary: Annotated[str, msgspec.Meta(max_length=SUMMARY)] = ""


class ElectionOut(msgspec.Struct):
    version: int
    id: int
    entitled: list[int]
    result: dict[str, Any] | None


class ElectionBallotOut(msgspec.Struct):
    election: int
    cast: int  # how many have voted so far
    of: int


class DoneOut(msgspec.Struct):
    version: int  # the meeting's last event after this step


class CreatedOut(msgspec.Struct):
    version: int
    id: int  # the new floor request, proposal or vote


class VoteOut(msgspec.Struct):
    version: int
    id: int
    step: int
    jaa: str
    ei: str
    entitled: list[int]
    result: dict[str, Any] | None


class BallotOut(msgspec.Struct):
    vote: int
    choice: str
    cast: int  # how many have voted so far
    of: int  # how many may vote


async def _version(session: AsyncSession, meeting: Meeting) -> int:
    live = await session.get(LiveMeeting, meeting.id)
    return live.version if live is not None else 0


async def _meeting(
    session: AsyncSession, viewer: Viewer, meeting_id: int, need: Capability | None
) -> Meeting:
    """The meeting, for a step that needs `need` (or, with None, any role in its body): 403 for others."""
    meeting = await access_meeting(session, viewer, meeting_id)
    if need is not None and not viewer.can(need, meeting.body_id):
        raise Forbidden(NOT_CHAIR if need == Capability.RUN else NOT_RECORDER)
    if need is None and not viewer.roles_in(meeting.body_id):
        raise Forbidden(NOT_PARTICIPANT)
    return meeting


async def _chair(session: AsyncSession, viewer: Viewer, meeting_id: int) -> Meeting:
    return await _meeting(session, viewer, meeting_id, Capability.RUN)


async def _item(session: AsyncSession, meeting: Meeting, item_id: int) -> AgendaItem:
    item = await session.get(AgendaItem, item_id)
    if item is None or item.meeting_id != meeting.id:
        raise NotFound(NO_ITEM)
    return item


async def _proposal(session: AsyncSession, meeting: Meeting, proposal_id: int) -> Proposal:
    proposal = await session.get(Proposal, proposal_id)
    if proposal is None or (await parent_row(session, AgendaItem, proposal.item_id)).meeting_id != meeting.id:
        raise NotFound(NO_PROPOSAL)
    return proposal


async def _vote(session: AsyncSession, meeting_id: int, vote_id: int) -> Vote:
    vote = await session.get(Vote, vote_id)
    if vote is None or (await parent_row(session, AgendaItem, vote.item_id)).meeting_id != meeting_id:
        raise NotFound(NO_VOTE)
    return vote


# The snapshot


@get("/meetings/{meeting_id:int}/live", responses=answers(403, 409))
async def snapshot(
    session: NamedDependency[AsyncSession], viewer: NamedDependency[Viewer], meeting_id: FromPath[int]
) -> dict[str, Any]:
    """The meeting now, as this viewer may see it: in full for the body, the public projection of a public
    meeting for everyone else (R-EMEET-5, R-PUB-2/3); 409 before it is opened."""
    meeting = await access_meeting(session, viewer, meeting_id)
    if not may_follow(viewer, meeting):
        raise Forbidden(NOT_FOLLOWER)
    live = await session.get(LiveMeeting, meeting.id)
    if live is None:
        raise InvalidTransition(NOT_OPEN)
    return as_json(await live_view(session, viewer, meeting, live))


# The meeting as a whole: the chair


@post("/meetings/{meeting_id:int}/live/open", status_code=201, guards=[signed_in])
async def open_meeting(
    request: Req,
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    meeting_id: FromPath[int],
) -> DoneOut:
    """The chair opens a called meeting on its day, and chairs it (tie-breaks follow them, R-VOTE-2)."""
    meeting = await _chair(session, viewer, meeting_id)
    principal = principal_of(request)
    live = await do_open_meeting(session, meeting=meeting, chair_id=principal.user_id, actor=principal.actor)
    return DoneOut(live.version)


@post("/meetings/{meeting_id:int}/live/lawful", status_code=200, guards=[signed_in])
async def declare_lawful(
    request: Req,
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    meeting_id: FromPath[int],
) -> DoneOut:
    meeting = await _chair(session, viewer, meeting_id)
    await do_declare_lawful(session, meeting=meeting, actor=principal_of(request).actor)
    return DoneOut(await _version(session, meeting))


@put("/meetings/{meeting_id:int}/live/checkers", guards=[signed_in])
async def choose_checkers(
    request: Req,
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    meeting_id: FromPath[int],
    data: JSONBody[CheckersIn],
) -> DoneOut:
    meeting = await _chair(session, viewer, meeting_id)
    await do_choose_checkers(
        session, meeting=meeting, checkers=data.checkers, actor=principal_of(request).actor
    )
    return DoneOut(await _version(session, meeting))


@post("/meetings/{meeting_id:int}/live/suspend", status_code=200, guards=[signed_in])
async def suspend(
    request: Req,
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    meeting_id: FromPath[int],
    data: JSONBody[SuspendIn],
) -> DoneOut:
    meeting = await _chair(session, viewer, meeting_id)
    await do_suspend_meeting(session, meeting=meeting, reason=data.reason, actor=principal_of(request).actor)
    return DoneOut(await _version(session, meeting))


@post("/meetings/{meeting_id:int}/live/resume", status_code=200, guards=[signed_in])
async def resume(
    request: Req,
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    meeting_id: FromPath[int],
) -> DoneOut:
    meeting = await _chair(session, viewer, meeting_id)
    await do_resume_meeting(session, meeting=meeting, actor=principal_of(request).actor)
    return DoneOut(await _version(session, meeting))


@post("/meetings/{meeting_id:int}/live/close", status_code=200, guards=[signed_in])
async def close_meeting(
    request: Req,
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    meeting_id: FromPath[int],
) -> DoneOut:
    meeting = await _chair(session, viewer, meeting_id)
    await do_close_meeting(session, meeting=meeting, actor=principal_of(request).actor)
    return DoneOut(await _version(session, meeting))


@put("/meetings/{meeting_id:int}/live/floor-rules", guards=[signed_in])
async def floor_rules(
    request: Req,
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    meeting_id: FromPath[int],
    data: JSONBody[FloorRulesIn],
) -> DoneOut:
    """A limit on each speech (30 s to 30 min, or none) and whether replies go ahead of the queue."""
    meeting = await _chair(session, viewer, meeting_id)
    await do_set_floor_rules(
        session,
        meeting=meeting,
        speaking_seconds=data.speaking_seconds,
        replies_allowed=data.replies_allowed,
        actor=principal_of(request).actor,
    )
    return DoneOut(await _version(session, meeting))


# Attendance: oneself, or others by the secretary (and the chair)


async def _attendee(
    request: Req, session: AsyncSession, viewer: Viewer, meeting_id: int, user_id: int | None
) -> tuple[Meeting, int]:
    principal = principal_of(request)
    if user_id is None or user_id == principal.user_id:
        return await _meeting(session, viewer, meeting_id, None), principal.user_id
    return await _meeting(session, viewer, meeting_id, Capability.RECORD_ATTENDANCE), user_id


@post("/meetings/{meeting_id:int}/live/arrivals", status_code=201, guards=[signed_in])
async def arrive(
    request: Req,
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    meeting_id: FromPath[int],
    data: JSONBody[AttendanceIn],
) -> DoneOut:
    """Someone arrives: a member checks in themselves (in the room or electronically, R-EMEET-3), the
    secretary marks others; a deputy who arrives takes an empty seat of their member (R-DEP-1/2)."""
    meeting, person = await _attendee(request, session, viewer, meeting_id, data.user_id)
    await do_record_arrival(
        session, meeting=meeting, user_id=person, remote=data.remote, actor=principal_of(request).actor
    )
    return DoneOut(await _version(session, meeting))


@post("/meetings/{meeting_id:int}/live/departures", status_code=201, guards=[signed_in])
async def leave(
    request: Req,
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    meeting_id: FromPath[int],
    data: JSONBody[AttendanceIn],
) -> DoneOut:
    meeting, person = await _attendee(request, session, viewer, meeting_id, data.user_id)
    await do_record_departure(session, meeting=meeting, user_id=person, actor=principal_of(request).actor)
    return DoneOut(await _version(session, meeting))


# Items: the chair moves them on


@post("/meetings/{meeting_id:int}/live/items/{item_id:int}/take-up", status_code=200, guards=[signed_in])
async def take_up(
    request: Req,
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    meeting_id: FromPath[int],
    item_id: FromPath[int],
) -> DoneOut:
    meeting = await _chair(session, viewer, meeting_id)
    item = await _item(session, meeting, item_id)
    await do_take_up_item(session, meeting=meeting, item=item, actor=principal_of(request).actor)
    return DoneOut(await _version(session, meeting))


@post("/meetings/{meeting_id:int}/live/items/{item_id:int}/recusals", status_code=201, guards=[signed_in])
async def recuse(
    request: Req,
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    meeting_id: FromPath[int],
    item_id: FromPath[int],
    data: JSONBody[RecusalIn],
) -> DoneOut:
    """Someone is out of the item: they declare it themselves now (R-DISQ-5), or the chair records that the
    body found them disqualified, with the ground (R-DISQ-4)."""
    principal = principal_of(request)
    self_declared = data.user_id in (None, principal.user_id) and not data.decided_by_body
    meeting = await access_meeting(session, viewer, meeting_id)
    if self_declared and not viewer.can(Capability.DECLARE, meeting.body_id):
        raise Forbidden(NOT_DECLARER)
    if not self_declared and not viewer.can(Capability.RUN, meeting.body_id):
        raise Forbidden(BODY_FINDS)
    item = await _item(session, meeting, item_id)
    await do_record_recusal(
        session,
        meeting=meeting,
        item=item,
        user_id=data.user_id or principal.user_id,
        ground=data.ground,
        decided_by_body=data.decided_by_body,
        explanation=data.explanation,
        actor=principal.actor,
    )
    return DoneOut(await _version(session, meeting))


@post(
    "/meetings/{meeting_id:int}/live/items/{item_id:int}/close-discussion",
    status_code=200,
    guards=[signed_in],
)
async def close_discussion(
    request: Req,
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    meeting_id: FromPath[int],
    item_id: FromPath[int],
) -> DoneOut:
    meeting = await _chair(session, viewer, meeting_id)
    item = await _item(session, meeting, item_id)
    await do_close_discussion(session, meeting=meeting, item=item, actor=principal_of(request).actor)
    return DoneOut(await _version(session, meeting))


@put("/meetings/{meeting_id:int}/live/items/{item_id:int}/order", guards=[signed_in])
async def approve_order(
    request: Req,
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    meeting_id: FromPath[int],
    item_id: FromPath[int],
    data: JSONBody[OrderIn],
) -> DoneOut:
    """The voting order as the chair put it and the body approved it: proposal ids (R-VOTE-1/4/5)."""
    meeting = await _chair(session, viewer, meeting_id)
    item = await _item(session, meeting, item_id)
    await do_approve_order(
        session, meeting=meeting, item=item, order=data.order, actor=principal_of(request).actor
    )
    return DoneOut(await _version(session, meeting))


@post("/meetings/{meeting_id:int}/live/items/{item_id:int}/decision", status_code=201, guards=[signed_in])
async def decide(
    request: Req,
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    meeting_id: FromPath[int],
    item_id: FromPath[int],
) -> DoneOut:
    """With nothing seconded against the base proposal, the chair declares the decision (R-PROP-3)."""
    meeting = await _chair(session, viewer, meeting_id)
    item = await _item(session, meeting, item_id)
    await do_decide_without_vote(session, meeting=meeting, item=item, actor=principal_of(request).actor)
    return DoneOut(await _version(session, meeting))


# The floor


@post("/meetings/{meeting_id:int}/live/items/{item_id:int}/floor", status_code=201, guards=[signed_in])
async def request_floor(
    request: Req,
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    meeting_id: FromPath[int],
    item_id: FromPath[int],
    data: JSONBody[FloorIn],
) -> CreatedOut:
    meeting = await access_meeting(session, viewer, meeting_id)
    if not viewer.can(Capability.SPEAK, meeting.body_id):
        raise Forbidden(NOT_SPEAKER)
    item = await _item(session, meeting, item_id)
    principal = principal_of(request)
    made = await do_request_floor(
        session, meeting=meeting, item=item, user_id=principal.user_id, kind=data.kind, actor=principal.actor
    )
    return CreatedOut(await _version(session, meeting), made.id)


async def _floor_request(session: AsyncSession, meeting: Meeting, request_id: int) -> FloorRequest:
    found = await session.get(FloorRequest, request_id)
    if found is None or found.meeting_id != meeting.id:
        raise NotFound(NO_REQUEST)
    return found


@delete("/meetings/{meeting_id:int}/live/floor/{request_id:int}", status_code=200, guards=[signed_in])
async def withdraw_floor(
    request: Req,
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    meeting_id: FromPath[int],
    request_id: FromPath[int],
) -> DoneOut:
    principal = principal_of(request)
    meeting = await access_meeting(session, viewer, meeting_id)
    found = await _floor_request(session, meeting, request_id)
    if found.user_id != principal.user_id and not viewer.can(Capability.RUN, meeting.body_id):
        raise Forbidden(NOT_YOURS)
    await do_withdraw_floor_request(session, meeting=meeting, request=found, actor=principal.actor)
    return DoneOut(await _version(session, meeting))


@post("/meetings/{meeting_id:int}/live/floor/{request_id:int}/grant", status_code=200, guards=[signed_in])
async def grant_floor(
    request: Req,
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    meeting_id: FromPath[int],
    request_id: FromPath[int],
) -> DoneOut:
    meeting = await _chair(session, viewer, meeting_id)
    found = await _floor_request(session, meeting, request_id)
    await do_grant_floor(session, meeting=meeting, request=found, actor=principal_of(request).actor)
    return DoneOut(await _version(session, meeting))


@post("/meetings/{meeting_id:int}/live/items/{item_id:int}/floor/end", status_code=200, guards=[signed_in])
async def end_floor(
    request: Req,
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    meeting_id: FromPath[int],
    item_id: FromPath[int],
) -> DoneOut:
    """The chair ends the speech, or the speaker ends their own."""
    principal = principal_of(request)
    meeting = await access_meeting(session, viewer, meeting_id)
    item = await _item(session, meeting, item_id)
    if not viewer.can(Capability.RUN, meeting.body_id):
        current = await speaker(session, item.id)
        if current is None or current.user_id != principal.user_id:
            raise Forbidden(NOT_ENDER)
    await do_end_floor(session, meeting=meeting, item=item, actor=principal.actor)
    return DoneOut(await _version(session, meeting))


# Proposals: whoever holds a seat (the domain checks the seating)


@post(
    "/meetings/{meeting_id:int}/live/items/{item_id:int}/proposals",
    status_code=201,
    guards=[signed_in],
    request_max_body_size=LONG_TEXT_BODY,
)
async def make_proposal(
    request: Req,
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    meeting_id: FromPath[int],
    item_id: FromPath[int],
    data: JSONBody[ProposalIn],
) -> CreatedOut:
    """A counter, tabling, return, rejection or (in the council) ponsi proposal (R-PROP-2/4/5)."""
    meeting = await _meeting(session, viewer, meeting_id, None)
    item = await _item(session, meeting, item_id)
    principal = principal_of(request)
    made = await do_make_proposal(
        session,
        meeting=meeting,
        item=item,
        user_id=principal.user_id,
        kind=data.kind,
        text=data.text,
        actor=principal.actor,
    )
    return CreatedOut(await _version(session, meeting), made.id)


@post(
    "/meetings/{meeting_id:int}/live/proposals/{proposal_id:int}/seconding",
    status_code=201,
    guards=[signed_in],
)
async def second_proposal(
    request: Req,
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    meeting_id: FromPath[int],
    proposal_id: FromPath[int],
) -> DoneOut:
    meeting = await _meeting(session, viewer, meeting_id, None)
    proposal = await _proposal(session, meeting, proposal_id)
    principal = principal_of(request)
    await do_second_proposal(
        session, meeting=meeting, proposal=proposal, user_id=principal.user_id, actor=principal.actor
    )
    return DoneOut(await _version(session, meeting))


@put(
    "/meetings/{meeting_id:int}/live/proposals/{proposal_id:int}",
    guards=[signed_in],
    request_max_body_size=LONG_TEXT_BODY,
)
async def amend_proposal(
    request: Req,
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    meeting_id: FromPath[int],
    proposal_id: FromPath[int],
    data: JSONBody[AmendIn],
) -> DoneOut:
    """The presenter amends the base proposal before the discussion ends (R-PROP-6)."""
    meeting = await _meeting(session, viewer, meeting_id, None)
    proposal = await _proposal(session, meeting, proposal_id)
    principal = principal_of(request)
    await do_amend_proposal(
        session,
        meeting=meeting,
        proposal=proposal,
        user_id=principal.user_id,
        text=data.text,
        actor=principal.actor,
    )
    return DoneOut(await _version(session, meeting))


@delete("/meetings/{meeting_id:int}/live/proposals/{proposal_id:int}", status_code=200, guards=[signed_in])
async def withdraw_proposal(
    request: Req,
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    meeting_id: FromPath[int],
    proposal_id: FromPath[int],
) -> DoneOut:
    """Whoever made a proposal withdraws it; the presenter withdrawing the base withdraws the item
    (R-PROP-6)."""
    meeting = await _meeting(session, viewer, meeting_id, None)
    proposal = await _proposal(session, meeting, proposal_id)
    principal = principal_of(request)
    await do_withdraw_proposal(
        session, meeting=meeting, proposal=proposal, user_id=principal.user_id, actor=principal.actor
    )
    return DoneOut(await _version(session, meeting))


# Votes


def _vote_out(version: int, vote: Vote) -> VoteOut:
    return VoteOut(version, vote.id, vote.step, vote.jaa, vote.ei, list(vote.entitled), vote.result)


@post("/meetings/{meeting_id:int}/live/items/{item_id:int}/votes", status_code=201, guards=[signed_in])
async def open_vote(
    request: Req,
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    meeting_id: FromPath[int],
    item_id: FromPath[int],
) -> VoteOut:
    """The next vote of the approved order, only with quorum (R-QUORUM-3)."""
    meeting = await _chair(session, viewer, meeting_id)
    item = await _item(session, meeting, item_id)
    vote = await do_open_vote(session, meeting=meeting, item=item, actor=principal_of(request).actor)
    return _vote_out(await _version(session, meeting), vote)


@put("/meetings/{meeting_id:int}/live/votes/{vote_id:int}/ballot", guards=[signed_in])
async def cast_ballot(
    request: Req, meeting_id: FromPath[int], vote_id: FromPath[int], data: JSONBody[BallotIn]
) -> BallotOut:
    """One's own ballot, JAA, EI or TYHJÄ, changed in place while the vote is open: never two (R-VOTE-3).
    Only those entitled when the vote opened vote (seat holders present and not disqualified); everyone else
    is refused. The answer comes after the commit: a 200 means the ballot is stored. Ballots arriving
    together are written in one transaction (web.ballots), so this route takes no session of its own."""
    principal = principal_of(request)
    desk = ballot_desk(request.app.state, app_context(request).db)
    cast = await desk.cast(
        meeting_id=meeting_id,
        vote_id=vote_id,
        user_id=principal.user_id,
        choice=data.choice,
        actor=principal.actor,
    )
    return BallotOut(cast.vote, cast.choice, cast.cast, cast.of)


@post("/meetings/{meeting_id:int}/live/votes/{vote_id:int}/close", status_code=200, guards=[signed_in])
async def close_vote(
    request: Req,
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    meeting_id: FromPath[int],
    vote_id: FromPath[int],
) -> VoteOut:
    """Close the vote: the count and every choice frozen; a tie goes to the chair's side (R-VOTE-2)."""
    meeting = await _chair(session, viewer, meeting_id)
    vote = await _vote(session, meeting.id, vote_id)
    await do_close_vote(session, meeting=meeting, vote=vote, actor=principal_of(request).actor)
    return _vote_out(await _version(session, meeting), vote)


@post("/meetings/{meeting_id:int}/live/items/{item_id:int}/dissents", status_code=201, guards=[signed_in])
async def dissent(
    request: Req,
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    meeting_id: FromPath[int],
    item_id: FromPath[int],
    data: JSONBody[DissentIn],
) -> DoneOut:
    """One's own dissent from the decision just made, with or without reasons (R-DISSENT-1)."""
    meeting = await _meeting(session, viewer, meeting_id, None)
    item = await _item(session, meeting, item_id)
    principal = principal_of(request)
    await do_register_dissent(
        session,
        meeting=meeting,
        item=item,
        user_id=principal.user_id,
        reasons=data.reasons,
        actor=principal.actor,
    )
    return DoneOut(await _version(session, meeting))


# Elections (R-ELECT-*) and persons heard (R-MIN-2)


async def _election(session: AsyncSession, meeting_id: int, election_id: int) -> Election:
    election = await session.get(Election, election_id)
    if election is None or (await parent_row(session, AgendaItem, election.item_id)).meeting_id != meeting_id:
        raise NotFound(NO_ELECTION)
    return election


@post("/meetings/{meeting_id:int}/live/items/{item_id:int}/elections", status_code=201, guards=[signed_in])
async def open_election(
    request: Req,
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    meeting_id: FromPath[int],
    item_id: FromPath[int],
    data: JSONBody[ElectionIn],
) -> ElectionOut:
    """The chair opens an election on the item under way, with quorum, on the candidates members nominated."""
    meeting = await _chair(session, viewer, meeting_id)
    item = await _item(session, meeting, item_id)
    nominations = [Nomination(c.name, c.nominated_by, c.list) for c in data.candidates]
    election = await do_open_election(
        session,
        meeting=meeting,
        item=item,
        title=data.title,
        method=data.method,
        secret=data.secret,
        seats=data.seats,
        deputies=data.deputies,
        candidates=nominations,
        actor=principal_of(request).actor,
    )
    return ElectionOut(await _version(session, meeting), election.id, list(election.entitled), None)


@put("/meetings/{meeting_id:int}/live/elections/{election_id:int}/ballot", guards=[signed_in])
async def cast_election_ballot(
    request: Req,
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    meeting_id: FromPath[int],
    election_id: FromPath[int],
    data: JSONBody[ElectionBallotIn],
) -> ElectionBallotOut:
    """One's own ballot: candidates (at most as many as seats, R-ELECT-6) or one list; [] is blank. An open
    election's ballot changes until the close; a secret one is final (409 for a second, R-ELECT-8)."""
    meeting = await _meeting(session, viewer, meeting_id, None)
    election = await _election(session, meeting.id, election_id)
    principal = principal_of(request)
    cast = await do_cast_election_ballot(
        session, election=election, user_id=principal.user_id, choice=data.choice, actor=principal.actor
    )
    return ElectionBallotOut(election.id, cast, len(election.entitled))


@post(
    "/meetings/{meeting_id:int}/live/elections/{election_id:int}/close", status_code=200, guards=[signed_in]
)
async def close_election(
    request: Req,
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    meeting_id: FromPath[int],
    election_id: FromPath[int],
) -> ElectionOut:
    """Close the election: the result frozen, ties drawn by lot from the seed fixed at the opening."""
    meeting = await _chair(session, viewer, meeting_id)
    election = await _election(session, meeting.id, election_id)
    await do_close_election(session, meeting=meeting, election=election, actor=principal_of(request).actor)
    return ElectionOut(
        await _version(session, meeting), election.id, list(election.entitled), election.result
    )


@post("/meetings/{meeting_id:int}/live/items/{item_id:int}/statements", status_code=201, guards=[signed_in])
async def record_statement(
    request: Req,
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    meeting_id: FromPath[int],
    item_id: FromPath[int],
    data: JSONBody[StatementIn],
) -> CreatedOut:
    """The secretary or the chair records a person heard on the item under way, now (R-MIN-2)."""
    meeting = await _meeting(session, viewer, meeting_id, Capability.RECORD_ATTENDANCE)
    item = await _item(session, meeting, item_id)
    principal = principal_of(request)
    heard = await do_record_statement(
        session,
        meeting=meeting,
        item=item,
        name=data.name,
        title=data.title,
        summary=data.summary,
        recorded_by=principal.user_id,
        actor=principal.actor,
    )
    return CreatedOut(await _version(session, meeting), heard.id)


live_router = Router(
    path="/api",
    opt=BOUNDED_READS,
    route_handlers=[
        snapshot,
        open_meeting,
        declare_lawful,
        choose_checkers,
        suspend,
        resume,
        close_meeting,
        floor_rules,
        arrive,
        leave,
        take_up,
        recuse,
        close_discussion,
        approve_order,
        decide,
        request_floor,
        withdraw_floor,
        grant_floor,
        end_floor,
        make_proposal,
        second_proposal,
        amend_proposal,
        withdraw_proposal,
        open_vote,
        cast_ballot,
        close_vote,
        dissent,
        open_election,
        cast_election_ballot,
        close_election,
        record_statement,
    ],
    tags=["live meeting"],
)
