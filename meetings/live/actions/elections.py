"""Elections on the item under way (R-ELECT-1…8): the chair opens one with the nominated candidates, members
vote, the chair closes it and the rules give the result, ties by a lot drawn from a seed fixed at the opening.

A secret ballot is never linkable to its voter (R-ELECT-8): who has voted is kept apart from the count,
which is a tally per option created at zero when the election opens and only ever incremented, with no time,
order or id that follows the ballots. docs/live.md says what this proves and what it does not.
"""

from __future__ import annotations

import hashlib
import secrets
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
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
from meetings.live.events import VOTE_PROGRESS, EventType, emit
from meetings.live.models import (
    Election,
    ElectionCandidate,
    ElectionChoice,
    ElectionTally,
    ElectionVoter,
    HandlingState,
    Vote,
)
from meetings.live.state import NOT_HELD, current_item, live_meeting, quorum_now
from meetings.models import AgendaItem, Meeting
from meetings.rules import elections as rules

NOT_HANDLING = translatable("An election is held while the item is being handled, before its decision.")
BUSY = translatable("A vote or an election is already open in this item: close it first.")
NO_QUORUM = translatable(
    "No election without quorum: {counted} of {seats} seats count, {needed} are needed (R-QUORUM-3)."
)
SEATS = translatable("Elect between 1 and {max} persons.")
DEPUTIES = translatable("Elect between 0 and {max} deputies.")
TITLE = translatable("Say what the election is for, in at most 200 characters.")
NAME = translatable("Give each candidate's name, in at most 200 characters.")
CANDIDATES = translatable("Nominate between 1 and {max} candidates.")
SAME_NAME = translatable("{name} is nominated twice.")
NO_LIST = translatable("In a proportional election every candidate stands on a numbered list (R-ELECT-5).")
NOMINATOR = translatable("Candidates are nominated by the members who hold a seat in the meeting.")
CLOSED = translatable("This election has been closed.")
NOT_ENTITLED = translatable("You do not vote in this election: only those who held a seat when it opened do.")
FINAL = translatable(
    "You have already cast your secret ballot: it is final and cannot be changed (R-ELECT-8)."
)
ONE_LIST = translatable("A ballot in a proportional election names one list, or none for a blank ballot.")
BLANK = 0  # the tally option of a blank ballot


@dataclass(frozen=True, slots=True)
class Nomination:
    name: str
    nominated_by: int | None = None  # the member who nominated; no seconding is needed
    list_no: int | None = None  # proportional elections: the list, candidates in the list's order


async def do_open_election(
    session: AsyncSession,
    *,
    meeting: Meeting,
    item: AgendaItem,
    title: str,
    method: rules.Method,
    secret: bool,
    seats: int,
    deputies: int,
    candidates: Sequence[Nomination],
    actor: str,
) -> Election:
    """Open an election on the item under way, only with quorum; who votes is frozen now (the seat holders
    who count). A proportional election is always by secret ballot (R-ELECT-4). The lot's seed is drawn now
    and only its SHA-256 audited until the close reveals it. Audit: election.opened. Not idempotent."""
    live = await live_meeting(session, meeting)
    lifecycle.require(meeting.status, Operation.PROCEED, NOT_HELD)
    _, handling = await current_item(session, live, item.id)
    if handling.state not in (HandlingState.DISCUSSION, HandlingState.VOTING):
        raise InvalidTransition(NOT_HANDLING)
    if await _busy(session, item.id):
        raise InvalidTransition(BUSY)
    found = await quorum_now(session, live)
    _check_nominations(title, method, seats, deputies, candidates, found.counted)
    if not found.quorate:
        raise Conflict(NO_QUORUM, counted=len(found.counted), seats=found.seats, needed=found.needed)
    secret = secret or method == rules.Method.PROPORTIONAL
    election = Election(
        item_id=item.id,
        title=title.strip(),
        method=method,
        secret=secret,
        seats=seats,
        deputies=deputies,
        seed=secrets.token_hex(16),
        opened_at=session_clock(session)(),
        entitled=sorted(found.counted),
    )
    session.add(election)
    await session.flush()
    rows = _candidates(election, method, candidates)
    session.add_all(rows)
    await session.flush()
    if secret:
        session.add_all(ElectionTally(election_id=election.id, option=o, count=0) for o in _options(rows))
    await emit(session, live, EventType.ELECTION_OPENED, _opened(election, rows), actor=actor)
    await record(
        session,
        AuditAction.ELECTION_OPENED,
        actor=actor,
        subject=f"election:{election.id}",
        data={
            "item": f"item:{item.id}",
            "method": str(method),
            "secret": secret,
            "seats": seats,
            "deputies": deputies,
            "candidates": [c.name for c in rows],
            "entitled": len(election.entitled),
            "seed_sha256": hashlib.sha256(election.seed.encode()).hexdigest(),
        },
    )
    return election


