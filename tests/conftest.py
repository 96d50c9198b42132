"""Shared fixtures: a migrated database per run, a rolled-back transaction per test, a fixed clock."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import secrets
import threading
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from litestar import Litestar
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

import web.app
from auth.ratelimit import MemoryLimiter
from core.clock import FixedClock
from core.config import TEST_PASSWORD_PROFILE, Settings
from core.db import Database, create_engine
from web import migration
from web.app import create_app
from web.context import AppContext, build_context

# tests.untranslated fails the run when a page showed a text with no Finnish or Swedish translation;
# pytester runs such a run inside tests/web/test_translations.py.
pytest_plugins = ["tests.untranslated", "pytester"]

BASE_URL = "https://kokous.test"
# The test clock's start, a Saturday. Every date in the tests is chosen relative to it, and the clock never
# follows the machine's, so the suite passes on any date (docs/decisions/0008-one-injected-clock.md).
START = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


def backend() -> str:
    return os.environ.get("KOKOUS_TEST_BACKEND", "sqlite")


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("kokous-data")


@pytest.fixture(scope="session")
async def engine(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[AsyncEngine]:
    """Migrated once per run with the real migrations (SQLite file, or a fresh PostgreSQL database)."""
    if backend() == "sqlite":
        path = tmp_path_factory.mktemp("db") / "test.sqlite3"
        engine = create_engine(f"sqlite+aiosqlite:///{path}")
        await migration.upgrade(engine)
        yield engine
        await engine.dispose()
        return
    # A database per pytest-xdist worker (and per run): the workers' transactions never meet, and the name
    # says whose it is (`test_gw0_…` from the admin database `test`).
    admin_url = make_url(os.environ["KOKOUS_TEST_DATABASE_URL"])
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = f"{admin_url.database or 'kokous_test'}_{worker}_{secrets.token_hex(3)}"
    admin = create_engine(admin_url.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = create_engine(admin_url.set(database=name).render_as_string(hide_password=False))
    await migration.upgrade(engine)
    yield engine
    await engine.dispose()
    async with admin.connect() as conn:
        await conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    await admin.dispose()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def settings(data_dir: Path) -> Settings:
    return Settings(
        data_dir=data_dir,
        base_url=BASE_URL,
        password_profile=TEST_PASSWORD_PROFILE,
        database_url="sqlite+aiosqlite:///unused",
    )


@pytest.fixture
async def db(engine: AsyncEngine, clock: FixedClock) -> AsyncIterator[Database]:
    """A connection with an open transaction that every session of the test joins; rolled back afterwards."""
    async with engine.connect() as connection:
        outer = await connection.begin()
        yield Database(engine, clock=clock, bind=connection)
        await outer.rollback()


@pytest.fixture
def context(settings: Settings, db: Database, clock: FixedClock) -> AppContext:
    return build_context(settings, db=db, clock=clock, limiter=MemoryLimiter(clock))


# Registering Kokous's routes costs Litestar about 0.2 s of CPU, a third of the SQLite suite's time, and what
# it builds depends on the settings alone. What a test owns (its context, the live fan-out and the lifespan
# jobs over them) is create_app's `state` and `lifespan`. So each worker registers the routes once per
# settings, and every test gets that app with the state and lifespan create_app made for its own context.
# The data directory is left out of the key: what lives there (keys, stores, outbox) is reached through the
# context, and a module that gives each test a directory of its own would otherwise register per test.
_APPS: dict[Settings, Litestar] = {}


@pytest.fixture
def app(settings: Settings, context: AppContext) -> Litestar:
    made: dict[str, Any] = {}

    def capture(**config: Any) -> Litestar:
        made.update(config)
        return cast(Litestar, None)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(web.app, "Litestar", capture)
        web.app.create_app(settings, context=context, background_jobs=False, db=context.db)
    key = dataclasses.replace(settings, data_dir=Path())
    app = _APPS.get(key)
    if app is None:
        app = _APPS[key] = Litestar(**made)
    app.state = made["state"]
    app._lifespan_managers = [*made["lifespan"], *app.stores._stores.values()]
    return app


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    """Requests run on the test's own event loop, so they share its database connection.

    (Litestar's test clients run the app on a portal thread with its own loop, which asyncpg refuses.)
    """
    transport = httpx.ASGITransport(app=app, client=("192.0.2.10", 50000))
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as test_client:
        yield test_client


@pytest.fixture(autouse=True)
def _no_env_leaks(monkeypatch: pytest.MonkeyPatch) -> None:
    # Settings are always passed explicitly; a stray KOKOUS_* variable must not change a test.
    for name in [n for n in os.environ if n.startswith("KOKOUS_") and not n.startswith("KOKOUS_TEST")]:
        monkeypatch.delenv(name)


@pytest.fixture
def standalone_app(tmp_path: Path, clock: FixedClock) -> tuple[Litestar, AppContext]:
    """An app on a SQLite database of its own, for Litestar's synchronous TestClient: its portal thread runs
    an event loop of its own, and the shared test connection must not be used from another loop."""
    settings = Settings(data_dir=tmp_path, base_url=BASE_URL, password_profile=TEST_PASSWORD_PROFILE)
    context = build_context(settings, clock=clock, limiter=MemoryLimiter(clock))

    async def migrate() -> None:
        await migration.upgrade(context.db.engine)
        await context.db.engine.dispose()  # no pooled connection may outlive this loop

    # In a thread of its own: asyncio.run must not touch the test session's event loop.
    worker = threading.Thread(target=asyncio.run, args=(migrate(),))
    worker.start()
    worker.join()
    return create_app(settings, context=context, background_jobs=False), context
