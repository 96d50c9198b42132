"""A forged access token on a public route is served as anonymous, as before, and now audited with its reason;
an expired one is normal and is not."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from audit.models import AuditAction
from auth.failures import FULL_PER_WINDOW
from auth.tokens import ACCESS, TokenService
from core.clock import FixedClock
from tests.factories import audit_entries, make_user
from web.context import AppContext
from web.security import ACCESS_COOKIE


def access_token(tokens: TokenService, clock: FixedClock, user_id: int) -> str:
    return tokens.issue(
        subject=str(user_id),
        audience=ACCESS,
        now=clock(),
        lifetime=timedelta(minutes=10),
        sid="x",
        amr=["pwd"],
    )


def tampered(token: str) -> str:
    header, payload, signature = token.split(".")
    return f"{header}.{payload}.{signature[:-4]}{'AAAA' if signature[-4:] != 'AAAA' else 'BBBB'}"


async def rejections(context: AppContext) -> list[dict[str, str]]:
    return [
        json.loads(e.data) | {"subject": e.subject, "actor": e.actor}
        for e in await audit_entries(context, AuditAction.TOKEN_REJECTED)
    ]


async def test_a_bearer_token_with_a_bad_signature_is_audited(
    client: httpx.AsyncClient, context: AppContext, clock: FixedClock
) -> None:
    user = await make_user(context, "liisa")
    forged = tampered(access_token(context.auth.tokens, clock, user.id))
    response = await client.get("/api/bodies", headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 200  # a public route: served, as to anyone
    assert await rejections(context) == [
        {
            "actor": "anonymous",
            "subject": "route:GET /api/bodies",
            "reason": "bad signature",
            "via": "bearer",
            "address": "192.0.2.10",
        }
    ]


async def test_a_cookie_signed_with_another_key_is_audited(
    client: httpx.AsyncClient, context: AppContext, clock: FixedClock, tmp_path: Path
) -> None:
    stranger = TokenService.load_or_create(tmp_path / "stranger.pem", issuer=context.settings.base_url)
    client.cookies.set(ACCESS_COOKIE, access_token(stranger, clock, 1))
    response = await client.get("/bodies", headers={"accept": "text/html"})
    assert response.status_code == 200
    [entry] = await rejections(context)
    assert (entry["reason"], entry["via"], entry["subject"]) == (
        "unknown key id",
        "cookie",
        "route:GET /bodies",
    )


async def test_an_expired_token_is_not_audited(
    client: httpx.AsyncClient, context: AppContext, clock: FixedClock
) -> None:
    user = await make_user(context, "liisa")
    token = access_token(context.auth.tokens, clock, user.id)
    clock.advance(minutes=11)
    assert (await client.get("/api/bodies", headers={"Authorization": f"Bearer {token}"})).status_code == 200
    assert (await client.get("/api/me", headers={"Authorization": f"Bearer {token}"})).status_code == 401
    assert await rejections(context) == []


@pytest.mark.parametrize("garbage", ["x", "a.b.c", "eyJhbGciOiJub25lIn0.e30."])
async def test_garbage_and_a_flood_of_it_are_audited_and_summarised(
    client: httpx.AsyncClient, context: AppContext, garbage: str
) -> None:
    for _ in range(FULL_PER_WINDOW + 10):
        assert (
            await client.get("/api/bodies", headers={"Authorization": f"Bearer {garbage}"})
        ).status_code == 200
    assert len(await rejections(context)) == FULL_PER_WINDOW
