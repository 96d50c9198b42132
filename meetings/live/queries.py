"""What a held meeting looks like now, for one viewer: the snapshot its pages and WebSocket start from.

The body sees everything. The public follows a public meeting's public items (R-EMEET-5, R-PUB-2/3): names
of those present and their votes are public, as in the minutes (R-VOTE-3), but of a confidential item only
that a closed item is being handled. A closed meeting shows the public nothing live.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from auth.models import User
from meetings.access import Capability, Viewer
from meetings.live.actions.elections import election_candidates, election_cast, voted
from meetings.live.actions.floor import floor_queue, speaker
from meetings.live.actions.roll_call import RollCall, latest_roll_call
from meetings.live.models import (
    Dissent,
    Election,
    FloorRequest,
    HandlingState,
    HeardStatement,
    ItemHandling,
    LiveMeeting,
    Recusal,
    Vote,
)
from meetings.live.state import item_votes, open_ballots, proposal_rows, quorum_now, seating_of, seconders
from meetings.models import AgendaItem, Meeting, Publicity
from meetings.rules.seats import cover


@dataclass(frozen=True, slots=True)
class SeatView:
    member: int
    holder: int | None
    cover: str


@dataclass(frozen=True, slots=True)
class QuorumView:
    quorate: bool
    counted: int
    needed: int
    seats: int
    missing: tuple[int, ...]  # whose seats do not count now: absent, disconnected or disqualified


@dataclass(frozen=True, slots=True)
class ProposalView:
    id: int
    kind: str
    text: str
    by: int | None
    seconders: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class FloorView:
    request: int
    person: int
    kind: str
    since: datetime | None


@dataclass(frozen=True, slots=True)
class VoteView:
    id: int
    step: int
    jaa: str
    ei: str
    open: bool
    entitled: tuple[int, ...]
    cast: int
    mine: str | None  # the viewer's own choice while the vote is open
    result: dict[str, object] | None


@dataclass(frozen=True, slots=True)
class CandidateView:
    id: int
    name: str
    list_no: int | None
    position: int


@dataclass(frozen=True, slots=True)
class ElectionView:
    """An election on the item: a secret one shows how many have voted and its result, never who chose what;
    `mine` is the viewer's own ballot in an open election, or in a secret one only whether they voted."""

    id: int
    title: str
    method: str
    secret: bool
    seats: int
    deputies: int
    candidates: tuple[CandidateView, ...]
    open: bool
    entitled: tuple[int, ...]
    cast: int
    mine: list[int] | bool | None
    result: dict[str, object] | None


@dataclass(frozen=True, slots=True)
class StatementView:
    id: int
    name: str
    title: str
    summary: str
    at: datetime


@dataclass(frozen=True, slots=True)
class ItemLive:
    id: int
    section: int
    title: str | None  # None: a confidential item, to the public
    state: str
    closed: bool  # a confidential item to someone outside the body: nothing else is shown
    proposals: tuple[ProposalView, ...] = ()
    recused: tuple[int, ...] = ()
    speaker: FloorView | None = None
    queue: tuple[FloorView, ...] = ()
    votes: tuple[VoteView, ...] = ()
    decision: str | None = None
    decided_how: str | None = None
    dissents: tuple[int, ...] = ()
    elections: tuple[ElectionView, ...] = ()
    statements: tuple[StatementView, ...] = ()


@dataclass(frozen=True, slots=True)
class MarkView:
    person: int
    outcome: str  # meetings.live.actions.roll_call.Outcome
    at: datetime


@dataclass(frozen=True, slots=True)
class RollCallView:
    """The latest roll call with pictures (R-EMEET-1(1)): who is shown now, and each mark with its time."""

    started_at: datetime
    people: tuple[int, ...]
    current: int | None
    marks: tuple[MarkView, ...]
    ended_at: datetime | None
    due_at: datetime | None = None  # when it ends by itself if nobody marks the one shown
    end_reason: str | None = None  # "complete", "ended" or "timeout" (roll_call.EndReason)


