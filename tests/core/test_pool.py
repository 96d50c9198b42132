"""PostgreSQL's pool: a connection that lay idle is checked before use, so a server that dropped it (a
restart, a failover) costs no request an error; one in steady use is handed out without a round trip."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

import core.db
from core.db import create_engine

pytestmark = pytest.mark.skipif(
    os.environ.get("KOKOUS_TEST_BACKEND") != "postgresql", reason="the pool of PostgreSQL"
)


@pytest.fixture
async def engine() -> AsyncIterator[AsyncEngine]:
    url = make_url(os.environ["KOKOUS_TEST_DATABASE_URL"]).render_as_string(hide_password=False)
    engine = create_engine(url)
    yield engine
    await engine.dispose()


async def _backend(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def _terminate(engine: AsyncEngine, pid: int) -> None:
    admin = create_engine(engine.url.render_as_string(hide_password=False))
    async with admin.connect() as other:
        await other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        await other.commit()
    await admin.dispose()


async def test_a_connection_dropped_while_idle_is_replaced_without_an_error(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = await _backend(engine)
    await _terminate(engine, first)
    monkeypatch.setattr(core.db, "PING_AFTER_IDLE_SECONDS", 0.0)
    assert await _backend(engine) != first  # no error: the dead one was found and another opened


async def test_a_connection_in_steady_use_is_not_pinged(engine: AsyncEngine) -> None:
    statements: list[str] = []
    event.listen(engine.sync_engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    pid = await _backend(engine)
    assert await _backend(engine) == pid  # the pool keeps it
    assert statements == ["SELECT pg_backend_pid()"] * 2  # no check between two quick uses
