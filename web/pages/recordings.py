"""A meeting's recordings page, for the chair and the secretary: the switch that records the public items,
one file per item (never a closed one, R-EMEET-6), the switch that offers them to the public once the minutes
are published, and the files to download; and the public's page of the recordings it gets (docs/media.md,
"Recording")."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Response, Router, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import Conflict
from meetings.access import Viewer, access_meeting_and_body
from meetings.models import Body, Meeting
from web.guards import principal_of, signed_in
from web.http import Req
from web.media_bridge import bridge_of, follow
from web.pages.context import body_name, page_context
from web.recordings import (
    SETTABLE,
    download_url,
    listing,
    may_record,
    offered_to_public,
    public_recordings,
    public_url,
    recording_on,
    set_offered_to_public,
    set_recording,
)
from web.rendering import language_of, render
from web.security import BOUNDED_READS, app_context
from web.viewer import current_viewer

NOTICES = frozenset({"on", "off", "offered", "withdrawn"})


@dataclass
class RecordingForm:
    on: str = ""  # "1" switches the recording on, anything else off
    public: str = ""  # given: "1" offers the recordings to the public, anything else stops; `on` is unused
    csrf_token: str = ""


async def _page(
    request: Req,
    session: AsyncSession,
    meeting: Meeting,
    body: Body,
    *,
    done: str = "",
    error: Conflict | None = None,
) -> Response[str]:
    bridge = bridge_of(request.app)
    now = bridge.recording(meeting.id) if bridge is not None else None
    app = app_context(request)
    files = listing(app.settings.data_dir, meeting.id)
    public = await public_recordings(session, meeting, app.settings.data_dir, app.db.clock())
    context = page_context(
        request,
        meeting=meeting,
        body=body,
        name=body_name(body, language_of(request)),
        on=await recording_on(session, meeting.id),
        settable=meeting.is_public and meeting.status in SETTABLE,
        recording_now=now.name if now is not None else None,
        files=[(f, download_url(meeting.id, f.name)) for f in files],
        offered=await offered_to_public(session, meeting.id),
        public={f.name for f in public},
        done=done if done in NOTICES else "",
        error=error,
    )
    return render(request, "recordings.html", context, status_code=409 if error else 200)


@get("/meetings/{meeting_id:int}/recordings", opt=BOUNDED_READS, guards=[signed_in], include_in_schema=False)
async def recordings_page(
    request: Req,
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    meeting_id: FromPath[int],
    done: FromQuery[str] = "",
) -> Response[str]:
    """The switch and the files, for the body's chair and secretary."""
    meeting, body = await access_meeting_and_body(session, viewer, meeting_id)
    may_record(viewer, meeting)
    return await _page(request, session, meeting, body, done=done)


@post("/meetings/{meeting_id:int}/recordings", guards=[signed_in], include_in_schema=False)
async def switch_recording_page(
    request: Req, meeting_id: FromPath[int], data: URLEncodedBody[RecordingForm]
) -> Response[Any]:
    """Switch the recording on or off (audit: media.recording_set), or, with `public`, the offer of the
    recordings to the public once the minutes are published (audit: media.recordings_public_set)."""
    offer = data.public != ""
    on = (data.public if offer else data.on) == "1"
    try:
        async with app_context(request).db.write() as session:
            viewer = await current_viewer(request, session)
            meeting, body = await access_meeting_and_body(session, viewer, meeting_id)
            may_record(viewer, meeting)
            if offer:
                await set_offered_to_public(session, meeting, on=on, actor=principal_of(request).actor)
            else:
                await set_recording(session, meeting, on=on, actor=principal_of(request).actor)
    except Conflict as error:
        async with app_context(request).db.read(bounded=True) as session:
            meeting, body = await access_meeting_and_body(
                session, await current_viewer(request, session), meeting_id
            )
            return await _page(request, session, meeting, body, error=error)
    if offer:
        done = "offered" if on else "withdrawn"
    else:
        await follow(request.app, meeting.id)
        done = "on" if on else "off"
    return Redirect(f"/meetings/{meeting_id}/recordings?done={done}", status_code=303)


@get(
    "/meetings/{meeting_id:int}/recordings/public",
    opt=BOUNDED_READS,
    include_in_schema=False,
)
async def public_recordings_page(
    request: Req,
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    meeting_id: FromPath[int],
) -> Response[str]:
    """The recordings the public gets, for everyone who sees the meeting: none before its minutes are
    published, and never a closed item's (R-PUB-1, R-EMEET-6)."""
    meeting, body = await access_meeting_and_body(session, viewer, meeting_id)
    app = app_context(request)
    files = await public_recordings(session, meeting, app.settings.data_dir, app.db.clock())
    context = page_context(
        request,
        meeting=meeting,
        body=body,
        name=body_name(body, language_of(request)),
        files=[(f, public_url(meeting.id, f.name)) for f in files],
    )
    return render(request, "public_recordings.html", context)


recordings_pages = Router(
    path="/", route_handlers=[recordings_page, switch_recording_page, public_recordings_page]
)
