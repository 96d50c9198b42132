"""The demo's electronic decision procedure: the executive board's item is open for stances with a deadline
a few minutes after seeding, so that a new user can state a stance and watch it settle (or move); another
was decided before the seeding and waits for the demo member to check it before the meeting (R-CHECK-5)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from audit.actions import record
from audit.models import AuditAction
from auth.queries import user_by_username
from core.clock import FixedClock, rfc3339
from core.db import signal
from meetings.decision_procedure.actions import DEADLINE_SET, do_state_stance, seats_of, settle_one
from meetings.decision_procedure.models import ProcedureItem
from meetings.models import AgendaItem, Meeting
from minutes.procedure_check import do_open_procedure_check

ACTOR = "system:demo"
DEADLINE_AFTER = timedelta(minutes=10)
REMIND_BEFORE = timedelta(minutes=5)
DECIDED_BEFORE = timedelta(minutes=30)


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


async def decided_for_checking(session: AsyncSession, *, now: datetime, base_url: str) -> None:
    """The board's second item in the procedure, decided half an hour ago (every seat accepted), and its
    record opened by the secretary for the demo member and Kaisa Korhonen to check before the meeting
    (R-CHECK-5). Run last: it plays on a clock of its own just before `now`, after every other seeded
    moment, so that the audit log's times only grow."""
    procedures = (await session.execute(select(ProcedureItem).order_by(ProcedureItem.id))).scalars().all()
    if len(procedures) < 2:
        return
    procedure = procedures[1]
    meeting, item = (
        await session.get(Meeting, procedure.meeting_id),
        await session.get(AgendaItem, procedure.item_id),
    )
    member, kaisa, secretary = [await user_by_username(session, n) for n in ("member", "jasen6", "secretary")]
    if meeting is None or item is None or member is None or kaisa is None or secretary is None:
        return
    saved = session.sync_session.info.get("clock")
    clock = FixedClock(now - DECIDED_BEFORE - timedelta(minutes=30))
    session.sync_session.info["clock"] = clock
    try:
        procedure.deadline_at = item.deadline_at = now - DECIDED_BEFORE
        for seat in await seats_of(session, meeting):
            clock.advance(minutes=2)
            await do_state_stance(
                session,
                procedure=procedure,
                user_id=seat.member,
                stance="accept",
                ground=None,
                explanation="",
                base_url=base_url,
                actor=f"user:{seat.member}",
            )
        clock.now = procedure.deadline_at + timedelta(seconds=5)  # the scheduler settles it at once
        await settle_one(session, procedure.id, base_url=base_url)
        clock.advance(minutes=5)
        await do_open_procedure_check(
            session,
            meeting=meeting,
            checkers=[member.id, kaisa.id],
            user_id=secretary.id,
            actor=f"user:{secretary.id}",
        )
    finally:
        session.sync_session.info["clock"] = saved
