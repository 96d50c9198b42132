"""The search over public items of published agendas (meetings/search.py)."""

from __future__ import annotations

from litestar import MediaType, Response, Router, get
from litestar.params import FromQuery

from meetings import search
from web.http import Req
from web.pages.context import (
    page_context,
)
from web.rendering import language_of, render
from web.security import BOUNDED_READS, app_context


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


search_router = Router(path="/", opt=BOUNDED_READS, route_handlers=[search_page])
