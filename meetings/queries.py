"""What a viewer sees of bodies, members, meetings and agendas: shaped here, so no page or API can show more.

These views are the one projection that the pages render and the API encodes. A fact the viewer may not know
is None (or left out of a list) here, never merely left out of a template: so the public's API answer holds
exactly the facts its page shows (tests/web/test_public_projection.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from auth.models import User
from meetings.access import (
    Viewer,
    active_on,
    agenda_visible,
    attachment_visible,
    item_content_visible,
    meeting_visible,
)
from meetings.models import (
    AgendaItem,
    AgendaItemVersion,
    Attachment,
    Body,
    DecisionMode,
    Disqualification,
    Meeting,
    MeetingStatus,
    MemberRole,
    Membership,
    Organisation,
    Publicity,
)


@dataclass(frozen=True, slots=True)
class AttachmentView:
    id: int
    title: str
    filename: str
    content_type: str
    size: int
    is_public: bool
    confidentiality_basis: str


@dataclass(frozen=True, slots=True)
class DisqualificationView:
    user_id: int
    name: str
    ground: str
    explanation: str
    declared_at: datetime


@dataclass(frozen=True, slots=True)
class ItemView:
    id: int
    section: int
    publicity: str
    title: str | None  # None: a wholly confidential item, shown only as a mention, and so are the rest
    description: str | None
    proposal: str | None
    public_summary: str | None
    confidentiality_basis: str | None
    presenter: str | None
    preparer: str | None
    preparer_contact: str | None  # the body's only
    decision_mode: str | None
    deadline_at: datetime | None  # only for the electronic decision procedure
    version: int | None  # the body's only: changes after the call are theirs to compare
    attachments: tuple[AttachmentView, ...]
    disqualifications: tuple[DisqualificationView, ...]
    my_disqualification: DisqualificationView | None


@dataclass(frozen=True, slots=True)
class MeetingView:
    id: int
    body_id: int
    body_name: str
    body_slug: str
    number: int
    year: int
    starts_at: datetime
    ends_at: datetime | None
    place: str | None  # None where the agenda is not shown: a closed meeting says only when it is
    mode: str | None
    is_public: bool
    status: str
    call_sent_at: datetime | None
    agenda_version: int | None  # the body's only
    agenda_visible: bool
    can_manage: bool
    cancelled_at: datetime | None = None
    cancel_reason: str | None = None  # the body's only: it went to them by e-mail


@dataclass(frozen=True, slots=True)
class AgendaView:
    meeting: MeetingView
    items: tuple[ItemView, ...]


def meeting_view(viewer: Viewer, meeting: Meeting, body: Body) -> MeetingView:
    shown = agenda_visible(viewer, meeting)
    insider = viewer.reads(body.id)
    return MeetingView(
        meeting.id,
        body.id,
        body.name,
        body.slug,
        meeting.number,
        meeting.year,
        meeting.starts_at,
        meeting.ends_at,
        meeting.place if shown else None,
        meeting.mode if shown else None,
        meeting.is_public,
        meeting.status,
        meeting.call_sent_at,
        meeting.agenda_version if insider else None,
        shown,
        viewer.manages(body.id),
        meeting.cancelled_at,
        meeting.cancel_reason if insider and meeting.cancel_reason else None,
    )


async def _names(session: AsyncSession, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = await session.execute(select(User.id, User.display_name).where(User.id.in_(ids)))
    return dict(rows.tuples().all())


async def _attachments(session: AsyncSession, item_ids: list[int]) -> dict[int, list[Attachment]]:
    found: dict[int, list[Attachment]] = {i: [] for i in item_ids}
    if item_ids:
        query = select(Attachment).where(Attachment.item_id.in_(item_ids)).order_by(Attachment.position)
        for attachment in (await session.execute(query)).scalars():
            found[attachment.item_id].append(attachment)
    return found


async def _declarations(session: AsyncSession, item_ids: list[int]) -> dict[int, list[Disqualification]]:
    found: dict[int, list[Disqualification]] = {i: [] for i in item_ids}
    if item_ids:
        query = select(Disqualification).where(
            Disqualification.item_id.in_(item_ids), Disqualification.withdrawn_at.is_(None)
        )
        for declaration in (await session.execute(query)).scalars():
            found[declaration.item_id].append(declaration)
    return found


def _attachment_view(a: Attachment) -> AttachmentView:
    return AttachmentView(
        a.id, a.title, a.filename, a.content_type, a.size, a.is_public, a.confidentiality_basis
    )


def _declaration_view(d: Disqualification, names: dict[int, str]) -> DisqualificationView:
    return DisqualificationView(d.user_id, names.get(d.user_id, ""), d.ground, d.explanation, d.declared_at)


def _item_view(
    viewer: Viewer,
    meeting: Meeting,
    item: AgendaItem,
    attachments: list[Attachment],
    declarations: list[Disqualification],
    names: dict[int, str],
) -> ItemView:
    insider = viewer.reads(meeting.body_id)
    full = item_content_visible(viewer, meeting, item)
    mention = not full and item.publicity == Publicity.CONFIDENTIAL
    # The chair and secretary see every declaration (R-DISQ-5); a member sees their own.
    sees_all = bool(viewer.roles_in(meeting.body_id) & {MemberRole.CHAIR, MemberRole.SECRETARY})
    # One's own declaration only while one reads the body: a former member's view is the public's (and cached
    # as the public's, web/cache.py agenda_key).
    mine = next((d for d in declarations if d.user_id == viewer.user_id), None) if insider else None
    procedure = item.decision_mode == DecisionMode.DECISION_PROCEDURE
    return ItemView(
        id=item.id,
        section=item.section,
        publicity=item.publicity,
        title=None if mention else item.title,
        description=item.description if full else None,
        proposal=item.proposal if full else None,
        public_summary=item.public_summary if item.publicity == Publicity.PARTLY_CONFIDENTIAL else None,
        confidentiality_basis=None if mention else item.confidentiality_basis,
        presenter=None if mention else names.get(item.presenter_id or 0, ""),
        preparer=None if mention else item.preparer,
        preparer_contact=item.preparer_contact if insider else None,
        decision_mode=None if mention else item.decision_mode,
        deadline_at=item.deadline_at if procedure and not mention else None,
        version=item.version if insider else None,
        attachments=tuple(
            _attachment_view(a)
            for a in attachments
            if attachment_visible(viewer, meeting, item, a) and a.removed_at is None
        ),
        disqualifications=tuple(_declaration_view(d, names) for d in declarations) if sees_all else (),
        my_disqualification=_declaration_view(mine, names) if mine else None,
    )


async def agenda(session: AsyncSession, viewer: Viewer, meeting: Meeting) -> AgendaView:
    """The meeting and the items this viewer may see, shaped for them (R-CALL-7, R-PUB-2, R-PUB-7)."""
    body = await session.get(Body, meeting.body_id)
    if body is None:
        raise LookupError("meeting without a body")
    view = meeting_view(viewer, meeting, body)
    if not view.agenda_visible:
        return AgendaView(view, ())
    items = list(
        (
            await session.execute(
                select(AgendaItem).where(AgendaItem.meeting_id == meeting.id).order_by(AgendaItem.position)
            )
        ).scalars()
    )
    ids = [i.id for i in items]
    attachments, declarations = await _attachments(session, ids), await _declarations(session, ids)
    people = {i.presenter_id for i in items if i.presenter_id} | {
        d.user_id for ds in declarations.values() for d in ds
    }
    names = await _names(session, people)
    return AgendaView(
        view,
        tuple(_item_view(viewer, meeting, i, attachments[i.id], declarations[i.id], names) for i in items),
    )


async def item_view(session: AsyncSession, viewer: Viewer, meeting: Meeting, item: AgendaItem) -> ItemView:
    """One item shaped for this viewer exactly as on the agenda; the caller has checked access."""
    attachments = await _attachments(session, [item.id])
    declarations = await _declarations(session, [item.id])
    people = {item.presenter_id} if item.presenter_id else set()
    names = await _names(session, people | {d.user_id for d in declarations[item.id]})
    return _item_view(viewer, meeting, item, attachments[item.id], declarations[item.id], names)


_SIGNATURE = (
    select(func.count(), func.max(Disqualification.declared_at), func.max(Disqualification.withdrawn_at))
    .join(AgendaItem, Disqualification.item_id == AgendaItem.id)
    .where(AgendaItem.meeting_id == bindparam("meeting_id"))
)


async def declarations_signature(session: AsyncSession, meeting_id: int) -> tuple[int, str, str]:
    """Changes whenever a declaration for the meeting's items is made or withdrawn (for page caches)."""
    row = (await session.execute(_SIGNATURE, {"meeting_id": meeting_id})).one()
    return int(row[0]), str(row[1]), str(row[2])


