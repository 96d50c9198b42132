"""Every live route against every kind of person (docs/access.md): only the chair runs the meeting, the
secretary marks attendance, members act for themselves, only those entitled vote, and a member of another
body or the public is refused. Each case starts from a meeting brought to the stage the route needs.

The people (tests/meetings/live/world.py): the chair m1, the member m4, m3 ("proposer") who has asked for the
floor and made a counter-proposal, the deputy d1 (not sitting), the presenter, the secretary, a member of
another body, and anonymous.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from audit.models import AuditAction, AuditEntry
from auth.failures import FULL_PER_WINDOW
from auth.ratelimit import MemoryLimiter
from core.clock import FixedClock
from core.config import TEST_PASSWORD_PROFILE, Settings
from core.db import Database, create_engine
from meetings.live.models import Ballot
from tests.conftest import BASE_URL, backend
from tests.factories import make_body, make_person
from tests.meetings.live.world import base_proposal
from tests.web.live_world import LiveWorld, bearer, live_world, step
from tests.web.pages.test_signin import form_login
from web import migration
from web.app import create_app
from web.context import AppContext, build_context

# Tried in this order: the refused first, then the allowed (a success changes the meeting).
ROLES = ("secretary", "outsider", "anonymous", "deputy", "presenter", "member", "proposer", "chair")
NAMES = {
    "secretary": "sihteeri",
    "deputy": "d1",
    "presenter": "esittelija",
    "member": "m4",
    "proposer": "m3",
    "chair": "m1",
}
STAGES = ("called", "opened", "discussion", "speaking", "unopposed", "closed", "ordered", "voting", "decided")


@dataclass
class Stage:
    world: LiveWorld
    ids: dict[str, int]


async def bring_to(
    client: httpx.AsyncClient, context: AppContext, world: LiveWorld, stage: str
) -> dict[str, int]:
    """The meeting moved through the API to `stage`; returns the ids the routes' paths need."""
    p, item = world.board.people, world.board.items[0]
    if stage in ("electing", "secret election"):  # the discussion, and an election the chair opened
        ids = await bring_to(client, context, world, "discussion")
        election = {"title": "Edustaja", "candidates": [{"name": "Aino"}, {"name": "Bertta"}]}
        election["secret"] = stage == "secret election"
        opened = await step(
            client, context, world, "m1", "POST", f"/items/{item}/elections", election, status=201
        )
        ids["election"] = opened["id"]
        return ids
    ids = {"item": item, "item2": world.board.items[1]}
    reached = STAGES.index(stage)

    async def do(
        who: str, method: str, path: str, body: dict[str, object] | None = None, status: int = 200
    ) -> dict[str, int]:
        answer: dict[str, int] = await step(client, context, world, who, method, path, body, status=status)
        return answer

    if reached >= STAGES.index("opened"):
        await do("m1", "POST", "/open", status=201)
        for name in ("m1", "m2", "m3", "m4", "m5"):
            await do("sihteeri", "POST", "/arrivals", {"user_id": p[name]}, status=201)
        await do("m1", "POST", "/lawful")
        ids["base"] = (await base_proposal(context, item)).id
    if reached >= STAGES.index("discussion"):
        await do("m1", "POST", f"/items/{item}/take-up")
    if reached == STAGES.index("unopposed"):
        await do("m1", "POST", f"/items/{item}/close-discussion")
        return ids
    if reached >= STAGES.index("discussion"):
        ids["request"] = (await do("m3", "POST", f"/items/{item}/floor", {"kind": "speech"}, status=201))[
            "id"
        ]
        made = await do(
            "m3", "POST", f"/items/{item}/proposals", {"kind": "counter", "text": "Hylätään."}, 201
        )
        ids["proposal"] = made["id"]
    if reached >= STAGES.index("speaking"):
        await do("m1", "POST", f"/floor/{ids['request']}/grant")
    if reached >= STAGES.index("closed"):
        await do("m4", "POST", f"/proposals/{ids['proposal']}/seconding", status=201)
        await do("m1", "POST", f"/items/{item}/close-discussion")
    if reached >= STAGES.index("ordered"):
        await do("m1", "PUT", f"/items/{item}/order", {"order": [ids["proposal"], ids["base"]]})
    if reached >= STAGES.index("voting"):
        ids["vote"] = (await do("m1", "POST", f"/items/{item}/votes", status=201))["id"]
    if reached >= STAGES.index("decided"):
        await do("m1", "PUT", f"/votes/{ids['vote']}/ballot", {"choice": "jaa"})
        await do("m4", "PUT", f"/votes/{ids['vote']}/ballot", {"choice": "ei"})
        await do("m1", "POST", f"/votes/{ids['vote']}/close")
    return ids


