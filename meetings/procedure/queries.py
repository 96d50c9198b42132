"""What the procedure shows: a member's closed view with their own history, and the chair's overview.

Only the body's members and those with a right to attend see an item in the procedure (R-EDP-6): everyone
else gets `Hidden`, exactly as if it did not exist, whatever their organisation-wide role.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from auth.models import User
from core.errors import NotFound
from core.text import translatable
from meetings.access import Capability, Hidden, Viewer, parent_row
from meetings.models import AgendaItem, Body, Meeting
from meetings.procedure.actions import stated, where_it_stands
from meetings.procedure.models import ProcedureItem
from meetings.rules.decision_procedure import (
    DeputyRule,
    ProcedureState,
    current_stances,
    may_state,
    stance_allowed,
)

NO_SUCH = translatable("No such item in the electronic decision procedure.")


async def access_procedure(
    session: AsyncSession, viewer: Viewer, procedure_id: int, *, need: Capability = Capability.READ
) -> tuple[ProcedureItem, AgendaItem, Meeting]:
    """The item in the procedure, for the body's people only (R-EDP-6); `need` narrows it further."""
    procedure = await session.get(ProcedureItem, procedure_id)
    if procedure is None:
        raise NotFound(NO_SUCH)
    if not viewer.reads(procedure.body_id) or not viewer.can(need, procedure.body_id):
        raise Hidden(NO_SUCH)
    item = await parent_row(session, AgendaItem, procedure.item_id)
    meeting = await parent_row(session, Meeting, procedure.meeting_id)
    return procedure, item, meeting


@dataclass(frozen=True, slots=True)
class StanceView:
    stance: str
    ground: str | None
    explanation: str
    stated_at: datetime
    by: str  # who stated it


@dataclass(frozen=True, slots=True)
class ProcedureView:
    id: int
    item_id: int
    meeting_id: int
    body_id: int
    section: int
    title: str
    description: str
    proposal: str
    state: str
    deadline_at: datetime
    settled_at: datetime | None
    processed_at: datetime | None
    rule: str
    late: bool
    may_state: bool  # this viewer may state (or change) a stance now
    answering_for: str  # the member whose seat a deputy answers for; empty for one's own
    mine: StanceView | None  # the viewer's stance that counts now
    history: tuple[StanceView, ...]  # every stance the viewer stated, oldest first
    follows: bool  # the viewer may see the overview


@dataclass(frozen=True, slots=True)
class SeatView:
    member_id: int
    member: str
    answered: bool
    stance: str | None
    by_deputy: str  # the deputy's name when the deputy answered for the seat
    stated_at: datetime | None
    changes: int  # how many stances the seat's people stated in all


@dataclass(frozen=True, slots=True)
class OverviewView:
    procedure: ProcedureView
    seats: tuple[SeatView, ...]
    answered: int
    missing: int
    demanded: bool


