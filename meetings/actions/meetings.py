"""Planning, changing and cancelling meetings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from audit.actions import record
from audit.models import AuditAction
from core.bounds import check_choice, check_length, length_of
from core.clock import LOCAL as LOCAL_TZ
from core.db import session_clock
from core.errors import ValidationFailed
from core.text import translatable
from meetings import lifecycle
from meetings.actions.call import next_section
from meetings.invitations import queue_cancel_mail, queue_update_mail
from meetings.lawfulness import still_lawful
from meetings.lifecycle import MeetingEvent, Operation
from meetings.locks import lock_meeting
from meetings.models import (
    Body,
    Meeting,
    MeetingMode,
    MeetingStatus,
)
from meetings.procedure.actions import withdraw_procedures


@dataclass(frozen=True, slots=True)
class MeetingSpec:
    starts_at: datetime
    place: str
    mode: str = MeetingMode.IN_PERSON
    ends_at: datetime | None = None
    is_public: bool | None = None


def _check_meeting(spec: MeetingSpec) -> MeetingMode:
    mode: MeetingMode = check_choice(MeetingMode, spec.mode, "mode")
    if spec.starts_at.tzinfo is None or (spec.ends_at is not None and spec.ends_at.tzinfo is None):
        raise ValidationFailed("Times need a time zone, e.g. 2026-12-04T16:00+02:00.", field="starts_at")
    if spec.ends_at is not None and spec.ends_at <= spec.starts_at:
        raise ValidationFailed("The meeting must end after it starts.", field="ends_at")
    if not spec.place.strip():
        raise ValidationFailed(
            "Say where the meeting is held, or that it is held electronically.", field="place"
        )
    check_length(spec.place, length_of(Meeting.place), field="place")
    return mode


async def _next_numbers(session: AsyncSession, body: Body, year: int) -> tuple[int, int]:
    """The meeting's running number and its provisional first § number within the body's year."""
    number = (
        await session.execute(
            select(func.max(Meeting.number)).where(Meeting.body_id == body.id, Meeting.year == year)
        )
    ).scalar_one() or 0
    return number + 1, await next_section(session, body.id, year)


async def do_create_meeting(session: AsyncSession, *, body: Body, spec: MeetingSpec, actor: str) -> Meeting:
    """Plan a meeting as a draft, numbered within the body's year. Audit: meeting.created."""
    mode = _check_meeting(spec)
    year = spec.starts_at.astimezone(LOCAL_TZ).year
    number, first_section = await _next_numbers(session, body, year)
    now = session_clock(session)()
    is_public = body.meetings_public_by_default if spec.is_public is None else spec.is_public
    meeting = Meeting(
        body_id=body.id,
        number=number,
        year=year,
        starts_at=spec.starts_at,
        ends_at=spec.ends_at,
        place=spec.place.strip(),
        mode=mode,
        is_public=is_public,
        status=MeetingStatus.DRAFT,
        first_section=first_section,
        agenda_version=0,
        created_at=now,
        updated_at=now,
    )
    session.add(meeting)
    await session.flush()
    await record(
        session,
        AuditAction.MEETING_CREATED,
        actor=actor,
        subject=f"meeting:{meeting.id}",
        data={
            "body": f"body:{body.id}",
            "number": f"{number}/{year}",
            "mode": str(mode),
            "public": is_public,
            "starts_at": spec.starts_at.isoformat(),
        },
    )
    return meeting


# A change to one of these after the call is sent to everyone called, with an updated invitation.
INVITATION_FIELDS = frozenset({"starts_at", "ends_at", "place", "mode"})


async def do_update_meeting(
    session: AsyncSession, *, meeting: Meeting, spec: MeetingSpec, base_url: str, sender: str, actor: str
) -> Meeting:
    """Change time, place, mode or publicity; after the call the agenda version goes up, and a change of
    time, place or mode queues the call again with an updated invitation (same UID, higher SEQUENCE) to
    everyone called now, and a METHOD:CANCEL to those sent the invitation before who no longer are.

    Audit: meeting.updated with the number of each. Idempotent when nothing changes.
    """
    await lock_meeting(session, meeting)
    lifecycle.require(meeting.status, Operation.EDIT, translatable("A cancelled meeting cannot be changed."))
    mode = _check_meeting(spec)
    values = {
        "starts_at": spec.starts_at,
        "ends_at": spec.ends_at,
        "place": spec.place.strip(),
        "mode": mode,
        "is_public": meeting.is_public if spec.is_public is None else spec.is_public,
    }
    changed = sorted(k for k, v in values.items() if getattr(meeting, k) != v)
    if not changed:
        return meeting
    for key in changed:
        setattr(meeting, key, values[key])
    meeting.updated_at = session_clock(session)()
    queued, withdrawn = 0, 0
    if meeting.status == MeetingStatus.CALLED:
        meeting.agenda_version += 1
        await still_lawful(session, meeting)
        if INVITATION_FIELDS.intersection(changed):
            queued, withdrawn = await queue_update_mail(session, meeting, tuple(changed), base_url, sender)
    await record(
        session,
        AuditAction.MEETING_UPDATED,
        actor=actor,
        subject=f"meeting:{meeting.id}",
        data={
            "changed": changed,
            "agenda_version": meeting.agenda_version,
            "recipients": queued,
            "withdrawn": withdrawn,
        },
    )
    return meeting


REASON_MAX = length_of(Meeting.cancel_reason)


async def do_cancel_meeting(
    session: AsyncSession, *, meeting: Meeting, reason: str, base_url: str, sender: str, actor: str
) -> int:
    """Cancel a draft or called meeting. After the call the reason is required, and everyone called now
    or sent the invitation before (and not withdrawn from it since) gets a bilingual cancellation whose
    METHOD:CANCEL part (same UID, higher SEQUENCE) removes the event from their calendar; it names no
    item (R-PUB-7). Returns the number of e-mails queued.

    Audit: meeting.cancelled. Not idempotent: a cancelled meeting is refused (InvalidTransition).
    """
    await lock_meeting(session, meeting)
    cancelled = lifecycle.next_status(meeting.status, MeetingEvent.CANCEL)
    reason = reason.strip()
    called = meeting.status == MeetingStatus.CALLED
    if called and not reason:
        raise ValidationFailed(
            "Say why the meeting is cancelled: the reason is sent to everyone who got the call.",
            field="reason",
        )
    if len(reason) > REASON_MAX:
        raise ValidationFailed("The reason can be at most {max} characters.", field="reason", max=REASON_MAX)
    now = session_clock(session)()
    meeting.status, meeting.cancelled_at, meeting.cancel_reason, meeting.updated_at = (
        cancelled,
        now,
        reason,
        now,
    )
    queued, withdrawn = (
        await queue_cancel_mail(session, meeting, reason, base_url, sender) if called else (0, 0)
    )
    await withdraw_procedures(session, meeting, actor=actor)  # KL 100 §: nothing left to decide
    await record(
        session,
        AuditAction.MEETING_CANCELLED,
        actor=actor,
        subject=f"meeting:{meeting.id}",
        data={"call_sent": called, "reason": reason, "recipients": queued, "withdrawn": withdrawn},
    )
    return queued
