"""Who is at the meeting: arrivals and departures with their time and item, electronic participants' lost and
regained connections, and the seats that follow (R-MIN-3, R-EMEET-3/8, R-DEP-1/2/3)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from audit.actions import record
from audit.models import AuditAction
from core.clock import LOCAL
from core.errors import InvalidTransition, ValidationFailed
from core.text import translatable
from meetings import lifecycle
from meetings.access import active_on, parent_row
from meetings.lifecycle import Operation
from meetings.live.events import EventType, emit
from meetings.live.models import LiveMeeting
from meetings.live.seating import roster_of
from meetings.live.state import NOT_HELD, live_meeting, move_seats, quorum_facts, quorum_now, seating_of
from meetings.models import Body, Meeting, Membership
from meetings.rules.seats import Arrival, Departure, Disconnection, Reconnection

NOT_OF_BODY = translatable(
    "Only the body's members and those with a right to attend take part in its meeting."
)
ALREADY_HERE = translatable("They are already recorded as present.")
NOT_HERE = translatable("They are not recorded as present.")
NOT_REMOTE = translatable("Only someone taking part electronically can lose the connection.")

Fact = Arrival | Departure | Disconnection | Reconnection
ACTIONS = {
    Arrival: (EventType.ARRIVED, AuditAction.ARRIVAL_RECORDED),
    Departure: (EventType.LEFT, AuditAction.DEPARTURE_RECORDED),
    Disconnection: (EventType.DISCONNECTED, AuditAction.DISCONNECTION_RECORDED),
    Reconnection: (EventType.RECONNECTED, AuditAction.RECONNECTION_RECORDED),
}


async def do_record_arrival(
    session: AsyncSession, *, meeting: Meeting, user_id: int, remote: bool, actor: str
) -> None:
    """Someone with a role in the body arrives: in the room (the secretary marks it) or electronically (they
    check in themselves, R-EMEET-3). A member takes their seat, or takes it back from their deputy at the
    next item (R-DEP-3). Audit: arrival.recorded. Not idempotent: someone present is refused."""
    live = await live_meeting(session, meeting)
    await _require_of_body(session, meeting, user_id)
    if user_id in seating_of(live).present:
        raise InvalidTransition(ALREADY_HERE)
    remote_now = set(live.remote) - {user_id}
    live.remote = sorted(remote_now | {user_id}) if remote else sorted(remote_now)
    await _attend(session, meeting, live, Arrival(user_id), {"remote": remote}, actor)


async def do_record_departure(session: AsyncSession, *, meeting: Meeting, user_id: int, actor: str) -> None:
    """Someone present leaves; their seat goes to their deputy if one is here (R-DEP-1/2).
    Audit: departure.recorded. Not idempotent."""
    live = await live_meeting(session, meeting)
    if user_id not in seating_of(live).present:
        raise InvalidTransition(NOT_HERE)
    live.remote = [p for p in live.remote if p != user_id]
    await _attend(session, meeting, live, Departure(user_id), {}, actor)


async def do_record_disconnection(
    session: AsyncSession, *, meeting: Meeting, user_id: int, actor: str
) -> None:
    """An electronic participant's connection is lost: absent from now until it returns, with no seat moving
    (R-EMEET-8). Audit: disconnection.recorded. Idempotent: a second report changes nothing."""
    live = await live_meeting(session, meeting)
    seating = seating_of(live)
    if user_id not in live.remote or user_id not in seating.present:
        raise InvalidTransition(NOT_REMOTE)
    if user_id not in seating.disconnected:
        await _attend(session, meeting, live, Disconnection(user_id), {}, actor)


async def do_record_reconnection(
    session: AsyncSession, *, meeting: Meeting, user_id: int, actor: str
) -> None:
    """A lost connection returns (R-EMEET-8). Audit: reconnection.recorded. Idempotent."""
    live = await live_meeting(session, meeting)
    if user_id in seating_of(live).disconnected:
        await _attend(session, meeting, live, Reconnection(user_id), {}, actor)


async def _attend(
    session: AsyncSession,
    meeting: Meeting,
    live: LiveMeeting,
    fact: Fact,
    data: dict[str, object],
    actor: str,
) -> None:
    lifecycle.require(meeting.status, Operation.ATTEND, NOT_HELD)
    body = await parent_row(session, Body, meeting.body_id)
    kind, action = ACTIONS[type(fact)]
    await emit(session, live, kind, {"person": fact.person, **data}, actor=actor)
    await move_seats(session, live, await roster_of(session, meeting, body), fact, actor=actor)
    found = await quorum_now(session, live)
    await emit(session, live, EventType.QUORUM, quorum_facts(found), actor=actor)
    await record(
        session,
        action,
        actor=actor,
        subject=f"meeting:{meeting.id}",
        data={
            "person": f"user:{fact.person}",
            "item": live.current_item_id,
            "quorate": found.quorate,
            **data,
        },
    )


async def _require_of_body(session: AsyncSession, meeting: Meeting, user_id: int) -> None:
    on = meeting.starts_at.astimezone(LOCAL).date()
    query = Membership.__table__.select().where(
        Membership.body_id == meeting.body_id, Membership.user_id == user_id, active_on(on)
    )
    if (await session.execute(query)).first() is None:
        raise ValidationFailed(NOT_OF_BODY, field="user_id")