@pytest.fixture
async def world(client: httpx.AsyncClient, context: AppContext, clock: FixedClock) -> LiveWorld:
    found = await live_world(context, clock)
    other = await make_body(context, "ympa", kind="committee", name="Ympäristölautakunta")
    outsider = await make_person(context, "ulkopuolinen", other, "member")
    found.headers["outsider"] = await bearer(context, outsider.id)
    found.headers["anonymous"] = {}
    for role, name in NAMES.items():
        found.headers[role] = found.headers[name]
    return found


EVERYONE = set(ROLES)
BODY = EVERYONE - {"outsider", "anonymous"}
SEATED = {"member", "proposer", "chair"}

# fmt: off
CASES = [
    # (name, stage, method, path, body, allowed, success status, exceptions {role: status})
    ("snapshot", "opened", "GET", "", None, BODY, 200, {"anonymous": 403}),
    ("open", "called", "POST", "/open", None, {"chair"}, 201, {}),
    ("declare lawful", "opened", "POST", "/lawful", None, {"chair"}, 200, {}),  # R-QUORUM-2: the chair alone
    ("choose checkers", "opened", "PUT", "/checkers", {"checkers": ["m3", "m4"]}, {"chair"}, 200, {}),
    ("floor rules", "opened", "PUT", "/floor-rules", {"speaking_seconds": 90}, {"chair"}, 200, {}),
    ("suspend", "discussion", "POST", "/suspend", {"reason": "Tauko."}, {"chair"}, 200, {}),
    # Allowed, but the meeting is not suspended.
    ("resume", "opened", "POST", "/resume", None, {"chair"}, 409, {}),
    ("close", "discussion", "POST", "/close", None, {"chair"}, 200, {}),
    # The secretary marks others; so may the chair (who then finds them already recorded).
    ("record an arrival", "opened", "POST", "/arrivals", {"user_id": "d2"}, {"secretary", "chair"}, 201,
     {"chair": 409}),
    ("record a departure", "opened", "POST", "/departures", {"user_id": "m5"}, {"secretary", "chair"}, 201,
     {"chair": 409}),
    # Anyone with a role in the body checks in themselves; those present already are refused.
    ("check in", "opened", "POST", "/arrivals", {"remote": True}, {"secretary", "deputy", "presenter"}, 201,
     {"member": 409, "proposer": 409, "chair": 409}),
    ("take up", "opened", "POST", "/items/{item}/take-up", None, {"chair"}, 200, {}),
    ("body finds a disqualification", "discussion", "POST", "/items/{item}/recusals",
     {"user_id": "m5", "ground": "party", "decided_by_body": True}, {"chair"}, 201, {}),
    # One's own disqualification, declared in the meeting (R-DISQ-5): not the secretary's to declare.
    ("declare a disqualification", "discussion", "POST", "/items/{item}/recusals", {"ground": "party"},
     {"deputy", "presenter", "member", "proposer", "chair"}, 201, {}),
    # The deputy and the presenter are not present; the proposer is already waiting.
    ("ask for the floor", "discussion", "POST", "/items/{item}/floor", {"kind": "speech"},
     {"member", "chair"}, 201, {"deputy": 409, "presenter": 409, "proposer": 409}),
    ("withdraw a floor request", "discussion", "DELETE", "/floor/{request}", None, {"proposer", "chair"}, 200,
     {"chair": 409}),
    ("grant the floor", "discussion", "POST", "/floor/{request}/grant", None, {"chair"}, 200, {}),
    ("end a speech", "speaking", "POST", "/items/{item}/floor/end", None, {"proposer", "chair"}, 200,
     {"chair": 409}),
    ("make a proposal", "discussion", "POST", "/items/{item}/proposals", {"kind": "rejection", "text": "Ei."},
     SEATED, 201, {}),
    ("second a proposal", "discussion", "POST", "/proposals/{proposal}/seconding", None, {"member", "chair"},
     201, {"proposer": 409}),  # one's own
    ("amend the base proposal", "discussion", "PUT", "/proposals/{base}", {"text": "Muutettu."},
     {"presenter"}, 200, {}),
    ("withdraw a proposal", "discussion", "DELETE", "/proposals/{proposal}", None, {"proposer"}, 200, {}),
    ("close the discussion", "discussion", "POST", "/items/{item}/close-discussion", None, {"chair"}, 200,
     {}),
    ("approve the voting order", "closed", "PUT", "/items/{item}/order", {"order": ["proposal", "base"]},
     {"chair"}, 200, {}),
    ("decide without a vote", "unopposed", "POST", "/items/{item}/decision", None, {"chair"}, 201, {}),
    ("open a vote", "ordered", "POST", "/items/{item}/votes", None, {"chair"}, 201, {}),
    # Only those entitled when the vote opened: seat holders present and not disqualified.
    ("cast a ballot", "voting", "PUT", "/votes/{vote}/ballot", {"choice": "jaa"}, SEATED, 200, {}),
    ("close a vote", "voting", "POST", "/votes/{vote}/close", None, {"chair"}, 200, {}),
    # R-DISSENT-1: m4 voted against, m3's counter-proposal lost; the chair voted for the decision.
    ("register a dissent", "decided", "POST", "/items/{item}/dissents", {}, {"member", "proposer"}, 201, {}),
    ("open an election", "discussion", "POST", "/items/{item}/elections",
     {"title": "Edustaja", "candidates": [{"name": "Aino"}, {"name": "Bertta"}]}, {"chair"}, 201, {}),
    # R-ELECT-8: only those entitled when it opened; an open ballot changes, so each seat holder gets 200.
    ("cast an election ballot", "electing", "PUT", "/elections/{election}/ballot", {"choice": []}, SEATED,
     200, {}),
    ("close an election", "electing", "POST", "/elections/{election}/close", None, {"chair"}, 200, {}),
    # R-MIN-2: the secretary (or the chair) records a person heard.
    ("record a person heard", "discussion", "POST", "/items/{item}/statements",
     {"name": "Liisa Lakimies", "title": "Kuntaliitto"}, {"secretary", "chair"}, 201, {}),
]
# fmt: on


