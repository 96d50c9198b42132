"""Appending to the audit log and writing signed checkpoints, inside the caller's transaction."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

from audit.canonical import canonical_json, entry_bytes
from audit.merkle import ZERO_CHAIN, Frontier, chain_hash, leaf_hash
from audit.models import AuditAction, AuditCheckpoint, AuditEntry, AuditHead
from audit.notes import Checkpoint, Signer
from core.clock import rfc3339
from core.db import session_clock, session_service

HEAD_ID = 1


@dataclass(frozen=True, slots=True)
class Recorded:
    seq: int
    leaf_hash: bytes
    chain_hash: bytes


def entry_fields(
    seq: int, ts: str, actor: str, action: str, subject: str, data: dict[str, Any]
) -> dict[str, Any]:
    return {"seq": seq, "ts": ts, "actor": actor, "action": action, "subject": subject, "data": data}


HEAD_KEY = "audit_head"


async def _lock_head(session: AsyncSession) -> AuditHead:
    """The head row, locked for this transaction and kept on the session until the transaction ends.

    FOR UPDATE serialises appenders on PostgreSQL; SQLite already holds its write lock (BEGIN IMMEDIATE).
    Later appends in the same transaction reuse the locked row, and the ORM writes the entries in one
    batch and the head once, at flush.
    """
    cached: AuditHead | None = session.sync_session.info.get(HEAD_KEY)
    if cached is not None:
        return cached
    head = (
        await session.execute(select(AuditHead).where(AuditHead.id == HEAD_ID).with_for_update())
    ).scalar_one_or_none()
    if head is None:
        head = AuditHead(id=HEAD_ID, seq=0, chain_hash=ZERO_CHAIN)
        session.add(head)
    session.sync_session.info[HEAD_KEY] = head
    return head


@event.listens_for(Session, "after_transaction_end")
def _forget_head(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None or transaction.nested:
        session.info.pop(HEAD_KEY, None)


async def record(
    session: AsyncSession,
    action: AuditAction,
    *,
    actor: str,
    subject: str,
    data: dict[str, Any] | None = None,
) -> Recorded:
    """Append one entry in the caller's transaction; it commits or rolls back with the change it records."""
    head = await _lock_head(session)
    seq = head.seq + 1
    ts = rfc3339(session_clock(session)())
    data_json = canonical_json(data or {}).decode()
    leaf = leaf_hash(entry_bytes(seq, ts, actor, str(action), subject, data_json))
    chain = chain_hash(bytes(head.chain_hash), leaf)
    session.add(
        AuditEntry(
            seq=seq,
            ts=ts,
            actor=actor,
            action=str(action),
            subject=subject,
            data=data_json,
            leaf_hash=leaf,
            chain_hash=chain,
        )
    )
    head.seq, head.chain_hash = seq, chain
    return Recorded(seq, leaf, chain)


async def do_record_export(session: AsyncSession, *, criteria: dict[str, str], actor: str) -> None:
    """An auditor exported (part of) the log. Audit: audit.exported with the filters used."""
    await record(session, AuditAction.AUDIT_EXPORTED, actor=actor, subject="audit", data=criteria)


async def latest_checkpoint(session: AsyncSession) -> AuditCheckpoint | None:
    result = await session.execute(
        select(AuditCheckpoint).order_by(AuditCheckpoint.tree_size.desc(), AuditCheckpoint.id.desc()).limit(1)
    )
    return result.scalar_one_or_none()


async def write_checkpoint(
    session: AsyncSession, *, reason: str, signer: Signer | None = None
) -> AuditCheckpoint:
    """Sign the log's current Merkle root (C2SP tlog-checkpoint).

    Hashes only the leaves added since the previous checkpoint. Idempotent in effect: if nothing
    was appended since, the previous checkpoint is returned unchanged.
    """
    signer = signer or session_service(session, "audit_signer")
    size = (await _lock_head(session)).seq
    previous = await latest_checkpoint(session)
    if previous is not None and previous.tree_size == size:
        return previous
    frontier = Frontier()
    if previous is not None:
        frontier = Frontier(previous.tree_size, [bytes.fromhex(h) for h in json.loads(previous.frontier)])
    leaves = await session.stream_scalars(
        select(AuditEntry.leaf_hash).where(AuditEntry.seq > frontier.size).order_by(AuditEntry.seq)
    )
    try:
        async for leaf in leaves:
            frontier.append(bytes(leaf))
    finally:
        await leaves.close()  # a PostgreSQL server-side cursor must not outlive the read
    checkpoint = AuditCheckpoint(
        tree_size=frontier.size,
        created_at=rfc3339(session_clock(session)()),
        reason=reason,
        note=signer.sign(Checkpoint(signer.name, frontier.size, frontier.root()).body()),
        frontier=json.dumps([h.hex() for h in frontier.hashes()]),
    )
    session.add(checkpoint)
    await session.flush()
    return checkpoint


async def checkpoint_if_stale(session: AsyncSession, *, max_age_seconds: int) -> AuditCheckpoint | None:
    """The hourly job: sign a new checkpoint when entries were added and the last one is old."""
    size = (await _lock_head(session)).seq
    previous = await latest_checkpoint(session)
    if previous is not None and previous.tree_size == size:
        return None
    if previous is not None:
        age = session_clock(session)().timestamp() - _parse_ts(previous.created_at)
        if age < max_age_seconds:
            return None
    if size == 0:
        return None
    return await write_checkpoint(session, reason="hourly")


def _parse_ts(ts: str) -> float:
    return datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()
