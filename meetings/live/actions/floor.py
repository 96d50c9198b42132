"""The floor: requests in a queue, short replies ahead of it when the chair allows, the chair granting and
ending speeches, and a speaking-time limit (R-PROP-1)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from audit.actions import record
from audit.models import AuditAction
from core.db import session_clock
from core.errors import InvalidTransition, ValidationFailed
from core.text import translatable
from meetings import lifecycle
from meetings.lifecycle import Operation
from meetings.live.events import EventType, emit
from meetings.live.models import FloorKind, FloorRequest, HandlingState, LiveMeeting, Recusal
from meetings.live.state import NOT_HELD, current_item, live_meeting, seating_of
from meetings.models import AgendaItem, Meeting

CLOSED = translatable("The discussion of this item is closed.")
ABSENT = translatable("Only those present in the meeting ask for the floor.")
RECUSED = translatable("You are disqualified in this item: you take no part in handling it (R-DISQ-3).")
NO_REPLIES = translatable("The chair does not take replies now: ask for the floor.")
ALREADY_WAITING = translatable("You are already waiting for the floor.")
NOT_WAITING = translatable("That request is no longer waiting.")
NOT_SPEAKING = translatable("Nobody has the floor.")
LIMIT = translatable("A speaking-time limit is 30 seconds to 30 minutes.")


def _queue_order(request: FloorRequest, replies_first: bool) -> tuple[int, object, int]:
    ahead = 0 if replies_first and request.kind == FloorKind.REPLY else 1
    return (ahead, request.requested_at, request.id)


async def floor_queue(session: AsyncSession, live: LiveMeeting, item_id: int) -> list[FloorRequest]:
    """Waiting requests in the order the chair grants them: replies first when allowed, then by time."""
    query = select(FloorRequest).where(
        FloorRequest.item_id == item_id,
        FloorRequest.granted_at.is_(None),
        FloorRequest.withdrawn_at.is_(None),
    )
    waiting = list((await session.execute(query)).scalars())
    return sorted(waiting, key=lambda r: _queue_order(r, live.replies_allowed))


async def speaker(session: AsyncSession, item_id: int) -> FloorRequest | None:
    query = select(FloorRequest).where(
        FloorRequest.item_id == item_id, FloorRequest.granted_at.is_not(None), FloorRequest.ended_at.is_(None)
    )
    return (await session.execute(query)).scalars().first()


async def do_request_floor(
    session: AsyncSession, *, meeting: Meeting, item: AgendaItem, user_id: int, kind: str, actor: str
) -> FloorRequest:
    """Ask for the floor in the item under discussion: present, not disqualified, one request waiting at a
    time. Audit: floor.requested. Not idempotent (a second waiting request is refused)."""
    live = await live_meeting(session, meeting)
    lifecycle.require(meeting.status, Operation.PROCEED, NOT_HELD)
    _, handling = await current_item(session, live, item.id)
    if handling.state != HandlingState.DISCUSSION:
        raise InvalidTransition(CLOSED)
    chosen = FloorKind.REPLY if kind == FloorKind.REPLY else FloorKind.SPEECH
    await _may_speak(session, live, item.id, user_id)
    if chosen == FloorKind.REPLY and not live.replies_allowed:
        raise InvalidTransition(NO_REPLIES)
    if any(r.user_id == user_id for r in await floor_queue(session, live, item.id)):
        raise InvalidTransition(ALREADY_WAITING)
    request = FloorRequest(
        meeting_id=meeting.id,
        item_id=item.id,
        user_id=user_id,
        kind=chosen,
        requested_at=session_clock(session)(),
    )
    session.add(request)
    await session.flush()
    data = {"request": request.id, "person": user_id, "kind": str(chosen)}
    await emit(session, live, EventType.FLOOR_REQUESTED, data, actor=actor)
    await record(session, AuditAction.FLOOR_REQUESTED, actor=actor, subject=f"item:{item.id}", data=data)
    return request


async def _may_speak(session: AsyncSession, live: LiveMeeting, item_id: int, user_id: int) -> None:
    seating = seating_of(live)
    if user_id not in seating.present or user_id in seating.disconnected:
        raise InvalidTransition(ABSENT)
    if await session.get(Recusal, (item_id, user_id)) is not None:
        raise InvalidTransition(RECUSED)


async def do_withdraw_floor_request(
    session: AsyncSession, *, meeting: Meeting, request: FloorRequest, actor: str
) -> None:
    """Take back one's own waiting request. Audit: floor.request_withdrawn. Not idempotent."""
    live = await live_meeting(session, meeting)
    await session.refresh(request)
    if request.granted_at is not None or request.withdrawn_at is not None:
        raise InvalidTransition(NOT_WAITING)
    request.withdrawn_at = session_clock(session)()
    data = {"request": request.id, "person": request.user_id}
    await emit(session, live, EventType.FLOOR_WITHDRAWN, data, actor=actor, item_id=request.item_id)
    await record(
        session,
        AuditAction.FLOOR_REQUEST_WITHDRAWN,
        actor=actor,
        subject=f"item:{request.item_id}",
        data=data,
    )


