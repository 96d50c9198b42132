"""The scripted meeting's minutes through the API: who is who, their Bearer headers, and the steps."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from core.clock import FixedClock
from tests.factories import PASSWORD, api_login, enrol_totp, make_user, next_code
from tests.minutes.held import Held, hold_scripted_meeting
from web.context import AppContext

Headers = dict[str, str]
PRIVATE_NAME = "Olli Osallinen"  # a private person named in § 1's description (R-PUB-4)
DEPERSONALISED = "Kunnanhallitus hyväksyi talousarvion."


@dataclass
class People:
    held: Held
    secretary: Headers
    chair: Headers
    checker: Headers  # m2
    other_checker: Headers  # m3
    member: Headers  # m4: in the body, not a checker
    presenter: Headers
    outsider: Headers  # no role in the body
    secrets: dict[str, str]

    def who(self, name: str) -> Headers:
        if name == "anonymous":
            return {}
        found: Headers = getattr(self, name)
        return found


async def people(client: httpx.AsyncClient, context: AppContext, clock: FixedClock) -> People:
    held = await hold_scripted_meeting(context, clock)
    secrets = {name: await enrol_totp(context, name) for name in ("m1", "sihteeri")}
    await make_user(context, "ulkopuolinen")

    async def login(name: str) -> Headers:
        return await api_login(client, name, secret=secrets.get(name), clock=clock)

    return People(
        held,
        await login("sihteeri"),
        await login("m1"),
        await login("m2"),
        await login("m3"),
        await login("m4"),
        await login("esittelija"),
        await login("ulkopuolinen"),
        secrets,
    )


async def stepped_up(client: httpx.AsyncClient, who: Headers, secret: str, clock: FixedClock) -> Headers:
    body = {"password": PASSWORD, "code": next_code(secret, clock)}
    response = await client.post("/api/auth/step-up", headers=who, json=body)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def open_minutes(client: httpx.AsyncClient, p: People) -> int:
    response = await client.post(f"/api/meetings/{p.held.board.meeting_id}/minutes", headers=p.secretary)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


WORDING = {
    "items": {
        "1": {
            "description": f"Talousarvion valmistelussa kuultiin asukasta {PRIVATE_NAME}.",
            "personal_data": True,
            "depersonalised": DEPERSONALISED,
        }
    },
    "note": "Kuvaus tarkennettu",
}


async def edit(client: httpx.AsyncClient, p: People, minutes_id: int) -> httpx.Response:
    return await client.put(f"/api/minutes/{minutes_id}/wording", headers=p.secretary, json=WORDING)


async def checked(client: httpx.AsyncClient, p: People, minutes_id: int) -> None:
    assert (await client.post(f"/api/minutes/{minutes_id}/send", headers=p.secretary)).status_code == 200
    for checker in (p.checker, p.other_checker):
        response = await client.post(
            f"/api/minutes/{minutes_id}/reviews", headers=checker, json={"approve": True, "comment": ""}
        )
        assert response.status_code == 201, response.text


async def signed(client: httpx.AsyncClient, p: People, minutes_id: int, clock: FixedClock) -> None:
    for who, name in ((p.chair, "m1"), (p.secretary, "sihteeri")):
        headers = await stepped_up(client, who, p.secrets[name], clock)
        response = await client.post(f"/api/minutes/{minutes_id}/signatures", headers=headers)
        assert response.status_code == 201, response.text