def _check_nominations(
    title: str,
    method: rules.Method,
    seats: int,
    deputies: int,
    candidates: Sequence[Nomination],
    members: frozenset[int],
) -> None:
    if not 0 < len(title.strip()) <= 200:
        raise ValidationFailed(TITLE, field="title")
    if not 1 <= seats <= rules.MAX_SEATS:
        raise ValidationFailed(SEATS, field="seats", max=rules.MAX_SEATS)
    if not 0 <= deputies <= rules.MAX_SEATS:
        raise ValidationFailed(DEPUTIES, field="deputies", max=rules.MAX_SEATS)
    if not 1 <= len(candidates) <= rules.MAX_CANDIDATES:
        raise ValidationFailed(CANDIDATES, field="candidates", max=rules.MAX_CANDIDATES)
    names = [c.name.strip() for c in candidates]
    if any(not 0 < len(n) <= 200 for n in names):
        raise ValidationFailed(NAME, field="candidates")
    twice = next((n for n, k in Counter(n.casefold() for n in names).items() if k > 1), None)
    if twice is not None:
        raise ValidationFailed(SAME_NAME, field="candidates", name=twice)
    if method == rules.Method.PROPORTIONAL and any(
        c.list_no is None or not 1 <= c.list_no <= rules.MAX_CANDIDATES for c in candidates
    ):
        raise ValidationFailed(NO_LIST, field="candidates")
    if any(c.nominated_by is not None and c.nominated_by not in members for c in candidates):
        raise ValidationFailed(NOMINATOR, field="candidates")


def _candidates(
    election: Election, method: rules.Method, nominations: Sequence[Nomination]
) -> list[ElectionCandidate]:
    positions: Counter[int] = Counter()
    rows = []
    for n in nominations:
        list_no = n.list_no if method == rules.Method.PROPORTIONAL else None
        if list_no is not None:
            positions[list_no] += 1
        rows.append(
            ElectionCandidate(
                election_id=election.id,
                name=n.name.strip(),
                list_no=list_no,
                position=positions[list_no] if list_no is not None else 0,
                nominated_by=n.nominated_by,
            )
        )
    return rows


def _options(candidates: Sequence[ElectionCandidate]) -> list[int]:
    """What a ballot may name: candidates, or in a proportional election lists; and blank."""
    lists = {c.list_no for c in candidates if c.list_no is not None}
    return [BLANK, *(sorted(lists) if lists else [c.id for c in candidates])]


def _opened(election: Election, candidates: Sequence[ElectionCandidate]) -> dict[str, Any]:
    return {
        "election": election.id,
        "title": election.title,
        "method": election.method,
        "secret": election.secret,
        "seats": election.seats,
        "deputies": election.deputies,
        "candidates": [
            {"id": c.id, "name": c.name, "list": c.list_no, "position": c.position, "by": c.nominated_by}
            for c in candidates
        ],
        "entitled": len(election.entitled),
    }


