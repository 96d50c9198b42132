"""Two checkers approving at the same moment (R-CHECK-3), the decision procedure's record (R-CHECK-5) and the
meeting's minutes alike: each in a real transaction of its own on PostgreSQL, so that they truly race; the
row lock makes the second see the first, and the text is checked."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from auth.ratelimit import MemoryLimiter
from core.clock import FixedClock
from core.config import TEST_PASSWORD_PROFILE, Settings
from core.db import Database, create_engine
from minutes.models import MinutesRecord, MinutesState, ProcedureCheckState
from minutes.workflow import do_review, do_send_for_checking
from tests.conftest import BASE_URL, START, backend
from tests.factories import audit_entries
from tests.meetings.decision_procedure.test_settle_once_postgresql import database_url  # noqa: F401
from tests.minutes.held import hold_scripted_meeting
from tests.minutes.procedure_world import current, decided, opened, review
from tests.minutes.test_workflow import act
from tests.minutes.test_workflow import opened as minutes_opened
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


async def test_the_minutes_checkers_approving_at_once_check_them(
    database_url: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    """The meeting's minutes are checked by the same rule (minutes.rules.checking) and lock the same way."""
    clock = FixedClock(START)
    settings = Settings(data_dir=tmp_path, base_url=BASE_URL, password_profile=TEST_PASSWORD_PROFILE)

    def process() -> AppContext:
        db = Database(create_engine(database_url), clock=clock)
        return build_context(settings, db=db, clock=clock, limiter=MemoryLimiter(clock))

    first, second = process(), process()
    try:
        held = await hold_scripted_meeting(first, clock)
        minutes_id = await minutes_opened(first, held)
        secretary, checkers = held.board.secretary, held.board.members[1:3]
        await act(
            first, minutes_id, lambda s, m: do_send_for_checking(s, minutes=m, user_id=secretary, actor="u")
        )

        def approve(context: AppContext, checker: int):  # type: ignore[no-untyped-def]
            return act(
                context,
                minutes_id,
                lambda s, m: do_review(s, minutes=m, user_id=checker, approve=True, comment="", actor="u"),
            )

        await asyncio.gather(*(act(c, minutes_id, lambda s, m: asyncio.sleep(0)) for c in (first, second)))
        await asyncio.gather(approve(first, checkers[0]), approve(second, checkers[1]))
        async with first.db.read() as session:
            minutes = await session.get(MinutesRecord, minutes_id)
            assert minutes is not None
            assert minutes.state == MinutesState.CHECKED
    finally:
        await first.db.engine.dispose()
        await second.db.engine.dispose()
