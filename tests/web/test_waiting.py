"""What waits for a person on their home page (web/waiting.py): stances to give in the decision procedure
(R-EDP-3(2)), its decisions to have checked and to check before the meeting (R-CHECK-5), and minutes to
check or sign (R-CHECK-1/3), each only for the person it waits for."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from auth.queries import Principal
from core.clock import FixedClock
from meetings.access import Viewer, viewer_for
from meetings.decision_procedure.actions import do_state_stance
from meetings.decision_procedure.models import ProcedureItem
from minutes.models import MinutesRecord
from minutes.workflow import do_send_for_checking
from tests.conftest import BASE_URL
from tests.meetings.decision_procedure.world import make_world
from tests.minutes.held import hold_scripted_meeting
from tests.minutes.procedure_world import decided, review
from tests.minutes.procedure_world import opened as record_opened
from tests.minutes.test_workflow import act, checked, opened
from web.context import AppContext
from web.waiting import CHECK, CHECK_PROCEDURE, OPEN_PROCEDURE_CHECK, SIGN, STANCE, waiting_for


async def waits(context: AppContext, clock: FixedClock, user_id: int) -> list[tuple[str, str]]:
    async with context.db.read() as session:
        principal = Principal(user_id, "", "", frozenset(), "", (), "test")
        viewer: Viewer = await viewer_for(session, principal, on=today(clock))
        return [(w.kind, w.href) for w in await waiting_for(session, viewer, clock())]


def today(clock: FixedClock) -> date:
    return clock().date()


async def test_a_stance_waits_for_each_member_until_they_give_it(
    context: AppContext, clock: FixedClock
) -> None:
    world = await make_world(context)
    stance = (STANCE, f"/procedure/{world.procedure_id}")
    assert stance in await waits(context, clock, world.people["aino"])
    assert stance in await waits(context, clock, world.people["bertta"])
    assert stance not in await waits(context, clock, world.people["ulko"])  # another body's member
    async with context.db.write() as session:
        procedure = await session.get(ProcedureItem, world.procedure_id)
        assert procedure is not None
        await do_state_stance(
            session,
            procedure=procedure,
            user_id=world.people["aino"],
            stance="accept",
            ground=None,
            explanation="",
            base_url=BASE_URL,
            actor=world.actor("aino"),
        )
    assert stance not in await waits(context, clock, world.people["aino"])
    assert stance in await waits(context, clock, world.people["bertta"])


async def test_minutes_wait_for_their_checkers_then_for_the_chair(
    context: AppContext, clock: FixedClock
) -> None:
    held = await hold_scripted_meeting(context, clock)
    board = held.board
    minutes_id = await opened(context, held)
    secretary = board.secretary
    await act(
        context, minutes_id, lambda s, m: do_send_for_checking(s, minutes=m, user_id=secretary, actor="u")
    )
    check = (CHECK, f"/minutes/{minutes_id}")
    assert check in await waits(context, clock, board.members[1])
    assert check not in await waits(context, clock, board.members[3])  # not a checker
    assert check not in await waits(context, clock, board.chair)
    async with context.db.read() as session:
        assert (await session.execute(select(MinutesRecord.state))).scalar_one() == "checking"


async def test_checked_minutes_wait_for_the_chairs_signature(context: AppContext, clock: FixedClock) -> None:
    held = await hold_scripted_meeting(context, clock)
    minutes_id = await checked(context, held, clock)
    sign = (SIGN, f"/minutes/{minutes_id}")
    assert sign in await waits(context, clock, held.board.chair)
    assert sign not in await waits(context, clock, held.board.secretary)  # the chair signs first
    assert (CHECK, f"/minutes/{minutes_id}") not in await waits(context, clock, held.board.members[1])


async def test_decided_items_wait_for_the_secretary_and_the_chair_to_have_them_checked(
    context: AppContext, clock: FixedClock
) -> None:
    """R-CHECK-5: once an item is decided in the procedure, whoever chooses checkers is asked to open the
    record, until it is opened."""
    world = await decided(context, clock)
    wait = (OPEN_PROCEDURE_CHECK, f"/meetings/{world.meeting_id}/procedure-check")
    assert wait in await waits(context, clock, world.people["sihteeri"])
    assert wait in await waits(context, clock, world.people["pj"])
    assert wait not in await waits(context, clock, world.people["aino"])
    assert wait not in await waits(context, clock, world.people["ulko"])
    await record_opened(context, world)
    assert wait not in await waits(context, clock, world.people["sihteeri"])


async def test_the_record_waits_for_each_chosen_checker_until_they_review_it(
    context: AppContext, clock: FixedClock
) -> None:
    """R-CHECK-5: the home page links each chosen checker to the record, and nobody else."""
    world = await decided(context, clock)
    await record_opened(context, world)
    check = (CHECK_PROCEDURE, f"/meetings/{world.meeting_id}/procedure-check")
    assert check in await waits(context, clock, world.people["aino"])
    assert check in await waits(context, clock, world.people["bertta"])
    for other in ("cecilia", "sihteeri", "pj", "ulko"):
        assert check not in await waits(context, clock, world.people[other])
    await review(context, world, "aino", approve=True)
    assert check not in await waits(context, clock, world.people["aino"])
    assert check in await waits(context, clock, world.people["bertta"])
    await review(context, world, "bertta", approve=True)
    assert check not in await waits(context, clock, world.people["bertta"])
