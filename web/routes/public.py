"""Pages anyone may read: bodies, their meetings and members, agendas and an Atom feed per body.

What a page shows comes from meetings.queries, which already withholds what its viewer may not see
(R-CALL-7, R-PUB-2, R-PUB-3, R-PUB-7); the member's meeting view adds the disqualification forms (R-DISQ-5).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from urllib.parse import urlsplit

from litestar import MediaType, Request, Response, Router, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect
from sqlalchemy.ext.asyncio import AsyncSession

from auth.queries import Principal
from core.clock import LOCAL, rfc3339
from core.errors import Forbidden, NotFound, ValidationFailed
from core.text import translatable
from meetings import lifecycle, search
from meetings.access import (
    PUBLIC,
    Capability,
    Viewer,
    access_item,
    access_meeting,
    access_meeting_and_body,
    parent_row,
)
from meetings.actions.agenda import ITEM_FIELDS
from meetings.actions.disqualifications import do_declare_disqualification, do_withdraw_disqualification
from meetings.lifecycle import Operation
from meetings.models import (
    AgendaItem,
    AgendaItemVersion,
    Body,
    DisqualificationGround,
    Meeting,
    MeetingStatus,
    MemberRole,
)
from meetings.queries import (
    AgendaView,
    BodyView,
    ItemView,
    MemberView,
    agenda,
    bodies,
    body_meetings,
    body_members,
    body_view,
    item_versions,
    item_view,
    upcoming_for,
)
from web import i18n
from web.cache import agenda_key
from web.guards import principal_of, signed_in
from web.openapi import download
from web.pages import cacheable, language_of, render, rendered
from web.security import BOUNDED_READS, app_context

Req = Request[Any, Any, Any]
ATOM = "http://www.w3.org/2005/Atom"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
FEED_SIZE = 50
WHEN = translatable("{date} at {time}")
CONFIDENTIAL = translatable("Confidential matter")
CLOSED = translatable("The meeting is closed: its agenda is not published.")
CANCELLED = translatable("Cancelled")
FEED_TITLE = translatable("{body}: meetings")
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
GROUNDS = frozenset(DisqualificationGround)
TEXT_FIELDS = ("title", "preparer", "description", "proposal", "public_summary", "confidentiality_basis")


@dataclass(frozen=True, slots=True)
class Times:
    """Europe/Helsinki times written the Finnish way in every language: 4.12.2026 klo 16.00."""

    translate: i18n.Translate

    @staticmethod
    def day(moment: datetime) -> str:
        local = moment.astimezone(LOCAL)
        return f"{local.day}.{local.month}.{local.year}"

    @staticmethod
    def calendar(day: date) -> str:
        """A date without a time, the Finnish way: 1.6.2025."""
        return f"{day.day}.{day.month}.{day.year}"

    @staticmethod
    def clock(moment: datetime) -> str:
        local = moment.astimezone(LOCAL)
        return f"{local.hour}.{local.minute:02d}"

    def when(self, moment: datetime) -> str:
        return self.translate(WHEN).format(date=self.day(moment), time=self.clock(moment))

    @staticmethod
    def weekday(moment: datetime) -> int:
        return moment.astimezone(LOCAL).weekday()

    @staticmethod
    def iso(moment: datetime) -> str:
        return moment.astimezone(LOCAL).isoformat(timespec="minutes")

    @staticmethod
    def field(moment: datetime | None) -> str:
        """A time as a form shows it for editing: 4.12.2026 16.00 (read back by meeting_pages.parse_local)."""
        return f"{Times.day(moment)} {Times.clock(moment)}" if moment else ""


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
        changes=await item_changes(session, viewer, view) if insider else {},
        **extra,
    )


@get("/bodies", media_type=MediaType.HTML)
async def bodies_page(
    request: Req, session: NamedDependency[AsyncSession], viewer: NamedDependency[Viewer]
) -> Response[str]:
    listed = [body_view(viewer, b) for b in await bodies(session, include_inactive=viewer.is_admin)]
    language = language_of(request)
    named = [(b, body_name(b, language)) for b in listed]
    return render(request, "bodies.html", page_context(request, bodies=named))


@get("/bodies/{slug:str}", media_type=MediaType.HTML)
async def body_page(
    request: Req, session: NamedDependency[AsyncSession], viewer: NamedDependency[Viewer], slug: FromPath[str]
) -> Response[str]:
    body = await body_by_slug(session, viewer, slug)
    return render(request, "body.html", await body_context(request, session, viewer, body))


def _navigation(request: Req) -> frozenset[tuple[str, str]] | None:
    """What the page's header depends on: signed in or not, and the organisation-wide roles (audit link)."""
    principal = request.scope.get("user")
    return principal.roles if isinstance(principal, Principal) else None


