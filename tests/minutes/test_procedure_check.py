"""The decision procedure's record checked before the meeting (R-CHECK-5, KL 100 § 3 mom): opened by the
secretary or the chair with two checkers, approved by both, or rejected with a comment (R-CHECK-2); once
checked, its decisions count as made (R-CHECK-3) and the meeting's minutes say when they were checked."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from core.clock import LOCAL, FixedClock
from core.errors import Conflict, Forbidden, InvalidTransition, ValidationFailed
from meetings.live.actions.sitting import do_close_meeting, do_open_meeting
from meetings.models import Meeting
from minutes.drafting import draft, planned_publication
from minutes.models import ProcedureCheckState
from minutes.procedure_check import (
    check_of_meeting,
    decision_made,
    do_choose_procedure_checkers,
    do_open_procedure_check,
    eligible_checkers,
)
from minutes.render import render_html
from minutes.workflow import do_open_draft
from tests.factories import add_member, audit_entries
from tests.meetings.decision_procedure.steps import at, state
from tests.meetings.decision_procedure.world import MEETING, PROPOSAL, TITLE, World, make_world
from tests.minutes.procedure_world import current, decided, opened, review
from web.context import AppContext


async def _minutes_draft(context: AppContext, clock: FixedClock, world: World):  # type: ignore[no-untyped-def]
    clock.now = MEETING
    async with context.db.write() as session:
        meeting = await session.get(Meeting, world.meeting_id)
        assert meeting is not None
        chair = world.people["pj"]
        await do_open_meeting(session, meeting=meeting, chair_id=chair, actor=world.actor("pj"))
        await do_close_meeting(session, meeting=meeting, actor=world.actor("pj"))
    async with context.db.read() as session:
        meeting = await session.get(Meeting, world.meeting_id)
        assert meeting is not None
        publish_at = planned_publication(MEETING.date() + timedelta(days=1))
        return await draft(session, meeting, secretary_id=world.people["sihteeri"], publish_at=publish_at)


async def _minutes_draft_again(context: AppContext, world: World):  # type: ignore[no-untyped-def]
    async with context.db.read() as session:
        meeting = await session.get(Meeting, world.meeting_id)
        assert meeting is not None
        publish_at = planned_publication(MEETING.date() + timedelta(days=1))
        return await draft(session, meeting, secretary_id=world.people["sihteeri"], publish_at=publish_at)


async def test_the_record_holds_the_decided_sections_as_the_minutes_will(
    context: AppContext, clock: FixedClock
) -> None:
    """R-CHECK-5: the decided items drafted as minutes sections, before the meeting is held."""
    world = await decided(context, clock)
    check = await opened(context, world)
    assert check.state == ProcedureCheckState.CHECKING
    [item] = check.content["items"]  # type: ignore[misc]
    assert (item["title"], item["decision"], item["decided_in_procedure"]) == (TITLE, PROPOSAL, True)
    assert [d["provision"] for d in item["disqualifications"]] == ["HL 28 § 1 mom. 1 k."]
    assert check.sections == [item["section"]]
    [entry] = await audit_entries(context, "procedure_check.opened")
    assert entry.subject == f"procedure_check:{check.id}"
    data = json.loads(entry.data)
    assert data["checkers"] == [f"user:{world.people['aino']}", f"user:{world.people['bertta']}"]
    assert data["sections"] == check.sections


async def test_opening_again_returns_the_same_record(context: AppContext, clock: FixedClock) -> None:
    world = await decided(context, clock)
    first = await opened(context, world)
    assert (await opened(context, world, by="pj")).id == first.id
    assert len(await audit_entries(context, "procedure_check.opened")) == 1


async def test_nothing_to_check_before_an_item_is_decided(context: AppContext, clock: FixedClock) -> None:
    """R-EDP-3(3): an open item is not decided; there is nothing to check yet."""
    world = await make_world(context)
    with pytest.raises(Conflict):
        await opened(context, world)


async def test_an_item_moved_to_the_meeting_is_not_in_the_record(
    context: AppContext, clock: FixedClock
) -> None:
    """R-EDP-3(4): a demand moves the item to the meeting: it is decided and checked with the minutes."""
    world = await make_world(context)
    at(clock, -3600)
    await state(context, world, "aino", "demand_meeting")
    with pytest.raises(Conflict):
        await opened(context, world)


@pytest.mark.parametrize(
    "checkers", [("aino",), ("aino", "aino"), ("aino", "ulko"), ("aino", "pj"), ("aino", "bertta", "cecilia")]
)
async def test_two_members_of_the_body_check_it(
    context: AppContext, clock: FixedClock, checkers: tuple[str, ...]
) -> None:
    """Two different members of the body; not another body's member, not the chair who signs."""
    world = await decided(context, clock)
    async with context.db.write() as session:
        meeting = await session.get(Meeting, world.meeting_id)
        assert meeting is not None
        with pytest.raises(ValidationFailed):
            await do_open_procedure_check(
                session,
                meeting=meeting,
                checkers=[world.people[c] for c in checkers],
                user_id=world.people["sihteeri"],
                actor=world.actor("sihteeri"),
            )


