"""Who reaches which minutes: the body's people reach them in every state, the public only the published copy
whose moment has come (R-PUB-1 … R-PUB-4); everything else is not found, as if it did not exist."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import Forbidden, NotFound
from core.text import translatable
from meetings.access import Capability, Hidden, Viewer, access_meeting_and_body
from meetings.models import Body, Meeting, MemberRole
from minutes.document import MinutesDocument
from minutes.models import MinutesRecord, ProcedureCheck
from minutes.queries import is_public, public_document

NO_MINUTES = translatable("No such minutes.")
NOT_SECRETARY = translatable("Only the body's secretary opens its minutes.")
NO_RECORD = translatable("No such meeting.")
NOT_CHOOSER = translatable("Only the body's secretary or chair opens this record and chooses its checkers.")


async def access_minutes(
    session: AsyncSession, viewer: Viewer, minutes_id: int
) -> tuple[MinutesRecord, Meeting, Body]:
    """Minutes for the body's people only: anyone else gets the same 404 as for minutes that do not exist."""
    minutes = await session.get(MinutesRecord, minutes_id)
    if minutes is None:
        raise NotFound(NO_MINUTES)
    meeting, body = await access_meeting_and_body(session, viewer, minutes.meeting_id)
    if not viewer.reads(body.id):
        raise Hidden(NO_MINUTES)
    return minutes, meeting, body


async def access_public_copy(
    session: AsyncSession, minutes_id: int, now: datetime
) -> tuple[MinutesRecord, MinutesDocument]:
    """Published minutes whose time has come, and their public copy as it must look `now` (R-PUB-1 …
    R-PUB-4); drafts and everything else are not found."""
    minutes = await session.get(MinutesRecord, minutes_id)
    if minutes is None or not is_public(minutes, now):
        raise NotFound(NO_MINUTES)
    document = public_document(minutes, now)
    if document is None:
        raise NotFound(NO_MINUTES)
    return minutes, document


def check_opener(viewer: Viewer, body: Body) -> None:
    """Only the body's secretary opens a meeting's minutes."""
    if MemberRole.SECRETARY not in viewer.roles_in(body.id):
        raise Forbidden(NOT_SECRETARY)


async def access_procedure_check(
    session: AsyncSession, viewer: Viewer, meeting_id: int
) -> tuple[ProcedureCheck | None, Meeting, Body]:
    """A meeting's decision-procedure record (None before it is opened), for the body's people only: the
    procedure is closed (R-EDP-6), so anyone else gets the same 404 as for a meeting that does not exist."""
    meeting, body = await access_meeting_and_body(session, viewer, meeting_id)
    if not viewer.reads(body.id):
        raise Hidden(NO_RECORD)
    check = (
        await session.execute(select(ProcedureCheck).where(ProcedureCheck.meeting_id == meeting.id))
    ).scalar_one_or_none()
    return check, meeting, body


def check_chooser(viewer: Viewer, body: Body) -> None:
    """Only the body's secretary or chair opens the record and chooses its checkers (R-CHECK-5)."""
    if not viewer.can(Capability.CHOOSE_CHECKERS, body.id):
        raise Forbidden(NOT_CHOOSER)
