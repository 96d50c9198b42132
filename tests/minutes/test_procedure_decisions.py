"""Decisions made in the electronic decision procedure reach the draft, identified as such
(R-EDP-3(5), R-MIN-2)."""

from __future__ import annotations

from datetime import timedelta

from core.clock import FixedClock
from meetings.live.actions.sitting import do_close_meeting, do_open_meeting
from meetings.models import Meeting
from minutes.document import Resolution
from minutes.drafting import draft, planned_publication, uid
from tests.meetings.decision_procedure.steps import at, run_scheduler, set_rule, state
from tests.meetings.decision_procedure.world import MEETING, PROPOSAL, TITLE, World, make_world
from web.context import AppContext


async def _held(context: AppContext, clock: FixedClock, world: World) -> None:
    clock.now = MEETING
    async with context.db.write() as session:
        meeting = await session.get(Meeting, world.meeting_id)
        assert meeting is not None
        chair = world.people["pj"]
        await do_open_meeting(session, meeting=meeting, chair_id=chair, actor=world.actor("pj"))
        await do_close_meeting(session, meeting=meeting, actor=world.actor("pj"))


async def _drafted(context: AppContext, world: World):  # type: ignore[no-untyped-def]
    async with context.db.read() as session:
        meeting = await session.get(Meeting, world.meeting_id)
        assert meeting is not None
        publish_at = planned_publication(MEETING.date() + timedelta(days=1))
        return await draft(session, meeting, secretary_id=world.people["sihteeri"], publish_at=publish_at)


async def test_a_procedure_decision_is_in_the_draft_identified_as_such(
    context: AppContext, clock: FixedClock
) -> None:
    """R-EDP-3(5): the minutes say which decisions were made in the procedure; R-MIN-2: the modes used."""
    await set_rule(context, "declaration_answers")  # the declaration answers the seat (R-EDP-4)
    world = await make_world(context)
    at(clock, -3600)
    await state(context, world, "aino", "accept")
    await state(context, world, "bertta", "accept")
    await state(context, world, "cecilia", "disqualified", ground="party")
    at(clock, 0)
    await run_scheduler(context)
    await _held(context, clock, world)
    document = await _drafted(context, world)
    [item] = [i for i in document.items if i.title == TITLE]
    assert item.decided_in_procedure
    assert item.resolution == Resolution.DECISION_PROCEDURE
    assert item.decision == PROPOSAL == item.base_proposal  # accepted as proposed (R-EDP-5)
    assert [(d.person, d.provision) for d in item.disqualifications] == [
        (uid(world.people["cecilia"]), "HL 28 § 1 mom. 1 k.")
    ]
    assert "decision_procedure" in document.modes


async def test_an_item_moved_to_the_meeting_is_not_a_procedure_decision(
    context: AppContext, clock: FixedClock
) -> None:
    """R-EDP-3(4): a demand moves the item to the meeting; the minutes do not call it a procedure decision."""
    world = await make_world(context)
    at(clock, -3600)
    await state(context, world, "aino", "demand_meeting")
    await _held(context, clock, world)
    document = await _drafted(context, world)
    assert not any(i.decided_in_procedure for i in document.items)
    assert "decision_procedure" not in document.modes
