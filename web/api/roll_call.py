"""The roll call with pictures (R-EMEET-1(1), R-EMEET-9): the secretary or the chair starts it, marks each
person shown as identified or not (or passes them over), and may end it early. The hub shows the person
called instead of the floor holder until the roll call ends (web/media_bridge.py). Capability:
`record_attendance`."""

from __future__ import annotations

import msgspec
from litestar import Router, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import Forbidden
from core.text import translatable
from meetings.access import Capability, Viewer, access_meeting
from meetings.live.actions.roll_call import (
    Outcome,
    RollCall,
    do_end_roll_call,
    do_mark_roll_call,
    do_start_roll_call,
)
from meetings.live.models import LiveMeeting
from meetings.models import Meeting
from web.guards import principal_of, signed_in
from web.http import Req
from web.schemas import Id

NOT_CALLER = translatable("Only the secretary or the chair holds the roll call.")


class MarkIn(msgspec.Struct, forbid_unknown_fields=True):
    person: Id  # the one shown now: a mark meant for someone else is refused
    outcome: Outcome


class RollCallOut(msgspec.Struct):
    version: int  # the meeting's last event after this step
    people: list[int]  # in the order they are called
    current: int | None  # whose picture is shown now; None once the roll call has ended
    ended: bool
    due_at: str | None  # when it ends by itself if nobody marks the one shown (RFC 3339); None once ended
    end_reason: str | None  # "complete", "ended" or "timeout" once it has ended


async def _meeting(session: AsyncSession, viewer: Viewer, meeting_id: int) -> Meeting:
    meeting = await access_meeting(session, viewer, meeting_id)
    if not viewer.can(Capability.RECORD_ATTENDANCE, meeting.body_id):
        raise Forbidden(NOT_CALLER)
    return meeting


async def _out(session: AsyncSession, meeting: Meeting, found: RollCall) -> RollCallOut:
    live = await session.get(LiveMeeting, meeting.id)
    version = live.version if live is not None else 0
    due = found.due_at.isoformat() if found.due_at is not None else None
    reason = str(found.end_reason) if found.end_reason is not None else None
    return RollCallOut(version, list(found.people), found.current, found.ended_at is not None, due, reason)


@post("/meetings/{meeting_id:int}/live/roll-call", status_code=201, guards=[signed_in])
async def start_roll_call(
    request: Req,
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    meeting_id: FromPath[int],
) -> RollCallOut:
    """Start a roll call of everyone taking part electronically; the first of them is shown at once."""
    meeting = await _meeting(session, viewer, meeting_id)
    found = await do_start_roll_call(session, meeting=meeting, actor=principal_of(request).actor)
    return await _out(session, meeting, found)


@post("/meetings/{meeting_id:int}/live/roll-call/marks", status_code=201, guards=[signed_in])
async def mark_roll_call(
    request: Req,
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    meeting_id: FromPath[int],
    data: JSONBody[MarkIn],
) -> RollCallOut:
    """The person shown now: identified, not identified, or passed over; the next one is shown."""
    meeting = await _meeting(session, viewer, meeting_id)
    actor = principal_of(request).actor
    found = await do_mark_roll_call(
        session, meeting=meeting, person=data.person, outcome=data.outcome, actor=actor
    )
    return await _out(session, meeting, found)


@post("/meetings/{meeting_id:int}/live/roll-call/end", status_code=200, guards=[signed_in])
async def end_roll_call(
    request: Req,
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    meeting_id: FromPath[int],
) -> RollCallOut:
    """End the roll call before everyone is called: the floor holder is seen again."""
    meeting = await _meeting(session, viewer, meeting_id)
    found = await do_end_roll_call(session, meeting=meeting, actor=principal_of(request).actor)
    return await _out(session, meeting, found)


roll_call_router = Router(
    path="/api", route_handlers=[start_roll_call, mark_roll_call, end_roll_call], tags=["live"]
)
