"""Every transition of the procedure's one table (meetings/rules/decision_procedure.TRANSITIONS), driven
through the actions and the scheduler as people and the clock would, case by case with its rule id."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from core.clock import FixedClock
from core.errors import Forbidden, InvalidTransition, ValidationFailed
from meetings.models import AgendaItem, DecisionMode
from meetings.procedure.models import ProcedureItem
from meetings.rules.decision_procedure import DEADLINE_PASSED, MOVED
from tests.meetings.procedure.steps import at, entries, procedure_row, run_scheduler, set_rule, stances, state
from tests.meetings.procedure.world import World, make_world
from web.context import AppContext

DAY = 24 * 3600.0
ALL = ("aino", "bertta", "cecilia")


@dataclass(frozen=True)
class Say:
    """At `seconds` after the deadline (negative: before), `who` states `stance`; `refused`: the error."""

    seconds: float
    who: str
    stance: str
    ground: str | None = None
    refused: type[Exception] | None = None


@dataclass(frozen=True)
class Case:
    name: str
    rule: str  # the rule id the case shows
    says: tuple[Say, ...]
    state: str  # after the scheduler's pass at `settle_at` seconds after the deadline
    settled_by: str  # the rule recorded on the row
    settle_at: float = 0.0
    setting: str = "cautious"


def everyone(seconds: float, stance: str = "accept") -> tuple[Say, ...]:
    return tuple(Say(seconds, who, stance) for who in ALL)


CASES = [
    Case("all accept early: decided at the deadline", "R-EDP-3(3)", everyone(-DAY), "decided", "R-EDP-3(3)"),
    Case("a missing stance moves the item", "R-EDP-4", everyone(-DAY)[:2], "moved_to_meeting", "R-EDP-4"),
    Case(
        "a demand moves it at once",
        "R-EDP-3(4)",
        (
            *everyone(-DAY)[:2],
            Say(-3600, "cecilia", "demand_meeting"),
            Say(-60, "aino", "accept", refused=InvalidTransition),
        ),
        "moved_to_meeting",
        "R-EDP-3(4)",
    ),
    Case(
        "a demand one second after the deadline is refused",
        "R-EDP-3(2)",
        (*everyone(-DAY), Say(1, "cecilia", "demand_meeting", refused=InvalidTransition)),
        "decided",
        "R-EDP-3(3)",
        settle_at=2,
    ),
    Case(
        "a stance at exactly the deadline is refused: it is already past",
        "R-CALL-6",
        (*everyone(-DAY)[:2], Say(0, "cecilia", "accept", refused=InvalidTransition)),
        "moved_to_meeting",
        "R-EDP-4",
    ),
    Case(
        "a changed stance: the latest counts",
        "R-EDP-5",
        (
            *everyone(-DAY),
            Say(-3600, "bertta", "disqualified", "party"),
            Say(-1800, "bertta", "accept"),
        ),
        "decided",
        "R-EDP-3(3)",
    ),
    Case(
        "a disqualified member's personal deputy answers for the seat",
        "R-EDP-4",
        (*everyone(-DAY)[1:], Say(-DAY, "aino", "disqualified", "party"), Say(-3600, "avara", "accept")),
        "decided",
        "R-EDP-3(3)",
    ),
    Case(
        "a disqualified member without a deputy leaves the seat unanswered (cautious)",
        "R-EDP-4",
        (*everyone(-DAY)[:2], Say(-DAY, "cecilia", "disqualified", "benefit_or_harm")),
        "moved_to_meeting",
        "R-EDP-4",
    ),
    Case(
        "where the municipality so decides, the declaration itself answers the seat",
        "R-EDP-4",
        (*everyone(-DAY)[:2], Say(-DAY, "cecilia", "disqualified", "benefit_or_harm")),
        "decided",
        "R-EDP-3(3)",
        setting="declaration_answers",
    ),
    Case(
        "a deputy whose member answers may not state",
        "R-DEP-2",
        (*everyone(-DAY), Say(-3600, "avara", "demand_meeting", refused=Forbidden)),
        "decided",
        "R-EDP-3(3)",
    ),
    Case(
        "someone outside the body may not state",
        "R-EDP-6",
        (*everyone(-DAY), Say(-3600, "ulko", "demand_meeting", refused=Forbidden)),
        "decided",
        "R-EDP-3(3)",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
async def test_transition(context: AppContext, clock: FixedClock, case: Case) -> None:
    world = await make_world(context)
    if case.setting != "cautious":
        await set_rule(context, case.setting)
        # The setting counts from the next call: this world's item was opened with the earlier one.
        world = await _reopened(context, world, case.setting)
    for say in case.says:
        at(clock, say.seconds)
        if say.refused is None:
            await state(context, world, say.who, say.stance, say.ground)
        else:
            with pytest.raises(say.refused):
                await state(context, world, say.who, say.stance, say.ground)
    at(clock, case.settle_at)
    await run_scheduler(context)
    row = await procedure_row(context, world)
    assert (row.state, row.rule) == (case.state, case.settled_by), case.rule
    assert row.settled_at is not None
    assert row.outcome is not None
    async with context.db.read() as session:
        item = await session.get(AgendaItem, world.item_id)
        assert item is not None
        moved = case.state == "moved_to_meeting"
        assert item.decision_mode == (DecisionMode.MEETING if moved else DecisionMode.DECISION_PROCEDURE)
        assert item.section >= 1  # the § stays
    action = "procedure.moved_to_meeting" if moved else "procedure.decided"
    [entry] = await entries(context, action)
    assert (entry["rule"], entry["_subject"]) == (case.settled_by, f"procedure:{world.procedure_id}")


async def _reopened(context: AppContext, world: World, rule: str) -> World:
    async with context.db.write() as session:
        row = await session.get(ProcedureItem, world.procedure_id)
        assert row is not None
        row.deputy_rule = rule
    return world


async def test_all_accepted_is_still_open_until_the_deadline(context: AppContext, clock: FixedClock) -> None:
    """R-EDP-3(3): the procedure never closes early, even when every seat has accepted."""
    world = await make_world(context)
    at(clock, -DAY)
    for who in ALL:
        await state(context, world, who, "accept")
    for seconds in (-3600, -1, -0.000001):
        at(clock, seconds)
        assert await run_scheduler(context) == []
        assert (await procedure_row(context, world)).state == "open"
    at(clock, 0)
    assert await run_scheduler(context) == [world.procedure_id]
    row = await procedure_row(context, world)
    assert (row.state, row.settled_at, row.late) == ("decided", row.deadline_at, False)


async def test_every_change_is_kept_and_audited(context: AppContext, clock: FixedClock) -> None:
    """R-EDP-5 [INTERP]: a stance may be changed until the deadline; every change is kept and logged."""
    world = await make_world(context)
    at(clock, -DAY)
    await state(context, world, "aino", "accept")
    at(clock, -3600)
    await state(
        context, world, "aino", "disqualified", "other", explanation="Hallituksen jäsen hakijayhdistyksessä"
    )
    at(clock, -60)
    await state(context, world, "aino", "accept")
    assert [s.stance for s in await stances(context, world)] == ["accept", "disqualified", "accept"]
    logged = await entries(context, "procedure.stance_stated")
    assert [(e["stance"], e["previous"]) for e in logged] == [
        ("accept", None),
        ("disqualified", "accept"),
        ("accept", "disqualified"),
    ]
    assert all(e["_actor"] == world.actor("aino") for e in logged)


async def test_nothing_after_the_move(context: AppContext, clock: FixedClock) -> None:
    world = await make_world(context)
    at(clock, -DAY)
    await state(context, world, "aino", "demand_meeting")
    with pytest.raises(InvalidTransition) as refused:
        await state(context, world, "bertta", "accept")
    assert refused.value.template == MOVED
    at(clock, 1)
    assert await run_scheduler(context) == []  # nothing left to settle: it settled once, at the demand


async def test_one_second_late_is_refused_before_the_scheduler_runs(
    context: AppContext, clock: FixedClock
) -> None:
    world = await make_world(context)
    at(clock, 1)
    with pytest.raises(InvalidTransition) as refused:
        await state(context, world, "aino", "accept")
    assert refused.value.template == DEADLINE_PASSED
    assert await stances(context, world) == []


async def test_a_disqualification_needs_its_ground(context: AppContext, clock: FixedClock) -> None:
    world = await make_world(context)
    at(clock, -DAY)
    with pytest.raises(ValidationFailed):
        await state(context, world, "aino", "disqualified")
    with pytest.raises(ValidationFailed):
        await state(context, world, "aino", "accept", "party")
    with pytest.raises(ValidationFailed):
        await state(context, world, "aino", "vote_no")
    assert await stances(context, world) == []
