"""A meeting whose item was decided in the electronic decision procedure, ready to be checked before the
meeting (R-CHECK-5): the procedure's world (tests/meetings/decision_procedure/world.py) settled as decided."""

from __future__ import annotations

from typing import Any

from core.clock import FixedClock
from meetings.models import Meeting
from minutes.models import ProcedureCheck
from minutes.procedure_check import check_of_meeting, do_open_procedure_check, do_review_procedure_check
from tests.meetings.decision_procedure.steps import at, run_scheduler, set_rule, state
from tests.meetings.decision_procedure.world import World, make_world
from web.context import AppContext

CHECKERS = ("aino", "bertta")


async def decided(context: AppContext, clock: FixedClock) -> World:
    """Every seat accepted before the deadline (cecilia declared herself disqualified), then it passed."""
    await set_rule(context, "declaration_answers")
    world = await make_world(context)
    at(clock, -3600)
    await state(context, world, "aino", "accept")
    await state(context, world, "bertta", "accept")
    await state(context, world, "cecilia", "disqualified", ground="party")
    at(clock, 0)
    assert await run_scheduler(context) == [world.procedure_id]
    return world


async def opened(context: AppContext, world: World, by: str = "sihteeri") -> ProcedureCheck:
    async with context.db.write() as session:
        meeting = await session.get(Meeting, world.meeting_id)
        assert meeting is not None
        return await do_open_procedure_check(
            session,
            meeting=meeting,
            checkers=[world.people[c] for c in CHECKERS],
            user_id=world.people[by],
            actor=world.actor(by),
        )


async def review(context: AppContext, world: World, who: str, *, approve: bool, comment: str = "") -> Any:
    async with context.db.write() as session:
        check = await check_of_meeting(session, world.meeting_id)
        assert check is not None
        return await do_review_procedure_check(
            session,
            check=check,
            user_id=world.people[who],
            approve=approve,
            comment=comment,
            actor=world.actor(who),
        )


async def current(context: AppContext, world: World) -> ProcedureCheck:
    async with context.db.read() as session:
        found = await check_of_meeting(session, world.meeting_id)
        assert found is not None
        return found
