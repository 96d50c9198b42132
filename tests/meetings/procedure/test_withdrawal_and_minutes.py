"""A cancelled meeting's items leave the procedure at once; settled items are listed for the minutes."""

from __future__ import annotations

import pytest

from core.clock import FixedClock
from core.errors import InvalidTransition
from meetings.actions.meetings import do_cancel_meeting
from meetings.models import Meeting
from meetings.procedure.queries import procedure_decisions
from meetings.rules.decision_procedure import WITHDRAWN
from tests.conftest import BASE_URL
from tests.meetings.procedure.steps import at, entries, procedure_row, run_scheduler, state
from tests.meetings.procedure.world import DEADLINE, SENDER, make_world
from web.context import AppContext


async def test_cancelling_the_meeting_withdraws_its_open_items(
    context: AppContext, clock: FixedClock
) -> None:
    world = await make_world(context)
    async with context.db.write() as session:
        meeting = await session.get(Meeting, world.meeting_id)
        assert meeting is not None
        await do_cancel_meeting(
            session,
            meeting=meeting,
            reason="Kokous perutaan.",
            base_url=BASE_URL,
            sender=SENDER,
            actor=world.actor("pj"),
        )
    assert (await procedure_row(context, world)).state == "withdrawn"
    [entry] = await entries(context, "procedure.withdrawn")
    assert entry["_actor"] == world.actor("pj")
    with pytest.raises(InvalidTransition) as refused:
        await state(context, world, "aino", "accept")
    assert refused.value.template == WITHDRAWN
    at(clock, 1)
    assert await run_scheduler(context) == []


async def test_the_minutes_find_what_was_decided_and_how(context: AppContext, clock: FixedClock) -> None:
    """R-MIN-2: the minutes identify the decisions made in the procedure, with the stances behind them."""
    world = await make_world(context)
    at(clock, -3600)
    for who in ("aino", "bertta", "cecilia"):
        await state(context, world, who, "accept")
    async with context.db.read() as session:
        assert await procedure_decisions(session, world.meeting_id) == []  # open: nothing to record yet
    at(clock, 0)
    await run_scheduler(context)
    async with context.db.read() as session:
        [decision] = await procedure_decisions(session, world.meeting_id)
    assert (decision.item_id, decision.state, decision.rule) == (world.item_id, "decided", "R-EDP-3(3)")
    assert decision.settled_at == DEADLINE
    assert decision.outcome is not None
    seats = decision.outcome["seats"]
    assert isinstance(seats, list)
    assert [(s["member_name"], s["stance"]) for s in seats] == [
        ("Aino", "accept"),
        ("Bertta", "accept"),
        ("Cecilia", "accept"),
    ]