@dataclass(frozen=True, slots=True)
class LiveView:
    meeting_id: int
    version: int
    status: str
    chair: int
    lawful: bool
    checkers: tuple[int, ...]
    speaking_seconds: int | None
    seats: tuple[SeatView, ...]
    present: tuple[int, ...]
    remote: tuple[int, ...]
    disconnected: tuple[int, ...]
    quorum: QuorumView
    items: tuple[ItemLive, ...]  # the agenda's items with their state; only the current one in detail
    current: ItemLive | None
    names: dict[int, str]
    roll_call: RollCallView | None = None  # the body only: the public sees no identification


async def live_view(session: AsyncSession, viewer: Viewer, meeting: Meeting, live: LiveMeeting) -> LiveView:
    """The meeting now, as `viewer` may see it (the caller has checked that they may follow it at all)."""
    insider = viewer.reads(meeting.body_id)
    seating = seating_of(live)
    found = await quorum_now(session, live)
    items = await _items(session, meeting)
    current = next((row for row in items if row[0].id == live.current_item_id), None)
    detail = await _current(session, viewer, live, *current, insider=insider) if current else None
    summary = tuple(_summary(item, handling, insider) for item, handling in items)
    view = LiveView(
        meeting.id,
        live.version,
        meeting.status,
        live.chaired_by,
        live.lawful_declared_at is not None,
        tuple(live.checkers),
        live.speaking_seconds,
        tuple(SeatView(s.member, s.holder, str(cover(s, seating))) for s in seating.seats),
        tuple(sorted(seating.present)),
        tuple(live.remote),
        tuple(sorted(seating.disconnected)),
        QuorumView(
            found.quorate, len(found.counted), found.needed, found.seats, tuple(g.member for g in found.gaps)
        ),
        summary,
        detail,
        {},
        _roll_call(await latest_roll_call(session, meeting.id)) if insider else None,
    )
    return _named(view, await _names(session, _people(view)))


async def _items(session: AsyncSession, meeting: Meeting) -> list[tuple[AgendaItem, ItemHandling]]:
    query = (
        select(AgendaItem, ItemHandling)
        .join(ItemHandling, ItemHandling.item_id == AgendaItem.id)
        .where(AgendaItem.meeting_id == meeting.id)
        .order_by(AgendaItem.position)
    )
    return [(item, handling) for item, handling in (await session.execute(query)).tuples()]


def _summary(item: AgendaItem, handling: ItemHandling, insider: bool) -> ItemLive:
    hidden = not insider and item.publicity == Publicity.CONFIDENTIAL
    return ItemLive(item.id, item.section, None if hidden else item.title, handling.state, hidden)


async def _current(
    session: AsyncSession,
    viewer: Viewer,
    live: LiveMeeting,
    item: AgendaItem,
    handling: ItemHandling,
    *,
    insider: bool,
) -> ItemLive:
    summary = _summary(item, handling, insider)
    if summary.closed:
        return summary
    proposals = await proposal_rows(session, item.id)
    seconded = await seconders(session, [p.id for p in proposals])
    now_speaking = await speaker(session, item.id)
    return ItemLive(
        item.id,
        item.section,
        item.title,
        handling.state,
        False,
        tuple(
            ProposalView(p.id, p.kind, p.text, p.made_by, tuple(seconded.get(p.id, ()))) for p in proposals
        ),
        await _recused(session, item.id),
        _floor(now_speaking) if now_speaking else None,
        tuple(_floor(r) for r in await floor_queue(session, live, item.id)),
        tuple([await _vote(session, viewer, v) for v in await item_votes(session, item.id)]),
        handling.decision if handling.state == HandlingState.DECIDED else None,
        handling.decided_how or None,
        await _dissenters(session, item.id),
        tuple([await _election(session, viewer, e) for e in await item_elections(session, item.id)]),
        await _statements(session, item.id),
    )


def _roll_call(found: RollCall | None) -> RollCallView | None:
    if found is None:
        return None
    marks = tuple(MarkView(m.person, str(m.outcome), m.at) for m in found.marks)
    reason = str(found.end_reason) if found.end_reason is not None else None
    return RollCallView(
        found.started_at, found.people, found.current, marks, found.ended_at, found.due_at, reason
    )


