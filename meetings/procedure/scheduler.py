"""The job that settles deadlines exactly once and never loses one (R-EDP-3(3)/(4)).

It sleeps until the next deadline or reminder (core.clock.wait_until: one timer, no polling). A commit in this
process that sets a deadline wakes it at once (the DEADLINE_SET signal); deadlines set by another process are
found at the latest after `recheck` seconds. At start-up it first settles everything already past due, and
the audit entry says it was late and why. Each item is settled in a transaction of its own, claimed by a
conditional UPDATE (actions.settle_one), so any number of processes may run this job on one database.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from core.clock import wait_until
from core.db import Database
from meetings.procedure.actions import ACTOR, DEADLINE_SET, remind_one, settle_due, settle_one
from meetings.procedure.models import ProcedureItem
from meetings.rules.decision_procedure import ProcedureState

log = logging.getLogger("kokous")
RECHECK_SECONDS = 300.0
BATCH = 100  # items settled in one transaction: a failure falls back to one transaction per item
OPEN = ProcedureState.OPEN


@dataclass
class Pass:
    """What one pass did: items settled (by this process), reminders sent, and when the next one is due."""

    settled: list[int] = field(default_factory=list)
    reminded: list[int] = field(default_factory=list)
    next_at: datetime | None = None


class DeadlineScheduler:
    def __init__(self, db: Database, *, base_url: str, recheck: float = RECHECK_SECONDS) -> None:
        self.db = db
        self.base_url = base_url
        self.recheck = recheck
        self.wake = asyncio.Event()
        self.passes = 0
        db.signals.subscribe(DEADLINE_SET, lambda _: self.wake.set())

    async def due(self, now: datetime) -> tuple[list[int], list[int]]:
        async with self.db.read() as session:
            settle = select(ProcedureItem.id).where(
                ProcedureItem.state == OPEN, ProcedureItem.deadline_at <= now
            )
            remind = select(ProcedureItem.id).where(
                ProcedureItem.state == OPEN,
                ProcedureItem.reminded_at.is_(None),
                ProcedureItem.remind_at <= now,
                ProcedureItem.deadline_at > now,
            )
            order = ProcedureItem.deadline_at
            return (
                list((await session.execute(settle.order_by(order))).scalars()),
                list((await session.execute(remind.order_by(order))).scalars()),
            )

    async def next_moment(self) -> datetime | None:
        """The earliest open deadline or unsent reminder: when there is work again."""
        async with self.db.read() as session:
            deadline = (
                await session.execute(
                    select(func.min(ProcedureItem.deadline_at)).where(ProcedureItem.state == OPEN)
                )
            ).scalar_one()
            reminder = (
                await session.execute(
                    select(func.min(ProcedureItem.remind_at)).where(
                        ProcedureItem.state == OPEN, ProcedureItem.reminded_at.is_(None)
                    )
                )
            ).scalar_one()
        moments = [_aware(m) for m in (deadline, reminder) if m is not None]
        return min(moments) if moments else None

    async def run_once(self, *, start_up: bool = False) -> Pass:
        """Settle every item past its deadline (in batches) and send every reminder due."""
        done = Pass()
        to_settle, to_remind = await self.due(self.db.clock())
        reason = "start-up" if start_up else "deadline"
        for batch in (to_settle[i : i + BATCH] for i in range(0, len(to_settle), BATCH)):
            try:
                async with self.db.write() as session:
                    settled = await settle_due(
                        session, batch, base_url=self.base_url, actor=ACTOR, reason=reason
                    )
                done.settled += list(settled)
                continue
            except Exception:
                log.exception(
                    "settling a batch of %s procedures failed; settling them one by one", len(batch)
                )
            for procedure_id in batch:
                try:
                    async with self.db.write() as session:
                        if await settle_one(
                            session, procedure_id, base_url=self.base_url, actor=ACTOR, reason=reason
                        ):
                            done.settled.append(procedure_id)
                except Exception:
                    log.exception("settling procedure %s failed", procedure_id)
        for procedure_id in to_remind:
            try:
                async with self.db.write() as session:
                    if await remind_one(session, procedure_id, base_url=self.base_url) is not None:
                        done.reminded.append(procedure_id)
            except Exception:
                log.exception("reminding procedure %s failed", procedure_id)
        done.next_at = await self.next_moment()
        self.passes += 1  # counted when done: tests wait for it
        return done

    async def run(self) -> None:
        """Forever: a pass, then sleep until the next moment, a wake-up, or `recheck` seconds."""
        start_up = True
        while True:
            self.wake.clear()
            try:
                done = await self.run_once(start_up=start_up)
                next_at = done.next_at
            except Exception:
                log.exception("the procedure scheduler's pass failed")
                next_at = None
            start_up = False
            if next_at is not None and next_at <= self.db.clock():
                next_at = self.db.clock() + timedelta(seconds=1)  # a failed item is tried again, not spun on
            await wait_until(self.db.clock, next_at, self.wake, longest=self.recheck)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