async def test_both_checkers_approve_and_the_decision_counts_as_made(
    context: AppContext, clock: FixedClock
) -> None:
    """R-CHECK-5 and R-CHECK-3: checked when both have approved, and made from that day."""
    world = await decided(context, clock)
    check = await opened(context, world)
    section = check.sections[0]
    async with context.db.read() as session:
        assert await decision_made(session, world.meeting_id, section) is None
    await review(context, world, "aino", approve=True)
    assert (await current(context, world)).state == ProcedureCheckState.CHECKING
    clock.advance(hours=2)
    await review(context, world, "bertta", approve=True, comment="Ei huomautettavaa.")
    found = await current(context, world)
    assert (found.state, found.checked_at) == (ProcedureCheckState.CHECKED, clock())
    async with context.db.read() as session:
        made = await decision_made(session, world.meeting_id, section)
    assert made is not None
    assert (made.on, made.before_the_meeting) == (clock().astimezone(LOCAL).date(), True)
    approvals = [json.loads(e.data) for e in await audit_entries(context, "procedure_check.approved")]
    assert approvals == [{"checked": False, "comment": False}, {"checked": True, "comment": True}]


async def test_only_the_chosen_checkers_check(context: AppContext, clock: FixedClock) -> None:
    world = await decided(context, clock)
    await opened(context, world)
    for who in ("cecilia", "pj", "sihteeri", "ulko"):
        with pytest.raises(Forbidden):
            await review(context, world, who, approve=True)
    assert await audit_entries(context, "procedure_check.approved") == []


async def test_a_rejection_needs_a_comment_and_leaves_the_sections_to_the_minutes(
    context: AppContext, clock: FixedClock
) -> None:
    """R-CHECK-2: rejected with a comment; then the sections are checked with the meeting's minutes."""
    world = await decided(context, clock)
    await opened(context, world)
    with pytest.raises(ValidationFailed):
        await review(context, world, "aino", approve=False, comment=" ")
    await review(context, world, "aino", approve=False, comment="Esteellisyyden peruste puuttuu.")
    assert (await current(context, world)).state == ProcedureCheckState.REJECTED
    [entry] = await audit_entries(context, "procedure_check.rejected")
    assert json.loads(entry.data) == {"checked": False, "comment": True}
    with pytest.raises(InvalidTransition):
        await review(context, world, "bertta", approve=True)
    document = await _minutes_draft(context, clock, world)
    assert document.meeting.checking.decision_procedure_checked_on is None
    assert document.meeting.checking.decision_procedure_sections == ()


async def test_a_checker_reviews_once(context: AppContext, clock: FixedClock) -> None:
    world = await decided(context, clock)
    await opened(context, world)
    await review(context, world, "aino", approve=True)
    with pytest.raises(Conflict):
        await review(context, world, "aino", approve=True)


