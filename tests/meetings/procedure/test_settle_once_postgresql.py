"""Two server processes on one PostgreSQL database: each item is settled by one of them, exactly once.

Each "process" has an engine and connection pool of its own and commits for real, in a database of its own
(created here and dropped afterwards), so the two passes truly run at the same time and race for the rows.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from audit.models import AuditEntry
from auth.ratelimit import MemoryLimiter
from core.clock import FixedClock
from core.config import TEST_PASSWORD_PROFILE, Settings
from core.db import Database, create_engine
from meetings.models import AgendaItem, DecisionMode
from meetings.procedure.models import ProcedureItem
from meetings.procedure.scheduler import DeadlineScheduler
from tests.conftest import BASE_URL, START, backend
from tests.meetings.procedure.world import DEADLINE, make_world
from web import migration
from web.context import build_context

pytestmark = pytest.mark.skipif(backend() != "postgresql", reason="needs PostgreSQL (CI runs it)")
ITEMS = 40


@pytest.fixture
async def database_url() -> AsyncIterator[str]:
    admin_url = make_url(os.environ.get("KOKOUS_TEST_DATABASE_URL", ""))
    name = f"kokous_race_{secrets.token_hex(4)}"
    admin = create_engine(admin_url.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin_url.set(database=name).render_as_string(hide_password=False)
    engine = create_engine(url)
    await migration.upgrade(engine)
    await engine.dispose()
    yield url
    async with admin.connect() as conn:
        await conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    await admin.dispose()


async def test_two_processes_settle_each_item_once(database_url: str, tmp_path: Path) -> None:
    clock = FixedClock(START)
    seeding = Database(create_engine(database_url), clock=clock)
    settings = Settings(data_dir=tmp_path, base_url=BASE_URL, password_profile=TEST_PASSWORD_PROFILE)
    context = build_context(settings, db=seeding, clock=clock, limiter=MemoryLimiter(clock))
    world = await make_world(context)
    async with seeding.write() as session:  # more items of the same meeting, open with the same deadline
        for n in range(ITEMS - 1):
            item = AgendaItem(
                meeting_id=world.meeting_id,
                position=100 + n,
                section=100 + n,
                title=f"Asia {n}",
                decision_mode=DecisionMode.DECISION_PROCEDURE,
                deadline_at=DEADLINE,
                updated_at=clock(),
            )
            session.add(item)
            await session.flush()
            session.add(
                ProcedureItem(
                    item_id=item.id,
                    meeting_id=world.meeting_id,
                    body_id=world.body_id,
                    state="open",
                    deadline_at=DEADLINE,
                    deputy_rule="cautious",
                    opened_at=clock(),
                    late=False,
                    rule="",
                    version=1,
                )
            )
    await seeding.dispose()
    clock.now = DEADLINE + timedelta(seconds=1)
    one, two = (Database(create_engine(database_url), clock=clock) for _ in range(2))
    try:
        first, second = await asyncio.gather(
            DeadlineScheduler(one, base_url=BASE_URL).run_once(),
            DeadlineScheduler(two, base_url=BASE_URL).run_once(),
        )
        assert not set(first.settled) & set(second.settled)
        assert len(first.settled) + len(second.settled) == ITEMS
        async with one.read() as session:
            states = (await session.execute(select(ProcedureItem.state))).scalars().all()
            logged = (
                await session.execute(
                    select(func.count()).where(AuditEntry.action == "procedure.moved_to_meeting")
                )
            ).scalar_one()
        assert set(states) == {"moved_to_meeting"}
        assert logged == ITEMS
    finally:
        await one.dispose()
        await two.dispose()
