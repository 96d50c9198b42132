"""Signing in through the JSON API: every success and failure path, each with its audit entry."""

from __future__ import annotations

import httpx

from auth import totp
from auth.models import Role
from core.clock import FixedClock
from tests.factories import PASSWORD, api_login, audit_entries, enrol_totp, make_user, next_code
from web.context import AppContext


async def login(client: httpx.AsyncClient, username: str, password: str = PASSWORD) -> httpx.Response:
    return await client.post("/api/auth/login", json={"username": username, "password": password})


async def test_wrong_password_and_unknown_user_get_the_same_answer(
    client: httpx.AsyncClient, context: AppContext
) -> None:
    user = await make_user(context, "liisa")
    wrong = await login(client, "liisa", "not the password")
    unknown = await login(client, "nobody", "not the password")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["error"] == unknown.json()["error"] == "Wrong username or password."
    failures = await audit_entries(context, "login.failed")
    assert [(e.subject, e.actor) for e in failures][-2:] == [
        (f"user:{user.id}", "anonymous"),
        ("username:nobody", "anonymous"),
    ]
    assert '"reason":"wrong password"' in failures[-2].data


async def test_one_address_is_rate_limited_across_accounts(
    client: httpx.AsyncClient, context: AppContext
) -> None:
    statuses = [(await login(client, f"user{i}", "wrong password!")).status_code for i in range(31)]
    assert statuses[:30] == [401] * 30
    assert statuses[30] == 429
    assert "from your network" in (await login(client, "user99")).json()["error"]
    limited = await audit_entries(context, "login.rate_limited")
    assert [e.subject for e in limited] == ["address:192.0.2.10"]  # recorded once per window, not per attempt


async def test_disabled_account_cannot_sign_in(client: httpx.AsyncClient, context: AppContext) -> None:
    from auth.actions import do_set_active

    user = await make_user(context, "liisa")
    async with context.db.write() as session:
        await do_set_active(
            session, user=await session.get(type(user), user.id), active=False, actor="system:test"
        )
    assert (await login(client, "liisa")).status_code == 401
    assert len(await audit_entries(context, "user.disabled")) == 1


async def test_role_requiring_second_factor_must_enrol_first(
    client: httpx.AsyncClient, context: AppContext, clock: FixedClock
) -> None:
    await make_user(context, "mikko", roles=(Role.SECRETARY,))
    body = (await login(client, "mikko")).json()
    assert body["status"] == "enrolment_required"
    assert "tokens" not in body
    start = (await client.post("/api/auth/enrolment", json={"step_token": body["step_token"]})).json()
    assert start["otpauth_uri"].startswith("otpauth://totp/Kokous:mikko?secret=")
    wrong = await client.post(
        "/api/auth/enrolment/confirm", json={"step_token": body["step_token"], "code": "000000"}
    )
    assert wrong.status_code == 401
    done = await client.post(
        "/api/auth/enrolment/confirm",
        json={"step_token": body["step_token"], "code": totp.code_at(start["secret"], clock())},
    )
    assert done.status_code == 200, done.text
    assert len(done.json()["recovery_codes"]) == 10
    me = await client.get(
        "/api/me", headers={"Authorization": f"Bearer {done.json()['tokens']['access_token']}"}
    )
    assert me.json()["methods"] == ["pwd", "otp"]
    assert [e.action for e in await audit_entries(context)][-5:] == [
        "totp.enrolment_started",
        "totp.failed",
        "login.failed",
        "totp.enrolment_confirmed",
        "session.started",
    ]


async def test_second_factor_code_cannot_be_replayed(
    client: httpx.AsyncClient, context: AppContext, clock: FixedClock
) -> None:
    await make_user(context, "mikko", roles=(Role.SECRETARY,))
    secret = await enrol_totp(context, "mikko")
    code = next_code(secret, clock)
    first = (await login(client, "mikko")).json()
    assert first["status"] == "second_factor_required"
    ok = await client.post("/api/auth/second-factor", json={"step_token": first["step_token"], "code": code})
    assert ok.status_code == 200
    again = (await login(client, "mikko")).json()
    replay = await client.post(
        "/api/auth/second-factor", json={"step_token": again["step_token"], "code": code}
    )
    assert replay.status_code == 401
    assert replay.json()["error"] == "That code was already used. Wait for the next code and try again."
    failed = await audit_entries(context, "totp.failed")
    assert '"reason":"replayed"' in failed[-1].data


async def test_recovery_code_works_once(
    client: httpx.AsyncClient, context: AppContext, clock: FixedClock
) -> None:
    await make_user(context, "mikko", roles=(Role.SECRETARY,))
    body = (await login(client, "mikko")).json()
    secret = (await client.post("/api/auth/enrolment", json={"step_token": body["step_token"]})).json()[
        "secret"
    ]
    codes = (
        await client.post(
            "/api/auth/enrolment/confirm",
            json={"step_token": body["step_token"], "code": totp.code_at(secret, clock())},
        )
    ).json()["recovery_codes"]
    for expected in (200, 401):
        step = (await login(client, "mikko")).json()["step_token"]
        response = await client.post("/api/auth/second-factor", json={"step_token": step, "code": codes[0]})
        assert response.status_code == expected
    assert len(await audit_entries(context, "totp.recovery_used")) == 1


