"""Account administration: admins only, after a fresh step-up, every change audited."""

from __future__ import annotations

import httpx
import pytest

from auth.models import Role
from core.clock import FixedClock
from tests.factories import PASSWORD, api_login, audit_entries, enrol_totp, make_user, next_code
from web.context import AppContext

NEW_USER = {
    "username": "pekka",
    "display_name": "Pekka Puupää",
    "password": "a long new password",
    "roles": ["member"],
}


@pytest.fixture
async def admin(
    client: httpx.AsyncClient, context: AppContext, clock: FixedClock
) -> tuple[dict[str, str], str]:
    await make_user(context, "aino", roles=(Role.ADMIN,))
    secret = await enrol_totp(context, "aino")
    return await api_login(client, "aino", secret=secret, clock=clock), secret


async def step_up(
    client: httpx.AsyncClient, headers: dict[str, str], secret: str, clock: FixedClock
) -> dict[str, str]:
    response = await client.post(
        "/api/auth/step-up", headers=headers, json={"password": PASSWORD, "code": next_code(secret, clock)}
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def test_admin_changes_need_a_recent_step_up(
    client: httpx.AsyncClient, context: AppContext, clock: FixedClock
) -> None:
    await make_user(context, "aino", roles=(Role.ADMIN,))
    secret = await enrol_totp(context, "aino")
    step = (await client.post("/api/auth/login", json={"username": "aino", "password": PASSWORD})).json()
    tokens = (
        await client.post(
            "/api/auth/second-factor",
            json={"step_token": step["step_token"], "code": next_code(secret, clock)},
        )
    ).json()["tokens"]
    clock.advance(minutes=11)  # a long-lived session: the access token is refreshed, the sign-in is old
    renewed = (await client.post("/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]})).json()
    headers = {"Authorization": f"Bearer {renewed['access_token']}"}
    stale = await client.post("/api/users/", headers=headers, json=NEW_USER)
    assert stale.status_code == 403
    assert "Confirm your identity again" in stale.json()["error"]
    fresh = await step_up(client, headers, secret, clock)
    created = await client.post("/api/users/", headers=fresh, json=NEW_USER)
    assert created.status_code == 201, created.text
    assert created.json()["roles"] == [{"role": "member", "scope": ""}]
    actions = [e.action for e in await audit_entries(context)]
    assert actions[-4:] == ["access.denied", "session.stepped_up", "user.created", "role.granted"]


async def test_step_up_with_a_wrong_code_fails_and_is_recorded(
    client: httpx.AsyncClient, context: AppContext, admin: tuple[dict[str, str], str]
) -> None:
    headers, _ = admin
    response = await client.post(
        "/api/auth/step-up", headers=headers, json={"password": PASSWORD, "code": "000000"}
    )
    assert response.status_code == 401
    failed = (await audit_entries(context, "reauth.failed"))[-1]
    assert failed.actor == failed.subject
    assert failed.subject.startswith("user:")
    assert '"purpose":"step-up"' in failed.data
    assert '"reason":"wrong code"' in failed.data


async def test_admin_grants_and_revokes_roles_and_resets_second_factor(
    client: httpx.AsyncClient, context: AppContext, admin: tuple[dict[str, str], str], clock: FixedClock
) -> None:
    signed_in, secret = admin
    mikko = await make_user(context, "mikko", roles=(Role.SECRETARY,))
    await enrol_totp(context, "mikko")
    headers = await step_up(client, signed_in, secret, clock)  # one step-up for each change
    granted = await client.post(f"/api/users/{mikko.id}/roles", headers=headers, json={"role": "auditor"})
    assert {"role": "auditor", "scope": ""} in granted.json()["roles"]
    headers = await step_up(client, signed_in, secret, clock)
    revoked = await client.delete(f"/api/users/{mikko.id}/roles/secretary", headers=headers)
    assert {"role": "secretary", "scope": ""} not in revoked.json()["roles"]
    headers = await step_up(client, signed_in, secret, clock)
    reset = await client.post(f"/api/users/{mikko.id}/second-factor/reset", headers=headers)
    assert reset.json()["second_factor"] is False
    assert [e.action for e in await audit_entries(context)][-6:] == [
        "session.stepped_up",
        "role.granted",
        "session.stepped_up",
        "role.revoked",
        "session.stepped_up",
        "totp.reset",
    ]
    headers = await step_up(client, signed_in, secret, clock)
    unknown = await client.post(f"/api/users/{mikko.id}/roles", headers=headers, json={"role": "emperor"})
    assert unknown.status_code == 422
    assert "must be one of: admin, auditor" in unknown.json()["error"]
    # A refused change does not spend the step-up: the transaction that would have spent it was rolled back.
    missing = await client.post("/api/users/999999/roles", headers=headers, json={"role": "member"})
    assert missing.status_code == 404


async def test_duplicate_username_is_a_conflict_that_changes_nothing(
    client: httpx.AsyncClient, context: AppContext, admin: tuple[dict[str, str], str], clock: FixedClock
) -> None:
    signed_in, secret = admin
    headers = await step_up(client, signed_in, secret, clock)
    assert (await client.post("/api/users/", headers=headers, json=NEW_USER)).status_code == 201
    headers = await step_up(client, signed_in, secret, clock)
    before = len(await audit_entries(context))
    again = await client.post("/api/users/", headers=headers, json=NEW_USER | {"roles": ["admin"]})
    assert again.status_code == 409
    assert len(await audit_entries(context)) == before


async def test_non_admins_are_refused(
    client: httpx.AsyncClient, context: AppContext, clock: FixedClock
) -> None:
    await make_user(context, "tapio", roles=(Role.AUDITOR,))
    secret = await enrol_totp(context, "tapio")
    headers = await api_login(client, "tapio", secret=secret, clock=clock)
    for method, path in (("GET", "/api/users/"), ("POST", "/api/users/")):
        response = await client.request(method, path, headers=headers, json=NEW_USER)
        assert response.status_code == 403
    assert len(await audit_entries(context, "access.denied")) == 2


async def test_step_up_with_a_recovery_code_counts_as_a_second_factor(
    client: httpx.AsyncClient, context: AppContext, clock: FixedClock
) -> None:
    from auth import totp

    await make_user(context, "aino", roles=(Role.ADMIN,))
    step = (await client.post("/api/auth/login", json={"username": "aino", "password": PASSWORD})).json()
    secret = (await client.post("/api/auth/enrolment", json={"step_token": step["step_token"]})).json()[
        "secret"
    ]
    done = (
        await client.post(
            "/api/auth/enrolment/confirm",
            json={"step_token": step["step_token"], "code": totp.code_at(secret, clock())},
        )
    ).json()
    headers = {"Authorization": f"Bearer {done['tokens']['access_token']}"}
    stepped = await client.post(
        "/api/auth/step-up", headers=headers, json={"password": PASSWORD, "code": done["recovery_codes"][0]}
    )
    assert stepped.status_code == 200
    fresh = {"Authorization": f"Bearer {stepped.json()['access_token']}"}
    me = (await client.get("/api/me", headers=fresh)).json()
    assert me["methods"] == ["pwd", "recovery"]
    assert (await client.post("/api/users/", headers=fresh, json=NEW_USER)).status_code == 201
