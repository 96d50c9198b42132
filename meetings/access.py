"""Who may see and change what: protected objects are fetched only through these functions.

A hidden object raises `Hidden` (a NotFound), exactly as a missing one would, so that nobody learns it exists;
the web layer records the refusal in the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import TypeVar

from sqlalchemy import ColumnElement, Date, bindparam, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from auth.models import Role
from auth.queries import Principal
from core.errors import NotFound
from core.text import translatable
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


class Capability(StrEnum):
    """What a role in a body lets a person do there. GRANTS decides it, and only GRANTS (docs/access.md)."""

    READ = "read"  # the body's agendas in full: confidential items, attachments, contacts, item versions
    SEE_DRAFTS = "see_drafts"  # meetings still being planned
    PREPARE = "prepare"  # plan meetings, write the agenda, attach documents, change them after the call
    SEND_CALL = "send_call"  # issue the meeting call (R-CALL-1, R-CALL-5, R-EDP-3 1.)
    CANCEL = "cancel"  # cancel a meeting that has been called (a draft is cancelled by whoever prepares it)
    DECLARE = "declare"  # declare one's own disqualification for an item (R-DISQ-5)
    SEE_DECLARATIONS = "see_declarations"  # everyone's declarations, to decide on them (R-DISQ-4)
    RUN = "run"  # chair a held meeting: open, declare, items, floor, voting order, votes, close (R-PROP-1)
    RECORD_ATTENDANCE = "record_attendance"  # mark who is in the room, and who has left (R-MIN-3)
    SPEAK = "speak"  # ask for the floor (the right to speak: members, deputies, presenters, attendees)
    STATE_STANCE = "state_stance"  # a stance in the decision procedure, for one's seat (R-EDP-3(2))
    FOLLOW_PROCEDURE = "follow_procedure"  # who has stated what in the decision procedure (R-EDP-6)
    RECORD = "record"  # switch the public stream's recording on or off, and download the recordings
    CHOOSE_CHECKERS = (
        "choose_checkers"  # open the procedure's record before the meeting, choose its checkers (R-CHECK-5)
    )


NOT_CALLER = translatable("Only the body's chair sends the call; the secretary prepares it.")
NOT_CANCELLER = translatable("Only the body's chair cancels a meeting that has been called.")

R = MemberRole
# The chair issues the call and the vice-chair stands in for the chair (R-CALL-1/5); the secretary prepares
# the agenda and the call but does not issue it. Everyone with a role in the body reads its agendas in full.
GRANTS: dict[Capability, frozenset[MemberRole]] = {
    Capability.READ: frozenset(MemberRole),
    Capability.SEE_DRAFTS: frozenset({R.CHAIR, R.VICE_CHAIR, R.SECRETARY}),
    Capability.PREPARE: frozenset({R.SECRETARY}),
    Capability.SEND_CALL: frozenset({R.CHAIR, R.VICE_CHAIR}),
    Capability.CANCEL: frozenset({R.CHAIR, R.VICE_CHAIR}),
    Capability.DECLARE: frozenset({R.MEMBER, R.DEPUTY, R.CHAIR, R.VICE_CHAIR, R.PRESENTER}),
    Capability.SEE_DECLARATIONS: frozenset({R.CHAIR, R.VICE_CHAIR, R.SECRETARY}),
    Capability.RUN: frozenset({R.CHAIR, R.VICE_CHAIR}),
    Capability.RECORD_ATTENDANCE: frozenset({R.SECRETARY, R.CHAIR, R.VICE_CHAIR}),
    Capability.SPEAK: frozenset({R.MEMBER, R.DEPUTY, R.CHAIR, R.VICE_CHAIR, R.PRESENTER, R.ATTENDEE}),
    Capability.STATE_STANCE: frozenset({R.MEMBER, R.DEPUTY}),
    Capability.FOLLOW_PROCEDURE: frozenset({R.CHAIR, R.VICE_CHAIR, R.SECRETARY}),
    Capability.RECORD: frozenset({R.CHAIR, R.VICE_CHAIR, R.SECRETARY}),
    Capability.CHOOSE_CHECKERS: frozenset({R.CHAIR, R.SECRETARY}),
}


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

    def can(self, capability: Capability, body_id: int) -> bool:
        return bool(self.roles_in(body_id) & GRANTS[capability])

    def reads(self, body_id: int) -> bool:
        return self.can(Capability.READ, body_id)


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
    return meeting.call_sent_at is not None or viewer.can(Capability.SEE_DRAFTS, meeting.body_id)


def agenda_visible(viewer: Viewer, meeting: Meeting) -> bool:
    """The public sees the agenda of a public meeting only; a closed meeting's contents never appear."""
    return viewer.reads(meeting.body_id) or (meeting.is_public and lifecycle.published(meeting.status))


_MEETING_AND_BODY = (
    select(Meeting, Body).join(Body, Body.id == Meeting.body_id).where(Meeting.id == bindparam("meeting_id"))
)


async def access_meeting_and_body(
    session: AsyncSession, viewer: Viewer, meeting_id: int, *, need: Capability | None = None
) -> tuple[Meeting, Body]:
    """A meeting and its body in one statement (pages show both); with `need`, only for those who have it."""
    found = (await session.execute(_MEETING_AND_BODY, {"meeting_id": meeting_id})).first()
    if found is None:
        raise NotFound("No such meeting.")
    meeting: Meeting = found[0]
    body: Body = found[1]
    if not meeting_visible(viewer, meeting) or (need and not viewer.can(need, meeting.body_id)):
        raise Hidden("No such meeting.")
    return meeting, body


async def access_meeting(
    session: AsyncSession, viewer: Viewer, meeting_id: int, *, need: Capability | None = None
) -> Meeting:
    meeting, _ = await access_meeting_and_body(session, viewer, meeting_id, need=need)
    return meeting


def item_content_visible(viewer: Viewer, meeting: Meeting, item: AgendaItem) -> bool:
    """Confidential items show their content only to the body (R-PUB-2, R-PUB-7)."""
    return viewer.reads(meeting.body_id) or (
        agenda_visible(viewer, meeting) and item.publicity == Publicity.PUBLIC
    )


async def access_item(
    session: AsyncSession, viewer: Viewer, item_id: int, *, need: Capability | None = None
) -> tuple[AgendaItem, Meeting]:
    item = await session.get(AgendaItem, item_id)
    if item is None:
        raise NotFound("No such agenda item.")
    meeting = await parent_row(session, Meeting, item.meeting_id)
    if need is not None:
        if not viewer.can(need, meeting.body_id):
            raise Hidden("No such agenda item.")
    elif not meeting_visible(viewer, meeting) or not (
        viewer.reads(meeting.body_id) or agenda_visible(viewer, meeting)
    ):
        raise Hidden("No such agenda item.")
    return item, meeting


def attachment_visible(viewer: Viewer, meeting: Meeting, item: AgendaItem, attachment: Attachment) -> bool:
    if attachment.removed_at is not None:
        return viewer.can(Capability.PREPARE, meeting.body_id)
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


def may_cancel(viewer: Viewer, meeting: Meeting) -> bool:
    """A called meeting is cancelled by whoever may issue calls; a draft also by whoever prepares it."""
    if viewer.can(Capability.CANCEL, meeting.body_id):
        return True
    return meeting.call_sent_at is None and viewer.can(Capability.PREPARE, meeting.body_id)