def _floor(request: FloorRequest) -> FloorView:
    return FloorView(request.id, request.user_id, request.kind, request.granted_at)


async def _vote(session: AsyncSession, viewer: Viewer, vote: Vote) -> VoteView:
    ballots = await open_ballots(session, vote.id) if vote.closed_at is None else {}
    mine = ballots.get(viewer.user_id) if viewer.user_id is not None else None
    return VoteView(
        vote.id,
        vote.step,
        vote.jaa,
        vote.ei,
        vote.closed_at is None,
        tuple(vote.entitled),
        len(ballots) if vote.closed_at is None else len(vote.entitled),
        mine,
        vote.result,
    )


async def item_elections(session: AsyncSession, item_id: int) -> list[Election]:
    query = select(Election).where(Election.item_id == item_id).order_by(Election.id)
    return list((await session.execute(query)).scalars())


async def _election(session: AsyncSession, viewer: Viewer, election: Election) -> ElectionView:
    candidates = await election_candidates(session, election.id)
    mine = await voted(session, election, viewer.user_id) if viewer.user_id is not None else None
    return ElectionView(
        election.id,
        election.title,
        election.method,
        election.secret,
        election.seats,
        election.deputies,
        tuple(CandidateView(c.id, c.name, c.list_no, c.position) for c in candidates),
        election.closed_at is None,
        tuple(election.entitled),
        await election_cast(session, election),
        mine,
        election.result,
    )


async def _statements(session: AsyncSession, item_id: int) -> tuple[StatementView, ...]:
    query = select(HeardStatement).where(HeardStatement.item_id == item_id).order_by(HeardStatement.id)
    return tuple(
        StatementView(s.id, s.name, s.title, s.summary, s.heard_at)
        for s in (await session.execute(query)).scalars()
    )


async def _recused(session: AsyncSession, item_id: int) -> tuple[int, ...]:
    query = select(Recusal.user_id).where(Recusal.item_id == item_id).order_by(Recusal.user_id)
    return tuple((await session.execute(query)).scalars())


async def _dissenters(session: AsyncSession, item_id: int) -> tuple[int, ...]:
    query = select(Dissent.user_id).where(Dissent.item_id == item_id).order_by(Dissent.at)
    return tuple((await session.execute(query)).scalars())


def _people(view: LiveView) -> set[int]:
    people = {view.chair, *view.present, *view.checkers}
    people |= set(view.roll_call.people) if view.roll_call else set()
    people |= {p for s in view.seats for p in (s.member, s.holder) if p is not None}
    if view.current is not None:
        current = view.current
        people |= {p.by for p in current.proposals if p.by} | {
            s for p in current.proposals for s in p.seconders
        }
        people |= set(current.recused) | set(current.dissents) | {r.person for r in current.queue}
        people |= {current.speaker.person} if current.speaker else set()
        people |= {p for v in current.votes for p in v.entitled}
        people |= {p for e in current.elections for p in e.entitled}
    return people


async def _names(session: AsyncSession, people: set[int]) -> dict[int, str]:
    if not people:
        return {}
    query = select(User.id, User.display_name).where(User.id.in_(people))
    return dict((await session.execute(query)).tuples().all())


def _named(view: LiveView, names: dict[int, str]) -> LiveView:
    return replace(view, names=names)


def may_follow(viewer: Viewer, meeting: Meeting) -> bool:
    """The body follows its meetings; the public only a public one (R-EMEET-5)."""
    return viewer.can(Capability.READ, meeting.body_id) or meeting.is_public


def as_json(view: LiveView) -> dict[str, Any]:
    """The snapshot as JSON (`GET /api/meetings/{id}/live`, the WebSocket's first message): the dataclasses'
    fields, times in ISO 8601 with their offset, and `names` keyed by the person's id as a string."""
    snapshot: dict[str, Any] = _jsonable(asdict(view))
    return snapshot


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    return value