async def do_grant_floor(
    session: AsyncSession, *, meeting: Meeting, request: FloorRequest, actor: str
) -> None:
    """The chair gives the floor to a waiting request; whoever spoke before stops (R-PROP-1).
    Audit: floor.granted. Not idempotent."""
    live = await live_meeting(session, meeting)
    lifecycle.require(meeting.status, Operation.PROCEED, NOT_HELD)
    await current_item(session, live, request.item_id)
    await session.refresh(request)
    if request.granted_at is not None or request.withdrawn_at is not None:
        raise InvalidTransition(NOT_WAITING)
    current = await speaker(session, request.item_id)
    if current is not None:
        await _end(session, live, current, actor)
    request.granted_at = session_clock(session)()
    data = {
        "request": request.id,
        "person": request.user_id,
        "kind": request.kind,
        "seconds": live.speaking_seconds,
    }
    await emit(session, live, EventType.FLOOR_GRANTED, data, actor=actor)
    await record(
        session, AuditAction.FLOOR_GRANTED, actor=actor, subject=f"item:{request.item_id}", data=data
    )


async def do_end_floor(session: AsyncSession, *, meeting: Meeting, item: AgendaItem, actor: str) -> None:
    """The chair ends the current speech (the speaker may also end their own). Audit: floor.ended."""
    live = await live_meeting(session, meeting)
    await current_item(session, live, item.id)
    current = await speaker(session, item.id)
    if current is None:
        raise InvalidTransition(NOT_SPEAKING)
    await _end(session, live, current, actor)


async def _end(session: AsyncSession, live: LiveMeeting, request: FloorRequest, actor: str) -> None:
    request.ended_at = session_clock(session)()
    spoke = int((request.ended_at - request.granted_at).total_seconds()) if request.granted_at else 0
    data = {"request": request.id, "person": request.user_id, "seconds": spoke}
    await emit(session, live, EventType.FLOOR_ENDED, data, actor=actor)
    await record(session, AuditAction.FLOOR_ENDED, actor=actor, subject=f"item:{request.item_id}", data=data)


async def do_set_floor_rules(
    session: AsyncSession,
    *,
    meeting: Meeting,
    speaking_seconds: int | None,
    replies_allowed: bool,
    actor: str,
) -> None:
    """The chair's rules for the floor: a limit on each speech (shown as a countdown), and whether replies go
    ahead of the queue. Audit: floor.rules_set. Idempotent."""
    live = await live_meeting(session, meeting)
    if speaking_seconds is not None and not 30 <= speaking_seconds <= 1800:
        raise ValidationFailed(LIMIT, field="speaking_seconds")
    live.speaking_seconds, live.replies_allowed = speaking_seconds, replies_allowed
    data = {"speaking_seconds": speaking_seconds, "replies_allowed": replies_allowed}
    await emit(session, live, EventType.FLOOR_RULES_SET, data, actor=actor)
    await record(
        session, AuditAction.FLOOR_RULES_SET, actor=actor, subject=f"meeting:{meeting.id}", data=data
    )
