"""Searching the public items of published agendas, in Finnish and Swedish.

Only what the public may read is ever indexed: the PUBLIC items of meetings whose call was sent, that are
public and whose agenda is published (meetings.access.agenda_visible for an anonymous viewer). Confidential
and partly confidential items never enter the index, so no search can find them (R-PUB-2, R-PUB-7).

The index is derived data, kept per meeting under the meeting's signature (its agenda version, change time,
status and publicity, as the agenda page cache keys it, decision 0005): `sync_public_search` re-indexes the
meetings whose signature changed and drops those no longer public. It records no audit entry (it changes no
record, only a copy of what is already published).

PostgreSQL searches the stored text with its `finnish` and `swedish` text search configurations. SQLite has
no Finnish stemming, so the words are stemmed here with the Snowball stemmers (`snowballstemmer`) in both
languages and the stems go into an FTS5 table, `public_search_fts` (created by the migration; not a model).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import cache

import snowballstemmer  # type: ignore[import-untyped]
from sqlalchemy import ColumnElement, ForeignKey, String, Text, TextClause, delete, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UTCDateTime, session_clock
from meetings.lifecycle import PUBLISHED
from meetings.models import AgendaItem, Body, Meeting, Publicity

MAX_QUERY = 200  # characters of a query
MAX_WORDS = 8
WORDS = re.compile(r"\w+", re.UNICODE)
FTS_INSERT = text("INSERT INTO public_search_fts (rowid, stems) VALUES (:id, :stems)")
FTS_DELETE = text("DELETE FROM public_search_fts WHERE rowid = :id")
FTS_MATCH = text(
    "SELECT rowid FROM public_search_fts WHERE public_search_fts MATCH :q ORDER BY rank LIMIT 500"
)
PG_MATCH = text(
    "(to_tsvector('finnish', public_search_item.content)"
    " || to_tsvector('swedish', public_search_item.content))"
    " @@ (plainto_tsquery('finnish', :q) || plainto_tsquery('swedish', :q))"
)


class PublicSearchMeeting(Base):
    """A meeting whose public items are in the index, with the signature they were indexed under."""

    __tablename__ = "public_search_meeting"

    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id", ondelete="CASCADE"), primary_key=True)
    signature: Mapped[str] = mapped_column(String(100))
    indexed_at: Mapped[datetime] = mapped_column(UTCDateTime())


class PublicSearchItem(Base):
    """One public item's published text."""

    __tablename__ = "public_search_item"

    item_id: Mapped[int] = mapped_column(ForeignKey("agenda_item.id", ondelete="CASCADE"), primary_key=True)
    meeting_id: Mapped[int] = mapped_column(
        ForeignKey("public_search_meeting.meeting_id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(500))
    content: Mapped[str] = mapped_column(Text)


@dataclass(frozen=True, slots=True)
class Hit:
    item_id: int
    meeting_id: int
    section: int
    title: str
    excerpt: str
    body_name: str
    body_name_sv: str
    starts_at: datetime


@cache
def _stemmer(language: str) -> snowballstemmer.stemmer:
    return snowballstemmer.stemmer(language)


def words(content: str) -> list[str]:
    return [w.lower() for w in WORDS.findall(content)]


def stems(word: str) -> set[str]:
    """The word's Finnish and Swedish stems: `kaavan` and `kaava` both give `kaava`."""
    return {_stemmer("finnish").stemWord(word), _stemmer("swedish").stemWord(word)} - {""}


def stemmed(content: str) -> str:
    """The text as FTS5 indexes it on SQLite: each word's stems in both languages."""
    return " ".join(" ".join(sorted(stems(w))) for w in words(content))


def fts_query(query: str) -> str:
    """An FTS5 query: every word of `query` (up to MAX_WORDS), each matched by any of its stems."""
    terms = []
    for word in words(query[:MAX_QUERY])[:MAX_WORDS]:
        quoted = [f'"{s.replace(chr(34), chr(34) * 2)}"' for s in sorted(stems(word))]
        terms.append("(" + " OR ".join(quoted) + ")")
    return " AND ".join(terms)


def signature(meeting: Meeting) -> str:
    return f"{meeting.agenda_version}:{meeting.updated_at.isoformat()}:{meeting.status}:{meeting.is_public}"


def published_text(item: AgendaItem) -> str:
    return "\n\n".join(part for part in (item.title, item.description, item.proposal) if part)


async def _public_meetings(session: AsyncSession) -> dict[int, Meeting]:
    """Meetings whose agenda the public may read (meetings.access.agenda_visible without a viewer)."""
    query = select(Meeting).where(
        Meeting.call_sent_at.is_not(None),
        Meeting.is_public.is_(True),
        Meeting.status.in_(sorted(PUBLISHED)),
    )
    return {m.id: m for m in (await session.execute(query)).scalars()}


async def stale_meetings(session: AsyncSession) -> tuple[list[Meeting], list[int]]:
    """The meetings to (re)index, and the ids of those to drop from the index."""
    wanted = await _public_meetings(session)
    rows = await session.execute(select(PublicSearchMeeting.meeting_id, PublicSearchMeeting.signature))
    indexed = dict(list(rows.tuples()))  # not dict(rows): a Result has keys() and would be read as a mapping
    changed = [m for m in wanted.values() if indexed.get(m.id) != signature(m)]
    gone = [m for m in indexed if m not in wanted]
    return changed, gone


def _sqlite(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "sqlite"


async def _drop(session: AsyncSession, meeting_ids: Iterable[int]) -> None:
    ids = sorted(meeting_ids)
    if not ids:
        return
    if _sqlite(session):
        items = select(PublicSearchItem.item_id).where(PublicSearchItem.meeting_id.in_(ids))
        found = [i for (i,) in (await session.execute(items)).tuples()]
        for item_id in found:
            await session.execute(FTS_DELETE, {"id": item_id})
    await session.execute(delete(PublicSearchItem).where(PublicSearchItem.meeting_id.in_(ids)))
    await session.execute(delete(PublicSearchMeeting).where(PublicSearchMeeting.meeting_id.in_(ids)))


async def sync_public_search(session: AsyncSession) -> int:
    """Bring the index up to date with what is published; returns how many meetings were (re)indexed or
    dropped. Derived data: no audit entry. Idempotent."""
    changed, gone = await stale_meetings(session)
    await _drop(session, [*gone, *(m.id for m in changed)])
    now = session_clock(session)()
    for meeting in changed:
        session.add(PublicSearchMeeting(meeting_id=meeting.id, signature=signature(meeting), indexed_at=now))
        await session.flush()
        items = await session.execute(
            select(AgendaItem).where(
                AgendaItem.meeting_id == meeting.id, AgendaItem.publicity == Publicity.PUBLIC
            )
        )
        for item in items.scalars():
            content = published_text(item)
            session.add(
                PublicSearchItem(item_id=item.id, meeting_id=meeting.id, title=item.title, content=content)
            )
            if _sqlite(session):
                await session.execute(FTS_INSERT, {"id": item.id, "stems": stemmed(content)})
    await session.flush()
    return len(changed) + len(gone)


def _excerpt(content: str, query: str, width: int = 220) -> str:
    """Some text around the first word that shares a stem with the query."""
    wanted = {s for w in words(query) for s in stems(w)}
    flat = " ".join(content.split())
    for match in WORDS.finditer(flat):
        if stems(match.group().lower()) & wanted:
            start = max(0, match.start() - width // 3)
            cut = flat[start : start + width]
            return ("…" if start else "") + cut + ("…" if start + width < len(flat) else "")
    return flat[:width] + ("…" if len(flat) > width else "")


async def search_public(session: AsyncSession, query: str, *, limit: int = 30) -> list[Hit]:
    """Public items matching every word of `query` in any inflected form, newest meeting first."""
    query = query.strip()[:MAX_QUERY]
    if not words(query):
        return []
    if _sqlite(session):
        ids = [row[0] for row in await session.execute(FTS_MATCH, {"q": fts_query(query)})]
        condition: ColumnElement[bool] | TextClause = PublicSearchItem.item_id.in_(ids)
    else:
        condition = PG_MATCH.bindparams(q=" ".join(words(query)[:MAX_WORDS]))
    rows = await session.execute(
        select(PublicSearchItem, AgendaItem.section, Meeting.starts_at, Body.name, Body.name_sv)
        .join(AgendaItem, AgendaItem.id == PublicSearchItem.item_id)
        .join(Meeting, Meeting.id == PublicSearchItem.meeting_id)
        .join(Body, Body.id == Meeting.body_id)
        .where(
            condition,
            # Again at reading, in case the index lags a change: only what is published now.
            AgendaItem.publicity == Publicity.PUBLIC,
            Meeting.is_public.is_(True),
            Meeting.call_sent_at.is_not(None),
            Meeting.status.in_(sorted(PUBLISHED)),
        )
        .order_by(Meeting.starts_at.desc(), AgendaItem.position)
        .limit(limit)
    )
    return [
        Hit(
            item.item_id,
            item.meeting_id,
            section,
            item.title,
            _excerpt(item.content, query),
            name,
            name_sv,
            starts,
        )
        for item, section, starts, name, name_sv in rows.tuples()
    ]
