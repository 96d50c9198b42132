"""Purging the outbox: delivered and given-up e-mail goes after KOKOUS_OUTBOX_DAYS, pending e-mail never."""

from __future__ import annotations

import json
from datetime import timedelta
from email.message import EmailMessage

from sqlalchemy import select

from audit.models import AuditAction
from core.clock import FixedClock, rfc3339
from core.config import Settings
from meetings.delivery import RETRY_SCHEDULE, deliver_pending, do_purge_outbox, outbox_cutoff
from meetings.models import OutboxMessage
from tests.factories import audit_entries
from tests.meetings.test_delivery import SENDER, add_message
from web.context import AppContext

DAY = timedelta(days=1)


class Refusing:
    """A mail server that is never there."""

    async def send(self, email: EmailMessage) -> None:
        raise ConnectionRefusedError("no server")


async def purge(context: AppContext) -> int:
    async with context.db.write() as session:
        cutoff = outbox_cutoff(context.settings, context.db.clock())
        return await do_purge_outbox(session, older_than=cutoff, actor="cli:ops")


async def outbox_ids(context: AppContext) -> list[int]:
    async with context.db.read() as session:
        return list((await session.execute(select(OutboxMessage.id).order_by(OutboxMessage.id))).scalars())


async def test_delivered_mail_goes_after_the_retention_period_and_pending_mail_stays(
    context: AppContext, clock: FixedClock
) -> None:
    now = clock()
    await add_message(context, "aino@example.test", sent_at=now - 31 * DAY, attempts=1)
    recent = await add_message(context, sent_at=now - 29 * DAY, attempts=1)
    never_tried = await add_message(context, created_at=now - 90 * DAY)
    retrying = await add_message(
        context, created_at=now - 90 * DAY, attempts=3, last_attempt_at=now - 89 * DAY, last_error="E"
    )

    assert await purge(context) == 1

    assert await outbox_ids(context) == [recent, never_tried, retrying]
    [purged] = await audit_entries(context, AuditAction.MAIL_PURGED)
    assert (purged.actor, purged.subject) == ("cli:ops", "outbox")
    assert json.loads(purged.data) == {"count": 1, "older_than": rfc3339(now - 30 * DAY)}
    assert "@" not in purged.data


async def test_a_second_purge_deletes_and_records_nothing(context: AppContext, clock: FixedClock) -> None:
    await add_message(context, sent_at=clock() - 31 * DAY, attempts=1)
    assert await purge(context) == 1

    assert await purge(context) == 0

    assert len(await audit_entries(context, AuditAction.MAIL_PURGED)) == 1


async def test_ids_of_purged_mail_are_never_handed_out_again(context: AppContext, clock: FixedClock) -> None:
    """Audit entries name messages by id (`outbox:N`): after the newest row is purged, a new message must not
    take its id (SQLite reuses the highest free rowid without AUTOINCREMENT)."""
    newest = await add_message(context, sent_at=clock() - 31 * DAY, attempts=1)
    assert await purge(context) == 1
    assert await outbox_ids(context) == []

    assert await add_message(context) > newest


async def test_mail_given_up_is_kept_for_the_period_after_its_last_try(
    context: AppContext, clock: FixedClock, settings: Settings
) -> None:
    """Counted from the last try, not from when the message was written (it was written long before)."""
    message_id = await add_message(context, created_at=clock() - RETRY_SCHEDULE[-1] - timedelta(hours=1))
    assert await deliver_pending(context.db, Refusing(), sender=SENDER) == 0
    [given_up] = await audit_entries(context, AuditAction.MAIL_FAILED)
    assert json.loads(given_up.data)["final"] is True
    last_try = clock()

    clock.advance(days=settings.outbox_days)
    assert await purge(context) == 0
    assert await outbox_ids(context) == [message_id]

    clock.advance(seconds=1)
    assert await purge(context) == 1
    assert await outbox_ids(context) == []
    [purged] = await audit_entries(context, AuditAction.MAIL_PURGED)
    assert json.loads(purged.data)["older_than"] == rfc3339(last_try + timedelta(seconds=1))


async def test_every_try_records_when_it_began(context: AppContext, clock: FixedClock) -> None:
    message_id = await add_message(context)
    await deliver_pending(context.db, Refusing(), sender=SENDER)
    clock.advance(seconds=RETRY_SCHEDULE[1].total_seconds())

    await deliver_pending(context.db, Refusing(), sender=SENDER)

    async with context.db.read() as session:
        row = await session.get(OutboxMessage, message_id)
        assert row is not None
        assert (row.attempts, row.last_attempt_at, row.sent_at) == (2, clock(), None)
