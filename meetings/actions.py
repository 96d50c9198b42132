"""Every change to the organisation, bodies, members, meetings, agendas and calls, each audited."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from email.utils import parseaddr
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from audit.actions import record
from audit.models import AuditAction
from auth.actions import do_grant_role, do_revoke_role
from auth.models import Role, User
from auth.queries import user_id_of
from core.bounds import EXPLANATION, LONG_TEXT, check_length, check_lengths, length_of, valid_id
from core.clock import LOCAL as LOCAL_TZ
from core.db import session_clock
from core.errors import Conflict, NotFound, ValidationFailed
from core.text import translatable
from meetings import lifecycle
from meetings.access import active_on, parent_row
from meetings.delivery import queue_mail
from meetings.lifecycle import MeetingEvent, Operation
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
    AgendaItem,
    AgendaItemVersion,
    Body,
    BodyKind,
    CallDayCount,
    CheckingMethod,
    DecisionMode,
    Disqualification,
    DisqualificationGround,
    InvitationRecipient,
    Meeting,
    MeetingMode,
    MeetingStatus,
    MemberRole,
    Membership,
    Organisation,
    Publicity,
)
from meetings.rules.call import (
    BodyFacts,
    ItemFacts,
    MeetingFacts,
    Problem,
    after_call_problems,
    call_problems,
)

E = TypeVar("E", bound=StrEnum)

# Body roles that need a second factor at sign-in (DESIGN.md §4), mirrored as scoped auth roles.
AUTH_ROLE = {MemberRole.CHAIR: Role.CHAIR, MemberRole.SECRETARY: Role.SECRETARY}


def _now(session: AsyncSession) -> datetime:
    return session_clock(session)()


def body_scope(body_id: int) -> str:
    return f"body:{body_id}"


def _choice(enum: type[E], value: str, field: str) -> E:
    try:
        return enum(value)
    except ValueError as exc:
        allowed = ", ".join(member.value for member in enum)
        raise ValidationFailed(
            "{name} must be one of: {allowed}.", field=field, name=field, allowed=allowed
        ) from exc


# ---- organisation -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OrganisationSettings:
    name: str
    name_sv: str = ""
    default_call_period_days: int = 4
    call_day_count: str = CallDayCount.SENDING_DAY_EXCLUDED
    council_tabling_minority: str = "1/4"
    minutes_retention_days: int = 365
    default_checking_method: str = CheckingMethod.CHECKERS
    attachment_max_bytes: int = 50 * 1024 * 1024


async def organisation(session: AsyncSession) -> Organisation | None:
    return (await session.execute(select(Organisation).limit(1))).scalar_one_or_none()


ORGANISATION_TEXT = {
    "name": length_of(Organisation.name),
    "name_sv": length_of(Organisation.name_sv),
    "council_tabling_minority": length_of(Organisation.council_tabling_minority),
}


def _check_organisation(settings: OrganisationSettings) -> None:
    check_lengths(settings, ORGANISATION_TEXT)
    if not settings.name.strip():
        raise ValidationFailed("The municipality needs a name.", field="name")
    if not 1 <= settings.default_call_period_days <= 60:
        raise ValidationFailed("The call period must be 1–60 days.", field="default_call_period_days")
    _choice(CallDayCount, settings.call_day_count, "call_day_count")
    _choice(CheckingMethod, settings.default_checking_method, "default_checking_method")
    numerator, _, denominator = settings.council_tabling_minority.partition("/")
    if not (numerator.isdigit() and denominator.isdigit() and 0 < int(numerator) < int(denominator)):
        raise ValidationFailed(
            "The tabling minority is a fraction such as 1/4.", field="council_tabling_minority"
        )
    if not 1 <= settings.minutes_retention_days <= 36500:
        raise ValidationFailed("Retention is 1–36500 days.", field="minutes_retention_days")
    if not 1024 <= settings.attachment_max_bytes <= 2 * 1024**3:
        raise ValidationFailed("The attachment limit is 1 KiB – 2 GiB.", field="attachment_max_bytes")


async def do_update_organisation(
    session: AsyncSession, *, settings: OrganisationSettings, actor: str
) -> Organisation:
    """Set the administrative-rule settings (R-BASE-1). Audit: organisation.updated. Idempotent."""
    _check_organisation(settings)
    org = await organisation(session)
    if org is None:
        org = Organisation(updated_at=_now(session))
        session.add(org)
    changed = {k: v for k, v in dataclasses.asdict(settings).items() if getattr(org, k, None) != v}
    for key, value in changed.items():
        setattr(org, key, value)
    org.updated_at = _now(session)
    await session.flush()
    if changed:
        await record(
            session,
            AuditAction.ORGANISATION_UPDATED,
            actor=actor,
            subject="organisation",
            data={"changed": sorted(changed)},
        )
    return org


# ---- bodies -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BodySpec:
    slug: str
    name: str
    kind: str
    seats: int
    name_sv: str = ""
    parent_id: int | None = None
    call_period_days: int | None = None
    electronic_meetings_allowed: bool = False
    decision_procedure_allowed: bool = False
    checking_method: str | None = None
    meetings_public_by_default: bool | None = None


BODY_TEXT = {"name": length_of(Body.name), "name_sv": length_of(Body.name_sv)}


def _check_body(spec: BodySpec) -> None:
    if not spec.slug or len(spec.slug) > 64 or not all(c.isalnum() or c == "-" for c in spec.slug):
        raise ValidationFailed("The short name is 1–64 letters, digits or dashes.", field="slug")
    check_lengths(spec, BODY_TEXT)
    if not spec.name.strip():
        raise ValidationFailed("A body needs a name.", field="name")
    kind = _choice(BodyKind, spec.kind, "kind")
    if not 1 <= spec.seats <= 200:
        raise ValidationFailed("The statutory seat count must be 1–200.", field="seats")
    if spec.call_period_days is not None and not 1 <= spec.call_period_days <= 60:
        raise ValidationFailed("The call period must be 1–60 days.", field="call_period_days")
    if spec.checking_method is not None:
        _choice(CheckingMethod, spec.checking_method, "checking_method")
    if kind == BodyKind.COUNCIL and spec.decision_procedure_allowed:
        raise ValidationFailed(
            "The council cannot use the electronic decision procedure (R-EDP-1).",
            field="decision_procedure_allowed",
        )
    if kind == BodyKind.SUBCOMMITTEE and spec.parent_id is None:
        raise ValidationFailed("A sub-committee belongs to a parent body.", field="parent_id")


def _body_values(spec: BodySpec) -> dict[str, Any]:
    values = dataclasses.asdict(spec)
    if values["meetings_public_by_default"] is None:
        # Council meetings are public by law; other bodies' are closed unless they decide (R-PUBLIC-1/3).
        values["meetings_public_by_default"] = spec.kind == BodyKind.COUNCIL
    return values


async def do_create_body(session: AsyncSession, *, spec: BodySpec, actor: str) -> Body:
    """Create a body. Audit: body.created. A taken short name is a Conflict."""
    _check_body(spec)
    if (await session.execute(select(Body.id).where(Body.slug == spec.slug))).first():
        raise Conflict("The short name {slug} is already taken.", slug=spec.slug)
    if spec.parent_id is not None and (
        not valid_id(spec.parent_id) or await session.get(Body, spec.parent_id) is None
    ):
        raise ValidationFailed("The parent body does not exist.", field="parent_id")
    body = Body(**_body_values(spec), created_at=_now(session), active=True)
    session.add(body)
    await session.flush()
    await record(
        session,
        AuditAction.BODY_CREATED,
        actor=actor,
        subject=f"body:{body.id}",
        data={"slug": body.slug, "kind": body.kind, "seats": body.seats},
    )
    return body


async def do_update_body(session: AsyncSession, *, body: Body, spec: BodySpec, actor: str) -> Body:
    """Change a body's settings. Audit: body.updated with the changed fields. Idempotent."""
    _check_body(spec)
    clash = await session.execute(select(Body.id).where(Body.slug == spec.slug, Body.id != body.id))
    if clash.first():
        raise Conflict("The short name {slug} is already taken.", slug=spec.slug)
    changed = {k: v for k, v in _body_values(spec).items() if getattr(body, k) != v}
    for key, value in changed.items():
        setattr(body, key, value)
    if changed:
        await record(
            session,
            AuditAction.BODY_UPDATED,
            actor=actor,
            subject=f"body:{body.id}",
            data={"changed": sorted(changed)},
        )
    return body


