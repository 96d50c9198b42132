"""A whole meeting through the live API: every step answers the meeting's new version, writes its audit entry
and appends its numbered event (DESIGN.md §6, docs/live.md)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from audit.models import AuditAction as A
from core.clock import FixedClock
from meetings.live.models import Ballot
from tests.meetings.live.world import SECRET_TITLE, base_proposal
from tests.web.live_world import LiveWorld, live_world, step
from web.context import AppContext


@pytest.fixture
async def world(context: AppContext, clock: FixedClock) -> LiveWorld:
    return await live_world(context, clock, public=True)


async def test_a_whole_meeting_through_the_api(
    client: httpx.AsyncClient, context: AppContext, world: LiveWorld
) -> None:
    board = world.board
    p = board.people
    item1, item2 = board.items

    async def do(who: str, method: str, path: str, body: dict[str, Any] | None = None, **expect: Any) -> Any:
        return await step(client, context, world, who, method, path, body, **expect)

    # The chair opens the meeting on its day; nobody is present yet.
    opened = await do("m1", "POST", "/open", status=201, audit=A.MEETING_OPENED, event="meeting.opened")
    assert opened == {"version": 1}
    snapshot = (await client.get(world.live, headers=world.headers["m2"])).json()
    assert (snapshot["status"], snapshot["chair"], snapshot["quorum"]["quorate"]) == ("held", p["m1"], False)

    # Attendance: the secretary marks the room, members on line check in themselves (R-EMEET-3), and a
    # deputy takes the seat of a member who is prevented (R-DEP-2).
    for name in ("m1", "m2"):
        await do(
            "sihteeri",
            "POST",
            "/arrivals",
            {"user_id": p[name]},
            status=201,
            audit=A.ARRIVAL_RECORDED,
            event="attendance.arrived",
        )
    refused = await client.post(world.live + "/lawful", headers=world.headers["m1"])
    assert refused.status_code == 409
    assert "not quorate" in refused.json()["error"]  # R-QUORUM-1/2: two of five, no declaration
    await do(
        "m3",
        "POST",
        "/arrivals",
        {"remote": True},
        status=201,
        audit=A.ARRIVAL_RECORDED,
        event="quorum.changed",
    )
    await do("m4", "POST", "/arrivals", {}, status=201, audit=A.ARRIVAL_RECORDED, event="attendance.arrived")
    await do("d5", "POST", "/arrivals", {}, status=201, audit=A.ARRIVAL_RECORDED, event="seats.changed")
    await do("d2", "POST", "/arrivals", {}, status=201, audit=A.ARRIVAL_RECORDED, event="attendance.arrived")
    snapshot = (await client.get(world.live, headers=world.headers["m1"])).json()
    seats = {s["member"]: s["holder"] for s in snapshot["seats"]}
    assert seats[p["m5"]] == p["d5"]
    assert snapshot["remote"] == [p["m3"]]
    assert snapshot["quorum"]["quorate"]

    await do("m1", "POST", "/lawful", audit=A.MEETING_DECLARED_LAWFUL, event="meeting.declared_lawful")
    await do(
        "m1",
        "PUT",
        "/checkers",
        {"checkers": [p["m3"], p["m4"]]},
        audit=A.MEETING_CHECKERS_CHOSEN,
        event="meeting.checkers_chosen",
    )
    await do(
        "m1",
        "PUT",
        "/floor-rules",
        {"speaking_seconds": 120, "replies_allowed": True},
        audit=A.FLOOR_RULES_SET,
        event="floor.rules_set",
    )

    # The first item; the body finds m2 disqualified (R-DISQ-4, with its ground); d2 sits for them.
    await do("m1", "POST", f"/items/{item1}/take-up", audit=A.ITEM_TAKEN_UP, event="item.taken_up")
    await do(
        "m1",
        "POST",
        f"/items/{item1}/recusals",
        {"user_id": p["m2"], "ground": "party", "decided_by_body": True, "explanation": "Hakija."},
        status=201,
        audit=A.RECUSAL_RECORDED,
        event="item.recused",
    )
    snapshot = (await client.get(world.live, headers=world.headers["m1"])).json()
    assert snapshot["current"]["recused"] == [p["m2"]]
    assert {s["member"]: s["holder"] for s in snapshot["seats"]}[p["m2"]] == p["d2"]

    # The floor: m3 asks and is granted it, m4 asks for a reply, then withdraws it; m3 ends their speech.
    asked = await do(
        "m3",
        "POST",
        f"/items/{item1}/floor",
        {"kind": "speech"},
        status=201,
        audit=A.FLOOR_REQUESTED,
        event="floor.requested",
    )
    await do("m1", "POST", f"/floor/{asked['id']}/grant", audit=A.FLOOR_GRANTED, event="floor.granted")
    reply = await do(
        "m4",
        "POST",
        f"/items/{item1}/floor",
        {"kind": "reply"},
        status=201,
        audit=A.FLOOR_REQUESTED,
        event="floor.requested",
    )
    snapshot = (await client.get(world.live, headers=world.headers["m4"])).json()
    assert snapshot["current"]["speaker"]["person"] == p["m3"]
    assert [r["person"] for r in snapshot["current"]["queue"]] == [p["m4"]]
    await do(
        "m4", "DELETE", f"/floor/{reply['id']}", audit=A.FLOOR_REQUEST_WITHDRAWN, event="floor.withdrawn"
    )
    await do("m3", "POST", f"/items/{item1}/floor/end", audit=A.FLOOR_ENDED, event="floor.ended")

    # Proposals: the presenter amends the base (R-PROP-6); m3's counter-proposal is seconded by m4; m4's
    # tabling proposal lapses unseconded; a rejection proposal is withdrawn by its maker.
    base = await base_proposal(context, item1)
    await do(
        "esittelija",
        "PUT",
        f"/proposals/{base.id}",
        {"text": "Hallitus hyväksyy talousarvion muutettuna."},
        audit=A.PROPOSAL_AMENDED,
        event="proposal.amended",
    )
    counter = await do(
        "m3",
        "POST",
        f"/items/{item1}/proposals",
        {"kind": "counter", "text": "Hylätään."},
        status=201,
        audit=A.PROPOSAL_MADE,
        event="proposal.made",
    )
    await do(
        "m4",
        "POST",
        f"/proposals/{counter['id']}/seconding",
        status=201,
        audit=A.PROPOSAL_SECONDED,
        event="proposal.seconded",
    )
    tabling = await do(
        "m4",
        "POST",
        f"/items/{item1}/proposals",
        {"kind": "tabling", "text": "Pöydälle."},
        status=201,
        audit=A.PROPOSAL_MADE,
        event="proposal.made",
    )
    rejection = await do(
        "d5",
        "POST",
        f"/items/{item1}/proposals",
        {"kind": "rejection", "text": "Ei."},
        status=201,
        audit=A.PROPOSAL_MADE,
        event="proposal.made",
    )
    await do(
        "d5",
        "DELETE",
        f"/proposals/{rejection['id']}",
        audit=A.PROPOSAL_WITHDRAWN,
        event="proposal.withdrawn",
    )
    await do(
        "m1", "POST", f"/items/{item1}/close-discussion", audit=A.DISCUSSION_CLOSED, event="discussion.closed"
    )
    last = (await client.get(world.live, headers=world.headers["m1"])).json()
    assert [pr["id"] for pr in last["current"]["proposals"]] == [base.id, counter["id"], tabling["id"]]

    # Nothing may be declared without a vote: a seconded proposal stands (R-PROP-3).
    assert (
        await client.post(world.live + f"/items/{item1}/decision", headers=world.headers["m1"])
    ).status_code == 409
    await do(
        "m1",
        "PUT",
        f"/items/{item1}/order",
        {"order": [counter["id"], base.id]},
        audit=A.VOTING_ORDER_APPROVED,
        event="voting_order.approved",
    )
    vote = await do(
        "m1", "POST", f"/items/{item1}/votes", status=201, audit=A.VOTE_OPENED, event="vote.opened"
    )
    assert sorted(vote["entitled"]) == sorted([p["m1"], p["d2"], p["m3"], p["m4"], p["d5"]])
    assert (vote["jaa"], vote["ei"]) == (str(base.id), str(counter["id"]))

    # Ballots: each acknowledged after the commit; m3 changes theirs (one ballot, never two); the
    # disqualified m2 and the secretary are refused.
    ballot = f"/votes/{vote['id']}/ballot"
    for name, choice in (
        ("m1", "jaa"),
        ("d2", "jaa"),
        ("m3", "jaa"),
        ("m4", "ei"),
        ("m3", "ei"),
        ("d5", "tyhja"),
    ):
        answer = await do(name, "PUT", ballot, {"choice": choice}, audit=A.BALLOT_CAST)
        assert answer["choice"] == choice
    assert (answer["cast"], answer["of"]) == (5, 5)
    for name in ("m2", "sihteeri"):
        assert (
            await client.put(world.live + ballot, headers=world.headers[name], json={"choice": "ei"})
        ).status_code == 403
    bad = await client.put(world.live + ballot, headers=world.headers["m4"], json={"choice": "maybe"})
    assert bad.status_code == 422
    async with context.db.read() as session:
        stored = (
            await session.execute(
                select(func.count()).select_from(Ballot).where(Ballot.vote_id == vote["id"])
            )
        ).scalar_one()
    assert stored == 5
    # Voting is under way: the meeting cannot be suspended or closed until the chair closes the vote.
    assert (
        await client.post(world.live + "/suspend", headers=world.headers["m1"], json={})
    ).status_code == 409

    # 2–2 with one TYHJÄ: the chair voted JAA, so JAA wins (R-VOTE-2); the base proposal is the decision.
    closed = await do("m1", "POST", f"/votes/{vote['id']}/close", audit=A.VOTE_CLOSED, event="decision.made")
    result = closed["result"]
    assert (result["jaa"], result["ei"], result["tyhja"], result["winner"], result["by_chair"]) == (
        2,
        2,
        1,
        "jaa",
        True,
    )
    assert result["choices"][str(p["m3"])] == "ei"  # R-VOTE-3: every member's choice, the last one counts
    after = (await client.get(world.live, headers=world.headers["m3"])).json()
    assert (after["current"]["state"], after["current"]["decided_how"]) == ("decided", "vote")
    assert after["current"]["decision"] == "Hallitus hyväksyy talousarvion muutettuna."

    # R-DISSENT-1: m3 voted against and made the counter-proposal; the chair voted for the decision.
    await do(
        "m3",
        "POST",
        f"/items/{item1}/dissents",
        {"reasons": "Talousarvio ei ole tasapainossa."},
        status=201,
        audit=A.DISSENT_REGISTERED,
        event="dissent.registered",
    )
    assert (
        await client.post(world.live + f"/items/{item1}/dissents", headers=world.headers["m1"], json={})
    ).status_code == 403

    # A break: suspended and resumed.
    await do(
        "m1", "POST", "/suspend", {"reason": "Tauko."}, audit=A.MEETING_SUSPENDED, event="meeting.suspended"
    )
    assert (await client.get(world.live, headers=world.headers["m1"])).json()["status"] == "suspended"
    await do("m1", "POST", "/resume", audit=A.MEETING_RESUMED, event="meeting.resumed")

    # The confidential item; the public sees only that a closed item is being handled (R-PUB-2/3).
    await do("m1", "POST", f"/items/{item2}/take-up", audit=A.ITEM_TAKEN_UP, event="item.taken_up")
    public = await client.get(world.live)
    assert public.status_code == 200
    assert SECRET_TITLE not in public.text
    assert public.json()["current"] == {
        **public.json()["current"],
        "closed": True,
        "title": None,
        "proposals": [],
    }
    inside = (await client.get(world.live, headers=world.headers["m5"])).json()
    assert inside["current"]["title"] == SECRET_TITLE
    await do(
        "sihteeri",
        "POST",
        "/departures",
        {"user_id": p["m4"]},
        status=201,
        audit=A.DEPARTURE_RECORDED,
        event="attendance.left",
    )
    await do(
        "m1", "POST", f"/items/{item2}/close-discussion", audit=A.DISCUSSION_CLOSED, event="discussion.closed"
    )
    await do(
        "m1", "POST", f"/items/{item2}/decision", status=201, audit=A.DECISION_MADE, event="decision.made"
    )
    await do("m1", "POST", "/close", audit=A.MEETING_CLOSED, event="meeting.closed")
    final = (await client.get(world.live, headers=world.headers["m1"])).json()
    assert final["status"] == "closed"
    assert (await client.post(world.live + "/resume", headers=world.headers["m1"])).status_code == 409


async def test_snapshot_before_opening_and_for_unknown_meetings(
    client: httpx.AsyncClient, context: AppContext, world: LiveWorld
) -> None:
    early = await client.get(world.live, headers=world.headers["m1"])
    assert early.status_code == 409
    assert "not been opened" in early.json()["error"]
    assert (await client.get("/api/meetings/999999/live", headers=world.headers["m1"])).status_code == 404
    assert (await client.get("/api/meetings/0/live")).status_code == 404  # beyond any id (core.bounds)


async def test_bounded_input(client: httpx.AsyncClient, context: AppContext, world: LiveWorld) -> None:
    await step(client, context, world, "m1", "POST", "/open", status=201)
    await step(client, context, world, "m3", "POST", "/arrivals", {}, status=201)
    await step(client, context, world, "m1", "POST", f"/items/{world.board.items[0]}/take-up")
    path = world.live + f"/items/{world.board.items[0]}/proposals"
    too_long = await client.post(
        path, headers=world.headers["m3"], json={"kind": "counter", "text": "x" * 300_001}
    )
    assert too_long.status_code == 422
    assert too_long.json()["field"] == "text"
    unknown = await client.post(
        path, headers=world.headers["m3"], json={"kind": "counter", "text": "x", "by": 1}
    )
    assert unknown.status_code == 400
    checkers = await client.put(
        world.live + "/checkers", headers=world.headers["m1"], json={"checkers": [1, 2, 3]}
    )
    assert checkers.status_code == 422
    limit = await client.put(
        world.live + "/floor-rules", headers=world.headers["m1"], json={"speaking_seconds": 5}
    )
    assert limit.status_code == 422
    assert "30 seconds" in limit.json()["error"]
    huge = await client.post(
        path,
        headers=world.headers["m3"],
        content=b"{" + b" " * (2 * 1024 * 1024) + b"}",
    )
    assert huge.status_code == 413
