"""The decision procedure's deadlines: 500 open items in 20 bodies, deadlines spread over one minute.

The scheduler (meetings/procedure/scheduler.py) runs in this process on a migrated SQLite database in a
temporary data directory, with the real clock. Reported:
- the worst and median delay from an item's deadline to its settlement, beside the event loop's own lateness
  (how late a plain asyncio timer fires while the same settlements run: the floor no scheduler can beat);
- the process's CPU time while the scheduler sleeps before the first deadline, beside the same process
  sleeping with no scheduler at all (an idle event loop): a polling loop would show as a ratio well above 1.
Invariants: every item settled exactly once (one audit entry each), never before its deadline, and to the
state the completion rule gives (a third of the items lack a stance and move to the meeting, R-EDP-4).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from audit.models import AuditEntry
from auth.models import User
from bench.report import Figure, Section, Target, median, percentile
from core.clock import system_clock
from core.config import TEST_PASSWORD_PROFILE, Settings
from meetings.models import AgendaItem, Body, DecisionMode, Meeting, MemberRole, Membership
from meetings.procedure.models import ProcedureItem, ProcedureStance
from meetings.procedure.scheduler import DeadlineScheduler
from web import migration
from web.context import build_context

BODIES = 20
ITEMS = int(os.environ.get("KOKOUS_BENCH_PROCEDURE_ITEMS", "500"))
MEMBERS = 3
SPREAD = 60.0  # seconds over which the deadlines fall
LEAD = float(os.environ.get("KOKOUS_BENCH_PROCEDURE_IDLE", "8"))  # idle seconds before the first deadline
TARGET_DELAY = 2.0
IDLE_CPU_TARGET = 0.05  # seconds of CPU over the idle window: "no measurable polling"


async def _seed(context: object, first_deadline: datetime) -> dict[int, str]:
    """Bodies, members and items written directly (not through the call): returns the expected states."""
    db = context.db  # type: ignore[attr-defined]
    now = system_clock()
    expected: dict[int, str] = {}
    async with db.write() as session:
        users = [
            User(
                username=f"jasen{n}",
                display_name=f"Jäsen {n}",
                email=f"jasen{n}@bench.test",
                password_hash="x",
                is_active=True,
                created_at=now,
                password_changed_at=now,
            )
            for n in range(BODIES * MEMBERS)
        ]
        session.add_all(users)
        await session.flush()
        meetings = []
        for b in range(BODIES):
            body = Body(
                slug=f"lk{b}",
                name=f"Lautakunta {b}",
                kind="committee",
                seats=MEMBERS,
                decision_procedure_allowed=True,
                created_at=now,
            )
            session.add(body)
            await session.flush()
            for m in range(MEMBERS):
                session.add(
                    Membership(
                        body_id=body.id,
                        user_id=users[b * MEMBERS + m].id,
                        role=MemberRole.MEMBER,
                        term_start=date(2020, 1, 1),
                        created_at=now,
                    )
                )
            meeting = Meeting(
                body_id=body.id,
                number=1,
                year=now.year,
                starts_at=now + timedelta(days=7),
                place="Kunnantalo",
                mode="in_person",
                is_public=False,
                status="called",
                call_sent_at=now,
                created_at=now,
                updated_at=now,
            )
            session.add(meeting)
            meetings.append((body, meeting))
        await session.flush()
        for i in range(ITEMS):
            body, meeting = meetings[i % BODIES]
            deadline = first_deadline + timedelta(seconds=SPREAD * i / ITEMS)
            item = AgendaItem(
                meeting_id=meeting.id,
                position=i,
                section=i + 1,
                title=f"Asia {i}",
                decision_mode=DecisionMode.DECISION_PROCEDURE,
                deadline_at=deadline,
                updated_at=now,
            )
            session.add(item)
            await session.flush()
            procedure = ProcedureItem(
                item_id=item.id,
                meeting_id=meeting.id,
                body_id=body.id,
                state="open",
                deadline_at=deadline,
                deputy_rule="cautious",
                opened_at=now,
                late=False,
                rule="",
                version=1,
            )
            session.add(procedure)
            await session.flush()
            answering = MEMBERS if i % 3 else MEMBERS - 1  # every third item lacks a stance
            for m in range(answering):
                session.add(
                    ProcedureStance(
                        procedure_id=procedure.id,
                        user_id=users[(i % BODIES) * MEMBERS + m].id,
                        stance="accept",
                        explanation="",
                        stated_at=now,
                    )
                )
            expected[procedure.id] = "decided" if i % 3 else "moved_to_meeting"
    return expected


async def _idle_cpu(seconds: float) -> float:
    began = time.process_time()
    await asyncio.sleep(seconds)
    return time.process_time() - began


async def _timer_lateness(until: float) -> list[float]:
    """How late a plain 50 ms asyncio timer fires, sampled until `until` (monotonic)."""
    late = []
    while time.monotonic() < until:
        planned = time.monotonic() + 0.05
        await asyncio.sleep(0.05)
        late.append(time.monotonic() - planned)
    return late


async def run() -> Section:
    section = Section(f"Decision procedure: {ITEMS} deadlines in {BODIES} bodies over {SPREAD:.0f} s")
    with tempfile.TemporaryDirectory(prefix="kokous-bench-procedure-") as tmp:
        settings = Settings(
            data_dir=Path(tmp), base_url="https://kokous.bench", password_profile=TEST_PASSWORD_PROFILE
        )
        context = build_context(settings)
        await migration.upgrade(context.db.engine)
        baseline_cpu = await _idle_cpu(LEAD)
        first = system_clock() + timedelta(seconds=LEAD + 15)
        expected = await _seed(context, first)
        scheduler = DeadlineScheduler(context.db, base_url=settings.base_url)
        job = asyncio.create_task(scheduler.run())
        try:
            for _ in range(600):  # its start-up pass: nothing is due yet
                if scheduler.passes:
                    break
                await asyncio.sleep(0.05)
            await asyncio.sleep((first - system_clock()).total_seconds() - LEAD - 1)
            idle_passes = scheduler.passes
            idle_cpu = await _idle_cpu(LEAD)
            idle_passes = scheduler.passes - idle_passes
            end = first + timedelta(seconds=SPREAD + 10)
            lateness = await _timer_lateness(time.monotonic() + (end - system_clock()).total_seconds())
            async with context.db.read() as session:
                rows = (await session.execute(select(ProcedureItem))).scalars().all()
                entries = (
                    (
                        await session.execute(
                            select(AuditEntry.subject, func.count())
                            .where(AuditEntry.action.in_(["procedure.decided", "procedure.moved_to_meeting"]))
                            .group_by(AuditEntry.subject)
                        )
                    )
                    .tuples()
                    .all()
                )
        finally:
            job.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await job
            await context.db.dispose()
    delays = [
        ((r.processed_at or datetime.max.replace(tzinfo=UTC)) - r.deadline_at).total_seconds() for r in rows
    ]
    wrong = [r.id for r in rows if r.state != expected.get(r.id)]
    early = [r.id for r in rows if r.processed_at is not None and r.processed_at < r.deadline_at]
    counted = dict(list(entries))
    twice = [s for s, n in counted.items() if n != 1]
    if wrong:
        section.failures.append(f"{len(wrong)} items settled to the wrong state (or not at all)")
    if early:
        section.failures.append(f"{len(early)} items settled before their deadline")
    if twice or len(counted) != ITEMS:
        section.failures.append(f"audit entries: {len(counted)} items logged, {len(twice)} more than once")
    worst = max(delays)
    section.figures += [
        Figure(
            "worst delay, deadline to settlement", worst, "s", max(lateness), "worst plain timer lateness"
        ),
        Figure("median delay", median(delays), "s", median(lateness), "median plain timer lateness"),
        Figure("p99 delay", percentile(delays, 0.99), "s"),
        Figure(
            f"CPU while asleep before the deadlines ({LEAD:.0f} s)",
            idle_cpu * 1000,
            "ms",
            baseline_cpu * 1000,
            "idle event loop, no scheduler",
        ),
        Figure("scheduler passes while asleep", float(idle_passes), "passes"),
    ]
    section.targets += [
        Target(f"worst delay under {TARGET_DELAY:.0f} s", worst < TARGET_DELAY),
        Target(
            f"no polling while idle: no pass, CPU under {IDLE_CPU_TARGET} s",
            idle_passes == 0 and idle_cpu < IDLE_CPU_TARGET,
        ),
    ]
    section.notes.append(
        f"{sum(1 for s in expected.values() if s == 'decided')} decided, "
        f"{sum(1 for s in expected.values() if s != 'decided')} moved to the meeting"
    )
    return section


if __name__ == "__main__":
    from bench.report import render

    print(render(asyncio.run(run())))
