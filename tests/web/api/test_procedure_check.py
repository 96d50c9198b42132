"""The decision procedure's record through the API against every kind of person (R-CHECK-5, R-EDP-6): the
body reads it, the secretary or the chair opens it and chooses its checkers, only those checkers review it,
and nobody outside the body learns that it exists."""

from __future__ import annotations

import json
from dataclasses import dataclass

import httpx
import pytest

from auth.models import Role
from core.clock import LOCAL, FixedClock
from tests.factories import api_login, audit_entries, enrol_totp, make_user
from tests.meetings.decision_procedure.world import PROPOSAL, TITLE, World
from tests.minutes.procedure_world import decided, opened
from web.context import AppContext

SECOND_FACTOR = {"pj", "sihteeri", "admin", "tarkastaja"}
BODY = {"aino", "bertta", "cecilia", "avara", "bvara", "pj", "sihteeri", "lasna"}
OUTSIDE = {"ulko", "admin", "tarkastaja"}
EVERYONE = BODY | OUTSIDE | {"anonymous"}
CHOOSERS = {"pj", "sihteeri"}
CHECKERS = {"aino", "bertta"}


@dataclass
class Logged:
    world: World
    headers: dict[str, dict[str, str]]

    @property
    def url(self) -> str:
        return f"/api/meetings/{self.world.meeting_id}/procedure-check"

    def ids(self, *names: str) -> list[int]:
        return [self.world.people[n] for n in names]


@pytest.fixture
async def logged(client: httpx.AsyncClient, context: AppContext, clock: FixedClock) -> Logged:
    world = await decided(context, clock)
    await make_user(context, "admin", roles=(Role.ADMIN,))
    await make_user(context, "tarkastaja", roles=(Role.AUDITOR,))
    headers: dict[str, dict[str, str]] = {"anonymous": {}}
    for username in sorted(EVERYONE - {"anonymous"}):
        secret = await enrol_totp(context, username) if username in SECOND_FACTOR else None
        headers[username] = await api_login(client, username, secret=secret, clock=clock)
    return Logged(world, headers)


def expected(who: str, allowed: set[str], ok: int) -> int:
    """401 without a session, 404 outside the body (as if it did not exist), 403 in it without a right."""
    if who == "anonymous":
        return 401
    if who in OUTSIDE:
        return 404
    return ok if who in allowed else 403


@pytest.mark.parametrize("who", sorted(EVERYONE))
async def test_the_record_is_read_by_the_body_only(
    client: httpx.AsyncClient, context: AppContext, logged: Logged, who: str
) -> None:
    await opened(context, logged.world)
    response = await client.get(logged.url, headers=logged.headers[who])
    assert response.status_code == expected(who, BODY, 200), response.text
    if response.status_code == 200:
        body = response.json()
        [item] = body["items"]
        assert (item["title"], item["decision"], item["decided_in_procedure"]) == (TITLE, PROPOSAL, True)
        assert body["state"] == "checking"
        assert body["checkers"] == logged.ids("aino", "bertta")
    else:
        assert TITLE not in response.text


@pytest.mark.parametrize("who", sorted(EVERYONE))
async def test_only_the_secretary_or_the_chair_opens_it(
    client: httpx.AsyncClient, context: AppContext, logged: Logged, who: str
) -> None:
    """R-CHECK-5: the secretary (or the chair) opens the record and chooses its two checkers."""
    response = await client.post(
        logged.url, headers=logged.headers[who], json={"checkers": logged.ids("aino", "bertta")}
    )
    assert response.status_code == expected(who, CHOOSERS, 201), response.text
    entries = await audit_entries(context, "procedure_check.opened")
    if response.status_code == 201:
        [entry] = entries
        assert entry.actor == logged.world.actor(who)
        assert entry.subject == f"procedure_check:{response.json()['id']}"
    else:
        assert entries == []
        assert TITLE not in response.text


@pytest.mark.parametrize("who", sorted(EVERYONE))
async def test_only_the_chosen_checkers_review_it(
    client: httpx.AsyncClient, context: AppContext, logged: Logged, who: str
) -> None:
    await opened(context, logged.world)
    response = await client.post(
        f"{logged.url}/reviews", headers=logged.headers[who], json={"approve": True, "comment": ""}
    )
    assert response.status_code == expected(who, CHECKERS, 201), response.text
    entries = await audit_entries(context, "procedure_check.approved")
    if response.status_code == 201:
        [entry] = entries
        assert entry.actor == logged.world.actor(who)
        assert json.loads(entry.data) == {"checked": False, "comment": False}
    else:
        assert entries == []