async def _busy(session: AsyncSession, item_id: int) -> bool:
    votes = select(Vote.id).where(Vote.item_id == item_id, Vote.closed_at.is_(None))
    elections = select(Election.id).where(Election.item_id == item_id, Election.closed_at.is_(None))
    return (await session.execute(votes.union_all(elections).limit(1))).first() is not None


async def election_candidates(session: AsyncSession, election_id: int) -> list[ElectionCandidate]:
    query = select(ElectionCandidate).where(ElectionCandidate.election_id == election_id)
    return list((await session.execute(query.order_by(ElectionCandidate.id))).scalars())


async def do_cast_election_ballot(
    session: AsyncSession, *, election: Election, user_id: int, choice: Sequence[int], actor: str
) -> int:
    """Cast one's ballot: candidate ids (at most as many as seats, R-ELECT-6), or in a proportional election
    one list number; none is a blank ballot. An open election's ballot is public and can be changed until
    the close (audit names the choice); a secret one is final and counted at once into the tally, and its
    audit entry names only the voter (R-ELECT-8). Audit: election.ballot_cast. Returns how many have voted."""
    await session.refresh(election, with_for_update={"read": True})
    if election.closed_at is not None:
        raise InvalidTransition(CLOSED)
    if user_id not in election.entitled:
        raise Forbidden(NOT_ENTITLED)
    candidates = await election_candidates(session, election.id)
    _check_ballot(election, candidates, choice)
    if election.secret:
        await _cast_secret(session, election, user_id, choice)
        data: dict[str, Any] = {}
    else:
        await session.execute(
            _upsert_choice(session, election.id, user_id, list(choice), session_clock(session)())
        )
        data = {"choice": sorted(choice)}
    await record(
        session, AuditAction.ELECTION_BALLOT_CAST, actor=actor, subject=f"election:{election.id}", data=data
    )
    count = await _cast_count(session, election)
    item = await parent_row(session, AgendaItem, election.item_id)
    progress = {
        "meeting": item.meeting_id,
        "election": election.id,
        "cast": count,
        "of": len(election.entitled),
    }
    signal(session, VOTE_PROGRESS, progress)  # a hint after the commit: how many, never who or how
    return count


def _check_ballot(election: Election, candidates: Sequence[ElectionCandidate], choice: Sequence[int]) -> None:
    if election.method == rules.Method.PROPORTIONAL:
        lists = {c.list_no for c in candidates}
        if len(choice) > 1 or not set(choice) <= lists:
            raise ValidationFailed(ONE_LIST, field="choice")
        return
    problems = rules.ballot_problems(choice, [rules.Candidate(c.id) for c in candidates], election.seats)
    if problems:
        raise ValidationFailed(problems[0].template, field="choice", **problems[0].params)


async def _cast_secret(
    session: AsyncSession, election: Election, user_id: int, choice: Sequence[int]
) -> None:
    """Mark the voter and count the ballot in one transaction, in two tables that share nothing but the
    election: the voter row has no time, the tally no voter."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    marked = await session.execute(
        dialect.insert(ElectionVoter)
        .values(election_id=election.id, user_id=user_id)
        .on_conflict_do_nothing(index_elements=[ElectionVoter.election_id, ElectionVoter.user_id])
        .returning(ElectionVoter.user_id)
    )
    if marked.first() is None:
        raise Conflict(FINAL)
    await session.execute(
        update(ElectionTally)
        .where(ElectionTally.election_id == election.id, ElectionTally.option.in_(list(choice) or [BLANK]))
        .values(count=ElectionTally.count + 1)
    )


def _upsert_choice(session: AsyncSession, election_id: int, user_id: int, choice: list[int], now: object):  # type: ignore[no-untyped-def]
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(ElectionChoice).values(
        election_id=election_id, user_id=user_id, choice=choice, cast_at=now
    )
    return statement.on_conflict_do_update(
        index_elements=[ElectionChoice.election_id, ElectionChoice.user_id],
        set_={"choice": statement.excluded.choice, "cast_at": statement.excluded.cast_at},
    )


async def _cast_count(session: AsyncSession, election: Election) -> int:
    table = ElectionVoter if election.secret else ElectionChoice
    query = select(func.count()).select_from(table).where(table.election_id == election.id)
    return int((await session.execute(query)).scalar_one())


async def election_cast(session: AsyncSession, election: Election) -> int:
    """How many have voted so far (never how)."""
    return await _cast_count(session, election)


async def voted(session: AsyncSession, election: Election, user_id: int) -> list[int] | bool:
    """The viewer's own open ballot, or for a secret election only whether they have voted."""
    if election.secret:
        return await session.get(ElectionVoter, (election.id, user_id)) is not None
    row = await session.get(ElectionChoice, (election.id, user_id))
    return False if row is None else list(row.choice)


