"""A board meeting held through the live actions, with everything the minutes must tell (R-MIN-2, R-MIN-3):
a deputy sitting for an absent member, a remote member who loses the connection, a disqualification with its
grounds, a person heard, a secret election with a deputy, a counter-proposal seconded, a tied vote the chair
decides (R-VOTE-2), a dissent with reasons, a confidential item, a tabling proposal adopted by vote, a
departure, and a break.

§ 1 is the budget (voted on), § 2 the confidential item (tabled).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from core.clock import FixedClock
from meetings.live.actions.attendance import (
    do_record_arrival,
    do_record_departure,
    do_record_disconnection,
    do_record_reconnection,
)
from meetings.live.actions.dissents import do_register_dissent
from meetings.live.actions.elections import (
    Nomination,
    do_cast_election_ballot,
    do_close_election,
    do_open_election,
    election_candidates,
)
from meetings.live.actions.items import (
    do_approve_order,
    do_close_discussion,
    do_record_recusal,
    do_take_up_item,
)
from meetings.live.actions.proposals import do_make_proposal, do_second_proposal
from meetings.live.actions.roll_call import (
    Outcome,
    do_mark_roll_call,
    do_start_roll_call,
)
from meetings.live.actions.sitting import (
    do_choose_checkers,
    do_close_meeting,
    do_declare_lawful,
    do_resume_meeting,
    do_suspend_meeting,
)
from meetings.live.actions.statements import do_record_statement
from meetings.live.actions.voting import do_cast_ballot, do_close_vote, do_open_vote
from meetings.live.models import Election, ItemHandling, Proposal, Vote
from meetings.rules.elections import Method
from tests.meetings.live.world import Board, hold, item_of, make_board, meeting_of
from web.context import AppContext

COUNTER_TEXT = "Talousarvioon lisätään 100 000 euroa kirjastolle."
TABLING_TEXT = "Asia pannaan pöydälle seuraavaan kokoukseen."
DISSENT_REASONS = "Kirjaston määräraha on liian pieni."
RECUSAL_EXPLANATION = "Puoliso on hakijana."
BREAK_REASON = "Kahvitauko"
HEARD_NAME, HEARD_TITLE = "Liisa Lakimies", "talousjohtaja"
HEARD_SUMMARY = "Selosti talousarvion riskit."
ELECTION_TITLE = "Talousarvion seurantaryhmän jäsen"
CANDIDATES = ("Aino Aalto", "Bertta Berg", "Cecilia Carlsson")


@dataclass
class Held:
    board: Board
    budget: int
    secret: int
    counter: int
    tabling: int
    tied_vote: int
    election: int

    def section_of(self, item_id: int) -> int:
        return {self.budget: 1, self.secret: 2}[item_id]


async def _step(context: AppContext, clock: FixedClock, work) -> object:  # type: ignore[no-untyped-def]
    clock.advance(minutes=3)
    async with context.db.write() as session:
        return await work(session)


async def hold_scripted_meeting(context: AppContext, clock: FixedClock) -> Held:
    board = await make_board(context, clock)
    budget, secret = board.items
    await hold(context, clock, board)
    m1, m2, m3, m4, _m5 = board.members
    d5 = board.deputies[4]
    chair = board.actor(m1)
    secretary = board.actor(board.secretary)

    async def arrive(person: int, remote: bool = False) -> None:
        await _step(
            context,
            clock,
            lambda s: _with(
                s,
                board,
                lambda m: do_record_arrival(s, meeting=m, user_id=person, remote=remote, actor=secretary),
            ),
        )

    for person in (m1, m2, m4, d5, board.presenter):
        await arrive(person)
    await arrive(m3, remote=True)

    async def identify_and_declare(s):  # type: ignore[no-untyped-def]
        """The secretary recognises m3, the only one taking part electronically (R-EMEET-1(1))."""
        meeting = await meeting_of(s, board)
        await do_start_roll_call(s, meeting=meeting, actor=secretary)
        await do_mark_roll_call(s, meeting=meeting, person=m3, outcome=Outcome.IDENTIFIED, actor=secretary)
        return await do_declare_lawful(s, meeting=meeting, actor=chair)

    await _step(context, clock, identify_and_declare)
    await _step(
        context,
        clock,
        lambda s: _with(s, board, lambda m: do_choose_checkers(s, meeting=m, checkers=[m2, m3], actor=chair)),
    )

    # § 1: m4 disqualified; m2's counter-proposal seconded by m3; 2–2 and the chair decides; m2 dissents.
    await _item_step(
        context, clock, board, budget, lambda s, m, i: do_take_up_item(s, meeting=m, item=i, actor=chair)
    )
    await _item_step(
        context,
        clock,
        board,
        budget,
        lambda s, m, i: do_record_recusal(
            s,
            meeting=m,
            item=i,
            user_id=m4,
            ground="party",
            decided_by_body=False,
            explanation=RECUSAL_EXPLANATION,
            actor=secretary,
        ),
    )
    await _item_step(
        context,
        clock,
        board,
        budget,
        lambda s, m, i: do_record_statement(
            s,
            meeting=m,
            item=i,
            name=HEARD_NAME,
            title=HEARD_TITLE,
            summary=HEARD_SUMMARY,
            recorded_by=board.secretary,
            actor=secretary,
        ),
    )
    election = await _election(context, clock, board, budget, [m1, m2, m3, d5])
    counter = await _item_step(
        context,
        clock,
        board,
        budget,
        lambda s, m, i: do_make_proposal(
            s, meeting=m, item=i, user_id=m2, kind="counter", text=COUNTER_TEXT, actor=board.actor(m2)
        ),
    )
    await _step(
        context,
        clock,
        lambda s: _with(
            s,
            board,
            lambda m: _second(s, m, counter.id, m3, board),
        ),
    )
    vote = await _vote(context, clock, board, budget, {m1: "jaa", m2: "ei", m3: "ei", d5: "jaa"})
    await _item_step(
        context,
        clock,
        board,
        budget,
        lambda s, m, i: do_register_dissent(
            s, meeting=m, item=i, user_id=m2, reasons=DISSENT_REASONS, actor=board.actor(m2)
        ),
    )

    # A break between the items.
    await _step(
        context,
        clock,
        lambda s: _with(
            s, board, lambda m: do_suspend_meeting(s, meeting=m, reason=BREAK_REASON, actor=chair)
        ),
    )
    clock.advance(minutes=15)
    await _step(
        context, clock, lambda s: _with(s, board, lambda m: do_resume_meeting(s, meeting=m, actor=chair))
    )

    # § 2, confidential: m3's connection drops and returns; m4, back in the seat, proposes tabling, m2
    # seconds, and the body tables it; then m4 leaves.
    await _item_step(
        context, clock, board, secret, lambda s, m, i: do_take_up_item(s, meeting=m, item=i, actor=chair)
    )
    await _step(
        context,
        clock,
        lambda s: _with(
            s, board, lambda m: do_record_disconnection(s, meeting=m, user_id=m3, actor=secretary)
        ),
    )
    await _step(
        context,
        clock,
        lambda s: _with(
            s, board, lambda m: do_record_reconnection(s, meeting=m, user_id=m3, actor=secretary)
        ),
    )
    tabling = await _item_step(
        context,
        clock,
        board,
        secret,
        lambda s, m, i: do_make_proposal(
            s, meeting=m, item=i, user_id=m4, kind="tabling", text=TABLING_TEXT, actor=board.actor(m4)
        ),
    )
    await _step(
        context,
        clock,
        lambda s: _with(
            s,
            board,
            lambda m: _second(s, m, tabling.id, m2, board),
        ),
    )
    await _vote(
        context,
        clock,
        board,
        secret,
        {m1: "ei", m2: "jaa", m3: "jaa", m4: "jaa", d5: "jaa"},
        favour=tabling.id,
    )
    await _step(
        context,
        clock,
        lambda s: _with(s, board, lambda m: do_record_departure(s, meeting=m, user_id=m4, actor=secretary)),
    )
    await _step(
        context, clock, lambda s: _with(s, board, lambda m: do_close_meeting(s, meeting=m, actor=chair))
    )
    return Held(board, budget, secret, counter.id, tabling.id, vote, election)


async def _election(
    context: AppContext, clock: FixedClock, board: Board, item_id: int, voters: list[int]
) -> int:
    """One seat and one deputy by secret ballot: Aino 2 votes, Bertta 1, one blank (R-ELECT-1/3)."""
    opened = await _item_step(
        context,
        clock,
        board,
        item_id,
        lambda s, m, i: do_open_election(
            s,
            meeting=m,
            item=i,
            title=ELECTION_TITLE,
            method=Method.MAJORITY,
            secret=True,
            seats=1,
            deputies=1,
            candidates=[Nomination(n, nominated_by=voters[1]) for n in CANDIDATES],
            actor=board.actor(board.chair),
        ),
    )
    async with context.db.read() as session:
        a, b, _ = [c.id for c in await election_candidates(session, opened.id)]
    for person, choice in zip(voters, ([a], [a], [b], []), strict=True):
        async with context.db.write() as session:
            election = await session.get(Election, opened.id)
            await do_cast_election_ballot(
                session, election=election, user_id=person, choice=choice, actor=board.actor(person)
            )
    async with context.db.write() as session:
        election = await session.get(Election, opened.id)
        await do_close_election(
            session,
            meeting=await meeting_of(session, board),
            election=election,
            actor=board.actor(board.chair),
        )
    return int(opened.id)


async def _second(session, meeting, proposal_id: int, person: int, board: Board) -> None:  # type: ignore[no-untyped-def]
    proposal = await session.get(Proposal, proposal_id)
    await do_second_proposal(
        session, meeting=meeting, proposal=proposal, user_id=person, actor=board.actor(person)
    )


async def _with(session, board: Board, work):  # type: ignore[no-untyped-def]
    return await work(await meeting_of(session, board))


async def _item_step(context: AppContext, clock: FixedClock, board: Board, item_id: int, work):  # type: ignore[no-untyped-def]
    clock.advance(minutes=3)
    async with context.db.write() as session:
        return await work(session, await meeting_of(session, board), await item_of(session, item_id))


async def _vote(
    context: AppContext,
    clock: FixedClock,
    board: Board,
    item_id: int,
    choices: dict[int, str],
    favour: int | None = None,
) -> int:
    """Close the discussion, approve the default order, and take its one vote with these choices."""
    chair = board.actor(board.chair)
    await _item_step(
        context, clock, board, item_id, lambda s, m, i: do_close_discussion(s, meeting=m, item=i, actor=chair)
    )
    async with context.db.read() as session:
        handling = await session.get(ItemHandling, item_id)
        assert handling is not None
        order = list(handling.order)
    await _item_step(
        context,
        clock,
        board,
        item_id,
        lambda s, m, i: do_approve_order(s, meeting=m, item=i, order=order, actor=chair),
    )
    vote = await _item_step(
        context, clock, board, item_id, lambda s, m, i: do_open_vote(s, meeting=m, item=i, actor=chair)
    )
    flip = {"jaa": "ei", "ei": "jaa"}
    if favour is not None and vote.ei == str(favour):  # "jaa" in `choices` is for `favour`
        choices = {person: flip.get(choice, choice) for person, choice in choices.items()}
    for person, choice in choices.items():
        clock.advance(seconds=20)
        async with context.db.write() as session:
            row = (await session.execute(select(Vote).where(Vote.id == vote.id))).scalar_one()
            await do_cast_ballot(session, vote=row, user_id=person, choice=choice, actor=board.actor(person))
    clock.advance(minutes=1)
    async with context.db.write() as session:
        row = (await session.execute(select(Vote).where(Vote.id == vote.id))).scalar_one()
        await do_close_vote(session, meeting=await meeting_of(session, board), vote=row, actor=chair)
    return int(vote.id)
