"""Reading the minutes: a record with its versions, reviews and signatures; the comparison of two versions;
the signed document read back from its JSON; the public copy as it must look now (R-PUB-1 … R-PUB-4)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import types
import typing
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import NotFound
from core.text import translatable
from meetings.models import Body, Meeting
from minutes.document import MinutesDocument
from minutes.models import MinutesRecord, MinutesReview, MinutesSignature, MinutesState, MinutesVersion
from minutes.redaction import public_copy
from minutes.workflow import removal_at

NO_VERSION = translatable("No such version.")
# States whose document a member of the body may read; the public only ever sees published minutes.
SIGNED_STATES = (MinutesState.SIGNED, MinutesState.PUBLISHED)


@dataclass(frozen=True, slots=True)
class Change:
    """One difference between two versions: where, what it said, what it says."""

    path: str
    before: str | None
    after: str | None


def _flatten(value: Any, path: str, into: dict[str, str]) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            _flatten(inner, f"{path}.{key}" if path else str(key), into)
    elif isinstance(value, list):
        for n, inner in enumerate(value):
            key = str(inner.get("section")) if isinstance(inner, dict) and "section" in inner else str(n)
            _flatten(inner, f"{path}.{key}" if path else key, into)
    else:
        into[path] = "" if value is None else str(value)


def version_changes(before: dict[str, Any], after: dict[str, Any]) -> list[Change]:
    """What changed from one version's document to the next, field by field (items by their §)."""
    old: dict[str, str] = {}
    new: dict[str, str] = {}
    _flatten(before, "", old)
    _flatten(after, "", new)
    return [
        Change(path, old.get(path), new.get(path))
        for path in sorted(old.keys() | new.keys())
        if old.get(path) != new.get(path) and path != "version"
    ]


def _load(kind: Any, value: Any) -> Any:
    """A value of the content model from its JSON (minutes.serialise.plain, read back)."""
    origin = typing.get_origin(kind)
    if origin in (types.UnionType, typing.Union):
        if value is None:
            return None
        (inner,) = [k for k in typing.get_args(kind) if k is not type(None)]
        return _load(inner, value)
    if origin is tuple:
        args = typing.get_args(kind)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_load(args[0], v) for v in value)
        return tuple(_load(a, v) for a, v in zip(args, value, strict=True))
    if isinstance(kind, type) and dataclasses.is_dataclass(kind):
        hints = typing.get_type_hints(kind)
        names = {f.name for f in dataclasses.fields(kind) if f.init}
        return kind(**{name: _load(hints[name], value[name]) for name in names if name in value})
    if isinstance(kind, type) and issubclass(kind, Enum):
        return kind(value)
    if kind is datetime:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if kind is date:
        return date.fromisoformat(str(value))
    return value


def document_from_json(content: dict[str, Any]) -> MinutesDocument:
    loaded: MinutesDocument = _load(MinutesDocument, content)
    return loaded


def signed_document_of(minutes: MinutesRecord) -> MinutesDocument | None:
    """The document exactly as the chair and the secretary signed it."""
    if minutes.signed_json is None:
        return None
    return document_from_json(json.loads(minutes.signed_json)["document"])


async def minutes_of_meeting(session: AsyncSession, meeting_id: int) -> MinutesRecord | None:
    query = select(MinutesRecord).where(MinutesRecord.meeting_id == meeting_id)
    return (await session.execute(query)).scalar_one_or_none()


async def versions_of(session: AsyncSession, minutes: MinutesRecord) -> list[MinutesVersion]:
    query = (
        select(MinutesVersion).where(MinutesVersion.minutes_id == minutes.id).order_by(MinutesVersion.number)
    )
    return list((await session.execute(query)).scalars())


async def version_of(session: AsyncSession, minutes: MinutesRecord, number: int) -> MinutesVersion | None:
    query = select(MinutesVersion).where(
        MinutesVersion.minutes_id == minutes.id, MinutesVersion.number == number
    )
    return (await session.execute(query)).scalar_one_or_none()


async def reviews_with(session: AsyncSession, minutes: MinutesRecord) -> list[MinutesReview]:
    query = select(MinutesReview).where(MinutesReview.minutes_id == minutes.id).order_by(MinutesReview.id)
    return list((await session.execute(query)).scalars())


async def signatures_of(session: AsyncSession, minutes: MinutesRecord) -> list[MinutesSignature]:
    query = (
        select(MinutesSignature)
        .where(MinutesSignature.minutes_id == minutes.id)
        .order_by(MinutesSignature.signed_at)
    )
    return list((await session.execute(query)).scalars())


async def changes_of(session: AsyncSession, minutes: MinutesRecord, number: int) -> list[Change]:
    """What version `number` changed from the one before it; a version that does not exist is not found."""
    after = await version_of(session, minutes, number)
    if after is None:
        raise NotFound(NO_VERSION)
    before = await version_of(session, minutes, number - 1)
    return version_changes(before.content if before else {}, after.content)


def is_public(minutes: MinutesRecord, now: datetime) -> bool:
    """On the public network: published, and its moment of publication has come (R-PUB-1)."""
    return minutes.state == MinutesState.PUBLISHED and minutes.publish_at <= now


def public_moment(minutes: MinutesRecord, now: datetime) -> datetime:
    """The moment the public copy is made as of: its publication, or the end of the period once it has ended
    (R-PUB-4). Stable between those moments, so a copy can be cached."""
    due = removal_at(minutes)
    if due is not None and (minutes.personal_data_removed_at is not None or now >= due):
        return max(due, minutes.personal_data_removed_at or due)
    return minutes.publish_at


def public_document(minutes: MinutesRecord, now: datetime) -> MinutesDocument | None:
    """The public copy: confidential items as a mention, partly confidential ones' public part, personal data
    gone once the period has ended (minutes.redaction)."""
    signed = signed_document_of(minutes)
    if signed is None:
        return None
    return public_copy(signed, now=public_moment(minutes, now))


@dataclass(frozen=True, slots=True)
class PublishedEntry:
    minutes_id: int
    meeting_id: int
    number: int
    year: int
    starts_at: datetime
    publish_at: datetime


async def published_for_body(session: AsyncSession, body: Body, now: datetime) -> list[PublishedEntry]:
    """The body's published minutes, newest first: its minutes feed (R-PUB-1)."""
    query = (
        select(MinutesRecord, Meeting)
        .join(Meeting, Meeting.id == MinutesRecord.meeting_id)
        .where(
            Meeting.body_id == body.id,
            MinutesRecord.state == MinutesState.PUBLISHED,
            MinutesRecord.publish_at <= now,
        )
        .order_by(Meeting.starts_at.desc())
        .limit(200)
    )
    return [
        PublishedEntry(m.id, meeting.id, meeting.number, meeting.year, meeting.starts_at, m.publish_at)
        for m, meeting in (await session.execute(query)).tuples()
    ]


def cache_key(minutes: MinutesRecord, now: datetime) -> tuple[int, str, datetime]:
    """What a rendered public copy depends on: the signed document and the moment it is made as of."""
    signed = hashlib.sha256(minutes.signed_json or b"").hexdigest()
    return (minutes.id, signed, public_moment(minutes, now))