# ---- memberships ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MembershipSpec:
    user_id: int
    role: str
    term_start: date
    term_end: date | None = None
    deputy_for_id: int | None = None
    title: str = ""


async def _check_membership(session: AsyncSession, body: Body, spec: MembershipSpec) -> MemberRole:
    role = _choice(MemberRole, spec.role, "role")
    check_length(spec.title, length_of(Membership.title), field="title")
    if spec.term_end is not None and spec.term_end < spec.term_start:
        raise ValidationFailed("The term cannot end before it starts.", field="term_end")
    if not valid_id(spec.user_id) or await session.get(User, spec.user_id) is None:
        raise ValidationFailed("No such user.", field="user_id")
    if spec.deputy_for_id is not None:
        if role != MemberRole.DEPUTY:
            raise ValidationFailed("Only a deputy stands in for a member.", field="deputy_for_id")
        principal = (
            await session.get(Membership, spec.deputy_for_id) if valid_id(spec.deputy_for_id) else None
        )
        if principal is None or principal.body_id != body.id or principal.role != MemberRole.MEMBER:
            raise ValidationFailed(
                "A personal deputy stands in for a member of the same body.", field="deputy_for_id"
            )
    duplicate = await session.execute(
        select(Membership.id).where(
            Membership.body_id == body.id,
            Membership.user_id == spec.user_id,
            Membership.role == role,
            active_on(spec.term_start),
        )
    )
    if duplicate.first():
        raise Conflict("This person already has that role in this body for that time.")
    return role


