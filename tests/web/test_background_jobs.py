"""The app's background jobs: the mail job purges the outbox at most once an hour; the failure summary job
writes what it has counted when it stops."""

from __future__ import annotations

import asyncio
import contextlib
import json
from datetime import timedelta

from sqlalchemy import select

from audit.models import AuditAction
from auth.failures import FULL_PER_WINDOW, Failure, record_failure
from core.clock import FixedClock
from meetings.delivery import queue_mail
from meetings.mail import Mail, Recipient
from meetings.models import OutboxMessage
from tests.factories import audit_entries
from tests.meetings.test_delivery import CALENDAR, add_message
from web.app import failure_summary_loop, purge_outbox_when_due
from web.context import AppContext

OLD = timedelta(days=31)


async def outbox_size(context: AppContext) -> int:
    async with context.db.read() as session:
        return len((await session.execute(select(OutboxMessage.id))).all())


async def test_the_mail_job_purges_at_most_hourly(context: AppContext, clock: FixedClock) -> None:
    await add_message(context, sent_at=clock() - OLD, attempts=1)
    first = await purge_outbox_when_due(context, None)
    assert (first, await outbox_size(context)) == (clock(), 0)
    await add_message(context, sent_at=clock() - OLD, attempts=1)

    clock.advance(minutes=59)
    assert await purge_outbox_when_due(context, first) == first
    assert await outbox_size(context) == 1

    clock.advance(minutes=1)
    assert await purge_outbox_when_due(context, first) == clock()
    assert await outbox_size(context) == 0
    entries = await audit_entries(context, AuditAction.MAIL_PURGED)
    assert [e.actor for e in entries] == ["system:mail", "system:mail"]


async def test_queued_mail_wakes_the_delivery_job_after_the_commit(
    context: AppContext, clock: FixedClock
) -> None:
    """The action that queues e-mail signals it; the job wakes without waiting for its next tick."""
    assert not context.mail_waiting.is_set()
    async with context.db.write() as session:
        queue_mail(session, kind="test", reference="test:1", mails=[])
    assert not context.mail_waiting.is_set()
    async with context.db.write() as session:
        mail = Mail(Recipient("Aino", "aino@example.test"), "Aihe", "Teksti", CALENDAR)
        queue_mail(session, kind="test", reference="test:2", mails=[mail])
        assert not context.mail_waiting.is_set()
    assert context.mail_waiting.is_set()


async def test_the_failure_summary_job_writes_every_tally_when_it_stops(context: AppContext) -> None:
    """At shutdown (the job is cancelled) even the window in progress is summarised: no count is lost."""
    denial = Failure(
        AuditAction.ACCESS_DENIED, "not_found", "anonymous", "route:GET /x", "missing", "192.0.2.99"
    )
    for _ in range(FULL_PER_WINDOW + 3):
        await record_failure(context.db, denial)
    job = asyncio.create_task(failure_summary_loop(context, 3600))
    await asyncio.sleep(0)
    job.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await job
    [summary] = await audit_entries(context, AuditAction.FAILURES_SUMMARISED)
    assert json.loads(summary.data)["suppressed"] == {"not_found": 3}