@pytest.mark.parametrize("who", sorted(EVERYONE))
async def test_only_the_secretary_or_the_chair_changes_the_checkers(
    client: httpx.AsyncClient, context: AppContext, logged: Logged, who: str
) -> None:
    await opened(context, logged.world)
    response = await client.put(
        f"{logged.url}/checkers",
        headers=logged.headers[who],
        json={"checkers": logged.ids("aino", "cecilia")},
    )
    assert response.status_code == expected(who, CHOOSERS, 200), response.text
    entries = await audit_entries(context, "procedure_check.checkers_chosen")
    if response.status_code == 200:
        assert response.json()["checkers"] == logged.ids("aino", "cecilia")
        [entry] = entries
        assert json.loads(entry.data) == {"checkers": [f"user:{i}" for i in logged.ids("aino", "cecilia")]}
    else:
        assert entries == []


async def test_both_approve_and_the_record_is_checked_on_that_day(
    client: httpx.AsyncClient, context: AppContext, clock: FixedClock, logged: Logged
) -> None:
    """R-CHECK-5, R-CHECK-3: checked once both chosen checkers approve; the day is what the minutes say."""
    h = logged.headers
    opened_now = await client.post(
        logged.url, headers=h["sihteeri"], json={"checkers": logged.ids("aino", "bertta")}
    )
    assert opened_now.status_code == 201, opened_now.text
    assert opened_now.json()["sections"] == [opened_now.json()["items"][0]["section"]]
    first = await client.post(f"{logged.url}/reviews", headers=h["aino"], json={"approve": True})
    assert (first.status_code, first.json()["state"]) == (201, "checking")
    again = await client.post(f"{logged.url}/reviews", headers=h["aino"], json={"approve": True})
    assert again.status_code == 409
    last = await client.post(
        f"{logged.url}/reviews", headers=h["bertta"], json={"approve": True, "comment": "Kunnossa."}
    )
    assert last.status_code == 201, last.text
    body = last.json()
    assert body["state"] == "checked"
    assert body["checked_on"] == clock().astimezone(LOCAL).date().isoformat()
    assert [(r["checker"], r["approved"]) for r in body["reviews"]] == [
        (logged.world.people["aino"], True),
        (logged.world.people["bertta"], True),
    ]
    approvals = [json.loads(e.data) for e in await audit_entries(context, "procedure_check.approved")]
    assert approvals[-1] == {"checked": True, "comment": True}
    late = await client.put(
        f"{logged.url}/checkers", headers=h["pj"], json={"checkers": logged.ids("aino", "cecilia")}
    )
    assert late.status_code == 409


async def test_a_rejection_needs_a_comment(
    client: httpx.AsyncClient, context: AppContext, logged: Logged
) -> None:
    """R-CHECK-2: refused with a message naming the field; with a comment, the record is rejected."""
    await opened(context, logged.world)
    url = f"{logged.url}/reviews"
    bare = await client.post(url, headers=logged.headers["aino"], json={"approve": False, "comment": ""})
    assert (bare.status_code, bare.json()["field"]) == (422, "comment")
    assert await audit_entries(context, "procedure_check.rejected") == []
    said = await client.post(
        url, headers=logged.headers["aino"], json={"approve": False, "comment": "Päätöksen sanamuoto väärin."}
    )
    assert (said.status_code, said.json()["state"]) == (201, "rejected")
    [entry] = await audit_entries(context, "procedure_check.rejected")
    assert json.loads(entry.data) == {"checked": False, "comment": True}


@pytest.mark.parametrize(
    "checkers",
    [[], ["aino"], ["aino", "aino"], ["aino", "ulko"], ["aino", "pj"]],
)
async def test_two_members_of_the_body_are_chosen(
    client: httpx.AsyncClient, logged: Logged, checkers: list[str]
) -> None:
    response = await client.post(
        logged.url, headers=logged.headers["sihteeri"], json={"checkers": logged.ids(*checkers)}
    )
    assert (response.status_code, response.json()["field"]) == (422, "checkers"), response.text


@pytest.mark.parametrize(
    "body",
    [{"checkers": [1, 2, 3]}, {"checkers": [0, 1]}, {"checkers": ["a", "b"]}, {"checkers": [1, 2], "x": 1}],
)
async def test_bad_input_is_refused_before_anything_is_read(
    client: httpx.AsyncClient, logged: Logged, body: dict[str, object]
) -> None:
    response = await client.post(logged.url, headers=logged.headers["sihteeri"], json=body)
    assert response.status_code in (400, 422), response.text


async def test_a_long_comment_is_refused_not_cut(
    client: httpx.AsyncClient, context: AppContext, logged: Logged
) -> None:
    await opened(context, logged.world)
    response = await client.post(
        f"{logged.url}/reviews",
        headers=logged.headers["aino"],
        json={"approve": False, "comment": "x" * 5001},
    )
    assert response.status_code in (400, 422)
    assert await audit_entries(context, "procedure_check.rejected") == []


async def test_the_record_is_not_found_before_it_is_opened(client: httpx.AsyncClient, logged: Logged) -> None:
    response = await client.get(logged.url, headers=logged.headers["aino"])
    assert response.status_code == 404