@get("/meetings/{meeting_id:int}", media_type=MediaType.HTML)
async def meeting_page(
    request: Req,
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    meeting_id: FromPath[int],
    done: FromQuery[str] = "",
    item: FromQuery[int] = 0,
) -> Response[Any]:
    """The public agenda for the public; the member's meeting view for the body (R-PUB-2, R-PUB-7).
    `done` names a notice; with `item` it is shown at that item, where the browser scrolls to.

    Renderings are cached by everything they show: anonymous readers share one per agenda version and
    language; a member's view also follows their roles and the body's declarations. The CSRF token is
    filled in per request. A draft is not cached: its agenda version stays 0 while it is built, and only
    its chair and secretary read it.
    """
    meeting, body = await access_meeting_and_body(session, viewer, meeting_id)
    if done or meeting.status == MeetingStatus.DRAFT:  # a one-off notice, or a draft: not worth caching
        return render(
            request,
            "meeting.html",
            await meeting_context(request, session, viewer, meeting, done=done, notice_item=item),
        )
    key = (
        "meeting",
        *await agenda_key(session, viewer, meeting, body),
        language_of(request),
        _navigation(request),
    )
    cache = app_context(request).pages
    page = cache.get(key)
    if page is None:
        context = await meeting_context(request, session, viewer, meeting)
        page = cacheable(request, "meeting.html", context)
        cache[key] = page
    return rendered(request, page)


@get("/my/meetings", media_type=MediaType.HTML, guards=[signed_in])
async def my_meetings_page(
    request: Req, session: NamedDependency[AsyncSession], viewer: NamedDependency[Viewer]
) -> Response[str]:
    meetings = await upcoming_for(session, viewer, now=now_local(request))
    language = language_of(request)
    names = {b.id: body_name(b, language) for b in await bodies(session, include_inactive=True)}
    return render(request, "my_meetings.html", page_context(request, meetings=meetings, names=names))


# ---- the member's declarations (R-DISQ-5) -------------------------------------------------------


@dataclass
class DeclarationForm:
    ground: str = ""
    explanation: str = ""
    csrf_token: str = ""


async def item_in(
    session: AsyncSession, viewer: Viewer, meeting_id: int, item_id: int, *, need: Capability | None = None
) -> tuple[AgendaItem, Meeting]:
    """An item through its access function, and only under the meeting named in the address."""
    item, meeting = await access_item(session, viewer, item_id, need=need)
    if meeting.id != meeting_id:
        raise NotFound("No such agenda item.")
    return item, meeting


def _declarer(viewer: Viewer, meeting: Meeting) -> None:
    if not viewer.can(Capability.DECLARE, meeting.body_id):
        raise Forbidden("Only those who take part in handling the item declare a disqualification.")


async def declaration_page(
    request: Req,
    session: AsyncSession,
    viewer: Viewer,
    item: AgendaItem,
    meeting: Meeting,
    *,
    form: DeclarationForm | None = None,
    error: ValidationFailed | None = None,
) -> Response[str]:
    body = await parent_row(session, Body, meeting.body_id)
    context = page_context(
        request,
        meeting=meeting,
        body=body,
        name=body_name(body, language_of(request)),
        item=await item_view(session, viewer, meeting, item),
        grounds=[g.value for g in DisqualificationGround],  # HL 28 § 1 mom (R-DISQ-2)
        form=form,
        error=error,
    )
    return render(request, "declaration.html", context, status_code=422 if error else 200)


