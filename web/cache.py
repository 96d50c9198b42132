"""A small per-process cache of rendered pages, keyed by what the page shows (decision 0005).

Keys carry the versions of everything on the page (the agenda version, the meeting's change time, the
language), so a change makes a new key instead of needing an invalidation; a short lifetime bounds what
the key cannot see (a presenter's renamed account).

A page is kept encoded, cut where each browser's CSRF token goes, so serving it is one join of bytes.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass

from cachetools import TTLCache
from sqlalchemy.ext.asyncio import AsyncSession

from meetings.access import Viewer
from meetings.models import Body, Meeting
from meetings.queries import declarations_signature


@dataclass(frozen=True, slots=True)
class CachedPage:
    parts: tuple[bytes, ...]  # the page, split at the token's slot

    @classmethod
    def of(cls, html: str, slot: str) -> CachedPage:
        return cls(tuple(part.encode() for part in html.split(slot)))

    def fill(self, token: str) -> bytes:
        return token.encode().join(self.parts) if len(self.parts) > 1 else self.parts[0]


PageCache = TTLCache[Hashable, CachedPage]


async def agenda_key(
    session: AsyncSession, viewer: Viewer, meeting: Meeting, body: Body
) -> tuple[Hashable, ...]:
    """What an agenda shows this viewer depends on: the meeting's versions and the body's names, and for the
    body's readers also who they are, their roles and the declarations (outsiders all see the same)."""
    insider = viewer.reads(meeting.body_id)
    return (
        meeting.id,
        meeting.agenda_version,
        meeting.updated_at,
        meeting.status,
        meeting.is_public,
        body.name,
        body.name_sv,
        body.slug,
        viewer.user_id if insider else None,
        viewer.roles_in(meeting.body_id),
        await declarations_signature(session, meeting.id) if insider else None,
    )


def page_cache(*, size: int = 1024, seconds: float = 60.0) -> PageCache:
    """At most `size` pages, each for at most `seconds` (least recently used go first when full)."""
    return TTLCache(maxsize=size, ttl=seconds)
