"""meeting.cancel: a draft goes quietly; a called meeting's cancellation reaches everyone called and removes
the event from their calendars (METHOD:CANCEL, same UID, higher SEQUENCE), naming no item (R-PUB-7)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import datetime

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from auth.actions import do_set_active
from auth.models import User
from auth.queries import user_by_username
from core.clock import LOCAL
from core.errors import InvalidTransition, ValidationFailed
from meetings.actions.memberships import do_end_membership
from meetings.delivery import to_email
from meetings.models import MeetingStatus, Membership
from tests.conftest import START
from tests.factories import audit_entries
from tests.meetings.called_meeting import (
    REASON,
    SENDER,
    Town,
    cancel,
    change,
    event_of,
    make_town,
    meeting_row,
    outbox,
    recorded,
    send_call,
)
from web.context import AppContext

Departure = Callable[[AsyncSession, User], Awaitable[None]]


@pytest.fixture
async def town(context: AppContext) -> Town:
    return await make_town(context)


async def test_draft_is_cancelled_without_mail(context: AppContext, town: Town) -> None:
    assert await cancel(context, town, "") == 0

    meeting = await meeting_row(context, town)
    assert meeting.status == MeetingStatus.CANCELLED
    assert meeting.cancelled_at == START
    assert await outbox(context, "meeting.cancelled") == []
    [entry] = await audit_entries(context, "meeting.cancelled")
    assert (entry.actor, entry.subject) == (town.actor, f"meeting:{town.meeting_id}")
    assert json.loads(entry.data) == {"call_sent": False, "reason": "", "recipients": 0, "withdrawn": 0}


async def test_called_meeting_is_cancelled_for_everyone_called(context: AppContext, town: Town) -> None:
    await send_call(context, town)
    calls = await outbox(context, "meeting.call")

    assert await cancel(context, town, f"  {REASON}\n") == 4

    cancellations = await outbox(context, "meeting.cancelled")
    assert sorted(m.recipient for m in cancellations) == sorted(m.recipient for m in calls)
    assert len(cancellations) == 4  # the body's four, not the other body's member
    _, invited = event_of(calls[0])
    for message in cancellations:
        calendar, event = event_of(message)
        assert str(calendar["METHOD"]) == "CANCEL"
        assert str(event["STATUS"]) == "CANCELLED"
        assert str(event["UID"]) == str(invited["UID"]) == f"meeting-{town.meeting_id}@kokous.test"
        assert event.decoded("SEQUENCE") > invited.decoded("SEQUENCE")
        assert str(event["ATTENDEE"]) == f"mailto:{message.recipient}"
        assert message.subject.startswith("Kokous peruttu / Mötet inställt: Kunnanhallitus")
        assert message.body.index("KOKOUS ON PERUTTU") < message.body.index("MÖTET HAR INSTÄLLTS")
        assert f"Syy: {REASON}" in message.body
        assert f"Orsak: {REASON}" in message.body
        # R-MODE-2, R-PUB-7: e-mail is not a protected channel; a cancellation names no item at all.
        for text in (message.subject, message.body, message.calendar or ""):
            assert "Virkasuhteen" not in text.replace("\r\n ", "")
            assert "Meikäläinen" not in text.replace("\r\n ", "")
        assert "§" not in message.body
    meeting = await meeting_row(context, town)
    assert (meeting.status, meeting.cancel_reason) == (MeetingStatus.CANCELLED, REASON)
    [entry] = await audit_entries(context, "meeting.cancelled")
    assert json.loads(entry.data) == {"call_sent": True, "reason": REASON, "recipients": 4, "withdrawn": 0}


async def test_cancellation_outranks_every_invitation_sent_before(context: AppContext, town: Town) -> None:
    """Call (SEQUENCE 1), a new time (2), then the cancellation (3): each one replaces the one before."""
    await send_call(context, town)
    await change(context, town, starts_at=datetime(2026, 12, 11, 16, 0, tzinfo=LOCAL))
    await cancel(context, town, REASON)

    sequences = [
        event_of(m)[1].decoded("SEQUENCE")
        for kind in ("meeting.call", "meeting.call_updated", "meeting.cancelled")
        for m in (await outbox(context, kind))[:1]
    ]
    assert sequences == [1, 2, 3]
    assert (await meeting_row(context, town)).calendar_sequence == 3


async def test_a_cancelled_meeting_is_refused(context: AppContext, town: Town) -> None:
    await send_call(context, town)
    await cancel(context, town, REASON)

    with pytest.raises(InvalidTransition, match="already been cancelled"):
        await cancel(context, town, REASON)
    with pytest.raises(InvalidTransition, match="cannot be changed"):
        await change(context, town, starts_at=datetime(2026, 12, 11, 16, 0, tzinfo=LOCAL))
    assert len(await audit_entries(context, "meeting.cancelled")) == 1
    assert len(await outbox(context, "meeting.cancelled")) == 4


@pytest.mark.parametrize("reason", ["", "   \n"])
async def test_reason_is_required_once_the_call_was_sent(
    context: AppContext, town: Town, reason: str
) -> None:
    await send_call(context, town)

    with pytest.raises(ValidationFailed) as refused:
        await cancel(context, town, reason)

    assert refused.value.field == "reason"
    assert (await meeting_row(context, town)).status == MeetingStatus.CALLED
    assert await audit_entries(context, "meeting.cancelled") == []
    assert await outbox(context, "meeting.cancelled") == []


async def test_overlong_reason_is_refused(context: AppContext, town: Town) -> None:
    with pytest.raises(ValidationFailed) as refused:
        await cancel(context, town, "x" * 501)

    assert refused.value.field == "reason"
    assert (await meeting_row(context, town)).status == MeetingStatus.DRAFT


async def test_cancellation_is_labelled_a_cancellation_in_its_mime_part(
    context: AppContext, town: Town
) -> None:
    """RFC 6047 2.4: the text/calendar part's method parameter is the calendar's METHOD (Outlook reads it)."""
    await send_call(context, town)
    await cancel(context, town, REASON)

    [message, *_] = await outbox(context, "meeting.cancelled")
    part = next(p for p in to_email(message, sender=SENDER).walk() if p.get_content_type() == "text/calendar")
    assert part.get_param("method") == "CANCEL"


async def _disabled_without_address(session: AsyncSession, user: User) -> None:
    await do_set_active(session, user=user, active=False, actor="system:test")
    user.email = None  # no action removes an address yet; the row is changed as one would


async def _disabled_with_a_new_address(session: AsyncSession, user: User) -> None:
    await do_set_active(session, user=user, active=False, actor="system:test")
    user.email = "jasen.uusi@example.test"


async def _role_ended(session: AsyncSession, user: User) -> None:
    query = select(Membership).where(Membership.user_id == user.id)
    for membership in (await session.execute(query)).scalars():
        await do_end_membership(session, membership=membership, actor="system:test")


@pytest.mark.parametrize(
    ("departure", "addresses"),
    [
        (_disabled_without_address, ["jasen@example.test"]),  # the address the call went to
        # The mailbox that holds the event, and the one they read now.
        (_disabled_with_a_new_address, ["jasen@example.test", "jasen.uusi@example.test"]),
        (_role_ended, ["jasen@example.test"]),
    ],
)
async def test_cancellation_reaches_everyone_who_got_the_call(
    context: AppContext, town: Town, departure: Departure, addresses: list[str]
) -> None:
    """Someone who got the call but is no longer called has the event in their calendar all the same:
    the cancellation removes it there too."""
    await send_call(context, town)
    async with context.db.write() as session:
        member = await user_by_username(session, "jasen")
        assert member is not None
        await departure(session, member)

    assert await cancel(context, town, REASON) == 3 + len(addresses)

    cancellations = {m.recipient: m for m in await outbox(context, "meeting.cancelled")}
    for address in addresses:
        calendar, event = event_of(cancellations[address])
        assert (str(calendar["METHOD"]), str(event["STATUS"])) == ("CANCEL", "CANCELLED")
    assert (await recorded(context, town))[addresses[-1]].last_sequence == 2
    [cancelled] = await audit_entries(context, "meeting.cancelled")
    assert json.loads(cancelled.data)["recipients"] == 3 + len(addresses)
