"""Recordings of a meeting's public stream, one file per public item (docs/media.md, "Recording").

The setting is per meeting: the chair or the secretary switches it on or off (`media.recording_set` in the
audit log, which is also where it is read from, so that it holds in every serving process and outlives a
restart). The files are WebM (Opus and VP8) under KOKOUS_DATA_DIR/recordings/<meeting id>/, named by the
item's § and the moment the recording started: `item-3_20261206T101500Z.webm`. A closed item is never
recorded (R-EMEET-6).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from audit.actions import record
from audit.models import AuditAction, AuditEntry, names_of
from core.errors import Conflict, Forbidden, NotFound
from core.text import translatable
from meetings.access import Capability, Viewer
from meetings.models import Meeting, MeetingStatus

FOLDER = "recordings"
SUFFIX = ".webm"
MEDIA_TYPE = "video/webm"
STAMP = "%Y%m%dT%H%M%SZ"
# Bounded: the § is at most five digits, a second recording of an item in the same second gets -2, -3 …
NAME = re.compile(r"item-(?P<section>\d{1,5})_(?P<stamp>\d{8}T\d{6}Z)(?:-(?P<again>\d{1,3}))?\.webm")
MAX_NAME = 40
# A setting can still change until the meeting ends.
SETTABLE = frozenset({MeetingStatus.DRAFT, MeetingStatus.CALLED, MeetingStatus.HELD, MeetingStatus.SUSPENDED})

NOT_PUBLIC = translatable("This meeting is not public: it has no public stream to record.")
ENDED = translatable("The meeting has ended: its recording can no longer be switched on or off.")
NO_SUCH_RECORDING = translatable("No such recording.")
NOT_RECORDER = translatable("Only the body's chair and secretary handle the meeting's recordings.")


@dataclass(frozen=True, slots=True)
class RecordingFile:
    name: str
    section: int
    started: datetime
    size: int


def may_record(viewer: Viewer, meeting: Meeting) -> None:
    """The body's chair, vice-chair and secretary (Capability.RECORD); the meeting must be visible already."""
    if not viewer.can(Capability.RECORD, meeting.body_id):
        raise Forbidden(NOT_RECORDER)


def download_url(meeting_id: int, name: str) -> str:
    return f"/api/meetings/{meeting_id}/recordings/{name}"


def folder(data_dir: Path, meeting_id: int) -> Path:
    return data_dir / FOLDER / str(meeting_id)


def new_path(data_dir: Path, meeting_id: int, section: int, now: datetime) -> Path:
    """A file name not yet used, for a recording of the item with this § starting now."""
    base = f"item-{section}_{now.astimezone(UTC).strftime(STAMP)}"
    place = folder(data_dir, meeting_id)
    path, again = place / f"{base}{SUFFIX}", 1
    while path.exists():
        again += 1
        path = place / f"{base}-{again}{SUFFIX}"
    return path


def parse(name: str) -> RecordingFile | None:
    found = NAME.fullmatch(name) if len(name) <= MAX_NAME else None
    if found is None:
        return None
    started = datetime.strptime(found["stamp"], STAMP).replace(tzinfo=UTC)
    return RecordingFile(name, int(found["section"]), started, 0)


def listing(data_dir: Path, meeting_id: int) -> list[RecordingFile]:
    """The meeting's recordings, oldest first (one being written is listed with its size so far)."""
    place = folder(data_dir, meeting_id)
    if not place.is_dir():
        return []
    found = []
    for path in place.iterdir():
        parsed = parse(path.name)
        if parsed is not None and path.is_file():
            found.append(RecordingFile(parsed.name, parsed.section, parsed.started, path.stat().st_size))
    return sorted(found, key=lambda f: (f.started, len(f.name), f.name))  # …Z.webm before …Z-2.webm


def recording_path(data_dir: Path, meeting_id: int, name: str) -> Path:
    """The file of one of the meeting's recordings; any other name is not found."""
    path = folder(data_dir, meeting_id) / name
    if parse(name) is None or not path.is_file():
        raise NotFound(NO_SUCH_RECORDING)
    return path


async def recording_on(session: AsyncSession, meeting_id: int) -> bool:
    """Whether the meeting's public stream is to be recorded: the last `media.recording_set` entry says."""
    query = (
        select(AuditEntry.data)
        .where(
            AuditEntry.action.in_(names_of(AuditAction.MEDIA_RECORDING_SET)),
            AuditEntry.subject == f"meeting:{meeting_id}",
        )
        .order_by(AuditEntry.seq.desc())
        .limit(1)
    )
    data = (await session.execute(query)).scalar_one_or_none()
    return bool(data is not None and json.loads(data).get("on"))


async def set_recording(session: AsyncSession, meeting: Meeting, *, on: bool, actor: str) -> bool:
    """Switch the recording of a public meeting's public items on or off; returns whether it changed.
    Audit: media.recording_set (only when it changes). The hub follows once it is committed."""
    if not meeting.is_public:
        raise Conflict(NOT_PUBLIC)
    if meeting.status not in SETTABLE:
        raise Conflict(ENDED)
    if await recording_on(session, meeting.id) == on:
        return False
    await record(
        session,
        AuditAction.MEDIA_RECORDING_SET,
        actor=actor,
        subject=f"meeting:{meeting.id}",
        data={"on": on},
    )
    return True