async def item_versions(session: AsyncSession, item: AgendaItem) -> list[AgendaItemVersion]:
    query = (
        select(AgendaItemVersion)
        .where(AgendaItemVersion.item_id == item.id)
        .order_by(AgendaItemVersion.version)
    )
    return list((await session.execute(query)).scalars())


async def body_meetings(
    session: AsyncSession, viewer: Viewer, body: Body, *, limit: int = 100
) -> list[MeetingView]:
    query = select(Meeting).where(Meeting.body_id == body.id).order_by(Meeting.starts_at.desc()).limit(limit)
    meetings = (await session.execute(query)).scalars()
    return [meeting_view(viewer, m, body) for m in meetings if meeting_visible(viewer, m)]


async def upcoming_for(session: AsyncSession, viewer: Viewer, *, now: datetime) -> list[MeetingView]:
    """Meetings of the viewer's bodies from today on, soonest first."""
    bodies = list(viewer.body_roles)
    if not bodies:
        return []
    query = (
        select(Meeting, Body)
        .join(Body, Meeting.body_id == Body.id)
        .where(
            Meeting.body_id.in_(bodies),
            Meeting.starts_at >= now.replace(hour=0, minute=0),
            Meeting.status != MeetingStatus.CANCELLED,
        )
        .order_by(Meeting.starts_at)
    )
    return [
        meeting_view(viewer, m, b)
        for m, b in (await session.execute(query)).tuples()
        if meeting_visible(viewer, m)
    ]


