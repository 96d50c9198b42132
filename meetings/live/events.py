"""The meeting's event log: each step numbered, stored with the change it records, broadcast after commit.

Clients follow a meeting by its events: a snapshot carries the version it is at, and every later event the
next version, so a client that sees a gap asks for a new snapshot (DESIGN.md §6). Events are published only
after the transaction commits (the `meeting.event` signal), so nobody hears of a change that was rolled back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.db import session_clock, signal
from meetings.live.models import LiveMeeting, MeetingEventRecord

LIVE_EVENT = "meeting.event"  # the signal: payload is a LiveEvent
VOTE_PROGRESS = "meeting.vote_progress"  # how many have voted: a hint between versions, never a version


class EventType(StrEnum):
    """The proceedings' vocabulary (after the Finnish council-hall data, domain.md §6)."""

    OPENED = "meeting.opened"
    DECLARED_LAWFUL = "meeting.declared_lawful"
    CHECKERS_CHOSEN = "meeting.checkers_chosen"
    SUSPENDED = "meeting.suspended"
    RESUMED = "meeting.resumed"
    CLOSED = "meeting.closed"
    ARRIVED = "attendance.arrived"
    LEFT = "attendance.left"
    DISCONNECTED = "attendance.disconnected"
    RECONNECTED = "attendance.reconnected"
    SEATS_CHANGED = "seats.changed"
    QUORUM = "quorum.changed"  # after every attendance change: who counts, and who is missing (R-QUORUM-1/3)
    ITEM_TAKEN_UP = "item.taken_up"
    RECUSED = "item.recused"
    FLOOR_REQUESTED = "floor.requested"
    FLOOR_WITHDRAWN = "floor.withdrawn"
    FLOOR_GRANTED = "floor.granted"
    FLOOR_ENDED = "floor.ended"
    FLOOR_RULES_SET = "floor.rules_set"
    PROPOSAL_MADE = "proposal.made"
    PROPOSAL_SECONDED = "proposal.seconded"
    PROPOSAL_AMENDED = "proposal.amended"
    PROPOSAL_WITHDRAWN = "proposal.withdrawn"
    DISCUSSION_CLOSED = "discussion.closed"
    ORDER_APPROVED = "voting_order.approved"
    VOTE_OPENED = "vote.opened"
    VOTE_CLOSED = "vote.closed"
    DECISION_MADE = "decision.made"
    DISSENT_REGISTERED = "dissent.registered"
    ELECTION_OPENED = "election.opened"
    ELECTION_CLOSED = "election.closed"
    STATEMENT_RECORDED = "statement.recorded"  # a person heard on the item (R-MIN-2)
    ROLL_CALL_STARTED = "roll_call.started"  # who is shown in turn (R-EMEET-1(1), R-EMEET-9)
    ROLL_CALL_MARKED = "roll_call.marked"  # one person: identified, not identified, or passed over
    ROLL_CALL_ENDED = "roll_call.ended"


@dataclass(frozen=True, slots=True)
class LiveEvent:
    meeting_id: int
    version: int
    type: str
    item_id: int | None
    data: dict[str, Any]
    at: datetime

    def message(self) -> dict[str, Any]:
        """The WebSocket message: `{version, type, item, data, at}`."""
        return {
            "version": self.version,
            "type": self.type,
            "item": self.item_id,
            "data": self.data,
            "at": self.at.isoformat(),
        }


async def emit(
    session: AsyncSession,
    live: LiveMeeting,
    kind: EventType,
    data: dict[str, Any],
    *,
    actor: str,
    item_id: int | None = None,
) -> LiveEvent:
    """Append the next event to the meeting's log (the caller holds the meeting's lock) and broadcast it
    after the commit. `item_id` defaults to the item under way."""
    live.version += 1
    event = LiveEvent(
        live.meeting_id,
        live.version,
        str(kind),
        item_id if item_id is not None else live.current_item_id,
        data,
        session_clock(session)(),
    )
    session.add(
        MeetingEventRecord(
            meeting_id=event.meeting_id,
            version=event.version,
            type=event.type,
            item_id=event.item_id,
            data=data,
            at=event.at,
            actor=actor,
        )
    )
    signal(session, LIVE_EVENT, event)
    return event


async def events_after(session: AsyncSession, meeting_id: int, version: int) -> list[LiveEvent]:
    """The log from `version` on, oldest first: what a reconnecting client missed."""
    query = (
        select(MeetingEventRecord)
        .where(MeetingEventRecord.meeting_id == meeting_id, MeetingEventRecord.version > version)
        .order_by(MeetingEventRecord.version)
    )
    return [
        LiveEvent(r.meeting_id, r.version, r.type, r.item_id, r.data, r.at)
        for r in (await session.execute(query)).scalars()
    ]
