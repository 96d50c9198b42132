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

    async def due_reminders_and_next(self, now: datetime) -> tuple[list[int], list[int], datetime | None]:
        """In one read: items past due (fallen due during the pass, or left by a failed batch), reminders
        due, and the next moment there is work: the earliest open deadline (past ones too) or reminder."""
        open_ = ProcedureItem.state == OPEN
        unsent = (open_, ProcedureItem.reminded_at.is_(None), ProcedureItem.deadline_at > now)
        async with self.db.read() as session:
            overdue = select(ProcedureItem.id).where(open_, ProcedureItem.deadline_at <= now)
            remind = select(ProcedureItem.id).where(*unsent, ProcedureItem.remind_at <= now)
            # Every open deadline, past ones too: one that fell due during this pass is work right away.
            deadline = select(func.min(ProcedureItem.deadline_at)).where(open_)
            reminder = select(func.min(ProcedureItem.remind_at)).where(*unsent, ProcedureItem.remind_at > now)
            left = list((await session.execute(overdue.order_by(ProcedureItem.deadline_at))).scalars())
            reminders = list((await session.execute(remind.order_by(ProcedureItem.deadline_at))).scalars())
            moments = [(await session.execute(q)).scalar_one() for q in (deadline, reminder)]
        ahead = [_aware(m) for m in moments if m is not None]
        return left, reminders, min(ahead) if ahead else None

    async def next_moment(self) -> datetime | None:
        """The earliest open deadline (even a past one) or unsent reminder: when there is work again."""
        return (await self.due_reminders_and_next(self.db.clock()))[2]

    async def _settle_batches(self, reason: str) -> list[int]:
        """The due items, earliest first, `BATCH` to a transaction; claimed there, so no read before."""
        settled: list[int] = []
        while True:
            async with self.db.write() as session:
                batch = await settle_due(session, None, base_url=self.base_url, reason=reason, limit=BATCH)
            settled += list(batch)
            if len(batch) < BATCH:
                return settled

    async def run_once(self, *, start_up: bool = False) -> Pass:
        """Settle every item past its deadline (in batches) and send every reminder due."""
        done = Pass()
        reason = "start-up" if start_up else "deadline"
        try:
            done.settled += await self._settle_batches(reason)
        except Exception:
            log.exception("settling a batch of procedures failed; settling them one by one")
        left, reminders, done.next_at = await self.due_reminders_and_next(self.db.clock())
        for procedure_id in left:
            try:
                async with self.db.write() as session:
                    if await settle_one(
                        session, procedure_id, base_url=self.base_url, actor=ACTOR, reason=reason
                    ):
                        done.settled.append(procedure_id)
            except Exception:
                log.exception("settling procedure %s failed", procedure_id)
        for procedure_id in reminders:
            try:
                async with self.db.write() as session:
                    if await remind_one(session, procedure_id, base_url=self.base_url) is not None:
                        done.reminded.append(procedure_id)
            except Exception:
                log.exception("reminding procedure %s failed", procedure_id)
        if left or reminders:
            done.next_at = await self.next_moment()
        self.passes += 1  # counted when done: tests wait for it
        return done

    async def run(self) -> None:
        """Forever: a pass, then sleep until the next moment, a wake-up, or `recheck` seconds."""
        start_up = True
        while True:
            self.wake.clear()
            done: Pass | None = None
            try:
                done = await self.run_once(start_up=start_up)
                next_at = done.next_at
            except Exception:
                log.exception("the procedure scheduler's pass failed")
                next_at = self.db.clock()  # tried again in a second, below
            start_up = False
            if next_at is not None and next_at <= self.db.clock() and not (done and done.settled):
                next_at = self.db.clock() + timedelta(seconds=1)  # a failing item is retried, not spun on
            await wait_until(self.db.clock, next_at, self.wake, longest=self.recheck)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
