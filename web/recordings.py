"""Recordings of a meeting's public stream, one file per public item (docs/media.md, "Recording").

The setting is per meeting: the chair or the secretary switches it on or off (`media.recording_set` in the
audit log, which is also where it is read from, so that it holds in every serving process and outlives a
restart). The files are WebM (Opus and VP8) under KOKOUS_DATA_DIR/recordings/<meeting id>/, named by the
item's § and the moment the recording started: `item-3_20261206T101500Z.webm`. A closed item is never
recorded (R-EMEET-6).

The public gets a recording only once the meeting's minutes are on the public network, only of an item the
signed minutes hold public, and only if the chair or the secretary chose to offer the meeting's recordings
(`media.recordings_public_set`, default off); the offer ends when the minutes' personal data comes off the
network (R-PUB-4, R-PUBLIC-4) or the file is removed. The public's downloads are counted, not audited one by
one: one `media.recordings_downloaded` entry per meeting and hour says how many of each file.

Files are kept until the municipality's retention (KOKOUS_RECORDINGS_KEEP_DAYS, counted from a recording's
start; R-PUBLIC-4) ends: `prune` removes them, audited one by one, from `kokous recordings prune` and hourly
in the server when a retention is set.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from audit.actions import record
from audit.models import AuditAction, AuditEntry, names_of
from auth.ratelimit import Limiter
from auth.services import AuthServices
from core.clock import rfc3339
from core.db import Database
from core.errors import Conflict, Forbidden, NotFound
from core.text import translatable
from meetings.access import Capability, Viewer
from meetings.models import AgendaItem, Meeting, MeetingStatus, Publicity
from minutes.document import Publicity as MinutesPublicity
from minutes.queries import is_public, minutes_of_meeting, signed_document_of
from minutes.workflow import removal_at

log = logging.getLogger("kokous")

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
NOT_PUBLIC_OFFER = translatable("This meeting is not public: its recordings cannot be offered to the public.")
RETENTION_ACTOR = "system:retention"
DOWNLOADS_ACTOR = "system"
# The public's downloads are counted per meeting in windows of an hour; a window's count is written after it.
DOWNLOAD_WINDOW_SECONDS = 3600
DOWNLOADS = "recording-downloads:"
TALLY_SECONDS = 48 * 3600  # a count no flush took (every worker stopped at once) waits this long
PRUNE_EVERY = timedelta(hours=1)


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
    return await _last_setting(session, AuditAction.MEDIA_RECORDING_SET, meeting_id)


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


# ---- offered to the public ----------------------------------------------------------------------------


async def _last_setting(session: AsyncSession, action: AuditAction, meeting_id: int) -> bool:
    query = (
        select(AuditEntry.data)
        .where(AuditEntry.action.in_(names_of(action)), AuditEntry.subject == f"meeting:{meeting_id}")
        .order_by(AuditEntry.seq.desc())
        .limit(1)
    )
    data = (await session.execute(query)).scalar_one_or_none()
    return bool(data is not None and json.loads(data).get("on"))


async def offered_to_public(session: AsyncSession, meeting_id: int) -> bool:
    """Whether the chair or the secretary chose to offer the meeting's recordings to the public once its
    minutes are published: the last `media.recordings_public_set` entry says (default: not)."""
    return await _last_setting(session, AuditAction.MEDIA_RECORDINGS_PUBLIC_SET, meeting_id)


async def set_offered_to_public(session: AsyncSession, meeting: Meeting, *, on: bool, actor: str) -> bool:
    """Offer a public meeting's recordings of its public items to the public once the minutes are published
    (or stop offering them, at any time); returns whether it changed. Audit: media.recordings_public_set
    (only when it changes)."""
    if not meeting.is_public:
        raise Conflict(NOT_PUBLIC_OFFER)
    if await offered_to_public(session, meeting.id) == on:
        return False
    await record(
        session,
        AuditAction.MEDIA_RECORDINGS_PUBLIC_SET,
        actor=actor,
        subject=f"meeting:{meeting.id}",
        data={"on": on},
    )
    return True


async def public_recordings(
    session: AsyncSession, meeting: Meeting, data_dir: Path, now: datetime
) -> list[RecordingFile]:
    """The recordings the public gets now: none unless the meeting is public, its recordings are offered and
    its minutes are on the public network (R-PUB-1) and still carry their personal data (R-PUB-4); then
    those of the items that both the agenda and the signed minutes hold public (a closed or partly closed
    item never, R-EMEET-6, R-PUB-2)."""
    if not meeting.is_public or meeting.status != MeetingStatus.CLOSED:
        return []
    minutes = await minutes_of_meeting(session, meeting.id)
    if minutes is None or not is_public(minutes, now):
        return []
    removal = removal_at(minutes)
    if minutes.personal_data_removed_at is not None or (removal is not None and now >= removal):
        return []
    signed = signed_document_of(minutes)
    if signed is None or not await offered_to_public(session, meeting.id):
        return []
    in_minutes = {i.section for i in signed.items if i.confidentiality.publicity == MinutesPublicity.PUBLIC}
    query = select(AgendaItem.section).where(
        AgendaItem.meeting_id == meeting.id, AgendaItem.publicity == Publicity.PUBLIC
    )
    on_agenda = set((await session.execute(query)).scalars())
    return [f for f in listing(data_dir, meeting.id) if f.section in in_minutes & on_agenda]


def public_url(meeting_id: int, name: str) -> str:
    return f"/api/public/meetings/{meeting_id}/recordings/{name}"


# ---- the public's downloads, counted ---------------------------------------------------------------------


def _limiter(db: Database) -> Limiter:
    auth: AuthServices = db.services["auth"]
    return auth.limiter


def _window(moment: datetime) -> int:
    now = int(moment.timestamp())
    return now - now % DOWNLOAD_WINDOW_SECONDS


async def count_download(db: Database, meeting_id: int, name: str) -> None:
    """Count one public download of a recording (no database write: the count is written after the hour)."""
    key = f"{DOWNLOADS}{_window(db.clock())}:{meeting_id}"
    await _limiter(db).add(key, name, ttl=TALLY_SECONDS)


async def flush_download_counts(db: Database, *, everything: bool = False) -> int:
    """Write the public's downloads of the hours that have ended (of all of them, `everything`, at shutdown),
    one entry per meeting and hour. Any worker may run it: a count is taken by one of them only; one whose
    write fails is put back. Audit: media.recordings_downloaded (actor `system`, subject the meeting, with
    the hour and each file's count). Returns the entries written."""
    limiter = _limiter(db)
    current = _window(db.clock())
    keys = [k for k in await limiter.tallies(DOWNLOADS) if everything or _start_of(k) < current]
    taken = [(key, await limiter.take(key)) for key in keys]
    taken = [(key, counts) for key, counts in taken if counts]
    if not taken:
        return 0
    try:
        async with db.write() as session:
            for key, counts in sorted(taken):
                start = _start_of(key)
                meeting_id = int(key.rsplit(":", 1)[1])
                await record(
                    session,
                    AuditAction.MEDIA_RECORDINGS_DOWNLOADED,
                    actor=DOWNLOADS_ACTOR,
                    subject=f"meeting:{meeting_id}",
                    data={
                        "window_start": rfc3339(datetime.fromtimestamp(start, UTC)),
                        "window_end": rfc3339(datetime.fromtimestamp(start + DOWNLOAD_WINDOW_SECONDS, UTC)),
                        "downloads": dict(sorted(counts.items())),
                        "total": sum(counts.values()),
                    },
                )
    except Exception:
        for key, counts in taken:
            for name, count in counts.items():
                await limiter.add(key, name, amount=count, ttl=TALLY_SECONDS)
        raise
    return len(taken)


def _start_of(key: str) -> int:
    return int(key.removeprefix(DOWNLOADS).split(":", 1)[0])


# ---- retention -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Removed:
    meeting_id: int
    file: RecordingFile


def expired(data_dir: Path, keep: timedelta, now: datetime) -> list[tuple[int, RecordingFile]]:
    """The recordings whose retention has ended: started at least `keep` before `now`, oldest first."""
    place = data_dir / FOLDER
    if not place.is_dir():
        return []
    found = []
    for meeting_dir in place.iterdir():
        if meeting_dir.is_dir() and meeting_dir.name.isdigit() and len(meeting_dir.name) <= 18:
            meeting_id = int(meeting_dir.name)
            found += [(meeting_id, f) for f in listing(data_dir, meeting_id) if f.started + keep <= now]
    return sorted(found, key=lambda found: (found[1].started, found[0], found[1].name))


async def prune(
    db: Database, data_dir: Path, keep_days: int, *, actor: str = RETENTION_ACTOR
) -> list[Removed]:
    """Remove the recordings kept `keep_days` since their start (R-PUBLIC-4), each in a transaction of its
    own with its audit entry: a file that cannot be removed leaves no entry. A meeting still under way keeps
    its files (one may be being written). Audit: media.recording_removed (subject the meeting, with the file,
    its §, start, size and the retention). Idempotent: a removed file is not found again."""
    now = db.clock()
    removed: list[Removed] = []
    for meeting_id, found in expired(data_dir, timedelta(days=keep_days), now):
        path = folder(data_dir, meeting_id) / found.name
        try:
            async with db.write() as session:
                meeting = await session.get(Meeting, meeting_id)
                if meeting is not None and meeting.status in (MeetingStatus.HELD, MeetingStatus.SUSPENDED):
                    continue
                await record(
                    session,
                    AuditAction.MEDIA_RECORDING_REMOVED,
                    actor=actor,
                    subject=f"meeting:{meeting_id}",
                    data={
                        "file": found.name,
                        "section": found.section,
                        "started": rfc3339(found.started),
                        "bytes": found.size,
                        "keep_days": keep_days,
                    },
                )
                path.unlink()  # before the commit: a file left in place leaves no entry
        except FileNotFoundError:
            continue  # another process removed it first
        except OSError:
            log.exception("the recording %s could not be removed", path)
            continue
        removed.append(Removed(meeting_id, found))
    with contextlib.suppress(OSError):
        for meeting_dir in {data_dir / FOLDER / str(r.meeting_id) for r in removed}:
            if not any(meeting_dir.iterdir()):
                meeting_dir.rmdir()
    return removed


async def prune_when_due(
    db: Database, data_dir: Path, keep_days: int | None, last: datetime | None
) -> datetime:
    """Prune at most once an hour (a failure waits its hour too), only when a retention is set; returns when
    it last ran."""
    now = db.clock()
    if keep_days is None or (last is not None and now - last < PRUNE_EVERY):
        return last or now
    try:
        await prune(db, data_dir, keep_days)
    except Exception:
        log.exception("pruning the recordings failed")
    return now


async def recordings_loop(db: Database, data_dir: Path, keep_days: int | None, interval: float = 60) -> None:
    """The server's recordings job: the public's download counts of the hours that have ended, and, with a
    retention set, the files whose retention has ended (hourly). At shutdown, the counts of every hour."""
    pruned: datetime | None = None
    try:
        while True:
            try:
                await flush_download_counts(db)
            except Exception:
                log.exception("writing the recordings' download counts failed")
            pruned = await prune_when_due(db, data_dir, keep_days, pruned)
            await asyncio.sleep(interval)
    finally:
        with contextlib.suppress(Exception):
            await flush_download_counts(db, everything=True)