async def _seated_members(session: AsyncSession, body: Body, on: date) -> int:
    query = (
        select(func.count())
        .select_from(Membership)
        .where(Membership.body_id == body.id, Membership.role == MemberRole.MEMBER, active_on(on))
    )
    return int((await session.execute(query)).scalar_one())


async def do_add_membership(
    session: AsyncSession, *, body: Body, spec: MembershipSpec, actor: str
) -> Membership:
    """Give a person a role in a body for a term.

    Audit: membership.added, and role.granted for a chair or secretary (they need a second factor).
    """
    role = await _check_membership(session, body, spec)
    if role == MemberRole.MEMBER and await _seated_members(session, body, spec.term_start) >= body.seats:
        raise Conflict("All {seats} statutory seats of this body are already filled.", seats=body.seats)
    membership = Membership(
        body_id=body.id,
        user_id=spec.user_id,
        role=role,
        term_start=spec.term_start,
        term_end=spec.term_end,
        deputy_for_id=spec.deputy_for_id,
        title=spec.title,
        created_at=_now(session),
    )
    session.add(membership)
    await session.flush()
    await record(
        session,
        AuditAction.MEMBERSHIP_ADDED,
        actor=actor,
        subject=f"body:{body.id}",
        data={
            "membership": membership.id,
            "user": f"user:{spec.user_id}",
            "role": str(role),
            "term_start": spec.term_start.isoformat(),
            "term_end": spec.term_end.isoformat() if spec.term_end else None,
        },
    )
    if role in AUTH_ROLE:
        user = await parent_row(session, User, spec.user_id)
        await do_grant_role(session, user=user, role=AUTH_ROLE[role], scope=body_scope(body.id), actor=actor)
    return membership


async def do_end_membership(session: AsyncSession, *, membership: Membership, actor: str) -> None:
    """End a role now (resignation, release). Audit: membership.ended (+ role.revoked). Idempotent."""
    if membership.ended_at is not None:
        return
    membership.ended_at = _now(session)
    await record(
        session,
        AuditAction.MEMBERSHIP_ENDED,
        actor=actor,
        subject=f"body:{membership.body_id}",
        data={"membership": membership.id, "user": f"user:{membership.user_id}", "role": membership.role},
    )
    role = MemberRole(membership.role)
    if role in AUTH_ROLE:
        still = await session.execute(
            select(Membership.id).where(
                Membership.body_id == membership.body_id,
                Membership.user_id == membership.user_id,
                Membership.role == role,
                Membership.ended_at.is_(None),
            )
        )
        user = await session.get(User, membership.user_id)
        if still.first() is None and user is not None:
            await do_revoke_role(
                session, user=user, role=AUTH_ROLE[role], scope=body_scope(membership.body_id), actor=actor
            )


# ---- meetings -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MeetingSpec:
    starts_at: datetime
    place: str
    mode: str = MeetingMode.IN_PERSON
    ends_at: datetime | None = None
    is_public: bool | None = None


