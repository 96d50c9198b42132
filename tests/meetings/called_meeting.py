"""A body of four and a meeting with a public and a confidential item: the world of the tests of the actions
that mail everyone called (meeting.cancel, meeting.update), and what they read back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from icalendar import Calendar, Event
from sqlalchemy import select

from auth.actions import do_create_user
from auth.models import User
from core.clock import LOCAL
from meetings.actions.agenda import ItemSpec, do_add_item
from meetings.actions.call import do_send_call
from meetings.actions.meetings import MeetingSpec, do_cancel_meeting, do_create_meeting, do_update_meeting
from meetings.actions.memberships import MembershipSpec, do_add_membership
from meetings.models import Body, InvitationRecipient, Meeting, OutboxMessage
from tests.conftest import BASE_URL
from tests.factories import PASSWORD, make_body, make_person
from web.context import AppContext

SENDER = "Kokous <kokous@kokous.test>"
PUBLIC_TITLE = "Talousarvio 2027"
SECRET_TITLE = "Virkasuhteen päättäminen, Matti Meikäläinen"
REASON = "Kokous siirtyy, koska talousarvion valmistelu on kesken."


@dataclass
class Town:
    meeting_id: int
    actor: str  # the body's secretary
    body_id: int


async def make_town(context: AppContext) -> Town:
    """A body of four with e-mail (secretary, chair, member, deputy), another body's member, and a draft
    meeting on 10.12.2026 with a public and a confidential item."""
    body_id = await make_body(context)
    other_id = await make_body(context, "ympa", kind="committee", name="Ympäristölautakunta")
    secretary = await make_person(context, "sihteeri", body_id, "secretary")
    for username, role in (("pj", "chair"), ("jasen", "member"), ("vara", "deputy")):
        await make_person(context, username, body_id, role)
    await make_person(context, "ulkopuolinen", other_id, "member")
    actor = f"user:{secretary.id}"
    async with context.db.write() as session:
        body = await session.get(Body, body_id)
        assert body is not None
        starts_at = datetime(2026, 12, 10, 16, 0, tzinfo=LOCAL)
        spec = MeetingSpec(starts_at=starts_at, place="Kunnantalo")
        meeting = await do_create_meeting(session, body=body, spec=spec, actor=actor)
        await do_add_item(session, meeting=meeting, spec=ItemSpec(PUBLIC_TITLE), actor=actor)
        secret = ItemSpec(
            SECRET_TITLE, publicity="confidential", confidentiality_basis="JulkL 24 § 1 mom 32 k"
        )
        await do_add_item(session, meeting=meeting, spec=secret, actor=actor)
    return Town(meeting.id, actor, body_id)


async def member_for(context: AppContext, town: Town, username: str, start: date, end: date) -> User:
    """Another member of the body, with an e-mail address, whose term runs from `start` to `end`."""
    async with context.db.write() as session:
        user = await do_create_user(
            session,
            username=username,
            display_name=username.title(),
            password=PASSWORD,
            email=f"{username}@example.test",
            actor="system:test",
        )
        body = await session.get(Body, town.body_id)
        assert body is not None
        spec = MembershipSpec(user_id=user.id, role="member", term_start=start, term_end=end)
        await do_add_membership(session, body=body, spec=spec, actor="system:test")
    return user


async def send_call(context: AppContext, town: Town) -> None:
    async with context.db.write() as session:
        meeting = await session.get(Meeting, town.meeting_id)
        assert meeting is not None
        await do_send_call(session, meeting=meeting, base_url=BASE_URL, sender=SENDER, actor=town.actor)


async def cancel(context: AppContext, town: Town, reason: str) -> int:
    async with context.db.write() as session:
        meeting = await session.get(Meeting, town.meeting_id)
        assert meeting is not None
        return await do_cancel_meeting(
            session, meeting=meeting, reason=reason, base_url=BASE_URL, sender=SENDER, actor=town.actor
        )


async def change(context: AppContext, town: Town, **changes: object) -> None:
    """meeting.update: the meeting's details as they are, but for `changes`."""
    async with context.db.write() as session:
        meeting = await session.get(Meeting, town.meeting_id)
        assert meeting is not None
        details = {k: getattr(meeting, k) for k in ("starts_at", "ends_at", "place", "mode", "is_public")}
        spec = MeetingSpec(**(details | changes))
        await do_update_meeting(
            session, meeting=meeting, spec=spec, base_url=BASE_URL, sender=SENDER, actor=town.actor
        )


async def meeting_row(context: AppContext, town: Town) -> Meeting:
    async with context.db.read() as session:
        meeting = await session.get(Meeting, town.meeting_id)
        assert meeting is not None
        return meeting


async def outbox(context: AppContext, kind: str) -> list[OutboxMessage]:
    async with context.db.read() as session:
        query = select(OutboxMessage).where(OutboxMessage.kind == kind).order_by(OutboxMessage.id)
        return list((await session.execute(query)).scalars())


async def recorded(context: AppContext, town: Town) -> dict[str, InvitationRecipient]:
    """Those sent the meeting's calendar event, by the address it last went to."""
    async with context.db.read() as session:
        query = select(InvitationRecipient).where(InvitationRecipient.meeting_id == town.meeting_id)
        return {row.email: row for row in (await session.execute(query)).scalars()}


def event_of(message: OutboxMessage) -> tuple[Calendar, Event]:
    assert message.calendar is not None
    calendar = Calendar.from_ical(message.calendar)
    [event] = calendar.walk("VEVENT")
    assert isinstance(event, Event)
    return calendar, event
