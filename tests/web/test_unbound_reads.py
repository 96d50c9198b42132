"""The web layer on a database of its own, not the tests' single bound connection: on SQLite this is the only
place where requests really read on the event loop's thread (decision 0006). Checks that signing out, a new
password, a disabled account and a revoked role still end access at once with remembered tokens."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from auth.actions import do_grant_role, do_revoke_role, do_set_active
from auth.models import Role
from auth.queries import user_by_username
from auth.ratelimit import MemoryLimiter
from core.clock import FixedClock
from core.config import TEST_PASSWORD_PROFILE, Settings
from tests.conftest import BASE_URL, backend
from tests.factories import PASSWORD, api_login, make_body, make_user
from web import migration
from web.app import create_app
from web.context import AppContext, build_context

pytestmark = pytest.mark.skipif(backend() != "sqlite", reason="the event-loop reads exist on SQLite only")


@dataclass
class Service:
    context: AppContext
    client: httpx.AsyncClient
    clock: FixedClock


@pytest.fixture
async def service(tmp_path: Path, clock: FixedClock) -> AsyncIterator[Service]:
    settings = Settings(data_dir=tmp_path, base_url=BASE_URL, password_profile=TEST_PASSWORD_PROFILE)
    context = build_context(settings, clock=clock, limiter=MemoryLimiter(clock))
    await migration.upgrade(context.db.engine)
    app = create_app(settings, context=context, background_jobs=False, db=context.db)
    transport = httpx.ASGITransport(app=app, client=("192.0.2.10", 50000))
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        yield Service(context, client, clock)
    await context.db.dispose()


async def test_requests_read_on_the_loop_and_see_every_commit(service: Service) -> None:
    assert service.context.db._reader is not None  # the read-only engine is in use here
    await make_user(service.context, "liisa")
    await make_body(service.context, "kh")
    headers = await api_login(service.client, "liisa")
    assert (await service.client.get("/api/me", headers=headers)).json()["username"] == "liisa"
    await make_body(service.context, "ymp", kind="committee", name="Ympäristölautakunta")
    listed = (await service.client.get("/api/bodies", headers=headers)).json()
    assert {b["slug"] for b in listed} == {"kh", "ymp"}
    assert (await service.client.get("/bodies/ymp", headers={"accept": "text/html"})).status_code == 200


async def test_signing_out_ends_a_remembered_token_at_once(service: Service) -> None:
    await make_user(service.context, "liisa")
    headers = await api_login(service.client, "liisa")
    assert (await service.client.get("/api/me", headers=headers)).status_code == 200
    assert (await service.client.post("/api/auth/logout", headers=headers)).status_code == 204
    assert (await service.client.get("/api/me", headers=headers)).status_code == 401


async def test_a_new_password_ends_the_other_sessions(service: Service) -> None:
    await make_user(service.context, "liisa")
    other = await api_login(service.client, "liisa")
    mine = await api_login(service.client, "liisa")
    assert (await service.client.get("/api/me", headers=other)).status_code == 200
    changed = await service.client.post(
        "/api/me/password",
        headers=mine,
        json={"current_password": PASSWORD, "new_password": "uusi salasana joka on pitkä"},
    )
    assert changed.status_code == 204, changed.text
    assert (await service.client.get("/api/me", headers=other)).status_code == 401
    assert (await service.client.get("/api/me", headers=mine)).status_code == 200


async def test_a_disabled_account_and_a_revoked_role_end_access_at_once(service: Service) -> None:
    await make_user(service.context, "liisa")
    headers = await api_login(service.client, "liisa")
    async with service.context.db.write() as session:
        user = await user_by_username(session, "liisa")
        assert user is not None
        await do_grant_role(session, user=user, role=Role.AUDITOR, actor="system:test")
    assert (await service.client.get("/api/audit/checkpoints", headers=headers)).status_code == 200
    async with service.context.db.write() as session:
        user = await user_by_username(session, "liisa")
        assert user is not None
        await do_revoke_role(session, user=user, role=Role.AUDITOR, actor="system:test")
    assert (await service.client.get("/api/audit/checkpoints", headers=headers)).status_code == 403
    async with service.context.db.write() as session:
        user = await user_by_username(session, "liisa")
        assert user is not None
        await do_set_active(session, user=user, active=False, actor="system:test")
    assert (await service.client.get("/api/me", headers=headers)).status_code == 401
