"""The roll call with pictures (R-EMEET-1(1), R-EMEET-9) through the API: the secretary or the chair calls
everyone taking part electronically in turn, marks each, and the marks are kept with their time in the event
log, the audit log and the body's snapshot; everyone else is refused."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import httpx
import pytest

from audit.models import AuditAction
from core.clock import LOCAL, FixedClock
from core.config import DEFAULT_ROLL_CALL_TIMEOUT_SECONDS, settings_from_env
from meetings.live.actions.attendance import do_record_arrival, do_record_disconnection
from meetings.live.actions.roll_call import (
    DEFAULT_TIMEOUT,
    EndReason,
    Outcome,
    RollCall,
    RollCallTimer,
    latest_roll_call,
    roll_call_from,
)
from tests.factories import audit_entries
from tests.meetings.live.world import meeting_of
from tests.web.live_world import LiveWorld, events_since, live_world, step, version
from web.context import AppContext
from web.media_bridge import meeting_media

START, MARKS, END = "/roll-call", "/roll-call/marks", "/roll-call/end"


@pytest.fixture
async def world(client: httpx.AsyncClient, context: AppContext, clock: FixedClock) -> LiveWorld:
    made = await live_world(context, clock)
    await step(client, context, made, "m1", "POST", "/open", status=201)
    return made


async def arrive(context: AppContext, world: LiveWorld, person: int, *, remote: bool) -> None:
    async with context.db.write() as session:
        meeting = await meeting_of(session, world.board)
        await do_record_arrival(session, meeting=meeting, user_id=person, remote=remote, actor="user:x")


def test_the_latest_roll_call_is_read_back_from_its_events() -> None:
    from datetime import UTC, datetime

    t = [datetime(2026, 5, 4, 13, m, tzinfo=UTC) for m in range(6)]
    events = [
        ("roll_call.started", {"people": [1, 2]}, t[0]),
        ("roll_call.ended", {}, t[1]),
        ("roll_call.started", {"people": [3, 4, 5]}, t[2]),
        ("roll_call.marked", {"person": 3, "outcome": "identified"}, t[3]),
        ("roll_call.marked", {"person": 4, "outcome": "passed"}, t[4]),
    ]
    found = roll_call_from(events)
    assert found is not None
    assert (found.people, found.current, found.ended_at) == ((3, 4, 5), 5, None)
    assert found.outcome_of(3) is Outcome.IDENTIFIED
    assert found.summary() == {"identified": [3], "not_identified": [], "unchecked": [4, 5]}
    assert roll_call_from([]) is None
    assert RollCall(t[0], (1,), (), t[1]).current is None  # ended: nobody is shown


async def test_the_secretary_calls_everyone_taking_part_electronically_in_turn(
    client: httpx.AsyncClient, context: AppContext, clock: FixedClock, world: LiveWorld
) -> None:
    board = world.board
    m1, m2, m3, m4, _ = board.members
    for person in (m2, m3, m4):
        await arrive(context, world, person, remote=True)
    await arrive(context, world, m1, remote=False)  # in the hall: seen there, not called
    async with context.db.write() as session:  # m4's connection is gone: nobody to see
        meeting = await meeting_of(session, board)
        await do_record_disconnection(session, meeting=meeting, user_id=m4, actor="system:media")

    started = await step(
        client, context, world, "sihteeri", "POST", START, status=201,
        audit=AuditAction.ROLL_CALL_STARTED, event="roll_call.started",
    )  # fmt: skip
    assert (started["people"], started["current"], started["ended"]) == ([m2, m3], m2, False)
    again = await client.post(world.live + START, headers=world.headers["sihteeri"])
    assert again.status_code == 409
    assert again.json()["error"] == "A roll call is already under way: finish it or end it first."

    clock.now += timedelta(seconds=20)
    marked = await step(
        client, context, world, "sihteeri", "POST", MARKS, {"person": m2, "outcome": "identified"},
        status=201, audit=AuditAction.ROLL_CALL_MARKED, event="roll_call.marked",
    )  # fmt: skip
    assert marked["current"] == m3
    # A second click on m2's button (the page not yet refreshed) is refused, not counted again.
    twice = await client.post(
        world.live + MARKS, headers=world.headers["sihteeri"], json={"person": m2, "outcome": "identified"}
    )
    assert twice.status_code == 409
    assert twice.json()["error"] == "The roll call has moved on from this person: reload the page."
    for bad in ({"person": m3, "outcome": "maybe"}, {"person": 0, "outcome": "identified"}, {"person": m3}):
        refused = await client.post(world.live + MARKS, headers=world.headers["sihteeri"], json=bad)
        assert refused.status_code in (400, 422), bad

    # The last mark ends the roll call by itself: the picture goes back to the floor.
    clock.now += timedelta(seconds=20)
    last = await step(
        client, context, world, "m1", "POST", MARKS, {"person": m3, "outcome": "not_identified"},
        status=201, audit=AuditAction.ROLL_CALL_ENDED, event="roll_call.ended",
    )  # fmt: skip
    assert (last["current"], last["ended"]) == (None, True)
    (marked_m2, marked_m3) = await audit_entries(context, "roll_call.marked")
    assert (marked_m2.actor, marked_m3.actor) == (f"user:{board.secretary}", f"user:{m1}")
    assert f'"person":"user:{m3}"' in marked_m3.data
    assert '"outcome":"not_identified"' in marked_m3.data
    (ended,) = await audit_entries(context, "roll_call.ended")
    assert f'"identified":["user:{m2}"]' in ended.data
    assert f'"not_identified":["user:{m3}"]' in ended.data

    # The body's snapshot shows each mark with its time; the end is refused once it has ended.
    snapshot = (await client.get(world.live, headers=world.headers["m5"])).json()
    roll_call = snapshot["roll_call"]
    assert roll_call["people"] == [m2, m3]
    assert roll_call["current"] is None
    assert [(m["person"], m["outcome"]) for m in roll_call["marks"]] == [
        (m2, "identified"),
        (m3, "not_identified"),
    ]
    assert roll_call["marks"][1]["at"] == clock().isoformat()
    assert roll_call["ended_at"] == clock().isoformat()
    done = await client.post(world.live + END, headers=world.headers["sihteeri"])
    assert done.status_code == 409
    assert done.json()["error"] == "No roll call is under way."


async def test_the_chair_ends_a_roll_call_early_and_the_rest_stay_unchecked(
    client: httpx.AsyncClient, context: AppContext, world: LiveWorld
) -> None:
    m2, m3 = world.board.members[1:3]
    for person in (m2, m3):
        await arrive(context, world, person, remote=True)
    await step(client, context, world, "m1", "POST", START, status=201)
    await step(
        client, context, world, "m1", "POST", MARKS, {"person": m2, "outcome": "passed"}, status=201,
        audit=AuditAction.ROLL_CALL_MARKED,
    )  # fmt: skip
    ended = await step(
        client, context, world, "m1", "POST", END, audit=AuditAction.ROLL_CALL_ENDED, event="roll_call.ended"
    )
    assert ended["ended"] is True
    (entry,) = await audit_entries(context, "roll_call.ended")
    assert f'"unchecked":["user:{m2}","user:{m3}"]' in entry.data


async def test_only_the_secretary_and_the_chair_hold_a_roll_call(
    client: httpx.AsyncClient, context: AppContext, world: LiveWorld
) -> None:
    m2 = world.board.members[1]
    nobody = await client.post(world.live + START, headers=world.headers["sihteeri"])
    assert nobody.status_code == 409
    assert nobody.json()["error"] == "Nobody takes part electronically now: there is nobody to call."
    await arrive(context, world, m2, remote=True)
    for who in ("m2", "m3", "d1", "esittelija"):
        for path, body in ((START, None), (MARKS, {"person": m2, "outcome": "identified"}), (END, None)):
            refused = await client.post(world.live + path, headers=world.headers[who], json=body)
            assert refused.status_code == 403, (who, path, refused.text)
            assert refused.json()["error"] == "Only the secretary or the chair holds the roll call."
    anonymous = await client.post(world.live + START)
    assert anonymous.status_code == 401
    assert not await audit_entries(context, "roll_call.started")
    denied = await audit_entries(context, "access.denied")
    assert any(e.actor == f"user:{m2}" for e in denied)
    # The public's snapshot of a public meeting would show no roll call: it is the body's only.
    snapshot = (await client.get(world.live, headers=world.headers["m2"])).json()
    assert snapshot["roll_call"] is None


def test_a_roll_call_is_due_to_end_its_time_out_after_its_start_or_last_mark() -> None:
    """R-EMEET-1(1): the time-out kept in the start event counts from the start, then from each mark; an
    older start event without one gets the default; the end says why it ended."""
    from datetime import UTC, datetime

    t = datetime(2026, 5, 4, 13, 0, tzinfo=UTC)
    started = ("roll_call.started", {"people": [3, 4], "timeout": 60.0}, t)
    found = roll_call_from([started])
    assert found is not None
    assert found.due_at == t + timedelta(seconds=60)
    marked = ("roll_call.marked", {"person": 3, "outcome": "identified"}, t + timedelta(seconds=45))
    found = roll_call_from([started, marked])
    assert found is not None
    assert found.due_at == t + timedelta(seconds=105)
    ended = ("roll_call.ended", {"reason": "timeout"}, t + timedelta(seconds=105))
    found = roll_call_from([started, marked, ended])
    assert found is not None
    assert (found.due_at, found.end_reason) == (None, EndReason.TIMEOUT)
    old = roll_call_from([("roll_call.started", {"people": [3]}, t), ("roll_call.ended", {}, t)])
    assert old is not None
    assert (old.timeout, old.end_reason) == (DEFAULT_TIMEOUT, EndReason.ENDED)
    assert RollCall(t, (1,)).due_at == t + DEFAULT_TIMEOUT


def test_the_time_out_is_a_setting_of_seconds() -> None:
    assert settings_from_env({}).roll_call_timeout_seconds == DEFAULT_ROLL_CALL_TIMEOUT_SECONDS == 180
    assert settings_from_env({"KOKOUS_ROLL_CALL_TIMEOUT": "90"}).roll_call_timeout_seconds == 90
    for bad in ("0", "-5", "soon", "inf"):
        with pytest.raises(ValueError, match="KOKOUS_ROLL_CALL_TIMEOUT"):
            settings_from_env({"KOKOUS_ROLL_CALL_TIMEOUT": bad})


async def test_a_roll_call_nobody_marks_ends_by_its_time_out(
    client: httpx.AsyncClient, context: AppContext, clock: FixedClock, world: LiveWorld
) -> None:
    """R-EMEET-1(1): with no mark for the time-out the roll call ends by itself, once however many processes
    watch it, in the event log and the audit as a time-out (not as the chair's end); each mark restarts the
    time; the page shows when it will end, and then that it ended by itself."""
    m2, m3 = world.board.members[1:3]
    for person in (m2, m3):
        await arrive(context, world, person, remote=True)
    started = await step(client, context, world, "sihteeri", "POST", START, status=201)
    assert started["due_at"] == (clock() + DEFAULT_TIMEOUT).isoformat()
    one, two = RollCallTimer(context.db), RollCallTimer(context.db)  # two serving processes
    page = (await client.get(page_url(world), headers=world.headers["sihteeri"])).text
    due = clock() + DEFAULT_TIMEOUT
    assert (
        f"nimenhuuto päättyy itsestään klo {due.astimezone(LOCAL):%H.%M.%S}" in page
    )  # the page is in Finnish

    clock.now += DEFAULT_TIMEOUT - timedelta(seconds=1)
    assert await one.run_once() == due  # not yet: nothing ends, and the timer knows when to look again
    await step(
        client, context, world, "sihteeri", "POST", MARKS, {"person": m2, "outcome": "identified"}, status=201
    )  # a mark restarts the time
    clock.now += DEFAULT_TIMEOUT - timedelta(seconds=1)
    assert await one.run_once() == clock() + timedelta(seconds=1)
    async with context.db.read() as session:  # the one called is still the one seen and heard
        assert (await meeting_media(session, world.board.meeting_id)).roll_call == str(m3)
    before = await version(context, world.board.meeting_id)
    clock.now += timedelta(seconds=1)
    assert await one.run_once() is None
    assert await two.run_once() is None  # the other process finds nothing left to end
    (event,) = await events_since(context, world.board.meeting_id, before)
    assert (event.type, event.actor) == ("roll_call.ended", "system:roll_call")
    assert event.data["reason"] == "timeout"
    assert event.data["unchecked"] == [m3]
    async with context.db.read() as session:  # the floor holder (else the chair) is seen again
        assert (await meeting_media(session, world.board.meeting_id)).roll_call is None
    (entry,) = await audit_entries(context, "roll_call.ended")
    assert entry.actor == "system:roll_call"
    data = json.loads(entry.data)
    assert (data["reason"], data["unchecked"]) == ("timeout", [f"user:{m3}"])
    assert data["identified"] == [f"user:{m2}"]
    snapshot = (await client.get(world.live, headers=world.headers["m5"])).json()
    assert snapshot["roll_call"]["end_reason"] == "timeout"
    assert snapshot["roll_call"]["current"] is None
    assert snapshot["roll_call"]["due_at"] is None
    page = (await client.get(page_url(world), headers=world.headers["sihteeri"])).text
    assert f"päättyi itsestään klo {clock().astimezone(LOCAL):%H.%M.%S}" in page
    assert "roll-call-end" not in page  # nothing left to end by hand

    # The secretary's own end is told apart from a time-out.
    await step(client, context, world, "sihteeri", "POST", START, status=201)
    await step(client, context, world, "sihteeri", "POST", END)
    async with context.db.read() as session:
        found = await latest_roll_call(session, world.board.meeting_id)
    assert found is not None
    assert found.end_reason is EndReason.ENDED
    clock.now += DEFAULT_TIMEOUT * 2
    assert await one.run_once() is None
    assert len(await audit_entries(context, "roll_call.ended")) == 2


async def test_the_timer_ends_a_roll_call_when_its_time_comes_without_a_click(
    client: httpx.AsyncClient, context: AppContext, clock: FixedClock, world: LiveWorld
) -> None:
    """The running job sleeps until the time-out and ends the roll call with nobody asking; a roll call
    started while it sleeps wakes it."""
    m2 = world.board.members[1]
    await arrive(context, world, m2, remote=True)
    timer = RollCallTimer(context.db, recheck=3600)
    task = asyncio.create_task(timer.run())
    try:
        await _passes(timer, 1)
        # Only the request: the tests' sessions share one connection, so nothing else reads while it passes.
        started = await client.post(world.live + START, headers=world.headers["sihteeri"])
        assert started.status_code == 201, started.text
        await _passes(timer, 2)  # woken by the start, it now sleeps until the time-out
        assert not await audit_entries(context, "roll_call.ended")
        clock.advance(seconds=DEFAULT_TIMEOUT.total_seconds())
        # Pass 3 ends it, and its own end wakes a fourth, which finds nothing to wait for.
        await _passes(timer, 4)
        (entry,) = await audit_entries(context, "roll_call.ended")
        assert entry.actor == "system:roll_call"
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


def page_url(world: LiveWorld) -> str:
    return f"/meetings/{world.board.meeting_id}/live"


async def _passes(timer: RollCallTimer, count: int) -> None:
    for _ in range(2000):  # up to 20 s on a loaded machine
        if timer.passes >= count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"the timer made {timer.passes} passes, not {count}")
