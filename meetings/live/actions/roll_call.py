"""The roll call with pictures: everyone taking part electronically is shown to the meeting in turn, and the
secretary or the chair records whether they recognised each one (R-EMEET-1(1), R-EMEET-9).

A roll call lives in the meeting's event log (`roll_call.started`, `roll_call.marked`, `roll_call.ended`): the
state is read back from it (`latest_roll_call`), so every serving process and the minutes see the same one.

A roll call with no mark for its time-out (KOKOUS_ROLL_CALL_TIMEOUT, kept in its start event) ends by itself:
`RollCallTimer`, which every serving process runs as it runs the decision procedure's deadlines, ends it under
the meeting's lock, once, and the end says why (`reason`: "timeout", beside "ended" and "complete").
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from audit.actions import record
from audit.models import AuditAction
from auth.models import User
from core.clock import rfc3339, wait_until
from core.config import DEFAULT_ROLL_CALL_TIMEOUT_SECONDS
from core.db import Database, session_clock
from core.errors import InvalidTransition
from core.text import translatable
from meetings import lifecycle
from meetings.lifecycle import Operation
from meetings.live.events import LIVE_EVENT, EventType, LiveEvent, emit
from meetings.live.models import LiveMeeting, MeetingEventRecord
from meetings.live.state import NOT_HELD, live_meeting, seating_of
from meetings.models import Meeting, MeetingStatus

log = logging.getLogger("kokous")
NOBODY_REMOTE = translatable("Nobody takes part electronically now: there is nobody to call.")
RUNNING = translatable("A roll call is already under way: finish it or end it first.")
NOT_RUNNING = translatable("No roll call is under way.")
NOT_THEIR_TURN = translatable("The roll call has moved on from this person: reload the page.")
KINDS = (EventType.ROLL_CALL_STARTED, EventType.ROLL_CALL_MARKED, EventType.ROLL_CALL_ENDED)
ACTOR = "system:roll_call"  # who ends a roll call nobody marked in time
# The Database service holding the time-out (a timedelta) that new roll calls get (web/context.py).
TIMEOUT_SERVICE = "roll_call_timeout"
DEFAULT_TIMEOUT = timedelta(seconds=DEFAULT_ROLL_CALL_TIMEOUT_SECONDS)
# A process that missed a wake-up (a roll call started by another process) looks again this often.
RECHECK_SECONDS = 30.0
UNDER_WAY = (MeetingStatus.HELD, MeetingStatus.SUSPENDED)


class Outcome(StrEnum):
    IDENTIFIED = "identified"  # the secretary or the chair recognised them in the picture
    NOT_IDENTIFIED = "not_identified"
    PASSED = "passed"  # moved on without a mark (no picture yet, say)


class EndReason(StrEnum):
    COMPLETE = "complete"  # everyone was called
    ENDED = "ended"  # the secretary or the chair ended it
    TIMEOUT = "timeout"  # nobody marked the one shown for the time-out: it ended by itself


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
    timeout: timedelta = DEFAULT_TIMEOUT
    end_reason: EndReason | None = None

    @property
    def due_at(self) -> datetime | None:
        """When it ends by itself if nobody marks the one shown: the time-out after the start or the last
        mark; None once it has ended."""
        if self.ended_at is not None:
            return None
        return (self.marks[-1].at if self.marks else self.started_at) + self.timeout

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
            timeout = timedelta(seconds=float(data["timeout"])) if "timeout" in data else DEFAULT_TIMEOUT
            found = RollCall(at, tuple(int(p) for p in data["people"]), timeout=timeout)
        elif found is not None and kind == EventType.ROLL_CALL_MARKED:
            mark = Mark(int(data["person"]), Outcome(data["outcome"]), at)
            found = replace(found, marks=(*found.marks, mark))
        elif found is not None and kind == EventType.ROLL_CALL_ENDED:
            reason = EndReason(data.get("reason", EndReason.ENDED))
            found = replace(found, ended_at=at, end_reason=reason)
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
    timeout = _timeout(session)
    data = {"people": people, "timeout": timeout.total_seconds()}
    event = await emit(session, live, EventType.ROLL_CALL_STARTED, data, actor=actor)
    audited = {"people": [f"user:{p}" for p in people], "timeout": timeout.total_seconds()}
    await _audit(session, live, AuditAction.ROLL_CALL_STARTED, actor, audited)
    return RollCall(event.at, tuple(people), timeout=timeout)


def _timeout(session: AsyncSession) -> timedelta:
    services: dict[str, Any] = session.sync_session.info.get("services", {})
    found = services.get(TIMEOUT_SERVICE, DEFAULT_TIMEOUT)
    return found if isinstance(found, timedelta) else DEFAULT_TIMEOUT


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
    marked = replace(running, marks=(*running.marks, Mark(person, outcome, event.at)))
    if marked.current is None:
        return await _end(session, live, marked, actor, EndReason.COMPLETE)
    return marked


async def do_end_roll_call(session: AsyncSession, *, meeting: Meeting, actor: str) -> RollCall:
    """End the roll call before everyone is called; whoever was not reached stays unchecked. The picture goes
    back to the floor. Audit: roll_call.ended. Not idempotent: ending an ended roll call is refused."""
    live = await _held(session, meeting)
    running = await latest_roll_call(session, meeting.id)
    if running is None or running.ended_at is not None:
        raise InvalidTransition(NOT_RUNNING)
    return await _end(session, live, running, actor, EndReason.ENDED)


async def do_time_out_roll_call(session: AsyncSession, *, meeting_id: int) -> RollCall | None:
    """End the meeting's roll call if nobody has marked the one shown for its time-out (R-EMEET-1(1)): the
    floor holder is seen again. Under the meeting's lock and read afresh, so however many processes try,
    it ends once, and a mark that came first wins. Returns the ended roll call, or None if there was nothing
    due. Audit: roll_call.ended (actor system:roll_call, reason "timeout", with the moment it was due)."""
    meeting = await session.get(Meeting, meeting_id)
    if meeting is None or meeting.status not in UNDER_WAY:
        return None
    live = await _held(session, meeting)
    running = await latest_roll_call(session, meeting_id)
    due = running.due_at if running is not None else None
    if running is None or due is None or due > session_clock(session)():
        return None
    return await _end(session, live, running, ACTOR, EndReason.TIMEOUT, {"due": rfc3339(due)})


async def _end(
    session: AsyncSession,
    live: LiveMeeting,
    running: RollCall,
    actor: str,
    reason: EndReason,
    extra: dict[str, Any] | None = None,
) -> RollCall:
    summary = running.summary()
    data = {**summary, "reason": str(reason), **(extra or {})}
    event = await emit(session, live, EventType.ROLL_CALL_ENDED, data, actor=actor)
    audited = {key: [f"user:{p}" for p in people] for key, people in summary.items()}
    await _audit(
        session, live, AuditAction.ROLL_CALL_ENDED, actor, audited | {"reason": str(reason), **(extra or {})}
    )
    return replace(running, ended_at=event.at, end_reason=reason)


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


async def running_roll_calls(session: AsyncSession) -> dict[int, RollCall]:
    """The roll calls under way in the meetings under way, by meeting: what the timer watches."""
    query = (
        select(
            MeetingEventRecord.meeting_id,
            MeetingEventRecord.type,
            MeetingEventRecord.data,
            MeetingEventRecord.at,
        )
        .join(Meeting, Meeting.id == MeetingEventRecord.meeting_id)
        .where(
            Meeting.status.in_([str(s) for s in UNDER_WAY]),
            MeetingEventRecord.type.in_([str(k) for k in KINDS]),
        )
        .order_by(MeetingEventRecord.meeting_id, MeetingEventRecord.version)
    )
    by_meeting: dict[int, list[tuple[str, dict[str, Any], datetime]]] = {}
    for meeting_id, kind, data, at in (await session.execute(query)).tuples():
        by_meeting.setdefault(meeting_id, []).append((kind, data, at))
    found = {meeting_id: roll_call_from(events) for meeting_id, events in by_meeting.items()}
    return {m: r for m, r in found.items() if r is not None and r.ended_at is None}


class RollCallTimer:
    """Ends the roll calls nobody marks in time, in every serving process (the app's lifespan runs one).

    It sleeps until the earliest time-out (core.clock.wait_until: one timer, no polling); a roll-call event
    committed in this process wakes it at once, and one from another process (or the command line) is seen
    after at most `recheck` seconds, which is also how late such a time-out may end. Ending is
    `do_time_out_roll_call`, under the meeting's lock: several processes end a roll call once.
    """

    def __init__(self, db: Database, *, recheck: float = RECHECK_SECONDS) -> None:
        self.db = db
        self.recheck = recheck
        self.wake = asyncio.Event()
        self.passes = 0
        db.signals.subscribe(LIVE_EVENT, self._on_event)

    def _on_event(self, event: LiveEvent) -> None:
        if event.type in KINDS:
            self.wake.set()

    async def run_once(self) -> datetime | None:
        """End every roll call past its time-out; returns the next time-out, if any roll call runs."""
        async with self.db.read() as session:
            running = await running_roll_calls(session)
        now = self.db.clock()
        ahead: list[datetime] = []
        for meeting_id, found in running.items():
            due = found.due_at
            if due is None:
                continue
            if due > now:
                ahead.append(due)
                continue
            try:
                async with self.db.write() as session:
                    await do_time_out_roll_call(session, meeting_id=meeting_id)
            except Exception:
                log.exception("the roll call of meeting %s could not be ended by its time-out", meeting_id)
                ahead.append(now + timedelta(seconds=1))  # tried again, not spun on
        self.passes += 1  # counted when done: tests wait for it
        return min(ahead) if ahead else None

    async def run(self) -> None:
        """Forever: a pass, then sleep until the next time-out, a wake-up, or `recheck` seconds."""
        while True:
            self.wake.clear()
            try:
                next_at = await self.run_once()
            except Exception:
                log.exception("the roll call timer's pass failed")
                next_at = self.db.clock() + timedelta(seconds=1)
            await wait_until(self.db.clock, next_at, self.wake, longest=self.recheck)