async def bodies(session: AsyncSession, *, include_inactive: bool = False) -> list[Body]:
    query = select(Body).order_by(Body.kind, Body.name)
    if not include_inactive:
        query = query.where(Body.active.is_(True))
    return list((await session.execute(query)).scalars())


@dataclass(frozen=True, slots=True)
class BodyView:
    """A body as its page shows it; the settings only administrators change are None for everyone else."""

    id: int
    slug: str
    name: str
    name_sv: str
    kind: str
    seats: int  # the statutory seat count (R-QUORUM-1)
    meetings_public_by_default: bool
    active: bool | None = None
    parent_id: int | None = None
    call_period_days: int | None = None
    electronic_meetings_allowed: bool | None = None
    decision_procedure_allowed: bool | None = None
    checking_method: str | None = None


def body_view(viewer: Viewer, body: Body) -> BodyView:
    shown = (
        body.id,
        body.slug,
        body.name,
        body.name_sv,
        body.kind,
        body.seats,
        body.meetings_public_by_default,
    )
    if not viewer.is_admin:
        return BodyView(*shown)
    settings = (body.call_period_days, body.electronic_meetings_allowed, body.decision_procedure_allowed)
    return BodyView(*shown, body.active, body.parent_id, *settings, body.checking_method)


@dataclass(frozen=True, slots=True)
class MemberView:
    """One role of one person in a body: public (R-PUB-3: no contact details), but for the account's id,
    which only those who manage the body or the accounts are given."""

    membership_id: int
    user_id: int | None
    name: str
    role: str
    term_start: date
    term_end: date | None
    deputy_for_id: int | None
    title: str


async def body_members(session: AsyncSession, viewer: Viewer, body: Body, *, on: date) -> list[MemberView]:
    query = (
        select(Membership, User.display_name)
        .join(User, Membership.user_id == User.id)
        .where(Membership.body_id == body.id, active_on(on))
        .order_by(Membership.role, User.display_name)
    )
    ids = viewer.is_admin or viewer.manages(body.id)
    return [
        MemberView(
            m.id, m.user_id if ids else None, name, m.role, m.term_start, m.term_end, m.deputy_for_id, m.title
        )
        for m, name in (await session.execute(query)).tuples()
    ]


async def organisation(session: AsyncSession) -> Organisation | None:
    return (await session.execute(select(Organisation).limit(1))).scalar_one_or_none()


async def meeting_items(session: AsyncSession, meeting: Meeting) -> list[AgendaItem]:
    query = select(AgendaItem).where(AgendaItem.meeting_id == meeting.id).order_by(AgendaItem.position)
    return list((await session.execute(query)).scalars().all())
