"""A small per-process cache of rendered pages, keyed by what the page shows (decision 0005).

Keys carry the versions of everything on the page (the agenda version, the meeting's change time, the
language), so a change makes a new key instead of needing an invalidation; a short lifetime bounds what
the key cannot see (a presenter's renamed account).

A page is kept encoded, cut where each browser's CSRF token goes, so serving it is one join of bytes.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass

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


class PageCache:
    def __init__(self, *, size: int = 1024, seconds: float = 60.0) -> None:
        self._pages: OrderedDict[Hashable, tuple[float, CachedPage]] = OrderedDict()
        self._size = size
        self._seconds = seconds

    def get(self, key: Hashable) -> CachedPage | None:
        found = self._pages.get(key)
        if found is None or time.monotonic() - found[0] > self._seconds:
            self._pages.pop(key, None)
            return None
        self._pages.move_to_end(key)
        return found[1]

    def put(self, key: Hashable, page: CachedPage) -> None:
        self._pages[key] = (time.monotonic(), page)
        self._pages.move_to_end(key)
        while len(self._pages) > self._size:
            self._pages.popitem(last=False)
