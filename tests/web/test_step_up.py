"""A step-up (password and second factor again) allows one sensitive change, in this session, soon."""

from __future__ import annotations

import inspect

import httpx
import pytest
from litestar import Litestar
from litestar.handlers import HTTPRouteHandler

from auth.actions import do_use_step_up
from auth.models import Role
from auth.tokens import ACCESS
from core.clock import FixedClock
from core.errors import Forbidden
from tests.factories import PASSWORD, api_login, audit_entries, enrol_totp, make_user, next_code
from tests.web.api.test_imports import GOOD, upload
from web.context import AppContext
from web.guards import recent_step_up

Headers = dict[str, str]


def new_user(username: str) -> dict[str, object]:
    return {"username": username, "display_name": username.title(), "password": "a long new password"}


@pytest.fixture
async def admin(client: httpx.AsyncClient, context: AppContext, clock: FixedClock) -> tuple[Headers, str]:
    await make_user(context, "aino", roles=(Role.ADMIN,))
    secret = await enrol_totp(context, "aino")
    return await api_login(client, "aino", secret=secret, clock=clock), secret


async def step_up(client: httpx.AsyncClient, admin: tuple[Headers, str], clock: FixedClock) -> httpx.Response:
    headers, secret = admin
    body = {"password": PASSWORD, "code": next_code(secret, clock)}
    response = await client.post("/api/auth/step-up", headers=headers, json=body)
    assert response.status_code == 200, response.text
    return response


def bearer(response: httpx.Response) -> Headers:
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def test_a_step_up_allows_one_change(
    client: httpx.AsyncClient, context: AppContext, clock: FixedClock, admin: tuple[Headers, str]
) -> None:
    me = (await client.get("/api/me", headers=admin[0])).json()["id"]
    headers = bearer(await step_up(client, admin, clock))
    assert (await client.post("/api/users/", headers=headers, json=new_user("pekka"))).status_code == 201
    created = len(await audit_entries(context, "user.created"))
    again = await client.post("/api/users/", headers=headers, json=new_user("paula"))
    assert again.status_code == 403
    assert again.json()["error"] == "Confirm your identity again (password and code) to make this change."
    denied = (await audit_entries(context, "access.denied"))[-1]
    assert (denied.actor, denied.subject) == (f"user:{me}", "route:POST /api/users")
    assert '"reason":"step-up used or expired"' in denied.data
    assert len(await audit_entries(context, "user.created")) == created  # no paula
    stepped = (await audit_entries(context, "session.stepped_up"))[-1]
    assert '"until":"2026-11-28T09:11:' in stepped.data  # ten minutes after the step-up
    headers = bearer(await step_up(client, admin, clock))  # another change, another step-up
    assert (await client.post("/api/users/", headers=headers, json=new_user("paula"))).status_code == 201


async def test_a_refused_change_keeps_its_step_up(
    client: httpx.AsyncClient, clock: FixedClock, admin: tuple[Headers, str]
) -> None:
    headers = bearer(await step_up(client, admin, clock))
    bad = await client.post("/api/users/", headers=headers, json=new_user("no spaces allowed"))
    assert bad.status_code == 422
    assert (await client.post("/api/users/", headers=headers, json=new_user("pekka"))).status_code == 201


async def test_a_preview_keeps_its_step_up(
    client: httpx.AsyncClient, context: AppContext, clock: FixedClock, admin: tuple[Headers, str]
) -> None:
    spec = {"slug": "tela", "name": "Tekninen lautakunta", "kind": "committee", "seats": 7}
    body = await client.post("/api/bodies", headers=bearer(await step_up(client, admin, clock)), json=spec)
    url = f"/api/bodies/{body.json()['id']}/members/import"
    headers = bearer(await step_up(client, admin, clock))
    assert (await client.post(f"{url}?dry_run=true", headers=headers, files=upload(GOOD))).status_code == 200
    assert (await client.post(url, headers=headers, files=upload(GOOD))).status_code == 200
    assert (await client.post(url, headers=headers, files=upload(GOOD))).status_code == 403
    assert len(await audit_entries(context, "members.imported")) == 1


async def test_neither_a_refresh_nor_a_fresh_sign_in_is_a_step_up(
    client: httpx.AsyncClient, clock: FixedClock, admin: tuple[Headers, str]
) -> None:
    signed_in, _ = admin  # signed in with password and code a moment ago
    assert (await client.post("/api/users/", headers=signed_in, json=new_user("pekka"))).status_code == 403
    stepped = await step_up(client, admin, clock)
    renewed = await client.post("/api/auth/refresh", json={"refresh_token": stepped.json()["refresh_token"]})
    refused = await client.post("/api/users/", headers=bearer(renewed), json=new_user("pekka"))
    assert refused.status_code == 403
    assert (
        await client.post("/api/users/", headers=bearer(stepped), json=new_user("pekka"))
    ).status_code == 201


async def test_of_two_requests_racing_with_one_step_up_only_the_first_gets_it(
    client: httpx.AsyncClient, context: AppContext, clock: FixedClock, admin: tuple[Headers, str]
) -> None:
    token = (await step_up(client, admin, clock)).json()["access_token"]
    claims = context.auth.tokens.decode(token, audience=ACCESS, now=clock())
    spend = {"nonce": claims.extra["sup"], "user_id": int(claims.subject), "family": claims.extra["sid"]}
    async with context.db.write() as session:
        await do_use_step_up(session, **spend)  # both passed the guard; this one claimed it first
    async with context.db.write() as session:
        with pytest.raises(Forbidden):
            await do_use_step_up(session, **spend)
    async with context.db.write() as session:
        with pytest.raises(Forbidden):  # and never another session's
            await do_use_step_up(session, **spend | {"family": "another"})


def test_every_route_under_step_up_spends_it_in_its_transaction(app: Litestar) -> None:
    """The step-up is spent by the route's `session` dependency (web/app.py): a route without one would let
    a step-up be used again and again."""
    guarded = [
        handler
        for route in app.routes
        for handler in getattr(route, "route_handlers", [])
        if isinstance(handler, HTTPRouteHandler) and recent_step_up in handler.resolve_guards()
    ]
    assert len(guarded) >= 10
    for handler in guarded:
        assert "session" in inspect.signature(handler.fn).parameters, handler.paths
