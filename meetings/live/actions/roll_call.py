"""The roll call with pictures: everyone taking part electronically is shown to the meeting in turn, and the
secretary or the chair records whether they recognised each one (R-EMEET-1(1), R-EMEET-9).

A roll call lives in the meeting's event log (`roll_call.started`, `roll_call.marked`, `roll_call.ended`): the
state is read back from it (`latest_roll_call`), so every serving process and the minutes see the same one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from audit.actions import record
from audit.models import AuditAction
from auth.models import User
from core.errors import InvalidTransition
from core.text import translatable
from meetings import lifecycle
from meetings.lifecycle import Operation
from meetings.live.events import EventType, emit
from meetings.live.models import LiveMeeting, MeetingEventRecord
from meetings.live.state import NOT_HELD, live_meeting, seating_of
from meetings.models import Meeting

NOBODY_REMOTE = translatable("Nobody takes part electronically now: there is nobody to call.")
RUNNING = translatable("A roll call is already under way: finish it or end it first.")
NOT_RUNNING = translatable("No roll call is under way.")
NOT_THEIR_TURN = translatable("The roll call has moved on from this person: reload the page.")
KINDS = (EventType.ROLL_CALL_STARTED, EventType.ROLL_CALL_MARKED, EventType.ROLL_CALL_ENDED)


class Outcome(StrEnum):
    IDENTIFIED = "identified"  # the secretary or the chair recognised them in the picture
    NOT_IDENTIFIED = "not_identified"
    PASSED = "passed"  # moved on without a mark (no picture yet, say)


@dataclass(frozen=True, slots=True)
class Mark:
    person: int
    outcome: Outcome
    at: datetime


@dataclass(frozen=True, slots=True)
class RollCall:
    """A roll call as its events tell it: who is called in which order, the marks so far, and its end."""

    started_at: datetime
    people: tuple[int, ...]
    marks: tuple[Mark, ...] = ()
    ended_at: datetime | None = None

    @property
    def current(self) -> int | None:
        """Whose picture is shown now: the first one not yet marked, until the roll call ends."""
        if self.ended_at is not None or len(self.marks) >= len(self.people):
            return None
        return self.people[len(self.marks)]

    def outcome_of(self, person: int) -> Outcome | None:
        return next((m.outcome for m in self.marks if m.person == person), None)

    def summary(self) -> dict[str, list[int]]:
        """Who was identified, who was not, and who was passed over or not reached: the end event's data."""
        by = {outcome: [m.person for m in self.marks if m.outcome is outcome] for outcome in Outcome}
        reached = {m.person for m in self.marks if m.outcome is not Outcome.PASSED}
        return {
            "identified": by[Outcome.IDENTIFIED],
            "not_identified": by[Outcome.NOT_IDENTIFIED],
            "unchecked": [p for p in self.people if p not in reached],
        }


def roll_call_from(events: Iterable[tuple[str, dict[str, Any], datetime]]) -> RollCall | None:
    """Pure: the latest roll call from the log's roll-call events (type, data, time), oldest first."""
    found: RollCall | None = None
    for kind, data, at in events:
        if kind == EventType.ROLL_CALL_STARTED:
            found = RollCall(at, tuple(int(p) for p in data["people"]))
        elif found is not None and kind == EventType.ROLL_CALL_MARKED:
            mark = Mark(int(data["person"]), Outcome(data["outcome"]), at)
            found = RollCall(found.started_at, found.people, (*found.marks, mark), found.ended_at)
        elif found is not None and kind == EventType.ROLL_CALL_ENDED:
            found = RollCall(found.started_at, found.people, found.marks, at)
    return found


async def latest_roll_call(session: AsyncSession, meeting_id: int) -> RollCall | None:
    query = (
        select(MeetingEventRecord.type, MeetingEventRecord.data, MeetingEventRecord.at)
        .where(
            MeetingEventRecord.meeting_id == meeting_id, MeetingEventRecord.type.in_([str(k) for k in KINDS])
        )
        .order_by(MeetingEventRecord.version)
    )
    return roll_call_from((kind, data, at) for kind, data, at in (await session.execute(query)).tuples())