def _check_meeting(spec: MeetingSpec) -> MeetingMode:
    mode: MeetingMode = _choice(MeetingMode, spec.mode, "mode")
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
    return number + 1, await _next_section(session, body.id, year)


async def _next_section(session: AsyncSession, body_id: int, year: int) -> int:
    """After the last § of the body's meetings called this year; drafts number provisionally."""
    last = (
        await session.execute(
            select(func.max(AgendaItem.section))
            .join(Meeting, AgendaItem.meeting_id == Meeting.id)
            .where(Meeting.body_id == body_id, Meeting.year == year, Meeting.status == MeetingStatus.CALLED)
        )
    ).scalar_one() or 0
    return int(last) + 1


async def do_create_meeting(session: AsyncSession, *, body: Body, spec: MeetingSpec, actor: str) -> Meeting:
    """Plan a meeting as a draft, numbered within the body's year. Audit: meeting.created."""
    mode = _check_meeting(spec)
    year = spec.starts_at.astimezone(LOCAL_TZ).year
    number, first_section = await _next_numbers(session, body, year)
    now = _now(session)
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
    meeting.updated_at = _now(session)
    queued, withdrawn = 0, 0
    if meeting.status == MeetingStatus.CALLED:
        meeting.agenda_version += 1
        await _still_lawful(session, meeting)
        if INVITATION_FIELDS.intersection(changed):
            queued, withdrawn = await _queue_update_mail(session, meeting, tuple(changed), base_url, sender)
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


# ---- agenda items -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ItemSpec:
    title: str
    presenter_id: int | None = None
    preparer: str = ""
    preparer_contact: str = ""
    description: str = ""
    proposal: str = ""
    publicity: str = Publicity.PUBLIC
    confidentiality_basis: str = ""
    public_summary: str = ""
    decision_mode: str = DecisionMode.MEETING
    deadline_at: datetime | None = None


ITEM_FIELDS = tuple(f.name for f in dataclasses.fields(ItemSpec))
ITEM_TEXT = {
    "title": length_of(AgendaItem.title),
    "preparer": length_of(AgendaItem.preparer),
    "preparer_contact": length_of(AgendaItem.preparer_contact),
    "description": LONG_TEXT,
    "proposal": LONG_TEXT,
    "confidentiality_basis": length_of(AgendaItem.confidentiality_basis),
    "public_summary": LONG_TEXT,
}
CHANGE_REASON = length_of(AgendaItemVersion.reason)


async def _check_item(session: AsyncSession, spec: ItemSpec) -> None:
    if not spec.title.strip():
        raise ValidationFailed("An item needs a title.", field="title")
    check_lengths(spec, ITEM_TEXT)
    publicity = _choice(Publicity, spec.publicity, "publicity")
    mode = _choice(DecisionMode, spec.decision_mode, "decision_mode")
    if publicity != Publicity.PUBLIC and not spec.confidentiality_basis.strip():
        raise ValidationFailed(
            "Give the legal basis of the confidentiality, e.g. JulkL 24 § 1 mom 25 k (R-MIN-3).",
            field="confidentiality_basis",
        )
    if mode == DecisionMode.DECISION_PROCEDURE and spec.deadline_at is None:
        raise ValidationFailed(
            "An item in the electronic decision procedure needs a deadline (R-CALL-6).", field="deadline_at"
        )
    if spec.deadline_at is not None and spec.deadline_at.tzinfo is None:
        raise ValidationFailed("The deadline needs a time zone.", field="deadline_at")
    if spec.presenter_id is not None and (
        not valid_id(spec.presenter_id) or await session.get(User, spec.presenter_id) is None
    ):
        raise ValidationFailed("No such presenter.", field="presenter_id")


async def meeting_items(session: AsyncSession, meeting: Meeting) -> list[AgendaItem]:
    query = select(AgendaItem).where(AgendaItem.meeting_id == meeting.id).order_by(AgendaItem.position)
    return list((await session.execute(query)).scalars().all())