async def test_step_token_cannot_be_used_as_an_access_token(
    client: httpx.AsyncClient, context: AppContext
) -> None:
    await make_user(context, "mikko", roles=(Role.SECRETARY,))
    step = (await login(client, "mikko")).json()["step_token"]
    assert (await client.get("/api/me", headers={"Authorization": f"Bearer {step}"})).status_code == 401


async def test_refresh_rotates_and_reuse_ends_the_whole_session(
    client: httpx.AsyncClient, context: AppContext
) -> None:
    user = await make_user(context, "liisa")
    tokens = (await login(client, "liisa")).json()["tokens"]
    rotated = await client.post("/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert rotated.status_code == 200
    new = rotated.json()
    assert new["refresh_token"] != tokens["refresh_token"]
    reused = await client.post("/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert reused.status_code == 401
    # The thief's replay revoked the family: the legitimate tokens are dead too.
    assert (
        await client.post("/api/auth/refresh", json={"refresh_token": new["refresh_token"]})
    ).status_code == 401
    me = await client.get("/api/me", headers={"Authorization": f"Bearer {new['access_token']}"})
    assert me.status_code == 401
    assert len(await audit_entries(context, "session.refreshed")) == 1
    # Both the replay and the later use of a revoked token are recorded.
    assert [e.subject for e in await audit_entries(context, "token.reused")] == [f"user:{user.id}"] * 2


async def test_logout_ends_the_session_at_once(client: httpx.AsyncClient, context: AppContext) -> None:
    await make_user(context, "liisa")
    headers = await api_login(client, "liisa")
    assert (await client.post("/api/auth/logout", headers=headers)).status_code == 204
    assert (await client.get("/api/me", headers=headers)).status_code == 401
    assert len(await audit_entries(context, "session.ended")) == 1


async def test_expired_access_token_is_refused_with_a_clear_message(
    client: httpx.AsyncClient, context: AppContext, clock: FixedClock
) -> None:
    await make_user(context, "liisa")
    headers = await api_login(client, "liisa")
    clock.advance(minutes=11)
    response = await client.get("/api/me", headers=headers)
    assert response.status_code == 401
    assert response.json()["error"] == "The sign-in has expired. Please sign in again."


async def test_changing_the_password_ends_the_other_sessions(
    client: httpx.AsyncClient, context: AppContext
) -> None:
    await make_user(context, "liisa")
    other = await api_login(client, "liisa")
    headers = await api_login(client, "liisa")
    wrong = await client.post(
        "/api/me/password",
        headers=headers,
        json={"current_password": "nope", "new_password": "a new long secret"},
    )
    assert wrong.status_code == 422
    assert wrong.json()["field"] == "current_password"
    ok = await client.post(
        "/api/me/password",
        headers=headers,
        json={"current_password": PASSWORD, "new_password": "a new long secret"},
    )
    assert ok.status_code == 204
    assert (await client.get("/api/me", headers=headers)).status_code == 200  # the session that changed it
    assert (await client.get("/api/me", headers=other)).status_code == 401
    assert (await login(client, "liisa", "a new long secret")).status_code == 200
    assert len(await audit_entries(context, "password.changed")) == 1


async def test_login_rehashes_an_old_password_hash(client: httpx.AsyncClient, context: AppContext) -> None:
    from auth.passwords import Hasher
    from core.config import PasswordProfile

    await make_user(context, "liisa")
    object.__setattr__(
        context.auth, "hasher", Hasher(PasswordProfile(time_cost=2, memory_cost_kib=8, parallelism=1))
    )
    assert (await login(client, "liisa")).status_code == 200
    assert len(await audit_entries(context, "password.rehashed")) == 1
    assert (await login(client, "liisa")).status_code == 200
    assert len(await audit_entries(context, "password.rehashed")) == 1


async def test_malformed_body_gets_a_clear_400(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/auth/login", json={"user": "x"})
    assert response.status_code == 400
    assert response.json()["error"].startswith("The request is not valid")


async def test_enrolment_page_reload_keeps_the_same_secret(
    client: httpx.AsyncClient, context: AppContext
) -> None:
    await make_user(context, "mikko", roles=(Role.SECRETARY,))
    step = (await login(client, "mikko")).json()["step_token"]
    first = (await client.post("/api/auth/enrolment", json={"step_token": step})).json()["secret"]
    again = (await client.post("/api/auth/enrolment", json={"step_token": step})).json()["secret"]
    assert first == again
    assert len(await audit_entries(context, "totp.enrolment_started")) == 1
