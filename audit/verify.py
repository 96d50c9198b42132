"""Replaying the log: leaf and chain hashes, sequence, checkpoints and the head row.

The replay is one pass over the entries in `seq` order and stops at the first fault, naming it.
The same replay serves the database and an exported JSON Lines file.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterable, Iterable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from audit.canonical import canonical_json, entry_bytes
from audit.merkle import ZERO_CHAIN, Frontier, chain_hash, leaf_hash
from audit.models import AuditCheckpoint, AuditEntry, AuditHead
from audit.notes import Checkpoint, NoteError, Verifier, open_note


@dataclass(frozen=True, slots=True)
class Row:
    seq: int
    ts: str
    actor: str
    action: str
    subject: str
    data_json: str
    leaf_hash: bytes
    chain_hash: bytes


@dataclass(frozen=True, slots=True)
class SignedCheckpoint:
    label: str
    note: str


@dataclass(slots=True)
class Report:
    entries: int = 0
    checkpoints: int = 0
    latest_checkpoint: Checkpoint | None = None
    fault: str | None = None
    bad_seq: int | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return self.fault is None

    def summary(self) -> str:
        if self.fault:
            return f"BROKEN: {self.fault}"
        latest = "none"
        if self.latest_checkpoint:
            latest = f"tree size {self.latest_checkpoint.size}, root {self.latest_checkpoint.root.hex()}"
        verified = f"{self.checkpoints} checkpoints verified"
        return f"intact: {self.entries} entries, {verified}, latest checkpoint {latest}"


class _Replay:
    def __init__(self, checkpoints: list[tuple[str, Checkpoint]]) -> None:
        self.report = Report()
        self.frontier = Frontier()
        self.chain = ZERO_CHAIN
        self.last_ts = ""
        self.pending = sorted(checkpoints, key=lambda item: item[1].size)

    def fail(self, seq: int | None, message: str) -> None:
        self.report.fault = message
        self.report.bad_seq = seq

    def feed(self, row: Row) -> bool:
        expected = self.frontier.size + 1
        if row.seq != expected:
            self.fail(
                expected, f"entry {expected} is missing: the log jumps from {expected - 1} to {row.seq}"
            )
            return False
        leaf = leaf_hash(entry_bytes(row.seq, row.ts, row.actor, row.action, row.subject, row.data_json))
        if leaf != row.leaf_hash:
            self.fail(row.seq, f"entry {row.seq} was changed: its content does not match its leaf hash")
            return False
        self.chain = chain_hash(self.chain, leaf)
        if self.chain != row.chain_hash:
            self.fail(
                row.seq,
                f"entry {row.seq} does not follow entry {row.seq - 1}: the chain is broken "
                "(entries removed, inserted or reordered)",
            )
            return False
        if row.ts < self.last_ts:
            self.fail(row.seq, f"entry {row.seq} is older than entry {row.seq - 1}: entries were reordered")
            return False
        self.last_ts = row.ts
        self.frontier.append(leaf)
        return self._check_due()

    def _check_due(self) -> bool:
        while self.pending and self.pending[0][1].size == self.frontier.size:
            label, checkpoint = self.pending.pop(0)
            if checkpoint.root != self.frontier.root():
                self.fail(
                    checkpoint.size,
                    f"checkpoint {label} (tree size {checkpoint.size}) does not match "
                    f"the log's first {checkpoint.size} entries: an entry up to "
                    f"{checkpoint.size} was changed",
                )
                return False
            self.report.checkpoints += 1
            self.report.latest_checkpoint = checkpoint
        return True

    def finish(self) -> Report:
        self.report.entries = self.frontier.size
        if self.report.fault is None and self._check_due() and self.pending:
            label, checkpoint = self.pending[0]
            self.fail(
                self.frontier.size + 1,
                f"checkpoint {label} covers {checkpoint.size} entries but the log "
                f"ends at {self.frontier.size}: entries after {self.frontier.size} were removed (truncated)",
            )
        return self.report


def open_checkpoints(
    signed: Iterable[SignedCheckpoint], verifier: Verifier, report_into: Report
) -> list[tuple[str, Checkpoint]] | None:
    opened: list[tuple[str, Checkpoint]] = []
    for item in signed:
        try:
            checkpoint = Checkpoint.parse(open_note(item.note, verifier))
        except (NoteError, ValueError) as exc:
            report_into.fault = f"checkpoint {item.label} is not validly signed by {verifier.name}: {exc}"
            return None
        if checkpoint.origin != verifier.name:
            report_into.fault = (
                f"checkpoint {item.label} names origin {checkpoint.origin!r}, not {verifier.name!r}"
            )
            return None
        opened.append((item.label, checkpoint))
    return opened


async def verify_rows(
    rows: AsyncIterable[Row], signed: Iterable[SignedCheckpoint], verifier: Verifier
) -> tuple[Report, bytes]:
    """Replay `rows`; returns the report and the final chain hash."""
    report = Report()
    checkpoints = open_checkpoints(signed, verifier, report)
    if checkpoints is None:
        return report, ZERO_CHAIN
    replay = _Replay(checkpoints)
    async for row in rows:
        if not replay.feed(row):
            break
    return replay.finish(), replay.chain


async def _database_rows(session: AsyncSession) -> AsyncIterable[Row]:
    table = AuditEntry.__table__
    columns = select(
        table.c.seq,
        table.c.ts,
        table.c.actor,
        table.c.action,
        table.c.subject,
        table.c.data,
        table.c.leaf_hash,
        table.c.chain_hash,
    ).order_by(table.c.seq)
    result = await session.stream(columns.execution_options(yield_per=20_000))
    async for partition in result.partitions():
        for r in partition:
            yield Row(r[0], r[1], r[2], r[3], r[4], r[5], bytes(r[6]), bytes(r[7]))


async def verify_database(session: AsyncSession, verifier: Verifier) -> Report:
    stored = (await session.execute(select(AuditCheckpoint).order_by(AuditCheckpoint.id))).scalars().all()
    signed = [SignedCheckpoint(f"#{c.id}", c.note) for c in stored]
    report, chain = await verify_rows(_database_rows(session), signed, verifier)
    if report.fault is None:
        head = (await session.execute(select(AuditHead))).scalar_one_or_none()
        head_seq = head.seq if head else 0
        if head_seq != report.entries or (head is not None and bytes(head.chain_hash) != chain):
            report.fault = (
                f"the log's head records {head_seq} entries but {report.entries} are present: "
                f"entries after {min(head_seq, report.entries)} were removed or added (truncated?)"
            )
            report.bad_seq = min(head_seq, report.entries) + 1
    return report


def row_from_export(line: str) -> Row:
    """One JSON Lines object of `kokous audit export`."""
    obj = json.loads(line)
    return Row(
        int(obj["seq"]),
        obj["ts"],
        obj["actor"],
        obj["action"],
        obj["subject"],
        canonical_json(obj["data"]).decode(),
        bytes.fromhex(obj["leaf_hash"]),
        bytes.fromhex(obj["chain_hash"]),
    )
