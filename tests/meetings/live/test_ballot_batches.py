"""Ballots arriving together are cast in one statement (web.ballots): each checked and recorded as alone."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import event, select

from audit.models import AuditAction
from core.clock import FixedClock
from core.errors import Forbidden, InvalidTransition, NotFound, ValidationFailed
from meetings.live.actions.attendance import do_record_arrival
from meetings.live.actions.items import do_approve_order, do_close_discussion, do_take_up_item
from meetings.live.actions.proposals import do_make_proposal, do_second_proposal
from meetings.live.actions.voting import BallotCast, do_cast_ballots, do_close_vote, do_open_vote
from meetings.live.models import Ballot, Vote
from tests.factories import audit_entries
from tests.meetings.live.world import Board, base_proposal, hold, item_of, make_board, meeting_of
from web.ballots import BallotDesk
from web.context import AppContext


@pytest.fixture
async def vote_id(context: AppContext, clock: FixedClock) -> tuple[Board, int]:
    board = await make_board(context, clock)
    await hold(context, clock, board)
    m1, m2, m3 = board.members[:3]
    async with context.db.write() as session:
        meeting, item = await meeting_of(session, board), await item_of(session, board.items[0])
        for person in (m1, m2, m3):
            await do_record_arrival(session, meeting=meeting, user_id=person, remote=False, actor="user:s")
        await do_take_up_item(session, meeting=meeting, item=item, actor="user:c")
        counter = await do_make_proposal(
            session, meeting=meeting, item=item, user_id=m2, kind="counter", text="Ei.", actor="user:m2"
        )
        await do_second_proposal(session, meeting=meeting, proposal=counter, user_id=m3, actor="user:m3")
        await do_close_discussion(session, meeting=meeting, item=item, actor="user:c")
    base = await base_proposal(context, board.items[0])
    async with context.db.write() as session:
        meeting, item = await meeting_of(session, board), await item_of(session, board.items[0])
        await do_approve_order(
            session, meeting=meeting, item=item, order=[counter.id, base.id], actor="user:c"
        )
        vote = await do_open_vote(session, meeting=meeting, item=item, actor="user:c")
    return board, vote.id


async def test_a_batch_casts_each_ballot_as_if_alone(
    context: AppContext, clock: FixedClock, vote_id: tuple[Board, int]
) -> None:
    board, vid = vote_id
    m1, m2, m3, m4 = board.members[:4]
    batch = [
        BallotCast(m1, "jaa", "user:m1"),
        BallotCast(m2, "jaa", "user:m2"),
        BallotCast(m4, "ei", "user:m4"),  # absent when the vote opened: not entitled
        BallotCast(m3, "maybe", "user:m3"),  # no such choice
        BallotCast(m2, "ei", "user:m2"),  # m2 changes their ballot: the later one counts, one row
    ]
    clock.advance(seconds=5)
    async with context.db.write() as session:
        vote = await session.get(Vote, vid)
        assert vote is not None
        refusals, cast = await do_cast_ballots(session, vote=vote, ballots=batch)
    assert [type(r) for r in refusals] == [type(None), type(None), Forbidden, ValidationFailed, type(None)]
    assert cast == 2
    async with context.db.read() as session:
        rows = dict((await session.execute(select(Ballot.user_id, Ballot.choice))).tuples().all())
    assert rows == {m1: "jaa", m2: "ei"}
    entries = await audit_entries(context, str(AuditAction.BALLOT_CAST))
    assert [(e.actor, e.data) for e in entries] == [
        ("user:m1", '{"choice":"jaa"}'),
        ("user:m2", '{"choice":"jaa"}'),
        ("user:m2", '{"choice":"ei"}'),
    ]
    clock.advance(seconds=5)
    async with context.db.write() as session:  # 1–1 with m3 absent from the count: the chair's side wins
        vote = await session.get(Vote, vid)
        assert vote is not None
        await do_close_vote(session, meeting=await meeting_of(session, board), vote=vote, actor="user:c")
        assert vote.result is not None
        assert (vote.result["jaa"], vote.result["ei"], vote.result["poissa"]) == (1, 1, 1)


async def test_the_desk_reads_the_vote_once_afresh_for_a_batch(
    context: AppContext, clock: FixedClock, vote_id: tuple[Board, int]
) -> None:
    """web.ballots: the vote and its item in one locking read per batch (R-VOTE-3: a closed vote refuses).
    The first of ballots sent together finds the desk idle and is written alone (core.desk); the others
    arrive while it is written and go together in the next batch."""
    board, vid = vote_id
    m1, m2, m3 = board.members[:3]
    desk = BallotDesk(context.db)
    statements: list[str] = []
    engine = context.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", (listener := lambda *a: statements.append(a[2])))
    try:
        cast = await asyncio.gather(
            *(
                desk.cast(
                    meeting_id=board.meeting_id, vote_id=vid, user_id=m, choice="jaa", actor=f"user:{m}"
                )
                for m in (m1, m2, m3)
            )
        )
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert [c.cast for c in cast] == [1, 3, 3]
    assert len([s for s in statements if s.lstrip().startswith("SELECT vote.")]) == 2
    async with context.db.write() as session:
        vote = await session.get(Vote, vid)
        assert vote is not None
        await do_close_vote(session, meeting=await meeting_of(session, board), vote=vote, actor="user:c")
    with pytest.raises(InvalidTransition):
        await desk.cast(meeting_id=board.meeting_id, vote_id=vid, user_id=m1, choice="ei", actor="user:m1")
    with pytest.raises(NotFound):
        await desk.cast(
            meeting_id=board.meeting_id + 1, vote_id=vid, user_id=m1, choice="ei", actor="user:m1"
        )
