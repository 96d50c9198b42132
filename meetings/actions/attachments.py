"""Adding, changing and removing the attachments of agenda items, each audited; the bytes live in
meetings.storage."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from audit.actions import record
from audit.models import AuditAction
from auth.queries import user_id_of
from core.db import session_clock
from core.errors import InvalidTransition, ValidationFailed
from core.text import translatable
from meetings import lifecycle
from meetings.access import parent_row
from meetings.lifecycle import Operation
from meetings.locks import lock_meeting
from meetings.models import AgendaItem, Attachment, Meeting, MeetingStatus, Publicity
from meetings.queries import organisation

DEFAULT_MAX_BYTES = (
    50 * 1024 * 1024
)  # until the organisation sets its own (Organisation.attachment_max_bytes)
TEXT_MAX = 300  # the columns' length


async def attachment_limit(session: AsyncSession) -> int:
    """The largest attachment the organisation accepts, in bytes."""
    org = await organisation(session)
    return org.attachment_max_bytes if org else DEFAULT_MAX_BYTES


def check_attachment(
    item: AgendaItem, meeting: Meeting, *, title: str, is_public: bool, confidentiality_basis: str
) -> None:
    """The rules an attachment's description must meet; pure, so the route can check before storing bytes."""
    lifecycle.require(
        meeting.status, Operation.EDIT, translatable("A cancelled meeting's agenda cannot be changed.")
    )
    if not title.strip() or len(title) > TEXT_MAX:
        raise ValidationFailed("An attachment needs a title of at most 300 characters.", field="title")
    if len(confidentiality_basis) > TEXT_MAX:
        raise ValidationFailed("The legal basis is at most 300 characters.", field="confidentiality_basis")
    if not is_public and not confidentiality_basis.strip():
        raise ValidationFailed(
            "Give the legal basis of the confidentiality, e.g. JulkL 24 § 1 mom 25 k (R-MIN-3).",
            field="confidentiality_basis",
        )
    if is_public and item.publicity == Publicity.CONFIDENTIAL:
        raise ValidationFailed(
            "The item is wholly confidential, so its attachments cannot be public (R-PUB-2).",
            field="is_public",
        )


async def _next_position(session: AsyncSession, item: AgendaItem) -> int:
    query = select(func.max(Attachment.position)).where(Attachment.item_id == item.id)
    return int((await session.execute(query)).scalar_one() or 0) + 1


def _agenda_changed(meeting: Meeting, now: datetime) -> None:
    """After the call, members must be able to tell that the agenda they read has changed."""
    if meeting.status == MeetingStatus.CALLED:
        meeting.agenda_version += 1
        meeting.updated_at = now


async def do_add_attachment(
    session: AsyncSession,
    *,
    item: AgendaItem,
    meeting: Meeting,
    title: str,
    filename: str,
    content_type: str,
    sha256: str,
    size: int,
    is_public: bool,
    confidentiality_basis: str,
    actor: str,
) -> Attachment:
    """Attach stored bytes to an item, last in its list; possible before and after the call (after it the
    meeting's agenda version goes up). A confidential attachment needs its legal basis (R-MIN-3); an
    attachment of a wholly confidential item cannot be public (R-PUB-2, R-PUB-7).

    Audit: attachment.added. Not idempotent: each call adds a row (rows may share the same bytes).
    """
    await lock_meeting(session, meeting, item)
    check_attachment(
        item, meeting, title=title, is_public=is_public, confidentiality_basis=confidentiality_basis
    )
    now = session_clock(session)()
    attachment = Attachment(
        item_id=item.id,
        position=await _next_position(session, item),
        title=title.strip(),
        filename=filename,
        content_type=content_type,
        size=size,
        sha256=sha256,
        is_public=is_public,
        confidentiality_basis="" if is_public else confidentiality_basis.strip(),
        uploaded_at=now,
        uploaded_by=user_id_of(actor),
    )
    session.add(attachment)
    _agenda_changed(meeting, now)
    await session.flush()
    await record(
        session,
        AuditAction.ATTACHMENT_ADDED,
        actor=actor,
        subject=f"attachment:{attachment.id}",
        data={
            "item": f"item:{item.id}",
            "sha256": sha256,
            "size": size,
            "content_type": content_type,
            "is_public": is_public,
            "agenda_version": meeting.agenda_version,
        },
    )
    return attachment


async def do_remove_attachment(
    session: AsyncSession, *, attachment: Attachment, meeting: Meeting, actor: str
) -> None:
    """Withdraw an attachment from the agenda: it is marked removed, and its file stays (other rows may share
    the bytes, and the record of what was attached is kept). After the call the agenda version goes up.

    Audit: attachment.removed. Idempotent: removing a removed attachment changes nothing.
    """
    await lock_meeting(session, meeting, attachment)
    if attachment.removed_at is not None:
        return
    now = session_clock(session)()
    attachment.removed_at = now
    _agenda_changed(meeting, now)
    await record(
        session,
        AuditAction.ATTACHMENT_REMOVED,
        actor=actor,
        subject=f"attachment:{attachment.id}",
        data={"item": f"item:{attachment.item_id}", "agenda_version": meeting.agenda_version},
    )


async def do_update_attachment(
    session: AsyncSession,
    *,
    attachment: Attachment,
    title: str,
    is_public: bool,
    confidentiality_basis: str,
    actor: str,
) -> Attachment:
    """Change an attachment's title and publicity under the rules of an upload: a confidential attachment
    needs its legal basis (R-MIN-3), and an attachment of a wholly confidential item cannot be public
    (R-PUB-2, R-PUB-7). Refused for a removed attachment and on a cancelled meeting. After the call the
    meeting's agenda version goes up, so readers (and cached pages) see the change at once.

    Audit: attachment.updated (the names of the changed fields). Idempotent when nothing changes.
    """
    item = await parent_row(session, AgendaItem, attachment.item_id)
    meeting = await parent_row(session, Meeting, item.meeting_id)
    await lock_meeting(session, meeting, item, attachment)
    if attachment.removed_at is not None:
        raise InvalidTransition("A removed attachment cannot be changed.")
    check_attachment(
        item, meeting, title=title, is_public=is_public, confidentiality_basis=confidentiality_basis
    )
    values = {
        "title": title.strip(),
        "is_public": is_public,
        "confidentiality_basis": "" if is_public else confidentiality_basis.strip(),
    }
    changed = sorted(k for k, v in values.items() if getattr(attachment, k) != v)
    if not changed:
        return attachment
    for key in changed:
        setattr(attachment, key, values[key])
    _agenda_changed(meeting, session_clock(session)())
    await record(
        session,
        AuditAction.ATTACHMENT_UPDATED,
        actor=actor,
        subject=f"attachment:{attachment.id}",
        # Field names only: a title, like a file name, may itself be confidential.
        data={
            "item": f"item:{item.id}",
            "changed": changed,
            "is_public": attachment.is_public,
            "agenda_version": meeting.agenda_version,
        },
    )
    return attachment