@get("/meetings/{meeting_id:int}/items/{item_id:int}/disqualification", guards=[signed_in])
async def declaration_form(
    request: Req,
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    meeting_id: FromPath[int],
    item_id: FromPath[int],
) -> Response[str]:
    """The form that declares a disqualification for one item in advance (R-DISQ-5)."""
    item, meeting = await item_in(session, viewer, meeting_id, item_id)
    _declarer(viewer, meeting)
    lifecycle.require(
        meeting.status,
        Operation.DECLARE,
        translatable("The meeting has been cancelled: a disqualification can no longer be declared."),
    )
    return await declaration_page(request, session, viewer, item, meeting)


@post("/meetings/{meeting_id:int}/items/{item_id:int}/disqualification", guards=[signed_in])
async def declare(
    request: Req,
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    meeting_id: FromPath[int],
    item_id: FromPath[int],
    data: URLEncodedBody[DeclarationForm],
) -> Response[Any]:
    item, meeting = await item_in(session, viewer, meeting_id, item_id)
    _declarer(viewer, meeting)
    principal = principal_of(request)
    try:
        async with session.begin_nested():
            if data.ground not in GROUNDS:
                raise ValidationFailed("Choose the ground of the disqualification.", field="ground")
            await do_declare_disqualification(
                session,
                item=item,
                user_id=principal.user_id,
                ground=data.ground,
                explanation=data.explanation,
                actor=principal.actor,
            )
    except ValidationFailed as exc:
        return await declaration_page(request, session, viewer, item, meeting, form=data, error=exc)
    return Redirect(
        f"/meetings/{meeting_id}?done=declared&item={item_id}#item-{item_id}-mine", status_code=303
    )


@post("/meetings/{meeting_id:int}/items/{item_id:int}/disqualification/withdraw", guards=[signed_in])
async def withdraw(
    request: Req,
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    meeting_id: FromPath[int],
    item_id: FromPath[int],
) -> Response[Any]:
    item, meeting = await item_in(session, viewer, meeting_id, item_id)
    _declarer(viewer, meeting)
    principal = principal_of(request)
    await do_withdraw_disqualification(session, item=item, user_id=principal.user_id, actor=principal.actor)
    return Redirect(
        f"/meetings/{meeting_id}?done=withdrawn&item={item_id}#item-{item_id}-mine", status_code=303
    )


# ---- the Atom feed (RFC 4287) -------------------------------------------------------------------


def _atom(parent: ET.Element, tag: str, text: str | None = None, **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attributes)
    element.text = text
    return element


def _summary(view: AgendaView, translate: i18n.Translate, times: Times) -> str:
    """An HTML fragment built as a tree, so every title is escaped; Atom escapes it once more."""
    meeting = view.meeting
    root = ET.Element("div")
    if not meeting.agenda_visible:  # a closed meeting: its time only, as on its page
        ET.SubElement(root, "p").text = times.when(meeting.starts_at)
        ET.SubElement(root, "p").text = translate(CLOSED)
        return ET.tostring(root, encoding="unicode", method="html")
    ET.SubElement(root, "p").text = f"{times.when(meeting.starts_at)}, {meeting.place}"
    listing = ET.SubElement(root, "ul")
    for item in view.items:
        ET.SubElement(listing, "li").text = f"§ {item.section} {_item_title(item, translate)}"
    return ET.tostring(root, encoding="unicode", method="html")


def _item_title(item: ItemView, translate: i18n.Translate) -> str:
    return item.title if item.title is not None else translate(CONFIDENTIAL)


@dataclass(frozen=True, slots=True)
class FeedMeeting:
    view: AgendaView
    updated: datetime