def _body(body: dict[str, object] | None, world: LiveWorld, ids: dict[str, int]) -> dict[str, object] | None:
    """Names in a body ("m3", "proposal") become the world's ids."""
    if body is None:
        return None

    def value(v: object) -> object:
        if isinstance(v, list):
            return [value(x) for x in v]
        if isinstance(v, str) and v in world.board.people and v not in ("m1",):
            return world.board.people[v]
        if isinstance(v, str) and v in ids:
            return ids[v]
        return v

    return {k: value(v) for k, v in body.items()}


@pytest.mark.parametrize(
    ("name", "stage", "method", "path", "body", "allowed", "ok", "overrides"),
    CASES,
    ids=[c[0] for c in CASES],
)
async def test_live_route_allows_exactly_its_roles(
    client: httpx.AsyncClient,
    context: AppContext,
    world: LiveWorld,
    name: str,
    stage: str,
    method: str,
    path: str,
    body: dict[str, object] | None,
    allowed: set[str],
    ok: int,
    overrides: dict[str, int],
) -> None:
    ids = await bring_to(client, context, world, stage)
    url = world.live + path.format(**ids)
    payload = _body(body, world, ids)
    denied = await _denials(context)
    refused = 0
    for role in sorted(ROLES, key=lambda r: r in allowed):
        sent = {"json": payload} if payload is not None else {}
        response = await client.request(method, url, headers=world.headers[role], **sent)  # type: ignore[arg-type]
        wanted = overrides.get(
            role, ok if role in allowed else (401 if role == "anonymous" and method != "GET" else 403)
        )
        assert response.status_code == wanted, f"{name}: {role} got {response.status_code}: {response.text}"
        refused += wanted in (401, 403)
    # Every refusal is audited: in full up to FULL_PER_WINDOW from one address, then summarised.
    assert min(refused, FULL_PER_WINDOW) <= await _denials(context) - denied <= refused


