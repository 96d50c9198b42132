"""Elections and persons heard through the live actions: ballots refused and counted, secrecy, the lot, audit
entries and events (R-ELECT-1…8, R-MIN-2)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

import pytest
from sqlalchemy import select

from core.clock import FixedClock
from core.errors import Conflict, Forbidden, InvalidTransition, ValidationFailed
from meetings.access import Viewer
from meetings.actions.disqualifications import do_declare_disqualification
from meetings.live.actions.attendance import do_record_arrival
from meetings.live.actions.elections import (
    Nomination,
    do_cast_election_ballot,
    do_close_election,
    do_open_election,
    election_candidates,
)
from meetings.live.actions.items import do_close_discussion, do_decide_without_vote, do_take_up_item
from meetings.live.actions.statements import do_record_statement
from meetings.live.actions.voting import do_open_vote
from meetings.live.events import events_after
from meetings.live.models import Election, ElectionTally, ElectionVoter, LiveMeeting
from meetings.live.queries import as_json, live_view
from meetings.models import MemberRole
from meetings.rules.elections import Method, lot_order
from tests.factories import audit_entries
from tests.meetings.live.world import Board, hold, item_of, make_board, meeting_of
from web.context import AppContext

NAMES = ("Aino Aalto", "Bertta Berg", "Cecilia Carlsson")


@pytest.fixture
async def board(context: AppContext, clock: FixedClock) -> Board:
    """m2 is disqualified in the first item and has no deputy here; m1, m3, m4, m5 vote (4 of 5 seats)."""
    board = await make_board(context, clock)
    async with context.db.write() as session:
        item = await item_of(session, board.items[0])
        await do_declare_disqualification(
            session, item=item, user_id=board.members[1], ground="party", explanation="", actor="user:x"
        )
    await hold(context, clock, board)
    async with context.db.write() as session:
        meeting = await meeting_of(session, board)
        for person in board.members:
            await do_record_arrival(session, meeting=meeting, user_id=person, remote=False, actor="user:s")
        await do_take_up_item(
            session,
            meeting=meeting,
            item=await item_of(session, board.items[0]),
            actor=board.actor(board.chair),
        )
    return board


async def open_election(
    context: AppContext,
    board: Board,
    *,
    secret: bool,
    seats: int = 2,
    method: Method = Method.MAJORITY,
    nominations: Sequence[Nomination] | None = None,
) -> tuple[int, list[int]]:
    if nominations is None:
        nominations = [Nomination(n, nominated_by=board.members[2]) for n in NAMES]
    async with context.db.write() as session:
        election = await do_open_election(
            session,
            meeting=await meeting_of(session, board),
            item=await item_of(session, board.items[0]),
            title="Edustajat yhtymäkokoukseen",
            method=method,
            secret=secret,
            seats=seats,
            deputies=0,
            candidates=nominations,
            actor=board.actor(board.chair),
        )
        return election.id, [c.id for c in await election_candidates(session, election.id)]


async def cast(context: AppContext, election_id: int, person: int, choice: Sequence[int]) -> int:
    async with context.db.write() as session:
        election = await session.get(Election, election_id)
        assert election is not None
        return await do_cast_election_ballot(
            session, election=election, user_id=person, choice=choice, actor=f"user:{person}"
        )


async def close(context: AppContext, board: Board, election_id: int) -> Election:
    async with context.db.write() as session:
        election = await session.get(Election, election_id)
        assert election is not None
        await do_close_election(
            session,
            meeting=await meeting_of(session, board),
            election=election,
            actor=board.actor(board.chair),
        )
        return election


async def test_a_secret_majority_election_counts_without_linking_ballots_to_voters(
    context: AppContext, board: Board
) -> None:
    m1, m2, m3, m4, m5 = board.members
    election_id, (a, b, c) = await open_election(context, board, secret=True)
    async with context.db.read() as session:  # R-ELECT-8: every option's tally exists before any ballot
        query = select(ElectionTally.option).where(ElectionTally.election_id == election_id)
        assert sorted((await session.execute(query)).scalars()) == sorted([0, a, b, c])
    assert await cast(context, election_id, m1, [a, b]) == 1
    await cast(context, election_id, m3, [a])
    await cast(context, election_id, m4, [])  # blank
    await cast(context, election_id, m5, [b, c])
    with pytest.raises(Conflict, match="final"):  # a secret ballot is never changed nor doubled
        await cast(context, election_id, m3, [c])
    with pytest.raises(Forbidden):  # R-DISQ-3: disqualified in the item, so not entitled
        await cast(context, election_id, m2, [a])
    with pytest.raises(Forbidden):
        await cast(context, election_id, board.secretary, [a])
    with pytest.raises(ValidationFailed):  # R-ELECT-6: at most as many as seats
        await cast(context, election_id, m1, [a, b, c])

    election = await close(context, board, election_id)
    result = election.result or {}
    assert result["cast"] == 4
    assert result["blank"] == 1
    assert result["counts"] == {str(a): 2, str(b): 2, str(c): 1}
    assert sorted(result["elected"]) == sorted([a, b])  # type: ignore[arg-type]
    assert "choices" not in result
    assert result["by_lot"] == []

    ballots = await audit_entries(context, "election.ballot_cast")
    assert [e.actor for e in ballots] == [f"user:{m}" for m in (m1, m3, m4, m5)]
    assert all(e.data == "{}" for e in ballots)  # the voter, never the choice
    opened = json.loads((await audit_entries(context, "election.opened"))[0].data)
    closed = json.loads((await audit_entries(context, "election.closed"))[0].data)
    assert opened["secret"] is True
    assert opened["entitled"] == 4
    assert opened["seed_sha256"] == hashlib.sha256(closed["seed"].encode()).hexdigest()
    async with context.db.read() as session:
        events = {e.type: e.data for e in await events_after(session, board.meeting_id, 0)}
        voters = (await session.execute(select(ElectionVoter.user_id))).scalars().all()
    assert "choices" not in events["election.closed"]
    assert sorted(voters) == sorted([m1, m3, m4, m5])


def test_the_secret_tables_keep_no_time_order_or_voter_beside_a_count() -> None:
    """R-ELECT-8, R-EMEET-7 (secrecy secured in an e-meeting): the voted set has only the election and the
    person; the tally no voter, time or serial."""
    assert {c.name for c in ElectionVoter.__table__.columns} == {"election_id", "user_id"}
    assert {c.name for c in ElectionTally.__table__.columns} == {"election_id", "option", "count"}


async def test_an_open_election_ballot_changes_until_the_close_and_is_recorded(
    context: AppContext, board: Board
) -> None:
    m1, _, m3, m4, _ = board.members
    election_id, (a, b, c) = await open_election(context, board, secret=False, seats=1)
    await cast(context, election_id, m1, [a])
    await cast(context, election_id, m1, [b])  # changed: an open ballot is not final
    await cast(context, election_id, m3, [b])
    await cast(context, election_id, m4, [c])
    result = (await close(context, board, election_id)).result or {}
    assert result["elected"] == [b]
    assert result["cast"] == 3
    assert result["choices"] == {str(m1): [b], str(m3): [b], str(m4): [c]}
    assert [json.loads(e.data) for e in await audit_entries(context, "election.ballot_cast")][:2] == [
        {"choice": [a]},
        {"choice": [b]},
    ]
    with pytest.raises(InvalidTransition, match="closed"):
        await cast(context, election_id, m3, [a])


async def test_a_tie_for_the_seat_is_drawn_by_lot_from_the_recorded_seed(
    context: AppContext, board: Board
) -> None:
    """R-ELECT-4: two votes each for one seat; the lot from the revealed seed decides, repeatably."""
    m1, _, m3, m4, m5 = board.members
    election_id, (a, b, _) = await open_election(context, board, secret=True, seats=1)
    for person, choice in ((m1, a), (m3, b), (m4, a), (m5, b)):
        await cast(context, election_id, person, [choice])
    result = (await close(context, board, election_id)).result or {}
    seed = str(result["seed"])
    assert result["by_lot"] == [list(lot_order(seed, [a, b]))]
    assert result["elected"] == [lot_order(seed, [a, b])[0]]
    closed = json.loads((await audit_entries(context, "election.closed"))[0].data)
    assert closed["by_lot"] == result["by_lot"]
    assert closed["seed"] == seed


async def test_a_proportional_election_is_secret_and_counts_comparison_numbers(
    context: AppContext, board: Board
) -> None:
    """R-ELECT-4/5: by secret ballot whatever was asked; list 1 (3 votes) elects its first two, 3 and 3/2."""
    m1, _, m3, m4, m5 = board.members
    lists = [Nomination("Aino", list_no=1), Nomination("Bertta", list_no=1), Nomination("Cecilia", list_no=2)]
    election_id, (a, b, c) = await open_election(
        context, board, secret=False, method=Method.PROPORTIONAL, nominations=lists
    )
    with pytest.raises(ValidationFailed, match="one list"):
        await cast(context, election_id, m1, [1, 2])
    for person, choice in ((m1, 1), (m3, 1), (m4, 1), (m5, 2)):
        await cast(context, election_id, person, [choice])
    election = await close(context, board, election_id)
    result = election.result or {}
    assert election.secret
    ranking = {r["candidate"]: r["comparison"] for r in result["ranking"]}  # type: ignore[attr-defined]
    assert ranking == {a: "3", b: "3/2", c: "1"}
    assert result["elected"] == [a, b]


@pytest.mark.parametrize(
    ("seats", "nominations", "message"),
    [
        pytest.param(0, [Nomination("A")], "between 1 and 99", id="seats 1…99"),
        pytest.param(100, [Nomination("A")], "between 1 and 99", id="seats at most 99"),
        pytest.param(1, [], "between 1 and 200", id="at least one candidate"),
        pytest.param(1, [Nomination(f"N{n}") for n in range(201)], "between 1 and 200", id="at most 200"),
        pytest.param(1, [Nomination("x" * 201)], "200 characters", id="a name at most 200 characters"),
        pytest.param(1, [Nomination("Aino"), Nomination("aino")], "twice", id="the same name twice"),
    ],
)
async def test_a_bad_nomination_is_refused(
    context: AppContext, board: Board, seats: int, nominations: list[Nomination], message: str
) -> None:
    with pytest.raises(ValidationFailed, match=message):
        await open_election(context, board, secret=True, seats=seats, nominations=nominations)


async def test_one_election_or_vote_at_a_time(context: AppContext, board: Board) -> None:
    await open_election(context, board, secret=True)
    with pytest.raises(InvalidTransition, match="already open"):
        await open_election(context, board, secret=True)
    async with context.db.write() as session:
        with pytest.raises(InvalidTransition):
            await do_open_vote(
                session,
                meeting=await meeting_of(session, board),
                item=await item_of(session, board.items[0]),
                actor=board.actor(board.chair),
            )


async def test_the_public_sees_the_count_and_never_a_secret_choice(context: AppContext, board: Board) -> None:
    """R-ELECT-8: the live snapshot of a secret election tells the public and the members how many voted and,
    after the close, the result; a voter sees only that they voted."""
    m1 = board.members[0]
    election_id, (a, _, _) = await open_election(context, board, secret=True)
    await cast(context, election_id, m1, [a])
    public = Viewer()
    voter = Viewer(m1, False, {board.body_id: frozenset({MemberRole.MEMBER})})
    async with context.db.read() as session:
        meeting = await meeting_of(session, board)
        live = await session.get(LiveMeeting, meeting.id)
        assert live is not None
        seen = as_json(await live_view(session, public, meeting, live))["current"]["elections"][0]
        mine = as_json(await live_view(session, voter, meeting, live))["current"]["elections"][0]
    assert (seen["cast"], seen["mine"], seen["result"]) == (1, None, None)
    assert mine["mine"] is True
    await close(context, board, election_id)
    async with context.db.read() as session:
        meeting = await meeting_of(session, board)
        live = await session.get(LiveMeeting, meeting.id)
        assert live is not None
        closed = as_json(await live_view(session, public, meeting, live))["current"]["elections"][0]
    assert closed["result"]["counts"][str(a)] == 1
    assert set(closed["result"]) == {
        "cast",
        "blank",
        "counts",
        "ranking",
        "elected",
        "deputies",
        "by_lot",
        "seed",
    }


async def test_no_decision_while_an_election_is_open(context: AppContext, board: Board) -> None:
    election_id, _ = await open_election(context, board, secret=True)
    async with context.db.write() as session:
        meeting, item = await meeting_of(session, board), await item_of(session, board.items[0])
        await do_close_discussion(session, meeting=meeting, item=item, actor=board.actor(board.chair))
        with pytest.raises(InvalidTransition, match="election is open"):
            await do_decide_without_vote(session, meeting=meeting, item=item, actor=board.actor(board.chair))
    await close(context, board, election_id)
    async with context.db.write() as session:
        meeting, item = await meeting_of(session, board), await item_of(session, board.items[0])
        await do_decide_without_vote(session, meeting=meeting, item=item, actor=board.actor(board.chair))


async def test_a_person_heard_is_recorded_with_time_event_and_audit(
    context: AppContext, clock: FixedClock, board: Board
) -> None:
    async with context.db.write() as session:
        heard = await do_record_statement(
            session,
            meeting=await meeting_of(session, board),
            item=await item_of(session, board.items[0]),
            name="Liisa Lakimies",
            title="Kuntaliitto, lakimies",
            summary="Selvitti talousarvion aikataulun.",
            recorded_by=board.secretary,
            actor=board.actor(board.secretary),
        )
        assert heard.heard_at == clock()
    entry = (await audit_entries(context, "statement.recorded"))[0]
    assert entry.actor == board.actor(board.secretary)
    assert entry.subject == f"item:{board.items[0]}"
    assert json.loads(entry.data)["name"] == "Liisa Lakimies"
    async with context.db.read() as session:
        last = (await events_after(session, board.meeting_id, 0))[-1]
    assert last.type == "statement.recorded"
    assert last.data["title"] == "Kuntaliitto, lakimies"
    async with context.db.write() as session:
        with pytest.raises(ValidationFailed):
            await do_record_statement(
                session,
                meeting=await meeting_of(session, board),
                item=await item_of(session, board.items[0]),
                name=" ",
                title="",
                summary="",
                recorded_by=board.secretary,
                actor=board.actor(board.secretary),
            )