async def test_the_checkers_change_only_before_either_has_checked(
    context: AppContext, clock: FixedClock
) -> None:
    world = await decided(context, clock)
    await opened(context, world)

    async def choose(*names: str) -> None:
        async with context.db.write() as session:
            check = await check_of_meeting(session, world.meeting_id)
            meeting = await session.get(Meeting, world.meeting_id)
            assert check is not None
            assert meeting is not None
            await do_choose_procedure_checkers(
                session,
                check=check,
                meeting=meeting,
                checkers=[world.people[n] for n in names],
                actor=world.actor("pj"),
            )

    await choose("aino", "cecilia")
    assert (await current(context, world)).checkers == [world.people["aino"], world.people["cecilia"]]
    [entry] = await audit_entries(context, "procedure_check.checkers_chosen")
    assert json.loads(entry.data)["checkers"] == [f"user:{world.people[n]}" for n in ("aino", "cecilia")]
    await review(context, world, "cecilia", approve=True)
    with pytest.raises(Conflict):
        await choose("aino", "bertta")


async def test_the_meetings_minutes_carry_the_day_and_the_sections_already_checked(
    context: AppContext, clock: FixedClock
) -> None:
    """R-CHECK-5: the minutes say when the procedure's decisions were checked, and which §s; the minutes'
    own checkers are shown them as already checked."""
    world = await decided(context, clock)
    check = await opened(context, world)
    await review(context, world, "aino", approve=True)
    await review(context, world, "bertta", approve=True)
    checked_day = clock().astimezone(LOCAL).date()
    document = await _minutes_draft(context, clock, world)
    checking = document.meeting.checking
    assert checking.decision_procedure_checked_on == checked_day
    assert checking.decision_procedure_sections == tuple(check.sections)
    page = render_html(document)
    assert f"päätökset tarkastettu (§ {check.sections[0]}) {checked_day.day}.{checked_day.month}." in page
    assert "Tarkastettu ennen kokousta (KL 100 § 3 mom.)" in page


async def test_the_record_cannot_be_opened_once_the_minutes_are(
    context: AppContext, clock: FixedClock
) -> None:
    """Once the minutes are open, the procedure's items are checked with them."""
    world = await decided(context, clock)
    await _minutes_draft(context, clock, world)
    async with context.db.write() as session:
        meeting = await session.get(Meeting, world.meeting_id)
        assert meeting is not None
        await do_open_draft(
            session, meeting=meeting, secretary_id=world.people["sihteeri"], actor=world.actor("sihteeri")
        )
    with pytest.raises(Conflict):
        await opened(context, world)
    async with context.db.read() as session:
        assert await check_of_meeting(session, world.meeting_id) is None


async def test_a_chair_who_holds_a_seat_is_not_offered_as_a_checker(
    context: AppContext, clock: FixedClock
) -> None:
    """The chair signs the minutes (R-CHECK-1) and does not check them, seat or not."""
    world = await decided(context, clock)
    await add_member(context, world.body_id, world.people["pj"], "member")
    async with context.db.read() as session:
        meeting = await session.get(Meeting, world.meeting_id)
        assert meeting is not None
        offered = {i for i, _ in await eligible_checkers(session, meeting)}
    assert offered == {world.people[n] for n in ("aino", "bertta", "cecilia")}


async def test_once_the_minutes_are_opened_the_record_is_checked_with_them(
    context: AppContext, clock: FixedClock
) -> None:
    """R-CHECK-2/5: a record still with its checkers when the minutes are opened is checked with them."""
    world = await decided(context, clock)
    await opened(context, world)
    await review(context, world, "aino", approve=True)
    await _minutes_draft(context, clock, world)
    async with context.db.write() as session:
        meeting = await session.get(Meeting, world.meeting_id)
        assert meeting is not None
        await do_open_draft(
            session, meeting=meeting, secretary_id=world.people["sihteeri"], actor=world.actor("sihteeri")
        )
    with pytest.raises(Conflict):
        await review(context, world, "bertta", approve=True)
    assert (await current(context, world)).state == ProcedureCheckState.CHECKING
    document = await _minutes_draft_again(context, world)
    assert document.meeting.checking.decision_procedure_checked_on is None
