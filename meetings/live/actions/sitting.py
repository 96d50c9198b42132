"""The meeting as a whole: opened by the chair on its day, declared lawful and quorate, suspended, resumed,
closed; the minutes checkers chosen (R-QUORUM-2, R-CHECK-1, R-EMEET-8)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from audit.actions import record
from audit.models import AuditAction
from core.bounds import check_length
from core.clock import LOCAL
from core.db import session_clock
from core.errors import Conflict, InvalidTransition, ValidationFailed
from core.text import translatable
from meetings import lifecycle
from meetings.access import parent_row
from meetings.lifecycle import MeetingEvent
from meetings.live import seating as stored
from meetings.live.events import EventType, emit
from meetings.live.models import Election, HandlingState, ItemHandling, LiveMeeting, Proposal, Vote
from meetings.live.seating import roster_of
from meetings.live.state import live_meeting, quorum_facts, quorum_now, seating_of
from meetings.locks import lock_meeting
from meetings.models import AgendaItem, Body, DecisionMode, Meeting
from meetings.queries import meeting_items
from meetings.rules.seats import empty_seating
from meetings.rules.voting import ProposalKind

TOO_EARLY = translatable("The meeting can be opened on its day, {day}, at the earliest.")
NO_QUORUM = translatable("The meeting is not quorate: {counted} of {seats} seats count, {needed} are needed.")
VOTE_OPEN = translatable("A vote or an election is open: close it first.")
CHECKERS = translatable("Choose two minutes checkers from the members present.")

SUSPENSION_REASON = 500  # characters: why the meeting is suspended, as the minutes record it


def _meeting_subject(meeting_id: int) -> str:
    return f"meeting:{meeting_id}"


async def do_open_meeting(
    session: AsyncSession, *, meeting: Meeting, chair_id: int, actor: str
) -> LiveMeeting:
    """Open a called meeting on its day (lifecycle: called → held). The items handled in the meeting get their
    handling, each with the presenter's proposal as its base proposal (R-PROP-2); the seats start empty.

    Audit: meeting.opened. Not idempotent: an opened meeting is refused (InvalidTransition)."""
    await lock_meeting(session, meeting)
    held = lifecycle.next_status(meeting.status, MeetingEvent.OPEN)
    now = session_clock(session)()
    day = meeting.starts_at.astimezone(LOCAL).date()
    if now.astimezone(LOCAL).date() < day:
        raise InvalidTransition(TOO_EARLY, day=day.strftime("%d.%m.%Y"))
    body = await parent_row(session, Body, meeting.body_id)
    roster = await roster_of(session, meeting, body)
    live = LiveMeeting(
        meeting_id=meeting.id,
        version=0,
        seating=stored.dump(empty_seating(roster)),
        remote=[],
        checkers=[],
        replies_allowed=True,
        chaired_by=chair_id,
        opened_at=now,
    )
    session.add(live)
    meeting.status, meeting.updated_at = held, now
    items = [i for i in await meeting_items(session, meeting) if i.decision_mode == DecisionMode.MEETING]
    for item in items:
        _prepare_item(session, meeting, item, now)
    seats = [m.person for m in roster.members]
    await emit(session, live, EventType.OPENED, {"chair": chair_id, "seats": seats}, actor=actor)
    await record(
        session,
        AuditAction.MEETING_OPENED,
        actor=actor,
        subject=_meeting_subject(meeting.id),
        data={"items": len(items)},
    )
    return live


def _prepare_item(session: AsyncSession, meeting: Meeting, item: AgendaItem, now: object) -> None:
    session.add(ItemHandling(item_id=item.id, meeting_id=meeting.id, state=HandlingState.PENDING, order=[]))
    session.add(
        Proposal(item_id=item.id, kind=ProposalKind.BASE, text=item.proposal, made_by=None, made_at=now)
    )


async def do_declare_lawful(session: AsyncSession, *, meeting: Meeting, actor: str) -> None:
    """The chair declares the meeting lawfully convened and quorate (R-QUORUM-2); only with quorum now
    (R-QUORUM-1). Audit: meeting.declared_lawful, with the quorum it rested on. Idempotent in effect: a later
    declaration records the quorum again."""
    live = await live_meeting(session, meeting)
    found = await quorum_now(session, live)
    if not found.quorate:
        raise Conflict(NO_QUORUM, counted=len(found.counted), seats=found.seats, needed=found.needed)
    live.lawful_declared_at = session_clock(session)()
    facts = quorum_facts(found)
    await emit(session, live, EventType.DECLARED_LAWFUL, {"quorum": facts}, actor=actor)
    await record(
        session,
        AuditAction.MEETING_DECLARED_LAWFUL,
        actor=actor,
        subject=_meeting_subject(meeting.id),
        data=facts,
    )


async def do_choose_checkers(
    session: AsyncSession, *, meeting: Meeting, checkers: list[int], actor: str
) -> None:
    """The minutes checkers, two members present (R-CHECK-1). Audit: meeting.checkers_chosen. Idempotent."""
    live = await live_meeting(session, meeting)
    seating = seating_of(live)
    sitting = {seat.holder for seat in seating.seats if seat.holder is not None}
    chosen = list(dict.fromkeys(checkers))
    if len(chosen) != 2 or not set(chosen) <= sitting:
        raise ValidationFailed(CHECKERS, field="checkers")
    live.checkers = chosen
    await emit(session, live, EventType.CHECKERS_CHOSEN, {"checkers": chosen}, actor=actor)
    await record(
        session,
        AuditAction.MEETING_CHECKERS_CHOSEN,
        actor=actor,
        subject=_meeting_subject(meeting.id),
        data={"checkers": [f"user:{c}" for c in chosen]},
    )


async def do_suspend_meeting(session: AsyncSession, *, meeting: Meeting, reason: str, actor: str) -> None:
    """Suspend the meeting (R-PROP-1, R-EMEET-8: e.g. quorum lost or the connection to members broken).
    Audit: meeting.suspended. Not idempotent (lifecycle: held → suspended). A reason over 500 characters is
    refused, not cut."""
    reason = reason.strip()
    check_length(reason, SUSPENSION_REASON, field="reason")
    live = await live_meeting(session, meeting)
    await _refuse_open_vote(session, live)
    meeting.status = lifecycle.next_status(meeting.status, MeetingEvent.SUSPEND)
    live.suspended_at = session_clock(session)()
    await emit(session, live, EventType.SUSPENDED, {"reason": reason}, actor=actor)
    await record(
        session,
        AuditAction.MEETING_SUSPENDED,
        actor=actor,
        subject=_meeting_subject(meeting.id),
        data={"reason": reason},
    )


async def do_resume_meeting(session: AsyncSession, *, meeting: Meeting, actor: str) -> None:
    """Resume a suspended meeting. Audit: meeting.resumed. Not idempotent (suspended → held)."""
    live = await live_meeting(session, meeting)
    meeting.status = lifecycle.next_status(meeting.status, MeetingEvent.RESUME)
    live.suspended_at = None
    await emit(session, live, EventType.RESUMED, {}, actor=actor)
    await record(session, AuditAction.MEETING_RESUMED, actor=actor, subject=_meeting_subject(meeting.id))


async def do_close_meeting(session: AsyncSession, *, meeting: Meeting, actor: str) -> None:
    """Close the meeting: no vote may be open. Everyone still present is recorded as leaving at the close
    (R-MIN-3). Audit: meeting.closed. Not idempotent (held or suspended → closed)."""
    live = await live_meeting(session, meeting)
    await _refuse_open_vote(session, live)
    meeting.status = lifecycle.next_status(meeting.status, MeetingEvent.CLOSE)
    now = session_clock(session)()
    live.closed_at, meeting.updated_at = now, now
    pending = await _pending_items(session, meeting.id)
    await emit(session, live, EventType.CLOSED, {"unhandled_items": pending}, actor=actor)
    live.current_item_id = None
    await record(
        session,
        AuditAction.MEETING_CLOSED,
        actor=actor,
        subject=_meeting_subject(meeting.id),
        data={"unhandled_items": pending},
    )


async def _pending_items(session: AsyncSession, meeting_id: int) -> list[int]:
    query = select(ItemHandling.item_id).where(
        ItemHandling.meeting_id == meeting_id, ItemHandling.state != HandlingState.DECIDED
    )
    return sorted((await session.execute(query)).scalars())


async def _refuse_open_vote(session: AsyncSession, live: LiveMeeting) -> None:
    if live.current_item_id is None:
        return
    votes = select(Vote.id).where(Vote.item_id == live.current_item_id, Vote.closed_at.is_(None))
    elections = select(Election.id).where(
        Election.item_id == live.current_item_id, Election.closed_at.is_(None)
    )
    if (await session.execute(votes.union_all(elections).limit(1))).first() is not None:
        raise InvalidTransition(VOTE_OPEN)
