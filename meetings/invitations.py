"""Who is sent a meeting's calendar event, at which address, and the mail that keeps their calendars right."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import datetime
from email.utils import parseaddr

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from auth.models import User
from core.clock import LOCAL as LOCAL_TZ
from core.db import session_clock
from meetings.access import active_on, parent_row
from meetings.delivery import queue_mail
from meetings.mail import (
    CallNotice,
    ItemLine,
    Mail,
    Recipient,
    call_messages,
    cancel_messages,
    update_messages,
    withdrawal_messages,
)
from meetings.models import (
    Body,
    DecisionMode,
    InvitationRecipient,
    Meeting,
    MeetingMode,
    Membership,
    Publicity,
)
from meetings.queries import meeting_items


async def call_recipients(session: AsyncSession, meeting: Meeting) -> list[User]:
    """Everyone with a role in the body on the meeting day: members, deputies, chair, secretary, presenter."""
    on = meeting.starts_at.astimezone(LOCAL_TZ).date()
    query = (
        select(User)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.body_id == meeting.body_id, active_on(on), User.is_active.is_(True))
        .distinct()
        .order_by(User.id)
    )
    return list((await session.execute(query)).scalars().all())


# Whom a message about the meeting's calendar event goes to, and the address it goes to.
Mailing = list[tuple[User, str]]


async def queue_call_mail(session: AsyncSession, meeting: Meeting, base_url: str, sender: str) -> int:
    called = _at_current_address(await call_recipients(session, meeting))
    notice = await _notice(session, meeting, base_url, sender, with_items=True)
    _remember(session, meeting, {}, called)
    return _queue(session, meeting, "meeting.call", call_messages(notice, _recipients(called), sender=sender))


async def queue_update_mail(
    session: AsyncSession, meeting: Meeting, changed: tuple[str, ...], base_url: str, sender: str
) -> tuple[int, int]:
    """The updated call, with the items, to everyone called now at their current address (R-CALL-3,
    R-CALL-5). A mailbox that holds the event but gets no update (its person is no longer called or has no
    address now, or reads mail elsewhere now) gets a METHOD:CANCEL that takes the event out of that
    calendar. Returns the number of updates queued and of people taken off the event."""
    meeting.calendar_sequence += 1
    sent = await _sent_before(session, meeting)
    users = await call_recipients(session, meeting)
    called = _at_current_address(users)
    live = {i: row for i, row in sent.items() if row.withdrawn_at is None}
    gone = await _no_longer_called(session, sent, users) + [u for u in users if not u.email and u.id in live]
    moved = [(u, live[u.id].email) for u, email in called if u.id in live and live[u.id].email != email]
    off = [(u, live[u.id].email) for u in gone]
    withdrawals = _one_per_address(off + moved, leave_out={email for _, email in called})
    notice = await _notice(session, meeting, base_url, sender, with_items=True)
    updates = update_messages(notice, _recipients(_one_per_address(called)), sender=sender, changed=changed)
    _queue(session, meeting, "meeting.call_updated", updates)
    # No item at all goes to a withdrawn mailbox, not even a confidential item's mention.
    bare = dataclasses.replace(notice, items=())
    _queue(
        session,
        meeting,
        "meeting.call_withdrawn",
        withdrawal_messages(bare, _recipients(withdrawals), sender=sender),
    )
    _remember(session, meeting, sent, called)
    _remember(session, meeting, sent, off, withdrawn_at=session_clock(session)())
    return len(updates), len(off)


async def _notice(
    session: AsyncSession, meeting: Meeting, base_url: str, sender: str, *, with_items: bool
) -> CallNotice:
    """The facts every message about the meeting states, with its invitation's current SEQUENCE."""
    body = await parent_row(session, Body, meeting.body_id)
    items = await meeting_items(session, meeting) if with_items else []
    return CallNotice(
        meeting_id=meeting.id,
        body_name=body.name,
        body_name_sv=body.name_sv or body.name,
        number=meeting.number,
        year=meeting.year,
        starts_at=meeting.starts_at,
        ends_at=meeting.ends_at,
        place=meeting.place,
        mode=MeetingMode(meeting.mode),
        url=f"{base_url}/meetings/{meeting.id}",
        sequence=meeting.calendar_sequence,
        organizer=parseaddr(sender)[1] or sender,
        sent_at=session_clock(session)(),
        items=tuple(
            ItemLine(
                i.section,
                i.title,
                i.publicity == Publicity.CONFIDENTIAL,
                i.deadline_at if i.decision_mode == DecisionMode.DECISION_PROCEDURE else None,
            )
            for i in items
        ),
    )


