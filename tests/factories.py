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


async def make_body(
    context: AppContext,
    slug: str = "kh",
    *,
    kind: str = "executive",
    seats: int = 9,
    electronic: bool = True,
    procedure: bool = True,
    name: str = "Kunnanhallitus",
) -> int:
    from meetings.actions.bodies import BodySpec, do_create_body

    async with context.db.write() as session:
        body = await do_create_body(
            session,
            spec=BodySpec(
                slug=slug,
                name=name,
                kind=kind,
                seats=seats,
                electronic_meetings_allowed=electronic,
                decision_procedure_allowed=procedure,
            ),
            actor="system:test",
        )
    return body.id


async def add_member(
    context: AppContext, body_id: int, user_id: int, role: str = "member", deputy_for_id: int | None = None
) -> int:
    from datetime import date

    from meetings.actions.memberships import MembershipSpec, do_add_membership
    from meetings.models import Body

    async with context.db.write() as session:
        body = await session.get(Body, body_id)
        assert body is not None
        membership = await do_add_membership(
            session,
            body=body,
            spec=MembershipSpec(
                user_id=user_id,
                role=role,
                # Open-ended: a server on the real clock (browser tests, faketime years ahead) must still
                # find the seat, whatever the machine's date.
                term_start=date(2025, 6, 1),
                term_end=None,
                deputy_for_id=deputy_for_id,
            ),
            actor="system:test",
        )
    return membership.id


async def make_person(context: AppContext, username: str, body_id: int, role: str = "member") -> User:
    """A user with an e-mail address and a role in a body."""
    from auth.actions import do_create_user

    async with context.db.write() as session:
        user = await do_create_user(
            session,
            username=username,
            display_name=username.title(),
            password=PASSWORD,
            email=f"{username}@example.test",
            actor="system:test",
        )
    await add_member(context, body_id, user.id, role)
    return user