async def _names(session: AsyncSession, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = await session.execute(select(User.id, User.display_name).where(User.id.in_(ids)))
    return dict(list(rows.tuples()))


async def procedure_view(
    session: AsyncSession, viewer: Viewer, procedure: ProcedureItem, *, now: datetime
) -> ProcedureView:
    item = await parent_row(session, AgendaItem, procedure.item_id)
    _, seats, rows = await where_it_stands(session, procedure, now=now)
    rule = DeputyRule(procedure.deputy_rule)
    current = current_stances(stated(rows), deadline=procedure.deadline_at, now=now)
    me = viewer.user_id
    names = await _names(session, {r.user_id for r in rows} | {s.member for s in seats})
    mine_rows = [r for r in rows if r.user_id == me]
    history = tuple(
        StanceView(r.stance, r.ground, r.explanation, r.stated_at, names.get(r.user_id, ""))
        for r in mine_rows
    )
    open_now = stance_allowed(now, procedure.deadline_at, ProcedureState(procedure.state))
    allowed = (
        me is not None
        and open_now
        and viewer.can(Capability.STATE_STANCE, procedure.body_id)
        and may_state(seats, me, current, rule)
    )
    answering_for = next(
        (names.get(s.member, "") for s in seats if me is not None and s.deputy == me and allowed), ""
    )
    return ProcedureView(
        id=procedure.id,
        item_id=item.id,
        meeting_id=procedure.meeting_id,
        body_id=procedure.body_id,
        section=item.section,
        title=item.title,
        description=item.description,
        proposal=item.proposal,
        state=procedure.state,
        deadline_at=procedure.deadline_at,
        settled_at=procedure.settled_at,
        processed_at=procedure.processed_at,
        rule=procedure.rule,
        late=procedure.late,
        may_state=allowed,
        answering_for=answering_for,
        mine=history[-1] if history and me in current else None,
        history=history,
        follows=viewer.can(Capability.FOLLOW_PROCEDURE, procedure.body_id),
    )


async def overview(
    session: AsyncSession, viewer: Viewer, procedure: ProcedureItem, *, now: datetime
) -> OverviewView:
    """Who has answered, and what, for the chair and the secretary (FOLLOW_PROCEDURE)."""
    if not viewer.can(Capability.FOLLOW_PROCEDURE, procedure.body_id):
        raise Hidden(NO_SUCH)
    view = await procedure_view(session, viewer, procedure, now=now)
    found, seats, rows = await where_it_stands(session, procedure, now=now)
    names = await _names(
        session, {s.member for s in seats} | {s.deputy for s in seats if s.deputy is not None}
    )
    counts: dict[int, int] = {}
    for r in rows:
        counts[r.user_id] = counts.get(r.user_id, 0) + 1
    listed = []
    for seat, answer in zip(seats, found.seats, strict=True):
        given = answer.answer
        listed.append(
            SeatView(
                member_id=seat.member,
                member=names.get(seat.member, ""),
                answered=given is not None,
                stance=str(given.stance) if given else None,
                by_deputy=names.get(given.person, "") if given and answer.by_deputy else "",
                stated_at=given.at if given else None,
                changes=counts.get(seat.member, 0) + (counts.get(seat.deputy, 0) if seat.deputy else 0),
            )
        )
    answered = sum(1 for s in listed if s.answered)
    return OverviewView(view, tuple(listed), answered, len(listed) - answered, found.demand is not None)


async def open_for(
    session: AsyncSession, viewer: Viewer, *, now: datetime
) -> list[tuple[ProcedureItem, AgendaItem, Body]]:
    """The items in the procedure of the viewer's bodies, open ones first, newest deadline last."""
    bodies = [b for b in viewer.body_roles if viewer.reads(b)]
    if not bodies:
        return []
    query = (
        select(ProcedureItem, AgendaItem, Body)
        .join(AgendaItem, AgendaItem.id == ProcedureItem.item_id)
        .join(Body, Body.id == ProcedureItem.body_id)
        .where(ProcedureItem.body_id.in_(bodies))
        .order_by(ProcedureItem.deadline_at.desc(), ProcedureItem.id)
        .limit(100)
    )
    rows = [(p, i, b) for p, i, b in (await session.execute(query)).tuples()]
    rows.sort(key=lambda r: (r[0].state != ProcedureState.OPEN, r[0].deadline_at))
    return rows


@dataclass(frozen=True, slots=True)
class ProcedureDecision:
    """An item's outcome in the procedure, as the minutes cite it (R-MIN-2, R-EDP-3(5))."""

    item_id: int
    section: int
    state: str  # decided, moved_to_meeting or withdrawn
    rule: str
    settled_at: datetime | None
    outcome: dict[str, object] | None  # the seats, who answered each, the stance, ground and time


async def procedure_decisions(session: AsyncSession, meeting_id: int) -> list[ProcedureDecision]:
    """Every settled item of the meeting that was in the procedure, in § order; the caller checks access."""
    query = (
        select(ProcedureItem, AgendaItem.section)
        .join(AgendaItem, AgendaItem.id == ProcedureItem.item_id)
        .where(ProcedureItem.meeting_id == meeting_id, ProcedureItem.state != ProcedureState.OPEN)
        .order_by(AgendaItem.section)
    )
    return [
        ProcedureDecision(p.item_id, section, p.state, p.rule, p.settled_at, p.outcome)
        for p, section in (await session.execute(query)).tuples()
    ]