async def do_add_item(session: AsyncSession, *, meeting: Meeting, spec: ItemSpec, actor: str) -> AgendaItem:
    """Append an item to a draft agenda, numbered after the last one. Audit: item.added."""
    await lock_meeting(session, meeting)
    lifecycle.require(
        meeting.status,
        Operation.ARRANGE_AGENDA,
        translatable("Items can be added only until the call is sent."),
    )
    await _check_item(session, spec)
    items = await meeting_items(session, meeting)
    position = len(items) + 1
    item = AgendaItem(
        meeting_id=meeting.id,
        position=position,
        section=meeting.first_section + position - 1,
        version=1,
        updated_at=_now(session),
        **dataclasses.asdict(spec),
    )
    session.add(item)
    await session.flush()
    await record(
        session,
        AuditAction.ITEM_ADDED,
        actor=actor,
        subject=f"item:{item.id}",
        data={
            "meeting": f"meeting:{meeting.id}",
            "section": item.section,
            "publicity": item.publicity,
            "decision_mode": item.decision_mode,
        },
    )
    return item


def _snapshot(item: AgendaItem) -> dict[str, Any]:
    return {
        k: (v.isoformat() if isinstance(v, datetime) else v)
        for k in ITEM_FIELDS
        if (v := getattr(item, k)) or True
    }


async def do_update_item(
    session: AsyncSession, *, item: AgendaItem, meeting: Meeting, spec: ItemSpec, reason: str = "", actor: str
) -> AgendaItem:
    """Edit an item. After the call the previous text is kept as a version and the reason is required.

    Audit: item.updated (changed fields and the new version). Idempotent when nothing changes.
    """
    await lock_meeting(session, meeting, item)
    lifecycle.require(
        meeting.status, Operation.EDIT, translatable("A cancelled meeting's agenda cannot be changed.")
    )
    await _check_item(session, spec)
    check_length(reason, CHANGE_REASON, field="reason")
    new = dataclasses.asdict(spec)
    changed = sorted(k for k in ITEM_FIELDS if getattr(item, k) != new[k])
    if not changed:
        return item
    now = _now(session)
    if meeting.status == MeetingStatus.CALLED:
        if not reason.strip():
            raise ValidationFailed("Say why the item changes after the call was sent.", field="reason")
        session.add(
            AgendaItemVersion(
                item_id=item.id,
                version=item.version,
                snapshot=_snapshot(item),
                changed_at=now,
                changed_by=user_id_of(actor),
                reason=reason,
            )
        )
        item.version += 1
        meeting.agenda_version += 1
        meeting.updated_at = now
    for key in changed:
        setattr(item, key, new[key])
    item.updated_at = now
    if meeting.status == MeetingStatus.CALLED:
        await session.flush()
        await _still_lawful(session, meeting)
    await record(
        session,
        AuditAction.ITEM_UPDATED,
        actor=actor,
        subject=f"item:{item.id}",
        data={"changed": changed, "version": item.version, "reason": reason},
    )
    return item


async def do_remove_item(session: AsyncSession, *, item: AgendaItem, meeting: Meeting, actor: str) -> None:
    """Remove an item from a draft agenda and renumber the rest. Audit: item.removed."""
    await lock_meeting(session, meeting, item)
    lifecycle.require(
        meeting.status,
        Operation.ARRANGE_AGENDA,
        translatable("Items can be removed only until the call is sent."),
    )
    await session.delete(item)
    await session.flush()
    await _renumber(session, meeting, [i.id for i in await meeting_items(session, meeting)])
    await record(
        session,
        AuditAction.ITEM_REMOVED,
        actor=actor,
        subject=f"item:{item.id}",
        data={"meeting": f"meeting:{meeting.id}", "section": item.section},
    )


async def _renumber(session: AsyncSession, meeting: Meeting, order: list[int]) -> None:
    items = {i.id: i for i in await meeting_items(session, meeting)}
    for position, item_id in enumerate(order, start=1):
        items[item_id].position = position
        items[item_id].section = meeting.first_section + position - 1


async def do_reorder_items(session: AsyncSession, *, meeting: Meeting, order: list[int], actor: str) -> None:
    """Put the draft agenda in a new order and renumber the §§. Audit: agenda.reordered."""
    await lock_meeting(session, meeting)
    lifecycle.require(
        meeting.status,
        Operation.ARRANGE_AGENDA,
        translatable("The agenda can be reordered only until the call is sent."),
    )
    current = [i.id for i in await meeting_items(session, meeting)]
    if sorted(order) != sorted(current):
        raise ValidationFailed(
            "The new order must list every item of the agenda exactly once.", field="order"
        )
    if order == current:
        return
    await _renumber(session, meeting, order)
    await record(
        session,
        AuditAction.AGENDA_REORDERED,
        actor=actor,
        subject=f"meeting:{meeting.id}",
        data={"order": order},
    )


