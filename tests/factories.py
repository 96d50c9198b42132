"""Test data made through the real actions."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import select

from audit.models import AuditEntry
from auth import actions, totp
from auth.models import Role, User
from auth.queries import user_by_username
from core.clock import FixedClock
from web.context import AppContext

PASSWORD = "correct horse battery"


async def make_user(
    context: AppContext, username: str = "liisa", *, roles: tuple[Role, ...] = (), password: str = PASSWORD
) -> User:
    async with context.db.write() as session:
        user = await actions.do_create_user(
            session, username=username, display_name=username.title(), password=password, actor="system:test"
        )
        for role in roles:
            await actions.do_grant_role(session, user=user, role=role, actor="system:test")
    return user


async def enrol_totp(context: AppContext, username: str) -> str:
    """Give the user an active TOTP secret; returns the secret."""
    async with context.db.write() as session:
        user = await user_by_username(session, username)
        assert user is not None
        secret = await actions.do_start_totp_enrolment(session, user=user)
        code = totp.code_at(secret, context.db.clock())
        assert await actions.do_confirm_totp_enrolment(session, user=user, code=code) is not None
    return secret


def next_code(secret: str, clock: FixedClock) -> str:
    """Move the clock to the next 30-second step and return its code (a fresh, unreplayed code)."""
    clock.advance(seconds=30)
    return totp.code_at(secret, clock())


async def api_login(
    client: httpx.AsyncClient,
    username: str,
    password: str = PASSWORD,
    *,
    secret: str | None = None,
    clock: FixedClock | None = None,
) -> dict[str, str]:
    """Bearer headers for `username`, through the public API."""
    response = await client.post("/api/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    body = response.json()
    if body["status"] == "second_factor_required":
        assert secret is not None
        assert clock is not None
        response = await client.post(
            "/api/auth/second-factor",
            json={"step_token": body["step_token"], "code": next_code(secret, clock)},
        )
        assert response.status_code == 200, response.text
        body = response.json()
    return {"Authorization": f"Bearer {body['tokens']['access_token']}"}


async def audit_entries(context: AppContext, action: str | None = None) -> list[AuditEntry]:
    async with context.db.read() as session:
        query = select(AuditEntry).order_by(AuditEntry.seq)
        if action:
            query = query.where(AuditEntry.action == action)
        return list((await session.execute(query)).scalars().all())


def minutes(n: int) -> timedelta:
    return timedelta(minutes=n)
