"""The front page: the public's upcoming meetings and latest agendas, or a signed-in person's own meetings
and what waits for them (web/waiting.py)."""

from __future__ import annotations

from datetime import datetime

from litestar import MediaType, Response, Router, get
from litestar.di import NamedDependency
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from auth.queries import Principal
from core.clock import LOCAL
from meetings import lifecycle
from meetings.access import Viewer
from meetings.models import Body, Meeting, MeetingStatus
from meetings.queries import MeetingView, bodies, meeting_view, upcoming_for
from web.http import Req
from web.pages.context import body_name, page_context
from web.rendering import language_of, render
from web.security import (
    BOUNDED_READS,
    app_context,
)
from web.waiting import waiting_for


async def front_page_meetings(
    session: AsyncSession, viewer: Viewer, now: datetime
) -> tuple[list[MeetingView], list[MeetingView]]:
    """Upcoming meetings of every body (their calls sent), and the latest published public agendas."""
    today = now.astimezone(LOCAL).replace(hour=0, minute=0, second=0, microsecond=0)
    listed = (
        select(Meeting, Body)
        .join(Body, Body.id == Meeting.body_id)
        .where(Meeting.call_sent_at.is_not(None), Body.active.is_(True))
    )
    upcoming = await session.execute(
        listed.where(Meeting.starts_at >= today, Meeting.status != MeetingStatus.CANCELLED)
        .order_by(Meeting.starts_at)
        .limit(10)
    )
    agendas = await session.execute(
        listed.where(Meeting.is_public.is_(True), Meeting.status.in_(sorted(lifecycle.PUBLISHED)))
        .order_by(Meeting.call_sent_at.desc())
        .limit(5)
    )
    soon = [meeting_view(viewer, m, b) for m, b in upcoming.tuples()]
    latest = [meeting_view(viewer, m, b) for m, b in agendas.tuples()]
    return soon, latest


@get("/", media_type=MediaType.HTML)
async def home(
    request: Req, session: NamedDependency[AsyncSession], viewer: NamedDependency[Viewer]
) -> Response[str]:
    """Signed in: the person's next meetings and what waits for them. Otherwise the public front page:
    upcoming meetings of all bodies, the latest agendas and the search."""
    now = app_context(request).db.clock()
    language = language_of(request)
    names = {b.id: body_name(b, language) for b in await bodies(session, include_inactive=True)}
    if isinstance(request.scope.get("user"), Principal):
        mine = await upcoming_for(session, viewer, now=now.astimezone(LOCAL))
        waiting = await waiting_for(session, viewer, now)
        context = page_context(request, meetings=mine[:10], waiting=waiting, names=names)
        return render(request, "home.html", context)
    soon, latest = await front_page_meetings(session, viewer, now)
    return render(request, "index.html", page_context(request, upcoming=soon, latest=latest, names=names))


home_router = Router(path="/", opt=BOUNDED_READS, route_handlers=[home])
