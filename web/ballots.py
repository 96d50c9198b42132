"""Ballots written together: those that arrive while one transaction commits go in the next (group commit).

When a council votes, every member's ballot comes within seconds. Written one transaction each, they queue for
the database's write lock (SQLite's, or the audit head's row on PostgreSQL) and each pays for its own begin
and commit. Here (core.desk) a ballot that finds none being written is written at once by its own request;
those that arrive meanwhile wait, and one task per process writes them together in one transaction (one
statement per vote, `do_cast_ballots`, each ballot with its own audit entry). Each request is answered only
after its transaction commits (DESIGN.md §6): an acknowledged ballot is stored. A ballot the rules refuse (a
closed vote, someone not entitled, a vote of another meeting) is refused alone; a failure of the database
fails the whole batch, and none of its ballots is acknowledged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from core.db import Database
from core.desk import Desk
from core.errors import KokousError, NotFound
from core.text import translatable
from meetings.live.actions.voting import BallotCast, do_cast_ballots, vote_for_ballots

NO_VOTE = translatable("No such vote in this meeting.")
BATCH = 500  # ballots in one transaction at most


@dataclass(frozen=True, slots=True)
class Cast:
    vote: int
    choice: str
    cast: int  # how many have voted in it, once this ballot (and those written with it) is stored
    of: int  # how many may vote in it


@dataclass(frozen=True, slots=True)
class _Waiting:
    meeting_id: int
    vote_id: int
    user_id: int
    choice: str
    actor: str


class BallotDesk:
    """One per process (web.app's state): `cast` returns once the ballot is committed, or raises."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._desk: Desk[_Waiting, Cast] = Desk(self._write, batch=BATCH)

    async def cast(self, *, meeting_id: int, vote_id: int, user_id: int, choice: str, actor: str) -> Cast:
        # The ballot is written even if this request goes away meanwhile; it is then simply not acknowledged.
        return await self._desk.submit(_Waiting(meeting_id, vote_id, user_id, choice, actor))

    async def _write(self, batch: list[_Waiting]) -> list[Cast | KokousError]:
        outcomes: dict[int, Cast | KokousError] = {}
        async with self.db.write() as session:
            for vote_id in dict.fromkeys(b.vote_id for b in batch):
                of_vote = [(n, b) for n, b in enumerate(batch) if b.vote_id == vote_id]
                outcomes |= await _vote_ballots(session, vote_id, of_vote)
        return [outcomes[n] for n in range(len(batch))]


async def _vote_ballots(
    session: AsyncSession, vote_id: int, ballots: list[tuple[int, _Waiting]]
) -> dict[int, Cast | KokousError]:
    """One vote's ballots of the batch: those sent to it through another meeting are not found."""
    found = await vote_for_ballots(session, vote_id)
    meeting = None if found is None else found[1].meeting_id
    outcomes: dict[int, Cast | KokousError] = {
        n: NotFound(NO_VOTE) for n, b in ballots if b.meeting_id != meeting
    }
    here = [(n, b) for n, b in ballots if n not in outcomes]
    if found is None or not here:
        return outcomes
    vote = found[0]
    casts = [BallotCast(b.user_id, b.choice, b.actor) for _, b in here]
    refusals, count = await do_cast_ballots(session, vote=vote, ballots=casts, locked=True)
    for (n, b), refused in zip(here, refusals, strict=True):
        outcomes[n] = refused or Cast(vote.id, b.choice, count, len(vote.entitled))
    return outcomes


def ballot_desk(state: Any, db: Database) -> BallotDesk:
    """The process's desk, made on first use (in the running event loop)."""
    desk: BallotDesk | None = getattr(state, "ballot_desk", None)
    if desk is None or desk.db is not db:
        desk = BallotDesk(db)
        state.ballot_desk = desk
    return desk
