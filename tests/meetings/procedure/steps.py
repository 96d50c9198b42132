"""Helpers that drive the procedure as people and the scheduler do, for the table tests."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from core.clock import FixedClock
from meetings.procedure.actions import do_set_procedure_setting, do_state_stance
from meetings.procedure.models import ProcedureItem, ProcedureStance
from tests.conftest import BASE_URL
from tests.factories import audit_entries
from tests.meetings.procedure.world import DEADLINE, World, scheduler
from web.context import AppContext


async def state(
    context: AppContext,
    world: World,
    who: str,
    stance: str,
    ground: str | None = None,
    *,
    explanation: str = "",
) -> ProcedureStance:
    async with context.db.write() as session:
        procedure = await session.get(ProcedureItem, world.procedure_id)
        assert procedure is not None
        return await do_state_stance(
            session,
            procedure=procedure,
            user_id=world.people[who],
            stance=stance,
            ground=ground,
            explanation=explanation,
            base_url=BASE_URL,
            actor=world.actor(who),
        )


async def procedure_row(context: AppContext, world: World) -> ProcedureItem:
    async with context.db.read() as session:
        found = await session.get(ProcedureItem, world.procedure_id, populate_existing=True)
        assert found is not None
        return found


async def stances(context: AppContext, world: World) -> list[ProcedureStance]:
    async with context.db.read() as session:
        query = select(ProcedureStance).where(ProcedureStance.procedure_id == world.procedure_id)
        return list((await session.execute(query.order_by(ProcedureStance.id))).scalars())


async def set_rule(context: AppContext, rule: str) -> None:
    async with context.db.write() as session:
        await do_set_procedure_setting(session, deputy_rule=rule, reminder_hours=24, actor="system:test")


def at(clock: FixedClock, seconds: float) -> None:
    """Move the clock to `seconds` after the deadline (negative: before it)."""
    clock.advance(seconds=(DEADLINE + timedelta(seconds=seconds) - clock.now).total_seconds())


async def run_scheduler(context: AppContext) -> list[int]:
    return (await scheduler(context).run_once()).settled


async def entries(context: AppContext, action: str) -> list[dict[str, Any]]:
    return [
        json.loads(e.data) | {"_subject": e.subject, "_actor": e.actor}
        for e in await audit_entries(context, action)
    ]
