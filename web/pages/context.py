"""What more than one page is rendered from: the page context, a body's and a meeting's contexts,
and the lookups by address that several pages make."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import LOCAL
from core.errors import NotFound
from meetings import lifecycle
from meetings.access import (
    Capability,
    Viewer,
    access_item,
    parent_row,
)
from meetings.actions.agenda import ITEM_FIELDS
from meetings.lifecycle import Operation
from meetings.models import (
    AgendaItem,
    AgendaItemVersion,
    Body,
    Meeting,
    MemberRole,
)
from meetings.queries import (
    AgendaView,
    BodyView,
    MemberView,
    agenda,
    bodies,
    body_meetings,
    body_members,
    body_view,
    item_versions,
)
from web import i18n
from web.formatting import Times
from web.http import Req
from web.rendering import language_of
from web.security import app_context

# Seniority for listing a body's people: the chair first, the secretary and others last.
ROLE_ORDER = (
    MemberRole.CHAIR,
    MemberRole.VICE_CHAIR,
    MemberRole.MEMBER,
    MemberRole.DEPUTY,
    MemberRole.PRESENTER,
    MemberRole.SECRETARY,
    MemberRole.ATTENDEE,
)
TEXT_FIELDS = ("title", "preparer", "description", "proposal", "public_summary", "confidentiality_basis")


@dataclass(frozen=True, slots=True)
class Change:
    """One change made to an item after the call: what it replaced and why."""

    version: int
    changed_at: datetime
    reason: str
    fields: tuple[str, ...]
    earlier: dict[str, str]


def translator_for(request: Req) -> i18n.Translate:
    return i18n.translator(language_of(request))


def page_context(request: Req, **values: Any) -> dict[str, Any]:
    return {"times": Times(translator_for(request)), **values}


def body_name(body: Body | BodyView, language: str) -> str:
    return (body.name_sv or body.name) if language == "sv" else body.name


def now_local(request: Req) -> datetime:
    return app_context(request).db.clock().astimezone(LOCAL)


async def body_by_slug(session: AsyncSession, viewer: Viewer, slug: str) -> Body:
    listed = await bodies(session, include_inactive=viewer.is_admin)
    found = next((b for b in listed if b.slug == slug), None)
    if found is None:
        raise NotFound("No such body.")
    return found


def by_seniority(members: list[MemberView]) -> list[MemberView]:
    """The chair first, the secretary and others last; each role a row, as the API lists them (R-PUB-3)."""
    rank = {str(role): n for n, role in enumerate(ROLE_ORDER)}
    return sorted(members, key=lambda m: (rank.get(m.role, 99), m.name, m.membership_id))


async def body_context(
    request: Req, session: AsyncSession, viewer: Viewer, body: Body, **extra: Any
) -> dict[str, Any]:
    today = now_local(request).replace(hour=0, minute=0, second=0, microsecond=0)
    meetings = await body_meetings(session, viewer, body)
    members = await body_members(session, viewer, body, on=today.date())
    return page_context(
        request,
        body=body_view(viewer, body),
        name=body_name(body, language_of(request)),
        upcoming=[m for m in reversed(meetings) if m.starts_at >= today],
        past=[m for m in meetings if m.starts_at < today],
        members=by_seniority(members),
        member_names={m.membership_id: m.name for m in members},
        manages=viewer.can(Capability.PREPARE, body.id),
        **extra,
    )


def _comparable(key: str, value: object) -> object:
    if key == "deadline_at" and isinstance(value, str):
        return datetime.fromisoformat(value)
    return value


def changes_of(versions: list[AgendaItemVersion], item: AgendaItem) -> list[Change]:
    """Newest first: each saved version against the text that replaced it."""
    later: dict[str, object] = {k: getattr(item, k) for k in ITEM_FIELDS}
    found = []
    for version in reversed(versions):
        before = version.snapshot
        fields = tuple(
            k for k in ITEM_FIELDS if _comparable(k, before.get(k)) != _comparable(k, later.get(k))
        )
        earlier = {k: str(before.get(k) or "") for k in fields if k in TEXT_FIELDS}
        found.append(Change(version.version, version.changed_at, version.reason, fields, earlier))
        later = before
    return found


async def item_changes(session: AsyncSession, viewer: Viewer, view: AgendaView) -> dict[int, list[Change]]:
    found = {}
    for shown in view.items:
        if shown.version is not None and shown.version > 1:
            item, _ = await access_item(session, viewer, shown.id)
            found[item.id] = changes_of(await item_versions(session, item), item)
    return found


async def meeting_context(
    request: Req, session: AsyncSession, viewer: Viewer, meeting: Meeting, **extra: Any
) -> dict[str, Any]:
    view = await agenda(session, viewer, meeting)
    body = await parent_row(session, Body, meeting.body_id)
    insider = viewer.reads(meeting.body_id)
    return page_context(
        request,
        view=view,
        body=body,
        name=body_name(body, language_of(request)),
        insider=insider,
        can_declare=viewer.can(Capability.DECLARE, meeting.body_id)
        and lifecycle.permits(meeting.status, Operation.DECLARE),
        records=meeting.is_public and viewer.can(Capability.RECORD, meeting.body_id),
        changes=await item_changes(session, viewer, view) if insider else {},
        **extra,
    )


async def item_in(
    session: AsyncSession, viewer: Viewer, meeting_id: int, item_id: int, *, need: Capability | None = None
) -> tuple[AgendaItem, Meeting]:
    """An item through its access function, and only under the meeting named in the address."""
    item, meeting = await access_item(session, viewer, item_id, need=need)
    if meeting.id != meeting_id:
        raise NotFound("No such agenda item.")
    return item, meeting