# ---- the call -------------------------------------------------------------------------------------


class CallRefused(ValidationFailed):
    """The call breaks one or more rules; `problems` names each with its rule id."""

    def __init__(self, problems: list[Problem], *, after_call: bool = False) -> None:
        listed = " ".join(f"{p.message} ({p.rule})" for p in problems)
        if after_call:
            super().__init__(
                translatable("The change would make the call that was sent unlawful: {problems}"),
                problems=listed,
            )
        else:
            super().__init__(translatable("The call cannot be sent: {problems}"), problems=listed)
        self.problems = problems


async def body_facts(session: AsyncSession, body: Body) -> BodyFacts:
    org = await organisation(session)
    default_days = org.default_call_period_days if org else 4
    counting = CallDayCount(org.call_day_count) if org else CallDayCount.SENDING_DAY_EXCLUDED
    return BodyFacts(
        BodyKind(body.kind),
        body.call_period_days or default_days,
        counting,
        body.electronic_meetings_allowed,
        body.decision_procedure_allowed,
    )


def meeting_facts(meeting: Meeting, items: list[AgendaItem]) -> MeetingFacts:
    return MeetingFacts(
        meeting.starts_at,
        MeetingMode(meeting.mode),
        meeting.is_public,
        tuple(
            ItemFacts(
                i.section,
                i.title,
                Publicity(i.publicity),
                i.confidentiality_basis,
                DecisionMode(i.decision_mode),
                i.deadline_at,
            )
            for i in items
        ),
    )


async def check_call(session: AsyncSession, meeting: Meeting) -> list[Problem]:
    body = await parent_row(session, Body, meeting.body_id)
    items = await meeting_items(session, meeting)
    return call_problems(await body_facts(session, body), meeting_facts(meeting, items), _now(session))


async def _still_lawful(session: AsyncSession, meeting: Meeting) -> None:
    """A change after the call must keep the call lawful, e.g. a meeting with items in the electronic
    decision procedure cannot become public (R-EDP-1) nor electronic where the rules forbid it (R-BASE-2).
    The call period is not checked again: the call went out in time."""
    body = await parent_row(session, Body, meeting.body_id)
    facts = meeting_facts(meeting, await meeting_items(session, meeting))
    sent = meeting.call_sent_at or _now(session)
    problems = after_call_problems(await body_facts(session, body), facts, sent)
    if problems:
        raise CallRefused(problems, after_call=True)


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