async def test_a_secret_ballot_is_final_and_its_answer_and_snapshot_show_no_choice(
    client: httpx.AsyncClient, context: AppContext, world: LiveWorld
) -> None:
    """R-ELECT-8: a second secret ballot is refused (409); the snapshot shows that m4 voted, never how."""
    ids = await bring_to(client, context, world, "secret election")
    ballot = world.live + f"/elections/{ids['election']}/ballot"
    snapshot = await client.get(world.live, headers=world.headers["m4"])
    candidate = snapshot.json()["current"]["elections"][0]["candidates"][0]["id"]
    first = await client.put(ballot, headers=world.headers["m4"], json={"choice": [candidate]})
    assert first.json() == {"election": ids["election"], "cast": 1, "of": 5}
    again = await client.put(ballot, headers=world.headers["m4"], json={"choice": []})
    assert again.status_code == 409
    assert "final" in again.json()["error"]
    election = (await client.get(world.live, headers=world.headers["m4"])).json()["current"]["elections"][0]
    assert election["mine"] is True
    assert election["result"] is None
    too_many = await client.put(
        ballot, headers=world.headers["m3"], json={"choice": [candidate, candidate + 1]}
    )
    assert too_many.status_code == 422


async def _denials(context: AppContext) -> int:
    async with context.db.read() as session:
        query = (
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == str(AuditAction.ACCESS_DENIED))
        )
        return int((await session.execute(query)).scalar_one())


async def test_a_disqualified_members_ballot_is_refused(
    client: httpx.AsyncClient, context: AppContext, world: LiveWorld
) -> None:
    """R-DISQ-3: found disqualified before the vote, m5 is not entitled in it; their deputy is not here."""
    ids = await bring_to(client, context, world, "closed")
    p = world.board.people
    recusal = {"user_id": p["m5"], "ground": "benefit_or_harm", "decided_by_body": True}
    # The discussion is closed, but the body may still find someone disqualified before the vote.
    await step(client, context, world, "m1", "POST", f"/items/{ids['item']}/recusals", recusal, status=201)
    await step(
        client,
        context,
        world,
        "m1",
        "PUT",
        f"/items/{ids['item']}/order",
        {"order": [ids["proposal"], ids["base"]]},
    )
    vote = await step(client, context, world, "m1", "POST", f"/items/{ids['item']}/votes", status=201)
    assert p["m5"] not in vote["entitled"]
    refused = await client.put(
        world.live + f"/votes/{vote['id']}/ballot", headers=world.headers["m5"], json={"choice": "ei"}
    )
    assert refused.status_code == 403
    assert "only those who held a seat" in refused.json()["error"]


