"""Who may see and change what: protected objects are fetched only through these functions.

A hidden object raises `Hidden` (a NotFound), exactly as a missing one would, so that nobody learns it exists;
the web layer records the refusal in the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TypeVar

from sqlalchemy import ColumnElement, Date, bindparam, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from auth.models import Role
from auth.queries import Principal
from core.errors import NotFound
from meetings import lifecycle
from meetings.models import (
    AgendaItem,
    Attachment,
    Body,
    Meeting,
    MemberRole,
    Membership,
    Publicity,
)

READERS = frozenset(MemberRole)  # every role in a body may read all of its agendas
MANAGERS = frozenset({MemberRole.SECRETARY})
CALLERS = frozenset({MemberRole.SECRETARY, MemberRole.CHAIR})  # the chair issues the call (R-EDP-3 1.)
DECLARERS = frozenset(
    {MemberRole.MEMBER, MemberRole.DEPUTY, MemberRole.CHAIR, MemberRole.VICE_CHAIR, MemberRole.PRESENTER}
)


T = TypeVar("T")


async def parent_row(session: AsyncSession, model: type[T], key: int) -> T:
    """A row that a foreign key guarantees; its absence is a broken database, not a user error."""
    found = await session.get(model, key)
    if found is None:
        raise LookupError(f"{model.__name__} {key} is referenced but missing")
    return found


class Hidden(NotFound):
    """The object exists but this viewer may not know it."""


@dataclass(frozen=True, slots=True)
class Viewer:
    """A person (or the public) with their current roles in each body."""

    user_id: int | None = None
    is_admin: bool = False
    body_roles: dict[int, frozenset[MemberRole]] = field(default_factory=dict)

    def roles_in(self, body_id: int) -> frozenset[MemberRole]:
        return self.body_roles.get(body_id, frozenset())

    def reads(self, body_id: int) -> bool:
        return bool(self.roles_in(body_id) & READERS)

    def manages(self, body_id: int) -> bool:
        return bool(self.roles_in(body_id) & MANAGERS)

    def calls(self, body_id: int) -> bool:
        return bool(self.roles_in(body_id) & CALLERS)


PUBLIC = Viewer()


def active_on(on: date | ColumnElement[date]) -> ColumnElement[bool]:
    return (
        (Membership.term_start <= on)
        & or_(Membership.term_end.is_(None), Membership.term_end >= on)
        & (Membership.ended_at.is_(None))
    )


_ROLES_ON = select(Membership.body_id, Membership.role).where(
    Membership.user_id == bindparam("user_id"), active_on(bindparam("on", type_=Date))
)


async def viewer_for(session: AsyncSession, principal: Principal | None, *, on: date) -> Viewer:
    if principal is None:
        return PUBLIC
    rows = await session.execute(_ROLES_ON, {"user_id": principal.user_id, "on": on})
    roles: dict[int, set[MemberRole]] = {}
    for body_id, role in rows:
        roles.setdefault(body_id, set()).add(MemberRole(role))
    return Viewer(
        principal.user_id, principal.has_role(Role.ADMIN), {k: frozenset(v) for k, v in roles.items()}
    )


async def access_body(session: AsyncSession, viewer: Viewer, body_id: int) -> Body:
    body = await session.get(Body, body_id)
    if body is None:
        raise NotFound("No such body.")
    if not body.active and not viewer.is_admin:
        raise Hidden("No such body.")
    return body


def meeting_visible(viewer: Viewer, meeting: Meeting) -> bool:
    """Drafts belong to the body's secretaries and chair; a sent call is listed for everyone.

    A draft cancelled before its call stays theirs: nobody else ever learnt of it.
    """
    return meeting.call_sent_at is not None or viewer.calls(meeting.body_id)


def agenda_visible(viewer: Viewer, meeting: Meeting) -> bool:
    """The public sees the agenda of a public meeting only; a closed meeting's contents never appear."""
    return viewer.reads(meeting.body_id) or (meeting.is_public and lifecycle.published(meeting.status))


_MEETING_AND_BODY = (
    select(Meeting, Body).join(Body, Body.id == Meeting.body_id).where(Meeting.id == bindparam("meeting_id"))
)


async def access_meeting_and_body(
    session: AsyncSession, viewer: Viewer, meeting_id: int, *, manage: bool = False
) -> tuple[Meeting, Body]:
    """A meeting and its body in one statement (pages show both)."""
    found = (await session.execute(_MEETING_AND_BODY, {"meeting_id": meeting_id})).first()
    if found is None:
        raise NotFound("No such meeting.")
    meeting: Meeting = found[0]
    body: Body = found[1]
    if not meeting_visible(viewer, meeting) or (manage and not viewer.manages(meeting.body_id)):
        raise Hidden("No such meeting.")
    return meeting, body


async def access_meeting(
    session: AsyncSession, viewer: Viewer, meeting_id: int, *, manage: bool = False
) -> Meeting:
    meeting, _ = await access_meeting_and_body(session, viewer, meeting_id, manage=manage)
    return meeting


def item_content_visible(viewer: Viewer, meeting: Meeting, item: AgendaItem) -> bool:
    """Confidential items show their content only to the body (R-PUB-2, R-PUB-7)."""
    return viewer.reads(meeting.body_id) or (
        agenda_visible(viewer, meeting) and item.publicity == Publicity.PUBLIC
    )


async def access_item(
    session: AsyncSession, viewer: Viewer, item_id: int, *, manage: bool = False
) -> tuple[AgendaItem, Meeting]:
    item = await session.get(AgendaItem, item_id)
    if item is None:
        raise NotFound("No such agenda item.")
    meeting = await parent_row(session, Meeting, item.meeting_id)
    if manage:
        if not viewer.manages(meeting.body_id):
            raise Hidden("No such agenda item.")
    elif not meeting_visible(viewer, meeting) or not (
        viewer.reads(meeting.body_id) or agenda_visible(viewer, meeting)
    ):
        raise Hidden("No such agenda item.")
    return item, meeting


def attachment_visible(viewer: Viewer, meeting: Meeting, item: AgendaItem, attachment: Attachment) -> bool:
    if attachment.removed_at is not None:
        return viewer.manages(meeting.body_id)
    if viewer.reads(meeting.body_id):
        return meeting_visible(viewer, meeting)
    return (
        agenda_visible(viewer, meeting) and item.publicity != Publicity.CONFIDENTIAL and attachment.is_public
    )


async def access_attachment(
    session: AsyncSession, viewer: Viewer, attachment_id: int
) -> tuple[Attachment, AgendaItem, Meeting]:
    attachment = await session.get(Attachment, attachment_id)
    if attachment is None:
        raise NotFound("No such attachment.")
    item = await parent_row(session, AgendaItem, attachment.item_id)
    meeting = await parent_row(session, Meeting, item.meeting_id)
    if not attachment_visible(viewer, meeting, item, attachment):
        raise Hidden("No such attachment.")
    return attachment, item, meeting
