"""The Atom feed (RFC 4287) of each body's called meetings, as the public sees them."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from litestar import Response, Router, get
from litestar.di import NamedDependency
from litestar.params import FromPath
from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import rfc3339
from core.text import translatable
from meetings.access import (
    PUBLIC,
    access_meeting,
)
from meetings.models import (
    Body,
    MeetingStatus,
)
from meetings.queries import (
    AgendaView,
    ItemView,
    agenda,
    body_meetings,
)
from web import i18n
from web.formatting import Times
from web.http import Req
from web.openapi import download
from web.pages.context import (
    body_by_slug,
    body_name,
    translator_for,
)
from web.rendering import language_of
from web.security import BOUNDED_READS, app_context

ATOM = "http://www.w3.org/2005/Atom"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
FEED_SIZE = 50
CONFIDENTIAL = translatable("Confidential matter")
CLOSED = translatable("The meeting is closed: its agenda is not published.")
CANCELLED = translatable("Cancelled")
FEED_TITLE = translatable("{body}: meetings")


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


feeds_router = Router(path="/", opt=BOUNDED_READS, route_handlers=[body_feed])
