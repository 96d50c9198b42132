"""A page with a held meeting's sound and picture alone, for anyone who may see the meeting
(docs/media.md)."""

from __future__ import annotations

from litestar import Response, Router, get
from litestar.di import NamedDependency
from litestar.params import FromPath
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import NotFound
from meetings.access import Viewer, access_meeting_and_body
from web.http import Req
from web.media_bridge import NOT_IN_USE, bridge_of
from web.rendering import render
from web.security import BOUNDED_READS


@get("/meetings/{meeting_id:int}/media", opt=BOUNDED_READS, include_in_schema=False)
async def media_page(
    request: Req,
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    meeting_id: FromPath[int],
) -> Response[str]:
    """A page with the meeting's sound and picture alone (the live meeting's page includes the same part,
    web/templates/_media.html), for anyone who may see the meeting; joining decides the rest."""
    if bridge_of(request.app) is None:
        raise NotFound(NOT_IN_USE)
    meeting, body = await access_meeting_and_body(session, viewer, meeting_id)
    return render(request, "media.html", {"meeting": meeting, "body_name": body.name})


media_pages_router = Router(path="/", route_handlers=[media_page])