async def test_no_ballot_in_a_vote_of_another_meeting(
    client: httpx.AsyncClient, context: AppContext, world: LiveWorld
) -> None:
    ids = await bring_to(client, context, world, "voting")
    wrong = f"/api/meetings/{world.board.meeting_id + 1000}/live/votes/{ids['vote']}/ballot"
    assert (await client.put(wrong, headers=world.headers["m4"], json={"choice": "jaa"})).status_code == 404


# A member cannot vote twice, also when requests race on PostgreSQL (each in a real transaction of its own).


@pytest.fixture
async def own_database(data_dir: Path, clock: FixedClock) -> AsyncIterator[AppContext]:
    url = make_url(os.environ.get("KOKOUS_TEST_DATABASE_URL", "postgresql+asyncpg://unused/x"))
    admin = create_engine(url.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
    name = f"kokous_ballots_{secrets.token_hex(4)}"
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = create_engine(url.set(database=name).render_as_string(hide_password=False))
    try:
        await migration.upgrade(engine)
        settings = Settings(
            data_dir=data_dir,
            base_url=BASE_URL,
            password_profile=TEST_PASSWORD_PROFILE,
            database_url="sqlite+aiosqlite:///unused",
        )
        yield build_context(
            settings, db=Database(engine, clock=clock), clock=clock, limiter=MemoryLimiter(clock)
        )
    finally:
        await engine.dispose()
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        await admin.dispose()


@pytest.mark.skipif(
    backend() != "postgresql", reason="concurrent transactions need PostgreSQL (decision 0003)"
)
async def test_racing_ballots_leave_one_ballot_per_member(
    own_database: AppContext, clock: FixedClock
) -> None:
    context = own_database
    app = create_app(context.settings, context=context, background_jobs=False, db=context.db)
    transport = httpx.ASGITransport(app=app, client=("192.0.2.10", 50000))  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        world = await live_world(context, clock)
        ids = await bring_to(client, context, world, "voting")
        ballot = world.live + f"/votes/{ids['vote']}/ballot"
        racing = [
            (name, choice)
            for _ in range(10)
            for name in ("m1", "m2", "m3", "m4", "m5")
            for choice in ("jaa", "ei")
        ]
        answers = await asyncio.gather(
            *(client.put(ballot, headers=world.headers[n], json={"choice": c}) for n, c in racing)
        )
    assert {a.status_code for a in answers} == {200}
    async with context.db.read() as session:
        rows = (
            (await session.execute(select(Ballot.user_id).where(Ballot.vote_id == ids["vote"])))
            .scalars()
            .all()
        )
        audited = (
            await session.execute(
                select(func.count())
                .select_from(AuditEntry)
                .where(AuditEntry.action == str(AuditAction.BALLOT_CAST))
            )
        ).scalar_one()
    assert sorted(rows) == sorted(world.board.members)  # one ballot each, never two
    assert audited == len(racing)  # each acknowledged ballot (or change) was recorded


async def test_a_browser_ballot_needs_its_csrf_token_and_our_origin(
    client: httpx.AsyncClient, context: AppContext, world: LiveWorld
) -> None:
    """A member voting from the page: the cookie session's ballot is refused without the CSRF token or from
    another site (docs/security.md), and accepted with it."""
    ids = await bring_to(client, context, world, "voting")
    signed_in = await form_login(client, "m4")
    assert signed_in.status_code == 303, signed_in.text
    ballot = world.live + f"/votes/{ids['vote']}/ballot"
    token = client.cookies["kokous_csrf"]
    assert (await client.put(ballot, json={"choice": "ei"})).status_code == 403
    foreign = {"x-csrf-token": token, "origin": "https://evil.example"}
    assert (await client.put(ballot, json={"choice": "ei"}, headers=foreign)).status_code == 403
    accepted = await client.put(ballot, json={"choice": "ei"}, headers={"x-csrf-token": token})
    assert accepted.status_code == 200, accepted.text
    assert accepted.json() == {"vote": ids["vote"], "choice": "ei", "cast": 1, "of": 5}
