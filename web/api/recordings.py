"""Recordings of a meeting's public stream, one file per public item: the setting and the files, for the
chair and the secretary; and for everyone who sees the meeting, the recordings offered to the public once
its minutes are published (docs/media.md, "Recording")."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Response, Router, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from litestar.response import File
from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import rfc3339
from core.errors import NotFound
from meetings.access import Viewer, access_meeting
from meetings.models import Meeting
from web.guards import principal_of, signed_in
from web.http import Req
from web.media_bridge import bridge_of, follow
from web.openapi import download
from web.recordings import (
    MAX_NAME,
    MEDIA_TYPE,
    NO_SUCH_RECORDING,
    RecordingFile,
    count_download,
    download_url,
    listing,
    may_record,
    offered_to_public,
    public_recordings,
    public_url,
    recording_on,
    recording_path,
    set_offered_to_public,
    set_recording,
)
from web.security import BOUNDED_READS, app_context
from web.viewer import current_viewer

RecordingName = Annotated[str, msgspec.Meta(max_length=MAX_NAME)]


class RecordingIn(msgspec.Struct, forbid_unknown_fields=True):
    on: bool


class RecordingFileOut(msgspec.Struct):
    name: str
    section: int
    started: str
    size: int
    url: str


class RecordingsOut(msgspec.Struct):
    on: bool  # the meeting's public items are recorded (a setting of the meeting)
    recording: str | None  # the file being written now, if any
    files: list[RecordingFileOut]
    offered: bool  # offered to the public once the minutes are published (a setting of the meeting)
    public: list[str]  # the files the public gets now


class PublicRecordingsOut(msgspec.Struct):
    files: list[RecordingFileOut]  # what the public gets now; none before the minutes are published


def _out(f: RecordingFile, url: str) -> RecordingFileOut:
    return RecordingFileOut(f.name, f.section, rfc3339(f.started), f.size, url)


async def recordings_of(request: Req, session: AsyncSession, meeting: Meeting) -> RecordingsOut:
    bridge = bridge_of(request.app)
    now = bridge.recording(meeting.id) if bridge is not None else None
    context = app_context(request)
    files = listing(context.settings.data_dir, meeting.id)
    public = await public_recordings(session, meeting, context.settings.data_dir, context.db.clock())
    return RecordingsOut(
        on=await recording_on(session, meeting.id),
        recording=now.name if now is not None else None,
        files=[_out(f, download_url(meeting.id, f.name)) for f in files],
        offered=await offered_to_public(session, meeting.id),
        public=[f.name for f in public],
    )


@get("/meetings/{meeting_id:int}/recordings", opt=BOUNDED_READS, guards=[signed_in])
async def recordings(
    request: Req,
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    meeting_id: FromPath[int],
) -> RecordingsOut:
    """Whether the meeting's public items are recorded, and its recordings (the chair and the secretary)."""
    meeting = await access_meeting(session, viewer, meeting_id)
    may_record(viewer, meeting)
    return await recordings_of(request, session, meeting)


@post("/meetings/{meeting_id:int}/recording", status_code=200, guards=[signed_in])
async def switch_recording(
    request: Req, meeting_id: FromPath[int], data: JSONBody[RecordingIn]
) -> RecordingsOut:
    """Switch the recording of the meeting's public items on or off (the chair and the secretary of a public
    meeting, until it ends): each public item taken up then gets a file of its own, a closed item none
    (R-EMEET-6). Audit: media.recording_set; media.recording_started and media.recording_stopped follow."""
    async with app_context(request).db.write() as session:
        viewer = await current_viewer(request, session)
        meeting = await access_meeting(session, viewer, meeting_id)
        may_record(viewer, meeting)
        await set_recording(session, meeting, on=data.on, actor=principal_of(request).actor)
    await follow(request.app, meeting.id)
    async with app_context(request).db.read(bounded=True) as session:
        return await recordings_of(request, session, meeting)


@get(
    "/meetings/{meeting_id:int}/recordings/{name:str}",
    opt={**BOUNDED_READS, **download(MEDIA_TYPE)},
    guards=[signed_in],
)
async def download_recording(
    request: Req,
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    meeting_id: FromPath[int],
    name: FromPath[RecordingName],
) -> Response[Any]:
    """One recording, as a WebM file (the chair and the secretary)."""
    meeting = await access_meeting(session, viewer, meeting_id)
    may_record(viewer, meeting)
    path = recording_path(app_context(request).settings.data_dir, meeting.id, name)
    return File(
        path,
        media_type=MEDIA_TYPE,
        headers={
            "content-disposition": f'attachment; filename="meeting-{meeting.id}-{name}"',  # ASCII (NAME)
            "x-content-type-options": "nosniff",
            "cache-control": "private, no-store",
        },
    )


@post("/meetings/{meeting_id:int}/recording/public", status_code=200, guards=[signed_in])
async def offer_recordings(
    request: Req,
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    meeting_id: FromPath[int],
    data: JSONBody[RecordingIn],
) -> RecordingsOut:
    """Offer the recordings of the meeting's public items to the public once its minutes are published, or
    stop offering them (the chair and the secretary of a public meeting, at any time). Audit:
    media.recordings_public_set."""
    meeting = await access_meeting(session, viewer, meeting_id)
    may_record(viewer, meeting)
    await set_offered_to_public(session, meeting, on=data.on, actor=principal_of(request).actor)
    return await recordings_of(request, session, meeting)


@get("/public/meetings/{meeting_id:int}/recordings", opt=BOUNDED_READS)
async def public_recordings_list(
    request: Req,
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    meeting_id: FromPath[int],
) -> PublicRecordingsOut:
    """The recordings the public gets: the public items' of a public meeting whose recordings are offered,
    once its minutes are published (R-PUB-1), until their personal data comes off the network (R-PUB-4)."""
    meeting = await access_meeting(session, viewer, meeting_id)
    context = app_context(request)
    files = await public_recordings(session, meeting, context.settings.data_dir, context.db.clock())
    return PublicRecordingsOut([_out(f, public_url(meeting.id, f.name)) for f in files])


@get(
    "/public/meetings/{meeting_id:int}/recordings/{name:str}",
    opt={**BOUNDED_READS, **download(MEDIA_TYPE)},
)
async def download_public_recording(
    request: Req,
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    meeting_id: FromPath[int],
    name: FromPath[RecordingName],
) -> Response[Any]:
    """One recording the public gets, as a WebM file to play or keep; any other is not found. Counted, not
    audited one by one: media.recordings_downloaded once an hour."""
    meeting = await access_meeting(session, viewer, meeting_id)
    context = app_context(request)
    offered = await public_recordings(session, meeting, context.settings.data_dir, context.db.clock())
    if name not in {f.name for f in offered}:
        raise NotFound(NO_SUCH_RECORDING)
    path = recording_path(context.settings.data_dir, meeting.id, name)
    await count_download(context.db, meeting.id, name)
    return File(
        path,
        media_type=MEDIA_TYPE,
        headers={
            "content-disposition": f'inline; filename="meeting-{meeting.id}-{name}"',  # ASCII (NAME)
            "x-content-type-options": "nosniff",
            # The offer can end (switched off, the minutes' personal data removed, the file pruned): shared
            # caches keep a copy for five minutes at most.
            "cache-control": "public, max-age=300",
        },
    )


recordings_router = Router(
    path="/api",
    route_handlers=[
        recordings,
        switch_recording,
        download_recording,
        offer_recordings,
        public_recordings_list,
        download_public_recording,
    ],
    tags=["media"],
)
