"""Changing one's own password and second factor: proven again, throttled, recorded, other sessions ended,
the owner e-mailed."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import select

from auth.actions import do_create_user
from core.clock import FixedClock
from meetings.models import OutboxMessage
from tests.factories import PASSWORD, api_login, audit_entries, enrol_totp, next_code
from tests.web.pages.test_signin import csrf_from, form_login
from web.context import AppContext

NEW_PASSWORD = "a fresh and long passphrase"
CLIENT = "192.0.2.10"  # the test client's address (tests/conftest.py)


async def make_owner(context: AppContext, username: str = "liisa") -> int:
    """A member with an e-mail address, so that notices can reach her."""
    async with context.db.write() as session:
        user = await do_create_user(
            session,
            username=username,
            display_name="Liisa Laine",
            password=PASSWORD,
            email=f"{username}@example.test",
            actor="system:test",
        )
    return user.id


async def outbox(context: AppContext) -> list[OutboxMessage]:
    async with context.db.read() as session:
        return list((await session.execute(select(OutboxMessage).order_by(OutboxMessage.id))).scalars())


async def page_login(client: httpx.AsyncClient, username: str, secret: str, clock: FixedClock) -> None:
    """A browser session through the sign-in pages, password and code."""
    step = await form_login(client, username)
    assert step.headers["location"].startswith("/login/code")
    page = await client.get(step.headers["location"])
    done = await client.post(
        "/login/code",
        data={"code": next_code(secret, clock), "csrf_token": csrf_from(page.text), "next": "/"},
    )
    assert done.status_code == 303, done.text


async def start(client: httpx.AsyncClient, **form: str) -> httpx.Response:
    page = await client.get("/account/second-factor")
    return await client.post("/account/second-factor/start", data=form | {"csrf_token": csrf_from(page.text)})


def new_secret_and_ticket(page: str) -> tuple[str, str]:
    secret = re.search(r'<code class="secret">([A-Z2-7]+)</code>', page)
    ticket = re.search(r'name="ticket" value="([^"]+)"', page)
    assert secret, "no new secret on the page"
    assert ticket, "no ticket on the page"
    return secret.group(1), ticket.group(1)


# ---- the second factor ------------------------------------------------------------------------------


async def test_replacing_the_second_factor_needs_the_password_and_a_current_code(
    client: httpx.AsyncClient, context: AppContext, clock: FixedClock
) -> None:
    user_id = await make_owner(context)
    old = await enrol_totp(context, "liisa")
    await page_login(client, "liisa", old, clock)
    before = len(await audit_entries(context, "totp.enrolment_started"))

    no_password = await start(client, current_password="", code=next_code(old, clock))
    assert no_password.status_code == 422
    assert 'role="alert"' in no_password.text
    no_code = await start(client, current_password=PASSWORD, code="000000")
    assert no_code.status_code == 422
    assert len(await audit_entries(context, "totp.enrolment_started")) == before  # nothing to scan yet

    failed = await audit_entries(context, "reauth.failed")
    assert [(e.actor, e.subject) for e in failed] == [(f"user:{user_id}", f"user:{user_id}")] * 2
    assert '"reason":"wrong password"' in failed[0].data
    assert '"reason":"wrong code"' in failed[1].data
    assert f'"address":"{CLIENT}"' in failed[1].data
    assert '"purpose":"second factor change"' in failed[1].data

    proven = await start(client, current_password=PASSWORD, code=next_code(old, clock))
    assert proven.status_code == 200
    new, _ = new_secret_and_ticket(proven.text)
    assert new != old


async def test_a_replaced_second_factor_ends_the_other_sessions_and_tells_the_owner(
    client: httpx.AsyncClient, context: AppContext, clock: FixedClock
) -> None:
    user_id = await make_owner(context)
    old = await enrol_totp(context, "liisa")
    elsewhere = await api_login(client, "liisa", secret=old, clock=clock)
    await page_login(client, "liisa", old, clock)
    proven = await start(client, current_password=PASSWORD, code=next_code(old, clock))
    new, ticket = new_secret_and_ticket(proven.text)
    form = {"ticket": ticket, "csrf_token": csrf_from(proven.text), "code": next_code(new, clock)}
    done = await client.post("/account/second-factor", data=form)
    assert done.status_code == 200
    assert done.text.count("<li><code>") == 10  # new recovery codes

    assert (await client.get("/api/me", headers=elsewhere)).status_code == 401
    assert (await client.get("/account")).status_code == 200  # the session that made the change stays
    enrolled = (await audit_entries(context, "totp.enrolment_confirmed"))[-1]
    assert (enrolled.actor, enrolled.subject) == (f"user:{user_id}", f"user:{user_id}")
    assert enrolled.data == f'{{"address":"{CLIENT}","notified":true,"replaced":true}}'
    added, mail = await outbox(context)  # enrol_totp added the first one
    assert added.kind == "account.second_factor_added"
    assert (mail.kind, mail.recipient) == ("account.second_factor_replaced", "liisa@example.test")
    assert f"osoitteesta {CLIENT}" in mail.body
    assert new not in mail.body

    client.cookies.clear()
    signed_in = await api_login(client, "liisa", secret=new, clock=clock)  # the new app signs in
    assert (await client.get("/api/me", headers=signed_in)).status_code == 200


async def test_the_first_second_factor_needs_the_password(
    client: httpx.AsyncClient, context: AppContext, clock: FixedClock
) -> None:
    await make_owner(context)
    await form_login(client, "liisa")
    offer = await client.get("/account/second-factor")
    assert 'name="current_password"' in offer.text
    assert 'name="code"' not in offer.text  # no second factor yet: no code to give
    assert (await start(client, current_password="a wrong one!")).status_code == 422
    proven = await start(client, current_password=PASSWORD)
    new, ticket = new_secret_and_ticket(proven.text)
    form = {"ticket": ticket, "csrf_token": csrf_from(proven.text), "code": next_code(new, clock)}
    assert (await client.post("/account/second-factor", data=form)).status_code == 200
    enrolled = (await audit_entries(context, "totp.enrolment_confirmed"))[-1]
    assert '"replaced":false' in enrolled.data
    assert [m.kind for m in await outbox(context)] == ["account.second_factor_added"]


async def test_a_change_is_confirmed_only_by_the_session_that_proved_itself(
    client: httpx.AsyncClient, context: AppContext, clock: FixedClock
) -> None:
    user_id = await make_owner(context)
    old = await enrol_totp(context, "liisa")
    await page_login(client, "liisa", old, clock)
    proven = await start(client, current_password=PASSWORD, code=next_code(old, clock))
    new, ticket = new_secret_and_ticket(proven.text)
    client.cookies.clear()
    await page_login(client, "liisa", old, clock)  # another session of the same person
    page = await client.get("/account/second-factor")
    form = {"ticket": ticket, "csrf_token": csrf_from(page.text), "code": next_code(new, clock)}
    refused = await client.post("/account/second-factor", data=form)
    assert refused.status_code == 409
    rejected = (await audit_entries(context, "token.rejected"))[-1]
    assert (rejected.actor, rejected.subject) == (f"user:{user_id}", f"user:{user_id}")
    assert '"reason":"another session"' in rejected.data
    assert len(await audit_entries(context, "totp.enrolment_confirmed")) == 1  # only enrol_totp's


async def test_guessing_the_password_to_change_the_second_factor_is_slowed(
    client: httpx.AsyncClient, context: AppContext, clock: FixedClock
) -> None:
    await make_owner(context)
    old = await enrol_totp(context, "liisa")
    await page_login(client, "liisa", old, clock)
    code = next_code(old, clock)
    for n in range(3):
        assert (await start(client, current_password=f"guess {n}!!", code="000000")).status_code == 422
    refused = await start(client, current_password=PASSWORD, code=code)  # even the right proof must wait
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "1"
    clock.advance(seconds=1)
    assert (await start(client, current_password=PASSWORD, code=code)).status_code == 200


# ---- the password -------------------------------------------------------------------------------------


async def test_a_wrong_current_password_is_recorded_and_slowed(
    client: httpx.AsyncClient, context: AppContext, clock: FixedClock
) -> None:
    user_id = await make_owner(context)
    headers = await api_login(client, "liisa")

    async def change(current: str) -> httpx.Response:
        body = {"current_password": current, "new_password": NEW_PASSWORD}
        return await client.post("/api/me/password", headers=headers, json=body)

    for n in range(3):
        wrong = await change(f"guess number {n}")
        assert (wrong.status_code, wrong.json()["field"]) == (422, "current_password")
    refused = await change(PASSWORD)  # even the right one, while the source must wait
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "1"
    failed = await audit_entries(context, "reauth.failed")
    assert len(failed) == 3
    assert {(e.actor, e.subject) for e in failed} == {(f"user:{user_id}", f"user:{user_id}")}
    assert failed[0].data == (
        f'{{"address":"{CLIENT}","purpose":"password change","reason":"wrong password"}}'
    )
    clock.advance(seconds=1)
    assert (await change(PASSWORD)).status_code == 204


async def test_a_new_password_ends_the_other_sessions_and_tells_the_owner(
    client: httpx.AsyncClient, context: AppContext
) -> None:
    user_id = await make_owner(context)
    elsewhere = await api_login(client, "liisa")
    headers = await api_login(client, "liisa")
    body = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    assert (await client.post("/api/me/password", headers=headers, json=body)).status_code == 204
    assert (await client.get("/api/me", headers=headers)).status_code == 200
    assert (await client.get("/api/me", headers=elsewhere)).status_code == 401
    changed = (await audit_entries(context, "password.changed"))[-1]
    assert (changed.actor, changed.subject) == (f"user:{user_id}", f"user:{user_id}")
    assert changed.data == f'{{"address":"{CLIENT}","by":"self","notified":true}}'
    [mail] = await outbox(context)
    assert (mail.kind, mail.recipient, mail.reference) == (
        "account.password_changed",
        "liisa@example.test",
        f"user:{user_id}",
    )
    assert "salasana vaihdettiin 28.11.2026 klo 11.00 (Suomen aikaa)" in mail.body
    assert NEW_PASSWORD not in mail.body


async def test_the_account_page_changes_the_password_and_keeps_this_session(
    client: httpx.AsyncClient, context: AppContext, clock: FixedClock
) -> None:
    await make_owner(context)
    await form_login(client, "liisa")
    page = await client.get("/account")
    form = {"csrf_token": csrf_from(page.text), "new_password": NEW_PASSWORD, "repeat_password": NEW_PASSWORD}
    wrong = await client.post("/account/password", data=form | {"current_password": "not it at all"})
    assert wrong.status_code == 422
    assert 'role="alert"' in wrong.text
    for _ in range(2):
        await client.post("/account/password", data=form | {"current_password": "not it at all"})
    slowed = await client.post("/account/password", data=form | {"current_password": PASSWORD})
    assert slowed.status_code == 429
    assert slowed.headers["retry-after"] == "1"
    clock.advance(seconds=1)
    done = await client.post("/account/password", data=form | {"current_password": PASSWORD})
    assert done.status_code == 303
    assert done.headers["location"] == "/account?done=password-changed"
    shown = await client.get(done.headers["location"])
    assert shown.status_code == 200
    assert 'role="status"' in shown.text
    assert len(await audit_entries(context, "reauth.failed")) == 3
    assert len(await audit_entries(context, "password.changed")) == 1
