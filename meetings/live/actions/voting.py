"""Open votes, one pairing of the approved voting order at a time: opened with quorum, a ballot per seat
holder that can be changed until the close, and the result frozen when the chair closes it (R-VOTE-1/2/3,
R-QUORUM-3). The last vote of the order makes the decision (R-VOTE-4/5, R-PROP-4)."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Insert, Table, bindparam, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.base import ReadOnlyColumnCollection
from sqlalchemy.sql.elements import KeyedColumnElement

from audit.actions import record
from audit.models import AuditAction
from core.db import session_clock, signal
from core.errors import Conflict, Forbidden, InvalidTransition, KokousError, ValidationFailed
from core.text import translatable
from meetings import lifecycle
from meetings.access import parent_row
from meetings.lifecycle import Operation
from meetings.live.actions.items import settle
from meetings.live.events import VOTE_PROGRESS, EventType, emit
from meetings.live.models import Ballot, HandlingState, ItemHandling, LiveMeeting, Vote
from meetings.live.state import (
    NOT_HELD,
    current_item,
    item_votes,
    live_meeting,
    open_ballots,
    progress,
    quorum_facts,
    quorum_now,
    refuse_open_election,
    rule_proposals,
)
from meetings.models import AgendaItem, Meeting
from meetings.rules import voting

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
    await refuse_open_election(session, item.id)
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


def _refusal(vote: Vote, user_id: int, choice: str) -> KokousError | None:
    """Why this ballot cannot be cast now, or None (the vote read afresh and locked by the caller)."""
    if vote.closed_at is not None:
        return InvalidTransition(CLOSED)
    if user_id not in vote.entitled:
        return Forbidden(NOT_ENTITLED)
    if choice not in (voting.Choice.JAA, voting.Choice.EI, voting.Choice.TYHJA):
        return ValidationFailed(CHOICE, field="choice")
    return None


async def do_cast_ballot(session: AsyncSession, *, vote: Vote, user_id: int, choice: str, actor: str) -> int:
    """Cast or change one's ballot while the vote is open: one per person, never two, even when two requests
    race (an upsert on the ballot's key). Acknowledged only once committed (DESIGN.md §6). Open votes are
    public (R-VOTE-3), so the audit entry names the choice. Audit: ballot.cast. Idempotent for the same
    choice. Returns how many have voted."""
    await session.refresh(vote, with_for_update={"read": True})
    refused = _refusal(vote, user_id, choice)
    if refused is not None:
        raise refused
    await _upsert(session, vote.id, {user_id: choice})
    return await _recorded(session, vote, [BallotCast(user_id, choice, actor)])


@dataclass(frozen=True, slots=True)
class BallotCast:
    user_id: int
    choice: str
    actor: str


# The ballots' statements, built once (a vote storm runs them for every batch): constructing a statement and
# its cache key costs more CPU than the database's work on it.
_VOTE_FOR_BALLOTS = (
    select(Vote, AgendaItem)
    .join(AgendaItem, AgendaItem.id == Vote.item_id)
    .where(Vote.id == bindparam("vote_id"))
    .with_for_update(read=True, of=Vote)
    .execution_options(populate_existing=True)
)
_COUNT = select(func.count()).where(Ballot.__table__.c.vote_id == bindparam("vote_id"))


async def vote_for_ballots(session: AsyncSession, vote_id: int) -> tuple[Vote, AgendaItem] | None:
    """The vote read afresh and locked against its close for this transaction's ballots (FOR SHARE), with
    its item, in one statement: what `do_cast_ballots(locked=True)` expects."""
    found = (await session.execute(_VOTE_FOR_BALLOTS, {"vote_id": vote_id})).first()
    return None if found is None else (found[0], found[1])


async def do_cast_ballots(
    session: AsyncSession, *, vote: Vote, ballots: Sequence[BallotCast], locked: bool = False
) -> tuple[list[KokousError | None], int]:
    """Several ballots of one vote that arrived together, in one statement (web.ballots writes them so):
    each is checked and recorded exactly as `do_cast_ballot` would, in the order they came, so a person's
    later ballot in the batch changes their earlier one. `locked`: the caller read the vote with
    `vote_for_ballots` in this transaction. Audit: ballot.cast for each ballot cast. Returns each ballot's
    refusal (None: cast) and how many have voted."""
    if not locked:
        await session.refresh(vote, with_for_update={"read": True})
    refusals = [_refusal(vote, b.user_id, b.choice) for b in ballots]
    cast = [b for b, refused in zip(ballots, refusals, strict=True) if refused is None]
    if not cast:
        return refusals, await _count(session, vote)
    await _upsert(session, vote.id, {b.user_id: b.choice for b in cast})
    return refusals, await _recorded(session, vote, cast)


async def _count(session: AsyncSession, vote: Vote) -> int:
    return int((await session.execute(_COUNT, {"vote_id": vote.id})).scalar_one())


async def _recorded(session: AsyncSession, vote: Vote, cast: Sequence[BallotCast]) -> int:
    """The audit entries of the ballots cast and the progress hint; returns how many have voted."""
    count = await _count(session, vote)
    for ballot in cast:
        await record(
            session,
            AuditAction.BALLOT_CAST,
            actor=ballot.actor,
            subject=f"vote:{vote.id}",
            data={"choice": ballot.choice},
        )
    item = await parent_row(session, AgendaItem, vote.item_id)
    signal(
        session,
        VOTE_PROGRESS,
        {"meeting": item.meeting_id, "vote": vote.id, "cast": count, "of": len(vote.entitled)},
    )
    return count


async def _upsert(session: AsyncSession, vote_id: int, choices: dict[int, str]) -> None:
    """Insert each person's ballot, or change it: one row per person and vote, whatever races. One statement
    of one shape however many ballots (executed for each row in one round trip), prepared once."""
    now = session_clock(session)()
    rows = [{"vote_id": vote_id, "user_id": u, "choice": c, "cast_at": now} for u, c in choices.items()]
    await session.execute(_upsert_statement(session.get_bind().dialect.name), rows)


@functools.cache
def _upsert_statement(dialect_name: str) -> Insert:
    table = cast(Table, Ballot.__table__)
    keys = [table.c.vote_id, table.c.user_id]
    if dialect_name == "postgresql":
        on_pg = postgresql.insert(table)
        return on_pg.on_conflict_do_update(index_elements=keys, set_=_changed(on_pg.excluded))
    on_sqlite = sqlite.insert(table)
    return on_sqlite.on_conflict_do_update(index_elements=keys, set_=_changed(on_sqlite.excluded))


def _changed(excluded: ReadOnlyColumnCollection[str, KeyedColumnElement[Any]]) -> dict[str, Any]:
    return {"choice": excluded.choice, "changed_at": excluded.cast_at}


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
