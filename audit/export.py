"""JSON Lines export: one object per entry, the six hashed fields plus leaf and chain hashes in hex."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from audit.models import AuditCheckpoint, AuditEntry
from audit.queries import AuditFilter, filtered


async def export_lines(session: AsyncSession, criteria: AuditFilter | None = None) -> AsyncIterator[str]:
    query = filtered(select(AuditEntry), criteria or AuditFilter()).order_by(AuditEntry.seq)
    result = await session.stream_scalars(query.execution_options(yield_per=5_000))
    async for entry in result:
        # `data` is stored as canonical JSON text; embed it verbatim so the export hashes the same.
        head = json.dumps(
            {
                "seq": entry.seq,
                "ts": entry.ts,
                "actor": entry.actor,
                "action": entry.action,
                "subject": entry.subject,
            },
            ensure_ascii=False,
        )[:-1]
        yield (
            f'{head}, "data": {entry.data}, "leaf_hash": "{bytes(entry.leaf_hash).hex()}", '
            f'"chain_hash": "{bytes(entry.chain_hash).hex()}"}}\n'
        )


async def checkpoint_notes(session: AsyncSession) -> list[str]:
    rows = await session.execute(select(AuditCheckpoint.note).order_by(AuditCheckpoint.id))
    return [note for (note,) in rows]
