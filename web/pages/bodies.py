"""The bodies and a body's page: its meetings and its people (R-PUB-3)."""

from __future__ import annotations

from litestar import MediaType, Response, Router, get
from litestar.di import NamedDependency
from litestar.params import FromPath
from sqlalchemy.ext.asyncio import AsyncSession

from meetings.access import (
    Viewer,
)
from meetings.queries import (
    bodies,
    body_view,
)
from web.http import Req
from web.pages.context import (
    body_by_slug,
    body_context,
    body_name,
    page_context,
)
from web.rendering import language_of, render
from web.security import BOUNDED_READS


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


bodies_pages_router = Router(path="/", opt=BOUNDED_READS, route_handlers=[bodies_page, body_page])