async def lock_meeting(session: AsyncSession, meeting: Meeting, *rows: object) -> None:
    """Lock the meeting's row and read it afresh, so that changes to one meeting run one after another:
    two of them never write the same calendar SEQUENCE or agenda version, give two items one position, nor
    mail a meeting that another just cancelled.
    `rows` (the item or attachment at hand) are read afresh after it, so the change builds on what another
    change just committed. (PostgreSQL: FOR UPDATE. SQLite ignores it; BEGIN IMMEDIATE serialises writers.)"""
    await session.flush()  # what this session changed is stored before the row is read again
    query = (
        select(Meeting)
        .where(Meeting.id == meeting.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    await session.execute(query)
    for row in rows:  # the item or attachment being changed, read afresh (and locked) after the meeting
        await session.refresh(row, with_for_update=True)


async def do_send_call(
    session: AsyncSession, *, meeting: Meeting, base_url: str, sender: str, actor: str
) -> int:
    """Send the meeting call: validate it, publish the agenda, queue e-mail with an invitation to everyone.

    Refuses with every broken rule named (CallRefused). Audit: meeting.call_sent.
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
    meeting.first_section = await _next_section(session, meeting.body_id, meeting.year)
    await _renumber(session, meeting, [i.id for i in await meeting_items(session, meeting)])
    now = _now(session)
    meeting.status, meeting.call_sent_at, meeting.agenda_version, meeting.updated_at = (
        called,
        now,
        1,
        now,
    )
    meeting.calendar_sequence += 1  # the first invitation: SEQUENCE 1
    queued = await _queue_call_mail(session, meeting, base_url, sender)
    await record(
        session,
        AuditAction.MEETING_CALL_SENT,
        actor=actor,
        subject=f"meeting:{meeting.id}",
        data={"recipients": queued, "items": len(await meeting_items(session, meeting))},
    )
    return queued


# Whom a message about the meeting's calendar event goes to, and the address it goes to.
Mailing = list[tuple[User, str]]


async def _queue_call_mail(session: AsyncSession, meeting: Meeting, base_url: str, sender: str) -> int:
    called = _at_current_address(await call_recipients(session, meeting))
    notice = await _notice(session, meeting, base_url, sender, with_items=True)
    _remember(session, meeting, {}, called)
    return _queue(session, meeting, "meeting.call", call_messages(notice, _recipients(called), sender=sender))


async def _queue_update_mail(
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
    _remember(session, meeting, sent, off, withdrawn_at=_now(session))
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
        sent_at=_now(session),
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


# ---- cancellation -------------------------------------------------------------------------------

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
    now = _now(session)
    meeting.status, meeting.cancelled_at, meeting.cancel_reason, meeting.updated_at = (
        cancelled,
        now,
        reason,
        now,
    )
    queued, withdrawn = (
        await _queue_cancel_mail(session, meeting, reason, base_url, sender) if called else (0, 0)
    )
    await record(
        session,
        AuditAction.MEETING_CANCELLED,
        actor=actor,
        subject=f"meeting:{meeting.id}",
        data={"call_sent": called, "reason": reason, "recipients": queued, "withdrawn": withdrawn},
    )
    return queued


async def _queue_cancel_mail(
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


# ---- disqualification --------------------------------------------------------------------------


async def do_declare_disqualification(
    session: AsyncSession, *, item: AgendaItem, user_id: int, ground: str, explanation: str, actor: str
) -> Disqualification:
    """A member declares in advance that they are disqualified for an item (R-DISQ-5, R-DISQ-2 grounds).

    Audit: disqualification.declared. Declaring again replaces the earlier declaration. Refused for an
    item of a cancelled meeting (InvalidTransition): it will not be handled.
    """
    await _require_declarable(
        session,
        item,
        translatable("The meeting has been cancelled: a disqualification can no longer be declared."),
    )
    chosen = _choice(DisqualificationGround, ground, "ground")
    check_length(explanation, EXPLANATION, field="explanation")
    if chosen == DisqualificationGround.OTHER and not explanation.strip():
        raise ValidationFailed("Explain the ground when it is 'other'.", field="explanation")
    now = _now(session)
    for earlier in await _declarations(session, item.id, user_id):
        earlier.withdrawn_at = now
    declaration = Disqualification(
        item_id=item.id, user_id=user_id, ground=chosen, explanation=explanation.strip(), declared_at=now
    )
    session.add(declaration)
    await session.flush()
    await record(
        session,
        AuditAction.DISQUALIFICATION_DECLARED,
        actor=actor,
        subject=f"item:{item.id}",
        data={"user": f"user:{user_id}", "ground": str(chosen)},
    )
    return declaration


async def _require_declarable(session: AsyncSession, item: AgendaItem, refusal: str) -> None:
    """A cancelled meeting's items will not be handled: no disqualification is declared or withdrawn. The
    meeting is locked and read afresh, so a cancellation committed meanwhile is seen."""
    meeting = await parent_row(session, Meeting, item.meeting_id)
    await lock_meeting(session, meeting)
    lifecycle.require(meeting.status, Operation.DECLARE, refusal)


async def _declarations(session: AsyncSession, item_id: int, user_id: int) -> list[Disqualification]:
    query = select(Disqualification).where(
        Disqualification.item_id == item_id,
        Disqualification.user_id == user_id,
        Disqualification.withdrawn_at.is_(None),
    )
    return list((await session.execute(query)).scalars().all())


async def do_withdraw_disqualification(
    session: AsyncSession, *, item: AgendaItem, user_id: int, actor: str
) -> None:
    """Withdraw one's declaration. Audit: disqualification.withdrawn. Not found if there is none;
    refused for an item of a cancelled meeting (InvalidTransition), whose declarations stay as they were.
    """
    await _require_declarable(
        session,
        item,
        translatable("The meeting has been cancelled: a disqualification can no longer be withdrawn."),
    )
    declarations = await _declarations(session, item.id, user_id)
    if not declarations:
        raise NotFound("You have not declared a disqualification for this item.")
    for declaration in declarations:
        declaration.withdrawn_at = _now(session)
    await record(
        session,
        AuditAction.DISQUALIFICATION_WITHDRAWN,
        actor=actor,
        subject=f"item:{item.id}",
        data={"user": f"user:{user_id}"},
    )
