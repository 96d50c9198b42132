"""The roll call with pictures (R-EMEET-1(1), R-EMEET-9) through the API: the secretary or the chair calls
everyone taking part electronically in turn, marks each, and the marks are kept with their time in the event
log, the audit log and the body's snapshot; everyone else is refused."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from audit.models import AuditAction
from core.clock import FixedClock
from meetings.live.actions.attendance import do_record_arrival, do_record_disconnection
from meetings.live.actions.roll_call import Outcome, RollCall, roll_call_from
from tests.factories import audit_entries
from tests.meetings.live.world import meeting_of
from tests.web.live_world import LiveWorld, live_world, step
from web.context import AppContext

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
