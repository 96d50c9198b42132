"""The meeting call: checked against the rules, numbered, published and mailed."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from audit.actions import record
from audit.models import AuditAction
from core.db import session_clock
from meetings import lifecycle
from meetings.actions.agenda import renumber
from meetings.invitations import queue_call_mail
from meetings.lawfulness import CallRefused, check_call
from meetings.lifecycle import MeetingEvent
from meetings.locks import lock_meeting
from meetings.models import (
    AgendaItem,
    Body,
    Meeting,
    MeetingStatus,
)
from meetings.procedure.actions import open_procedures
from meetings.queries import meeting_items


async def next_section(session: AsyncSession, body_id: int, year: int) -> int:
    """After the last § of the body's meetings called this year; drafts number provisionally."""
    last = (
        await session.execute(
            select(func.max(AgendaItem.section))
            .join(Meeting, AgendaItem.meeting_id == Meeting.id)
            .where(Meeting.body_id == body_id, Meeting.year == year, Meeting.status == MeetingStatus.CALLED)
        )
    ).scalar_one() or 0
    return int(last) + 1


async def do_send_call(
    session: AsyncSession, *, meeting: Meeting, base_url: str, sender: str, actor: str
) -> int:
    """Send the meeting call: validate it, publish the agenda, queue e-mail with an invitation to everyone.

    Refuses with every broken rule named (CallRefused). Audit: call.sent.
    Returns the number of e-mails queued.
    """
    await lock_meeting(session, meeting)
    called = lifecycle.next_status(meeting.status, MeetingEvent.SEND_CALL)
    problems = await check_call(session, meeting)
    if problems:
        raise CallRefused(problems)
    # The §§ become final now, after those of the meetings called before this one. The body's row is locked
    # first, so two of its meetings called at once number one after the other (decision 0007).
    await session.execute(select(Body.id).where(Body.id == meeting.body_id).with_for_update())
    meeting.first_section = await next_section(session, meeting.body_id, meeting.year)
    await renumber(session, meeting, [i.id for i in await meeting_items(session, meeting)])
    now = session_clock(session)()
    meeting.status, meeting.call_sent_at, meeting.agenda_version, meeting.updated_at = (
        called,
        now,
        1,
        now,
    )
    meeting.calendar_sequence += 1  # the first invitation: SEQUENCE 1
    queued = await queue_call_mail(session, meeting, base_url, sender)
    await open_procedures(session, meeting, base_url=base_url, actor=actor)  # R-EDP-3(1)
    await record(
        session,
        AuditAction.CALL_SENT,
        actor=actor,
        subject=f"meeting:{meeting.id}",
        data={"recipients": queued, "items": len(await meeting_items(session, meeting))},
    )
    return queued
