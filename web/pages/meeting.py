"""A meeting's page: the public agenda for the public, the member's view for the body
(R-CALL-7, R-PUB-2, R-PUB-7); and the signed-in person's own upcoming meetings."""

from __future__ import annotations

from typing import Any

from litestar import MediaType, Response, Router, get
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from sqlalchemy.ext.asyncio import AsyncSession

from auth.queries import Principal
from meetings.access import (
    Viewer,
    access_meeting_and_body,
)
from meetings.models import (
    MeetingStatus,
)
from meetings.queries import (
    bodies,
    upcoming_for,
)
from web.cache import agenda_key
from web.guards import signed_in
from web.http import Req
from web.pages.context import (
    body_name,
    meeting_context,
    now_local,
    page_context,
)
from web.rendering import cacheable, language_of, render, rendered
from web.security import BOUNDED_READS, app_context


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


meeting_router = Router(path="/", opt=BOUNDED_READS, route_handlers=[meeting_page, my_meetings_page])
