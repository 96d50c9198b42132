"""Refresh-token guesses and forged, expired or spent second-factor step tokens: refused and recorded."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx

from auth.models import Role
from auth.tokens import SECOND_FACTOR, TokenService
from core.clock import FixedClock
from tests.factories import PASSWORD, audit_entries, enrol_totp, make_user, next_code
from web.context import AppContext

CLIENT = "192.0.2.10"  # the test client's address (tests/conftest.py)


async def step_token(client: httpx.AsyncClient, username: str) -> str:
    response = await client.post("/api/auth/login", json={"username": username, "password": PASSWORD})
    return str(response.json()["step_token"])


async def last_rejection(context: AppContext) -> tuple[str, str, str]:
    entry = (await audit_entries(context, "token.rejected"))[-1]
    return entry.actor, entry.subject, entry.data


async def test_an_unknown_refresh_token_is_recorded(client: httpx.AsyncClient, context: AppContext) -> None:
    response = await client.post("/api/auth/refresh", json={"refresh_token": "rt_a-guess"})
    assert response.status_code == 401
    actor, subject, data = await last_rejection(context)
    assert (actor, subject) == ("anonymous", f"address:{CLIENT}")
    assert data == f'{{"address":"{CLIENT}","reason":"unknown","token":"refresh"}}'
    client.cookies.set("kokous_refresh", "rt_another-guess", path="/auth/refresh")
    page = await client.get("/auth/refresh?next=/account")
    assert page.status_code == 303
    assert page.headers["location"] == "/login?next=%2Faccount"
    assert len(await audit_entries(context, "token.rejected")) == 2


async def test_an_expired_refresh_token_is_recorded(
    client: httpx.AsyncClient, context: AppContext, clock: FixedClock
) -> None:
    user = await make_user(context, "liisa")
    login = await client.post("/api/auth/login", json={"username": "liisa", "password": PASSWORD})
    clock.advance(days=15)
    refresh = login.json()["tokens"]["refresh_token"]
    response = await client.post("/api/auth/refresh", json={"refresh_token": refresh})
    assert response.status_code == 401
    assert response.json()["error"] == "The sign-in has expired. Please sign in again."
    actor, subject, data = await last_rejection(context)
    assert (actor, subject) == ("anonymous", f"user:{user.id}")
    assert '"reason":"expired"' in data


async def test_a_forged_step_token_is_recorded(
    client: httpx.AsyncClient, context: AppContext, clock: FixedClock, tmp_path: Path
) -> None:
    user = await make_user(context, "mikko", roles=(Role.SECRETARY,))
    await enrol_totp(context, "mikko")
    other_key = TokenService.load_or_create(tmp_path / "other.pem", issuer=context.settings.base_url)
    forged = other_key.issue(
        subject=str(user.id),
        audience=SECOND_FACTOR,
        now=clock(),
        lifetime=timedelta(minutes=5),
        stage="verify",
        name="mikko",
    )
    response = await client.post("/api/auth/second-factor", json={"step_token": forged, "code": "123456"})
    assert response.status_code == 401
    actor, subject, data = await last_rejection(context)
    assert (actor, subject) == ("anonymous", f"address:{CLIENT}")
    assert data == f'{{"address":"{CLIENT}","reason":"unknown key id","token":"step"}}'
    assert len(await audit_entries(context, "totp.failed")) == 0  # no code was checked


async def test_an_expired_step_token_is_recorded(
    client: httpx.AsyncClient, context: AppContext, clock: FixedClock
) -> None:
    user = await make_user(context, "mikko", roles=(Role.SECRETARY,))
    secret = await enrol_totp(context, "mikko")
    step = await step_token(client, "mikko")
    clock.advance(minutes=6)
    response = await client.post(
        "/api/auth/second-factor", json={"step_token": step, "code": next_code(secret, clock)}
    )
    assert response.status_code == 401
    actor, subject, data = await last_rejection(context)
    assert (actor, subject) == ("anonymous", f"user:{user.id}")
    assert '"reason":"expired"' in data


async def test_a_step_token_is_spent_by_the_sign_in_it_completed(
    client: httpx.AsyncClient, context: AppContext, clock: FixedClock
) -> None:
    user = await make_user(context, "mikko", roles=(Role.SECRETARY,))
    secret = await enrol_totp(context, "mikko")
    step = await step_token(client, "mikko")
    first = await client.post(
        "/api/auth/second-factor", json={"step_token": step, "code": next_code(secret, clock)}
    )
    assert first.status_code == 200
    again = await client.post(
        "/api/auth/second-factor", json={"step_token": step, "code": next_code(secret, clock)}
    )
    assert again.status_code == 401
    assert again.json()["error"] == "This sign-in step has expired. Please sign in again."
    actor, subject, data = await last_rejection(context)
    assert (actor, subject) == ("anonymous", f"user:{user.id}")
    assert '"reason":"stale"' in data
    assert len(await audit_entries(context, "session.started")) == 1


async def test_an_enrolment_step_cannot_replace_a_second_factor_set_up_since(
    client: httpx.AsyncClient, context: AppContext
) -> None:
    user = await make_user(context, "mikko", roles=(Role.SECRETARY,))
    step = await step_token(client, "mikko")  # no second factor yet: the enrolment stage
    await enrol_totp(context, "mikko")  # set up meanwhile, elsewhere
    response = await client.post("/api/auth/enrolment", json={"step_token": step})
    assert response.status_code == 401
    actor, subject, data = await last_rejection(context)
    assert (actor, subject) == ("anonymous", f"user:{user.id}")
    assert '"reason":"stale"' in data
    assert len(await audit_entries(context, "totp.enrolment_started")) == 1  # only the one made elsewhere


async def test_a_flood_of_refresh_token_guesses_is_summarised(
    client: httpx.AsyncClient, context: AppContext, clock: FixedClock
) -> None:
    for n in range(7):
        assert (await client.post("/api/auth/refresh", json={"refresh_token": f"rt_{n}"})).status_code == 401
    assert len(await audit_entries(context, "token.rejected")) == 5  # then only counted (auth.failures)
    clock.advance(seconds=60)
    await client.post("/api/auth/refresh", json={"refresh_token": "rt_next"})
    [summary] = await audit_entries(context, "failures.summarised")
    assert summary.subject == f"address:{CLIENT}"
    assert '"suppressed":{"refresh_token":2}' in summary.data
    assert len(await audit_entries(context, "token.rejected")) == 6