def _entry(feed: ET.Element, tag: str, base: str, name: str, item: FeedMeeting, request: Req) -> None:
    translate = translator_for(request)
    meeting = item.view.meeting
    title = f"{name} {meeting.number}/{meeting.year}"
    if meeting.status == MeetingStatus.CANCELLED:
        title = f"{title} ({translate(CANCELLED)})"
    entry = _atom(feed, "entry")
    _atom(entry, "id", f"{tag}:meeting/{meeting.id}")
    _atom(entry, "title", title)
    _atom(entry, "updated", rfc3339(item.updated))
    if meeting.call_sent_at is not None:
        _atom(entry, "published", rfc3339(meeting.call_sent_at))
    _atom(entry, "link", rel="alternate", type="text/html", href=f"{base}/meetings/{meeting.id}")
    _atom(entry, "summary", _summary(item.view, translate, Times(translate)), type="html")


def atom_feed(request: Req, body: Body, meetings: list[FeedMeeting]) -> bytes:
    base = app_context(request).settings.base_url.rstrip("/")
    language = language_of(request)
    name = body_name(body, language)
    # A tag URI (RFC 4151) stays the same when the body's short name or the service's paths change.
    tag = f"tag:{urlsplit(base).hostname},{body.created_at:%Y-%m-%d}"
    # The namespace as a plain attribute: ElementTree would otherwise prefix every element (ns0:feed).
    feed = ET.Element("feed", {"xmlns": ATOM, XML_LANG: language})
    _atom(feed, "id", f"{tag}:body/{body.id}")
    _atom(feed, "title", translator_for(request)(FEED_TITLE).format(body=name))
    _atom(feed, "updated", rfc3339(max((m.updated for m in meetings), default=body.created_at)))
    _atom(_atom(feed, "author"), "name", name)
    _atom(feed, "link", rel="self", type="application/atom+xml", href=f"{base}/bodies/{body.slug}/feed.atom")
    _atom(feed, "link", rel="alternate", type="text/html", href=f"{base}/bodies/{body.slug}")
    for meeting in meetings:
        _entry(feed, tag, base, name, meeting, request)
    document: bytes = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    return document


@get("/bodies/{slug:str}/feed.atom", opt=download("application/atom+xml"))
async def body_feed(
    request: Req, session: NamedDependency[AsyncSession], slug: FromPath[str]
) -> Response[bytes]:
    """The body's called meetings as the public sees them, whoever asks (feeds are shared and cached)."""
    body = await body_by_slug(session, PUBLIC, slug)
    found = []
    for shown in await body_meetings(session, PUBLIC, body, limit=FEED_SIZE):
        if shown.call_sent_at is not None:
            meeting = await access_meeting(session, PUBLIC, shown.id)
            updated = max(meeting.updated_at, shown.call_sent_at)
            found.append(FeedMeeting(await agenda(session, PUBLIC, meeting), updated))
    return Response(atom_feed(request, body, found), media_type="application/atom+xml; charset=utf-8")


# ---- the search over public items ----------------------------------------------------------------


@get("/search", media_type=MediaType.HTML)
async def search_page(request: Req, q: FromQuery[str] = "") -> Response[str]:
    """Public items of published agendas, found by any inflected form of the words (meetings/search.py).
    Everyone sees the same results: only public items are indexed, whoever asks."""
    query = q.strip()[: search.MAX_QUERY]
    hits: list[search.Hit] = []
    if search.words(query):
        db = app_context(request).db
        async with db.read() as session:
            changed, gone = await search.stale_meetings(session)
        if changed or gone:
            async with db.write() as session:
                await search.sync_public_search(session)
        async with db.read() as session:
            hits = await search.search_public(session, query)
    language = language_of(request)
    names = [(hit, hit.body_name_sv or hit.body_name if language == "sv" else hit.body_name) for hit in hits]
    return render(request, "search.html", page_context(request, q=query, hits=names, searched=bool(query)))


public_router = Router(
    path="/",
    opt=BOUNDED_READS,
    route_handlers=[
        search_page,
        bodies_page,
        body_page,
        body_feed,
        meeting_page,
        my_meetings_page,
        declaration_form,
        declare,
        withdraw,
    ],
)
