"""A whole meeting through the live actions: every step writes its audit entry and its numbered event."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import FixedClock
from core.errors import Conflict, Forbidden, InvalidTransition, ValidationFailed
from meetings.actions.disqualifications import do_declare_disqualification
from meetings.live.actions.attendance import do_record_arrival, do_record_departure
from meetings.live.actions.dissents import do_register_dissent
from meetings.live.actions.floor import do_grant_floor, do_request_floor, floor_queue
from meetings.live.actions.items import (
    do_approve_order,
    do_close_discussion,
    do_decide_without_vote,
    do_take_up_item,
)
from meetings.live.actions.proposals import do_make_proposal, do_second_proposal
from meetings.live.actions.sitting import (
    SUSPENSION_REASON,
    do_choose_checkers,
    do_close_meeting,
    do_declare_lawful,
    do_suspend_meeting,
)
from meetings.live.actions.voting import do_cast_ballot, do_close_vote, do_open_vote
from meetings.live.events import events_after
from meetings.live.models import Ballot, ItemHandling, LiveMeeting, MeetingEventRecord, Vote
from meetings.live.seating import load
from meetings.models import MeetingStatus
from tests.factories import audit_entries
from tests.meetings.live.world import Board, base_proposal, hold, item_of, live_of, make_board, meeting_of
from web.context import AppContext


@pytest.fixture
async def board(context: AppContext, clock: FixedClock) -> Board:
    return await make_board(context, clock)


async def arrive(context: AppContext, board: Board, person: int, *, remote: bool = False) -> None:
    async with context.db.write() as session:
        meeting = await meeting_of(session, board)
        await do_record_arrival(
            session, meeting=meeting, user_id=person, remote=remote, actor=board.actor(board.secretary)
        )


async def event_types(context: AppContext, board: Board, after: int = 0) -> list[str]:
    async with context.db.read() as session:
        return [e.type for e in await events_after(session, board.meeting_id, after)]


async def test_a_meeting_from_opening_to_close(context: AppContext, clock: FixedClock, board: Board) -> None:
    m1, m2, m3, m4, m5 = board.members
    d2, d5 = board.deputies[1], board.deputies[4]
    item1, item2 = board.items
    async with context.db.write() as session:  # R-DISQ-5: m2 declares in advance for the first item
        await do_declare_disqualification(
            session,
            item=await item_of(session, item1),
            user_id=m2,
            ground="party",
            explanation="",
            actor="user:x",
        )
    await hold(context, clock, board)
    assert [e.action for e in await audit_entries(context, "meeting.opened")] == ["meeting.opened"]

    # R-QUORUM-1: five seats, more than half needed; two are not enough. R-QUORUM-2: so the chair cannot yet
    # declare the meeting lawful and quorate.
    await arrive(context, board, m1)
    await arrive(context, board, m2)
    async with context.db.write() as session:
        with pytest.raises(Conflict, match="not quorate"):
            await do_declare_lawful(session, meeting=await meeting_of(session, board), actor=board.actor(m1))
    await arrive(context, board, m3, remote=True)  # R-EMEET-3: counts as present
    await arrive(context, board, m4)
    await arrive(context, board, d5)  # R-DEP-2: m5 is prevented; their deputy takes the seat
    seats = load((await live_of(context, board)).seating).seats
    assert [(s.member, s.holder) for s in seats] == [(m1, m1), (m2, m2), (m3, m3), (m4, m4), (m5, d5)]
    async with context.db.write() as session:
        meeting = await meeting_of(session, board)
        await do_declare_lawful(session, meeting=meeting, actor=board.actor(m1))
        await do_choose_checkers(session, meeting=meeting, checkers=[m3, m4], actor=board.actor(m1))
    assert len(await audit_entries(context, "arrival.recorded")) == 5
    assert len(await audit_entries(context, "meeting.declared_lawful")) == 1

    # R-DISQ-3, R-DEP-2: m2 is out of the first item and d2, who arrives, sits for them in it.
    await arrive(context, board, d2)
    async with context.db.write() as session:
        await do_take_up_item(
            session,
            meeting=await meeting_of(session, board),
            item=await item_of(session, item1),
            actor=board.actor(m1),
        )
    live = await live_of(context, board)
    seating = load(live.seating)
    assert live.current_item_id == item1
    assert {(s.member, s.holder) for s in seating.seats} >= {(m2, d2)}
    assert seating.disqualified == {m2}

    # The floor, a counter-proposal seconded, a tabling proposal that lapses.
    async with context.db.write() as session:
        meeting, item = await meeting_of(session, board), await item_of(session, item1)
        request = await do_request_floor(
            session, meeting=meeting, item=item, user_id=m3, kind="speech", actor=board.actor(m3)
        )
        with pytest.raises(InvalidTransition, match="disqualified"):
            await do_request_floor(
                session, meeting=meeting, item=item, user_id=m2, kind="speech", actor="user:m2"
            )
        assert [r.user_id for r in await floor_queue(session, await _live(session, board), item1)] == [m3]
        await do_grant_floor(session, meeting=meeting, request=request, actor=board.actor(m1))
        counter = await do_make_proposal(
            session,
            meeting=meeting,
            item=item,
            user_id=m3,
            kind="counter",
            text="Hylätään.",
            actor=board.actor(m3),
        )
        tabling = await do_make_proposal(
            session,
            meeting=meeting,
            item=item,
            user_id=m4,
            kind="tabling",
            text="Pöydälle.",
            actor=board.actor(m4),
        )
        with pytest.raises(InvalidTransition, match="someone else"):
            await do_second_proposal(
                session, meeting=meeting, proposal=counter, user_id=m3, actor=board.actor(m3)
            )
        with pytest.raises(Forbidden, match="hold a seat"):
            await do_second_proposal(
                session, meeting=meeting, proposal=counter, user_id=m2, actor=board.actor(m2)
            )
        await do_second_proposal(
            session, meeting=meeting, proposal=counter, user_id=m4, actor=board.actor(m4)
        )
        await do_close_discussion(session, meeting=meeting, item=item, actor=board.actor(m1))
    closed = (await audit_entries(context, "discussion.closed"))[-1]
    assert f'"lapsed":[{tabling.id}]' in closed.data  # R-VOTE-1 (a), R-PROP-2
    base = await base_proposal(context, item1)

    # R-VOTE-4/5: the counter-proposal against the base; a tie goes to the chair's side (R-VOTE-2).
    async with context.db.write() as session:
        meeting, item = await meeting_of(session, board), await item_of(session, item1)
        with pytest.raises(Conflict):  # a vote is needed, so no decision without one (R-PROP-3)
            await do_decide_without_vote(session, meeting=meeting, item=item, actor=board.actor(m1))
        await do_approve_order(
            session, meeting=meeting, item=item, order=[counter.id, base.id], actor="user:m1"
        )
        vote = await do_open_vote(session, meeting=meeting, item=item, actor=board.actor(m1))
    assert sorted(vote.entitled) == sorted([m1, d2, m3, m4, d5])  # m2 is out (R-DISQ-3)
    assert (vote.jaa, vote.ei) == (str(base.id), str(counter.id))  # JAA for the base in the last pairing
    for person, choice in ((m1, "jaa"), (d2, "jaa"), (m3, "jaa"), (m4, "ei"), (m3, "ei")):
        async with context.db.write() as session:
            here = await _vote(session, vote.id)
            await do_cast_ballot(session, vote=here, user_id=person, choice=choice, actor=board.actor(person))
    async with context.db.write() as session:
        with pytest.raises(Forbidden):
            await do_cast_ballot(
                session, vote=await _vote(session, vote.id), user_id=m2, choice="jaa", actor="user:2"
            )
    async with context.db.read() as session:  # m3 voted twice: one ballot (never two)
        assert len((await session.execute(select(Ballot).where(Ballot.vote_id == vote.id))).all()) == 4
    async with context.db.write() as session:
        meeting = await meeting_of(session, board)
        await do_close_vote(
            session, meeting=meeting, vote=await _vote(session, vote.id), actor=board.actor(m1)
        )
        closed_vote = await session.get(Vote, vote.id)
        handling = await session.get(ItemHandling, item1)
    assert closed_vote is not None
    assert closed_vote.result is not None
    assert closed_vote.result["winner"] == "jaa"  # 2–2, the chair voted JAA (R-VOTE-2)
    assert closed_vote.result["by_chair"]
    assert closed_vote.result["choices"][str(m3)] == "ei"  # changed from JAA: the last choice counts
    assert closed_vote.result["choices"][str(d5)] == "poissa"  # R-VOTE-3: every member's choice
    assert handling is not None
    assert (handling.decided_proposal_id, handling.decided_how) == (base.id, "vote")
    assert len(await audit_entries(context, "decision.made")) == 1

    # R-DISSENT-1: m3 voted against and made the counter-proposal; m1 voted with the decision.
    async with context.db.write() as session:
        meeting, item = await meeting_of(session, board), await item_of(session, item1)
        await do_register_dissent(
            session, meeting=meeting, item=item, user_id=m3, reasons="", actor="user:m3"
        )
        with pytest.raises(Forbidden):
            await do_register_dissent(
                session, meeting=meeting, item=item, user_id=m1, reasons="", actor="user:m1"
            )

    # R-DEP-3: at the next item m2 takes the seat back from d2; no proposal stands against the base.
    async with context.db.write() as session:
        meeting, item = await meeting_of(session, board), await item_of(session, item2)
        await do_take_up_item(session, meeting=meeting, item=item, actor=board.actor(m1))
        await do_close_discussion(session, meeting=meeting, item=item, actor=board.actor(m1))
        await do_decide_without_vote(session, meeting=meeting, item=item, actor=board.actor(m1))
    seating = load((await live_of(context, board)).seating)
    assert (m2, m2) in {(s.member, s.holder) for s in seating.seats}
    await arrive_and_leave_after_close(context, board)
    types = await event_types(context, board)
    assert (types[0], types[-1]) == ("meeting.opened", "meeting.closed")
    async with context.db.read() as session:
        versions = (
            (
                await session.execute(
                    select(MeetingEventRecord.version)
                    .where(MeetingEventRecord.meeting_id == board.meeting_id)
                    .order_by(MeetingEventRecord.version)
                )
            )
            .scalars()
            .all()
        )
    assert list(versions) == list(range(1, len(versions) + 1))  # numbered without a gap


async def arrive_and_leave_after_close(context: AppContext, board: Board) -> None:
    async with context.db.write() as session:
        meeting = await meeting_of(session, board)
        await do_record_departure(session, meeting=meeting, user_id=board.members[3], actor="user:s")
        await do_close_meeting(session, meeting=meeting, actor=board.actor(board.chair))
        assert meeting.status == MeetingStatus.CLOSED
    assert len(await audit_entries(context, "meeting.closed")) == 1


async def _live(session: AsyncSession, board: Board) -> LiveMeeting:
    live = await session.get(LiveMeeting, board.meeting_id)
    assert live is not None
    return live


async def _vote(session: AsyncSession, vote_id: int) -> Vote:
    vote = await session.get(Vote, vote_id)
    assert vote is not None
    return vote


async def test_an_over_long_suspension_reason_is_refused_not_cut(
    context: AppContext, clock: FixedClock, board: Board
) -> None:
    """Bounded input (issue 9): the reason the minutes record is refused whole when too long, and the meeting
    stays as it was."""
    await hold(context, clock, board)

    async def suspend() -> None:
        async with context.db.write() as session:
            meeting = await meeting_of(session, board)
            reason = "x" * (SUSPENSION_REASON + 1)
            await do_suspend_meeting(session, meeting=meeting, reason=reason, actor=board.actor(board.chair))

    with pytest.raises(ValidationFailed) as refused:
        await suspend()
    assert refused.value.field == "reason"
    async with context.db.read() as session:
        assert (await meeting_of(session, board)).status == MeetingStatus.HELD
    assert not await audit_entries(context, "meeting.suspended")