async def _sent_before(session: AsyncSession, meeting: Meeting) -> dict[int, InvitationRecipient]:
    """Everyone mailed the meeting's calendar event so far, by user id (the outbox is purged: not there)."""
    query = select(InvitationRecipient).where(InvitationRecipient.meeting_id == meeting.id)
    return {row.user_id: row for row in (await session.execute(query)).scalars()}


async def _no_longer_called(
    session: AsyncSession, sent: dict[int, InvitationRecipient], called: list[User]
) -> list[User]:
    """Those sent the event, and not withdrawn from it since, who are not among `called`: their term
    ended before the meeting's date, they lost their role, or their account was disabled."""
    now_called = {user.id for user in called}
    ids = [i for i, row in sent.items() if i not in now_called and row.withdrawn_at is None]
    query = select(User).where(User.id.in_(ids)).order_by(User.id)
    return list((await session.execute(query)).scalars().all())


def _at_current_address(users: list[User]) -> Mailing:
    """Mail that lists items goes only to the address an account has now: never to one removed from it."""
    return [(user, user.email) for user in users if user.email]


def _one_per_address(mailing: Mailing, *, leave_out: Iterable[str] = ()) -> Mailing:
    """One message per mailbox (a shared mailbox holds one copy of the event), none to `leave_out`."""
    seen = {email.strip().lower() for email in leave_out}
    found = []
    for user, email in mailing:
        key = email.strip().lower()
        if email and key not in seen:
            seen.add(key)
            found.append((user, email))
    return found


def _recipients(mailing: Mailing) -> list[Recipient]:
    return [Recipient(user.display_name, email) for user, email in mailing]


def _remember(
    session: AsyncSession,
    meeting: Meeting,
    sent: dict[int, InvitationRecipient],
    mailing: Mailing,
    *,
    withdrawn_at: datetime | None = None,
) -> None:
    """Record that `mailing` was sent the event at the meeting's current SEQUENCE."""
    for user, email in mailing:
        row = sent.get(user.id)
        if row is None:
            row = InvitationRecipient(
                meeting_id=meeting.id, user_id=user.id, first_sequence=meeting.calendar_sequence
            )
            session.add(row)
        row.email, row.last_sequence, row.withdrawn_at = email, meeting.calendar_sequence, withdrawn_at


def _queue(session: AsyncSession, meeting: Meeting, kind: str, mails: list[Mail]) -> int:
    return queue_mail(session, kind=kind, reference=f"meeting:{meeting.id}", mails=mails)


async def queue_cancel_mail(
    session: AsyncSession, meeting: Meeting, reason: str, base_url: str, sender: str
) -> tuple[int, int]:
    """To every mailbox that may hold the event: everyone called now at their current address, and
    everyone sent it before and not withdrawn since, at the address it went to and at their current one.
    Returns the number of e-mails queued and of people withdrawn earlier, who are not mailed again."""
    meeting.calendar_sequence += 1
    sent = await _sent_before(session, meeting)
    users = await call_recipients(session, meeting)
    live = {i: row for i, row in sent.items() if row.withdrawn_at is None}
    earlier = await _no_longer_called(session, sent, users)
    holders = [(u, live[u.id].email) for u in users + earlier if u.id in live]
    mailed = holders + _at_current_address(users + earlier)
    everyone = _one_per_address(mailed)
    notice = await _notice(session, meeting, base_url, sender, with_items=False)
    _remember(session, meeting, sent, mailed)
    mails = cancel_messages(notice, _recipients(everyone), sender=sender, reason=reason)
    withdrawn = sum(1 for row in sent.values() if row.withdrawn_at is not None)
    return _queue(session, meeting, "meeting.cancelled", mails), withdrawn