async def do_close_election(
    session: AsyncSession, *, meeting: Meeting, election: Election, actor: str
) -> None:
    """Close the election and freeze its result: counts, the ranking with comparison numbers, who is elected
    and who is a deputy, the ties the lot decided and the seed it was drawn from (R-ELECT-1…5); an open
    election also keeps each member's ballot. Audit: election.closed (with the seed). Not idempotent."""
    live = await live_meeting(session, meeting)
    await session.refresh(election, with_for_update=True)
    if election.closed_at is not None:
        raise InvalidTransition(CLOSED)
    candidates = await election_candidates(session, election.id)
    counts, cast, choices = await _counts(session, election)
    outcome = _outcome(election, candidates, counts)
    names = {c.id: c.name for c in candidates}
    election.closed_at = session_clock(session)()
    election.result = {
        "cast": cast,
        "blank": counts.get(BLANK, 0),
        "counts": {str(option): n for option, n in sorted(counts.items()) if option != BLANK},
        "ranking": [
            {
                "candidate": r.candidate,
                "name": names[r.candidate],
                "votes": r.votes,
                "comparison": None if r.comparison is None else _fraction(r.comparison),
                "place": str(r.place),
            }
            for r in outcome.ranking
        ],
        "elected": list(outcome.elected),
        "deputies": list(outcome.deputies),
        "by_lot": [list(group) for group in outcome.by_lot],
        "seed": election.seed,
        **({"choices": choices} if not election.secret else {}),
    }
    await emit(
        session, live, EventType.ELECTION_CLOSED, {"election": election.id, **election.result}, actor=actor
    )
    await record(
        session,
        AuditAction.ELECTION_CLOSED,
        actor=actor,
        subject=f"election:{election.id}",
        data={k: v for k, v in election.result.items() if k not in ("choices", "ranking")},
    )


def _fraction(value: Any) -> str:
    return str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"


async def _counts(
    session: AsyncSession, election: Election
) -> tuple[dict[int, int], int, dict[str, list[int]]]:
    """Votes per option, how many ballots, and (open elections only) each member's ballot."""
    if election.secret:
        query = select(ElectionTally.option, ElectionTally.count).where(
            ElectionTally.election_id == election.id
        )
        counts = dict((await session.execute(query)).tuples().all())
        return counts, await _cast_count(session, election), {}
    rows = select(ElectionChoice.user_id, ElectionChoice.choice).where(
        ElectionChoice.election_id == election.id
    )
    ballots = {user: list(choice) for user, choice in (await session.execute(rows)).tuples()}
    counts = Counter(option for choice in ballots.values() for option in (choice or [BLANK]))
    return dict(counts), len(ballots), {str(user): choice for user, choice in sorted(ballots.items())}


def _outcome(
    election: Election, candidates: Sequence[ElectionCandidate], counts: dict[int, int]
) -> rules.Outcome:
    pure = [rules.Candidate(c.id, c.list_no, c.position) for c in candidates]
    if election.method == rules.Method.PROPORTIONAL:
        return rules.proportional_result(
            pure, counts, seats=election.seats, deputies=election.deputies, seed=election.seed
        )
    return rules.majority_result(
        pure, counts, seats=election.seats, deputies=election.deputies, seed=election.seed
    )
