"""The demo's electronic decision procedure: the executive board's item is open for stances with a deadline
a few minutes after seeding, so that a new user can state a stance and watch it settle (or move)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from audit.actions import record
from audit.models import AuditAction
from auth.queries import user_by_username
from core.clock import rfc3339
from core.db import signal
from meetings.decision_procedure.actions import DEADLINE_SET, do_state_stance
from meetings.decision_procedure.models import ProcedureItem
from meetings.models import AgendaItem

ACTOR = "system:demo"
DEADLINE_AFTER = timedelta(minutes=10)
REMIND_BEFORE = timedelta(minutes=5)


async def open_soon(session: AsyncSession, *, now: datetime, base_url: str) -> None:
    """Bring the called item's deadline to ten minutes from now, and let the chair accept already."""
    procedure = (await session.execute(select(ProcedureItem).order_by(ProcedureItem.id))).scalars().first()
    if procedure is None:
        return
    item = await session.get(AgendaItem, procedure.item_id)
    if item is None:
        return
    deadline = now + DEADLINE_AFTER
    procedure.deadline_at = item.deadline_at = deadline
    procedure.remind_at = deadline - REMIND_BEFORE
    await record(
        session,
        AuditAction.ITEM_UPDATED,
        actor=ACTOR,
        subject=f"item:{item.id}",
        data={"deadline": rfc3339(deadline), "reason": "demo: the deadline a few minutes after seeding"},
    )
    signal(session, DEADLINE_SET)
    chair = await user_by_username(session, "chair")
    if chair is not None:
        await do_state_stance(
            session,
            procedure=procedure,
            user_id=chair.id,
            stance="accept",
            ground=None,
            explanation="",
            base_url=base_url,
            actor=f"user:{chair.id}",
        )
