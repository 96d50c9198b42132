"""Reading and moving a held meeting's current state under its lock: the live row, seats, proposals, votes.

Every live action starts with `live_meeting()`, which locks the meeting's row (meetings.locks) so that changes
to one meeting, and the numbers of its events, come one after another.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import InvalidTransition
from core.text import translatable
from meetings.access import parent_row
from meetings.live import seating as stored
from meetings.live.events import EventType, emit
from meetings.live.models import Ballot, Election, ItemHandling, LiveMeeting, Proposal, Seconding, Vote
from meetings.locks import lock_meeting
from meetings.models import AgendaItem, Body, BodyKind, Meeting
from meetings.rules import voting
from meetings.rules.quorum import Quorum, quorum
from meetings.rules.seats import Event, Reseating, Roster, Seating, reseat

NOT_OPEN = translatable("The meeting has not been opened.")
NOT_CURRENT = translatable("This item is not being handled now.")
ELECTION_OPEN = translatable("An election is open in this item: the chair closes it first.")

# The refusal of every live action outside a held meeting (the lifecycle's PROCEED).
NOT_HELD = translatable("The meeting is not being held.")


async def live_meeting(session: AsyncSession, meeting: Meeting) -> LiveMeeting:
    """The opened meeting's live row, with the meeting locked and read afresh."""
    await lock_meeting(session, meeting)
    live = await session.get(LiveMeeting, meeting.id, populate_existing=True)
    if live is None:
        raise InvalidTransition(NOT_OPEN)
    return live


def seating_of(live: LiveMeeting) -> Seating:
    return stored.load(live.seating)


async def move_seats(
    session: AsyncSession, live: LiveMeeting, roster: Roster, event: Event, *, actor: str
) -> Reseating:
    """Apply one attendance fact to the seats (R-DEP-1/2/3) and record every seat that changed hands."""
    moved = reseat(roster, seating_of(live), event)
    live.seating = stored.dump(moved.seating)
    if moved.changes:
        changes = [
            {"member": c.member, "left": c.left, "took": c.took, "cover": str(c.cover)} for c in moved.changes
        ]
        await emit(session, live, EventType.SEATS_CHANGED, {"changes": changes}, actor=actor)
    return moved


async def quorum_now(session: AsyncSession, live: LiveMeeting) -> Quorum:
    meeting = await parent_row(session, Meeting, live.meeting_id)
    body = await parent_row(session, Body, meeting.body_id)
    return quorum(BodyKind(body.kind), body.seats, seating_of(live))


def quorum_facts(found: Quorum) -> dict[str, Any]:
    """What the log keeps of a quorum: enough to show why it was (not) there (R-QUORUM-1, R-MIN-2)."""
    return {
        "quorate": found.quorate,
        "counted": sorted(found.counted),
        "needed": found.needed,
        "seats": found.seats,
        "gaps": [{"member": g.member, "person": g.person, "gap": str(g.gap)} for g in found.gaps],
    }


async def current_item(
    session: AsyncSession, live: LiveMeeting, item_id: int
) -> tuple[AgendaItem, ItemHandling]:
    """The item under way, which must be `item_id`: a stale page acts on nothing else."""
    if live.current_item_id != item_id:
        raise InvalidTransition(NOT_CURRENT)
    item = await parent_row(session, AgendaItem, item_id)
    handling = await session.get(ItemHandling, item_id, populate_existing=True)
    if handling is None:
        raise InvalidTransition(NOT_CURRENT)
    return item, handling


async def proposal_rows(session: AsyncSession, item_id: int) -> list[Proposal]:
    query = (
        select(Proposal)
        .where(Proposal.item_id == item_id, Proposal.withdrawn_at.is_(None))
        .order_by(Proposal.made_at, Proposal.id)
    )
    return list((await session.execute(query)).scalars())


async def seconders(session: AsyncSession, proposal_ids: list[int]) -> dict[int, list[int]]:
    query = select(Seconding.proposal_id, Seconding.user_id).where(Seconding.proposal_id.in_(proposal_ids))
    found: dict[int, list[int]] = {}
    for proposal_id, user_id in (await session.execute(query)).tuples():
        found.setdefault(proposal_id, []).append(user_id)
    return found


async def rule_proposals(session: AsyncSession, item_id: int) -> list[voting.Proposal]:
    """The item's proposals on the table as the voting rules see them, in order of submission."""
    rows = await proposal_rows(session, item_id)
    seconded = await seconders(session, [p.id for p in rows])
    return [
        voting.Proposal(p.id, voting.ProposalKind(p.kind), bool(seconded.get(p.id)), p.made_by) for p in rows
    ]


async def item_votes(session: AsyncSession, item_id: int) -> list[Vote]:
    query = select(Vote).where(Vote.item_id == item_id).order_by(Vote.step)
    return list((await session.execute(query)).scalars())


def counted_votes(votes: list[Vote]) -> list[Vote]:
    """The closed votes that count: a tie nobody could break is taken again, so it does not (R-VOTE-2)."""
    return [v for v in votes if v.result is not None and not v.result.get("void")]


def ballots_of(vote: Vote) -> Mapping[int, voting.Choice]:
    choices: dict[str, str] = (vote.result or {}).get("choices", {})  # type: ignore[assignment]
    return {int(person): voting.Choice(choice) for person, choice in choices.items()}


async def progress(session: AsyncSession, handling: ItemHandling, chair: int) -> voting.Progress:
    """How far the approved voting order has got (R-VOTE-4): the votes taken and the next pairing."""
    proposals = await rule_proposals(session, handling.item_id)
    taken = counted_votes(await item_votes(session, handling.item_id))
    return voting.run_order(proposals, handling.order, [ballots_of(v) for v in taken], chair=chair)


async def open_ballots(session: AsyncSession, vote_id: int) -> dict[int, str]:
    query = select(Ballot.user_id, Ballot.choice).where(Ballot.vote_id == vote_id)
    return dict((await session.execute(query)).tuples().all())


async def refuse_open_election(session: AsyncSession, item_id: int) -> None:
    """Nothing else moves an item on while an election in it is open (R-ELECT-*)."""
    query = select(Election.id).where(Election.item_id == item_id, Election.closed_at.is_(None)).limit(1)
    if (await session.execute(query)).first() is not None:
        raise InvalidTransition(ELECTION_OPEN)
