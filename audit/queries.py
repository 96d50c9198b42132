"""Reads of the audit log for the auditor's page and API."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from audit.models import CURRENT_NAME, AuditCheckpoint, AuditEntry, names_of
from core.clock import rfc3339

T = TypeVar("T", bound=tuple[Any, ...])


@dataclass(frozen=True, slots=True)
class AuditFilter:
    since: datetime | None = None
    until: datetime | None = None
    actor: str | None = None
    action: str | None = None
    subject: str | None = None


@dataclass(frozen=True, slots=True)
class EntryView:
    seq: int
    ts: str
    actor: str
    action: str
    subject: str
    data: dict[str, Any]
    leaf_hash: str
    chain_hash: str


@dataclass(frozen=True, slots=True)
class Page:
    entries: list[EntryView]
    total: int
    next_before: int | None


def filtered(query: Select[T], criteria: AuditFilter) -> Select[T]:
    if criteria.since is not None:
        query = query.where(AuditEntry.ts >= rfc3339(criteria.since))
    if criteria.until is not None:
        query = query.where(AuditEntry.ts < rfc3339(criteria.until))
    if criteria.actor:
        query = query.where(AuditEntry.actor == criteria.actor)
    if criteria.action:
        # "login" matches every login.* action; "login.failed" only itself. A renamed action's entries are
        # found by its old name and its new one alike (audit.models.FORMER_NAMES).
        if "." in criteria.action:
            query = query.where(AuditEntry.action.in_(names_of(criteria.action)))
        else:
            former = sorted(old for old, new in CURRENT_NAME.items() if new.startswith(criteria.action + "."))
            query = query.where(
                or_(
                    AuditEntry.action.startswith(criteria.action + ".", autoescape=True),
                    AuditEntry.action.in_(former),
                )
            )
    if criteria.subject:
        query = query.where(AuditEntry.subject == criteria.subject)
    return query


def _view(entry: AuditEntry) -> EntryView:
    return EntryView(
        seq=entry.seq,
        ts=entry.ts,
        actor=entry.actor,
        action=entry.action,
        subject=entry.subject,
        data=json.loads(entry.data),
        leaf_hash=bytes(entry.leaf_hash).hex(),
        chain_hash=bytes(entry.chain_hash).hex(),
    )


async def list_entries(
    session: AsyncSession, criteria: AuditFilter, *, limit: int = 50, before: int | None = None
) -> Page:
    """Newest first, keyset-paginated on seq so deep pages stay as fast as the first."""
    query = filtered(select(AuditEntry), criteria)
    if before is not None:
        query = query.where(AuditEntry.seq < before)
    rows = (await session.execute(query.order_by(AuditEntry.seq.desc()).limit(limit + 1))).scalars().all()
    total = (
        await session.execute(filtered(select(func.count()).select_from(AuditEntry), criteria))
    ).scalar_one()
    more = len(rows) > limit
    entries = [_view(e) for e in rows[:limit]]
    return Page(entries, int(total), entries[-1].seq if more and entries else None)


async def list_checkpoints(session: AsyncSession, *, limit: int = 20) -> list[AuditCheckpoint]:
    query = select(AuditCheckpoint).order_by(AuditCheckpoint.id.desc()).limit(limit)
    return list((await session.execute(query)).scalars().all())