async def do_start_roll_call(session: AsyncSession, *, meeting: Meeting, actor: str) -> RollCall:
    """Call everyone present electronically and connected, in the order of their names; the first is shown
    at once. Precondition: the meeting is held (or suspended) and no roll call is under way.
    Audit: roll_call.started. Not idempotent: a second start while one runs is refused."""
    live = await _held(session, meeting)
    running = await latest_roll_call(session, meeting.id)
    if running is not None and running.ended_at is None:
        raise InvalidTransition(RUNNING)
    seating = seating_of(live)
    remote = [p for p in live.remote if p in seating.present and p not in seating.disconnected]
    if not remote:
        raise InvalidTransition(NOBODY_REMOTE)
    names = select(User.id).where(User.id.in_(remote)).order_by(User.display_name, User.id)
    people = list((await session.execute(names)).scalars())
    event = await emit(session, live, EventType.ROLL_CALL_STARTED, {"people": people}, actor=actor)
    await _audit(
        session, live, AuditAction.ROLL_CALL_STARTED, actor, {"people": [f"user:{p}" for p in people]}
    )
    return RollCall(event.at, tuple(people))


async def do_mark_roll_call(
    session: AsyncSession, *, meeting: Meeting, person: int, outcome: Outcome, actor: str
) -> RollCall:
    """Record whether the person shown now was recognised (or pass them over), and show the next; after
    the last one the roll call ends by itself. Precondition: `person` is the one shown now (a second click
    on the same button is refused, not counted twice). Audit: roll_call.marked (and roll_call.ended after
    the last)."""
    live = await _held(session, meeting)
    running = await latest_roll_call(session, meeting.id)
    if running is None or running.ended_at is not None:
        raise InvalidTransition(NOT_RUNNING)
    if running.current != person:
        raise InvalidTransition(NOT_THEIR_TURN)
    data = {"person": person, "outcome": str(outcome)}
    event = await emit(session, live, EventType.ROLL_CALL_MARKED, data, actor=actor)
    await _audit(session, live, AuditAction.ROLL_CALL_MARKED, actor, data | {"person": f"user:{person}"})
    marked = RollCall(running.started_at, running.people, (*running.marks, Mark(person, outcome, event.at)))
    if marked.current is None:
        return await _end(session, live, marked, actor)
    return marked


async def do_end_roll_call(session: AsyncSession, *, meeting: Meeting, actor: str) -> RollCall:
    """End the roll call before everyone is called; whoever was not reached stays unchecked. The picture goes
    back to the floor. Audit: roll_call.ended. Not idempotent: ending an ended roll call is refused."""
    live = await _held(session, meeting)
    running = await latest_roll_call(session, meeting.id)
    if running is None or running.ended_at is not None:
        raise InvalidTransition(NOT_RUNNING)
    return await _end(session, live, running, actor)


async def _end(session: AsyncSession, live: LiveMeeting, running: RollCall, actor: str) -> RollCall:
    summary = running.summary()
    event = await emit(session, live, EventType.ROLL_CALL_ENDED, dict(summary), actor=actor)
    audited = {key: [f"user:{p}" for p in people] for key, people in summary.items()}
    await _audit(session, live, AuditAction.ROLL_CALL_ENDED, actor, audited)
    return RollCall(running.started_at, running.people, running.marks, event.at)


async def _held(session: AsyncSession, meeting: Meeting) -> LiveMeeting:
    live = await live_meeting(session, meeting)
    lifecycle.require(meeting.status, Operation.ATTEND, NOT_HELD)
    return live


async def _audit(
    session: AsyncSession, live: LiveMeeting, action: AuditAction, actor: str, data: dict[str, Any]
) -> None:
    await record(
        session,
        action,
        actor=actor,
        subject=f"meeting:{live.meeting_id}",
        data={"item": live.current_item_id, **data},
    )
