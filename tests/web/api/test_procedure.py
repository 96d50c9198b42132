"""The procedure's routes against every kind of person (R-EDP-6): the body's people see the item, members
state their own stance, the chair and the secretary follow it; nobody else learns it exists."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import pytest

from auth.models import Role
from core.clock import FixedClock
from tests.factories import api_login, audit_entries, enrol_totp, make_user
from tests.meetings.decision_procedure.steps import at
from tests.meetings.decision_procedure.world import PROPOSAL, TITLE, World, make_world
from web.context import AppContext

SECOND_FACTOR = {"pj", "sihteeri", "admin", "tarkastaja"}
BODY = {"aino", "bertta", "cecilia", "avara", "bvara", "pj", "sihteeri", "lasna"}
OUTSIDE = {"ulko", "admin", "tarkastaja"}
EVERYONE = BODY | OUTSIDE | {"anonymous"}


@dataclass
class Logged:
    world: World
    headers: dict[str, dict[str, str]]

    @property
    def url(self) -> str:
        return f"/api/procedure/{self.world.procedure_id}"


@pytest.fixture
async def logged(client: httpx.AsyncClient, context: AppContext, clock: FixedClock) -> Logged:
    world = await make_world(context)
    await make_user(context, "admin", roles=(Role.ADMIN,))
    await make_user(context, "tarkastaja", roles=(Role.AUDITOR,))
    headers: dict[str, dict[str, str]] = {"anonymous": {}}
    for username in sorted(EVERYONE - {"anonymous"}):
        secret = await enrol_totp(context, username) if username in SECOND_FACTOR else None
        headers[username] = await api_login(client, username, secret=secret, clock=clock)
    return Logged(world, headers)


def expected(who: str, allowed: set[str]) -> int:
    if who == "anonymous":
        return 401
    return 200 if who in allowed else 404


@pytest.mark.parametrize("who", sorted(EVERYONE))
async def test_the_item_is_seen_by_the_body_only(client: httpx.AsyncClient, logged: Logged, who: str) -> None:
    response = await client.get(logged.url, headers=logged.headers[who])
    assert response.status_code == expected(who, BODY), response.text
    if response.status_code == 200:
        assert response.json()["proposal"] == PROPOSAL
    else:
        assert TITLE not in response.text
    page = await client.get(f"/procedure/{logged.world.procedure_id}", headers=logged.headers[who])
    assert page.status_code == (expected(who, BODY) if who != "anonymous" else page.status_code)
    if who not in BODY:
        assert TITLE not in page.text
    listed = await client.get("/api/procedure/", headers=logged.headers[who])
    if who in BODY:
        assert [p["id"] for p in listed.json()] == [logged.world.procedure_id]
    else:
        assert TITLE not in listed.text


@pytest.mark.parametrize("who", sorted(EVERYONE))
async def test_the_overview_is_for_the_chair_and_the_secretary(
    client: httpx.AsyncClient, logged: Logged, who: str
) -> None:
    response = await client.get(f"{logged.url}/overview", headers=logged.headers[who])
    assert response.status_code == expected(who, {"pj", "sihteeri"}), response.text
    if response.status_code != 200:
        assert "aino" not in response.text.lower()


STATES = {"aino": 201, "bertta": 201, "cecilia": 201, "ulko": 404, "admin": 404, "tarkastaja": 404}
STATES |= {"pj": 403, "sihteeri": 403, "lasna": 403, "avara": 403, "bvara": 403, "anonymous": 401}


@pytest.mark.parametrize("who", sorted(EVERYONE))
async def test_only_a_seat_states_a_stance(
    client: httpx.AsyncClient, context: AppContext, logged: Logged, who: str
) -> None:
    response = await client.post(
        f"{logged.url}/stance", headers=logged.headers[who], json={"stance": "accept"}
    )
    assert response.status_code == STATES[who], response.text
    logged_stances = await audit_entries(context, "procedure.stance_stated")
    assert len(logged_stances) == (1 if STATES[who] == 201 else 0)
    if STATES[who] == 201:
        assert response.json()["mine"]["stance"] == "accept"


async def test_a_member_cannot_state_for_another(client: httpx.AsyncClient, logged: Logged) -> None:
    response = await client.post(
        f"{logged.url}/stance",
        headers=logged.headers["aino"],
        json={"stance": "accept", "user_id": logged.world.people["bertta"]},
    )
    assert response.status_code in (400, 422)
    overview = await client.get(f"{logged.url}/overview", headers=logged.headers["pj"])
    assert overview.json()["answered"] == 0


async def test_the_member_sees_their_history_and_the_chair_the_overview(
    client: httpx.AsyncClient, logged: Logged, clock: FixedClock
) -> None:
    aino = logged.headers["aino"]
    for stance in ({"stance": "accept"}, {"stance": "disqualified", "ground": "party"}, {"stance": "accept"}):
        clock.advance(seconds=20)
        assert (await client.post(f"{logged.url}/stance", headers=aino, json=stance)).status_code == 201
    mine = (await client.get(logged.url, headers=aino)).json()
    assert [h["stance"] for h in mine["history"]] == ["accept", "disqualified", "accept"]
    bertta = (await client.get(logged.url, headers=logged.headers["bertta"])).json()
    assert bertta["history"] == []  # one's own history only
    overview = (await client.get(f"{logged.url}/overview", headers=logged.headers["sihteeri"])).json()
    assert (overview["answered"], overview["missing"]) == (1, 2)
    assert [s["changes"] for s in overview["seats"]] == [3, 0, 0]


async def test_nothing_after_the_deadline_or_the_move(
    client: httpx.AsyncClient, logged: Logged, clock: FixedClock
) -> None:
    bad = await client.post(f"{logged.url}/stance", headers=logged.headers["aino"], json={"stance": "maybe"})
    assert bad.status_code == 422
    demand = {"stance": "demand_meeting"}
    assert (
        await client.post(f"{logged.url}/stance", headers=logged.headers["aino"], json=demand)
    ).status_code == 201
    after_move = await client.post(
        f"{logged.url}/stance", headers=logged.headers["bertta"], json={"stance": "accept"}
    )
    assert after_move.status_code == 409
    assert "moved to the meeting" in after_move.text


async def test_nothing_one_second_after_the_deadline(
    client: httpx.AsyncClient, logged: Logged, clock: FixedClock
) -> None:
    at(clock, 1)
    cecilia = await api_login(client, "cecilia")  # signed in again: days have passed
    late = await client.post(f"{logged.url}/stance", headers=cecilia, json={"stance": "accept"})
    assert late.status_code == 409
    assert "deadline has passed" in late.text
