"""Two checkers approving the decision procedure's record at the same moment (R-CHECK-5, R-CHECK-3): each in
a real transaction of its own on PostgreSQL, so that they truly race; the record's row lock makes the second
see the first, and the record is checked."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from auth.ratelimit import MemoryLimiter
from core.clock import FixedClock
from core.config import TEST_PASSWORD_PROFILE, Settings
from core.db import Database, create_engine
from minutes.models import ProcedureCheckState
from tests.conftest import BASE_URL, START, backend
from tests.factories import audit_entries
from tests.meetings.decision_procedure.test_settle_once_postgresql import database_url  # noqa: F401
from tests.minutes.procedure_world import current, decided, opened, review
from web.context import AppContext, build_context

pytestmark = pytest.mark.skipif(backend() != "postgresql", reason="needs PostgreSQL (CI runs it)")


async def test_two_checkers_approving_at_once_check_it(
    database_url: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    clock = FixedClock(START)
    settings = Settings(data_dir=tmp_path, base_url=BASE_URL, password_profile=TEST_PASSWORD_PROFILE)

    def process() -> AppContext:
        db = Database(create_engine(database_url), clock=clock)
        return build_context(settings, db=db, clock=clock, limiter=MemoryLimiter(clock))

    first, second = process(), process()
    try:
        world = await decided(first, clock)
        await opened(first, world)
        await asyncio.gather(current(first, world), current(second, world))  # both connected: a true race
        await asyncio.gather(
            review(first, world, "aino", approve=True), review(second, world, "bertta", approve=True)
        )
        assert (await current(first, world)).state == ProcedureCheckState.CHECKED
        entries = await audit_entries(first, "procedure_check.approved")
        assert sorted(json.loads(e.data)["checked"] for e in entries) == [False, True]
    finally:
        await first.db.engine.dispose()
        await second.db.engine.dispose()
