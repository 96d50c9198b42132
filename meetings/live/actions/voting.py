"""Open votes, one pairing of the approved voting order at a time: opened with quorum, a ballot per seat
holder that can be changed until the close, and the result frozen when the chair closes it (R-VOTE-1/2/3,
R-QUORUM-3). The last vote of the order makes the decision (R-VOTE-4/5, R-PROP-4)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from audit.actions import record
from audit.models import AuditAction
from core.db import session_clock, signal
from core.errors import Conflict, Forbidden, InvalidTransition, ValidationFailed
from core.text import translatable
from meetings import lifecycle
from meetings.access import parent_row
from meetings.lifecycle import Operation
from meetings.live.actions.items import settle
from meetings.live.events import VOTE_PROGRESS, EventType, emit
from meetings.live.models import Ballot, HandlingState, ItemHandling, LiveMeeting, Vote
from meetings.live.state import (
    current_item,
    item_votes,
    live_meeting,
    open_ballots,
    progress,
    quorum_facts,
    quorum_now,
    rule_proposals,
)
from meetings.models import AgendaItem, Meeting
from meetings.rules import voting

NOT_HELD = translatable("The meeting is not being held.")
NO_ORDER = translatable("The body has not approved a voting order for this item.")
VOTE_OPEN = translatable("A vote is already open.")
NO_MORE = translatable("The voting order has no vote left to take.")
NO_QUORUM = translatable(
    "No vote without quorum: {counted} of {seats} seats count, {needed} are needed (R-QUORUM-3)."
)
CLOSED = translatable("This vote has been closed.")
NOT_ENTITLED = translatable("You do not vote in this vote: only those who held a seat when it opened do.")
CHOICE = translatable("Vote JAA, EI or TYHJÄ.")


async def do_open_vote(session: AsyncSession, *, meeting: Meeting, item: AgendaItem, actor: str) -> Vote:
    """Open the next vote of the approved order, only with quorum (R-QUORUM-3). Who may vote is frozen now:
    the seat holders who count (present, connected, not disqualified). Audit: vote.opened. Not idempotent."""
    live = await live_meeting(session, meeting)
    lifecycle.require(meeting.status, Operation.PROCEED, NOT_HELD)
    _, handling = await current_item(session, live, item.id)
    if handling.state != HandlingState.VOTING or handling.order_approved_at is None:
        raise InvalidTransition(NO_ORDER)
    taken = await item_votes(session, item.id)
    if any(v.closed_at is None for v in taken):
        raise InvalidTransition(VOTE_OPEN)
    pairing = (await progress(session, handling, live.chaired_by)).next
    if pairing is None:
        raise InvalidTransition(NO_MORE)
    found = await quorum_now(session, live)
    if not found.quorate:
        raise Conflict(NO_QUORUM, counted=len(found.counted), seats=found.seats, needed=found.needed)
    vote = Vote(
        item_id=item.id,
        step=len(taken) + 1,
        jaa=str(pairing.jaa),
        ei=str(pairing.ei),
        opened_at=session_clock(session)(),
        entitled=sorted(found.counted),
        chair_id=live.chaired_by,
    )
    session.add(vote)
    await session.flush()
    data = {"vote": vote.id, "step": vote.step, "jaa": vote.jaa, "ei": vote.ei, "quorum": quorum_facts(found)}
    await emit(session, live, EventType.VOTE_OPENED, data, actor=actor)
    await record(
        session,
        AuditAction.VOTE_OPENED,
        actor=actor,
        subject=f"vote:{vote.id}",
        data={"item": f"item:{item.id}", "entitled": len(vote.entitled)},
    )
    return vote


async def do_cast_ballot(session: AsyncSession, *, vote: Vote, user_id: int, choice: str, actor: str) -> int:
    """Cast or change one's ballot while the vote is open: one per person, never two, even when two requests
    race (an upsert on the ballot's key). Acknowledged only once committed (DESIGN.md §6). Open votes are
    public (R-VOTE-3), so the audit entry names the choice. Audit: ballot.cast. Idempotent for the same
    choice. Returns how many have voted."""
    await session.refresh(vote, with_for_update={"read": True})
    if vote.closed_at is not None:
        raise InvalidTransition(CLOSED)
    if user_id not in vote.entitled:
        raise Forbidden(NOT_ENTITLED)
    if choice not in (voting.Choice.JAA, voting.Choice.EI, voting.Choice.TYHJA):
        raise ValidationFailed(CHOICE, field="choice")
    now = session_clock(session)()
    await session.execute(_upsert(session, vote.id, user_id, choice, now))
    cast = int((await session.execute(select(func.count()).where(Ballot.vote_id == vote.id))).scalar_one())
    await record(
        session, AuditAction.BALLOT_CAST, actor=actor, subject=f"vote:{vote.id}", data={"choice": choice}
    )
    item = await parent_row(session, AgendaItem, vote.item_id)
    signal(
        session,
        VOTE_PROGRESS,
        {"meeting": item.meeting_id, "vote": vote.id, "cast": cast, "of": len(vote.entitled)},
    )
    return cast


def _upsert(session: AsyncSession, vote_id: int, user_id: int, choice: str, now: object):  # type: ignore[no-untyped-def]
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(Ballot).values(vote_id=vote_id, user_id=user_id, choice=choice, cast_at=now)
    return statement.on_conflict_do_update(
        index_elements=[Ballot.vote_id, Ballot.user_id], set_={"choice": choice, "changed_at": now}
    )


async def do_close_vote(session: AsyncSession, *, meeting: Meeting, vote: Vote, actor: str) -> None:
    """Close the vote: whoever did not vote is POISSA; the count and every member's choice are frozen
    (R-VOTE-3); a tie goes to the side the chair voted for (R-VOTE-2), and a tie the chair did not break is
    void and taken again. When the order is done the decision is recorded. Audit: vote.closed."""
    live = await live_meeting(session, meeting)
    await session.refresh(vote, with_for_update=True)
    if vote.closed_at is not None:
        raise InvalidTransition(CLOSED)
    _, handling = await current_item(session, live, vote.item_id)
    cast = await open_ballots(session, vote.id)
    choices = {p: voting.Choice(cast.get(p, voting.Choice.POISSA)) for p in vote.entitled}
    tally = voting.tally(choices, vote.chair_id)
    vote.closed_at = session_clock(session)()
    vote.result = {
        "choices": {str(p): str(c) for p, c in choices.items()},
        "jaa": tally.jaa,
        "ei": tally.ei,
        "tyhja": tally.tyhja,
        "poissa": tally.poissa,
        "winner": None if tally.winner is None else str(tally.winner),
        "by_chair": tally.by_chair,
        "void": tally.winner is None,
    }
    await emit(session, live, EventType.VOTE_CLOSED, {"vote": vote.id, **vote.result}, actor=actor)
    await record(
        session,
        AuditAction.VOTE_CLOSED,
        actor=actor,
        subject=f"vote:{vote.id}",
        data={k: v for k, v in vote.result.items() if k != "choices"},
    )
    await _decide_when_done(session, live, handling, actor)


async def _decide_when_done(
    session: AsyncSession, live: LiveMeeting, handling: ItemHandling, actor: str
) -> None:
    done = await progress(session, handling, live.chaired_by)
    if not done.finished or done.decision is None:
        return
    kinds = {p.id: p.kind for p in await rule_proposals(session, handling.item_id)}
    outcomes = {voting.ProposalKind.TABLING: "tabled", voting.ProposalKind.RETURN: "returned"}
    how = outcomes.get(kinds[done.decision], "vote")
    await settle(session, live, handling, done.decision, how, actor=actor, ponnet=done.adopted_ponnet)
