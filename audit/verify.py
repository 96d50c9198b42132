"""Replaying the log: leaf and chain hashes, sequence, checkpoints and the head row.

The replay is one pass over the entries in `seq` order and stops at the first fault, naming it.
The same replay serves the database and an exported JSON Lines file.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterable, Iterable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from audit.canonical import canonical_json, entry_bytes
from audit.merkle import ZERO_CHAIN, Frontier, chain_hash, leaf_hash
from audit.models import AuditCheckpoint, AuditEntry, AuditHead
from audit.notes import DASH, Checkpoint, NoteError, Verifier, key_id_for, open_note

# `kokous audit verify` exits with these: a mismatch is the verifier's configuration, never the log's fault.
EXIT_INTACT, EXIT_BROKEN, EXIT_MISMATCH = 0, 2, 3
ORIGIN, KEY, ORIGIN_AND_KEY = "origin", "key", "origin and key"


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
    # The checkpoints were signed for another origin or with another key than the verifier's: the server's
    # KOKOUS_BASE_URL, data directory or --vkey differ from this run's. `mismatch` is its kind (ORIGIN, KEY,
    # ORIGIN_AND_KEY), `mismatch_detail` says what was expected and found. Not a fault of the log.
    mismatch: str | None = None
    mismatch_detail: str = ""

    @property
    def intact(self) -> bool:
        """Verified intact: no fault, and every checkpoint checked with the configured key."""
        return self.fault is None and self.mismatch is None

    @property
    def status(self) -> str:
        """ "broken" (the log was changed), "mismatch" (the configuration differs) or "intact"."""
        if self.fault is not None:
            return "broken"
        return "mismatch" if self.mismatch else "intact"

    @property
    def exit_code(self) -> int:
        return {"broken": EXIT_BROKEN, "mismatch": EXIT_MISMATCH}.get(self.status, EXIT_INTACT)

    def summary(self) -> str:
        if self.fault:
            return f"BROKEN: {self.fault}"
        if self.mismatch:
            checked = (
                f"the hash chain of all {self.entries} entries replays intact and "
                f"{self.checkpoints} checkpoints verified"
            )
            if self.mismatch == ORIGIN:  # the configured key itself signed them: nobody else could have
                return (
                    f"CONFIGURATION MISMATCH (origin mismatch), not a broken log: {self.mismatch_detail}. "
                    f"With the checkpoints' own origin, {checked}."
                )
            return (
                f"CONFIGURATION MISMATCH ({self.mismatch} mismatch): {self.mismatch_detail}. Either this run "
                "is configured with another key than the server's, or the checkpoints were replaced: the log "
                f"is not verified against them. Without them, {checked}."
            )
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


def _signatures(note: str) -> list[tuple[str, bytes]]:
    """The (key name, key id) of each signature line of a note; unreadable lines are left out."""
    _, _, block = note.rpartition("\n\n")
    found = []
    for line in block.splitlines():
        name, _, blob = line.removeprefix(f"{DASH} ").partition(" ")
        try:
            raw = base64.b64decode(blob, validate=True)
        except ValueError:
            continue
        if line.startswith(DASH) and len(raw) > 4:
            found.append((name, raw[:4]))
    return found


def configuration_mismatch(note: str, verifier: Verifier) -> tuple[str, Verifier | None] | None:
    """Why a checkpoint that `verifier` cannot open was signed under another configuration, or None when
    it claims the verifier's own name and key (then its signature is bad: the log was tampered with).

    ORIGIN: this very key signed it, under another origin (another KOKOUS_BASE_URL): returns a verifier
    for that origin, so that the checkpoint is still checked. KEY: signed under this origin by another key
    (another data directory or --vkey). ORIGIN_AND_KEY: neither matches."""
    signatures = _signatures(note)
    if any(name == verifier.name and kid == verifier.key_id for name, kid in signatures):
        return None
    for name, kid in signatures:
        if kid == key_id_for(name, verifier.public):
            return ORIGIN, Verifier(name, verifier.public)
    if any(name == verifier.name for name, _ in signatures):
        return KEY, None
    return (ORIGIN_AND_KEY, None) if signatures else None


def _mismatch_detail(kind: str, label: str, note: str, verifier: Verifier) -> str:
    names = sorted({name for name, _ in _signatures(note)})
    ids = sorted({kid.hex() for _, kid in _signatures(note)})
    if kind == ORIGIN:
        return (
            f"the checkpoints are signed for origin {', '.join(names)}, but this run expects "
            f"{verifier.name}: set KOKOUS_BASE_URL to the server's own address"
        )
    if kind == KEY:
        return (
            f"checkpoint {label} is not validly signed by the configured key (key id "
            f"{verifier.key_id.hex()}) but by key id {', '.join(ids)}: use the server's data directory, "
            "or pass its verifier key with --vkey"
        )
    return (
        f"checkpoint {label} is not validly signed by {verifier.name} (key id {verifier.key_id.hex()}) "
        f"but by {', '.join(names)} (key id {', '.join(ids)}): check KOKOUS_BASE_URL and the data directory"
    )


def open_checkpoints(
    signed: Iterable[SignedCheckpoint], verifier: Verifier, report_into: Report
) -> list[tuple[str, Checkpoint]] | None:
    """The checkpoints `verifier` (or, on an origin mismatch, its key under the signed origin) can open.
    A checkpoint signed under another configuration is recorded as a mismatch, not as a fault."""
    opened: list[tuple[str, Checkpoint]] = []
    for item in signed:
        key = verifier
        try:
            body = open_note(item.note, verifier)
        except (NoteError, ValueError) as exc:
            found = configuration_mismatch(item.note, verifier)
            if found is None:
                report_into.fault = f"checkpoint {item.label} is not validly signed by {verifier.name}: {exc}"
                return None
            kind, renamed = found
            if report_into.mismatch is None:
                report_into.mismatch = kind
                report_into.mismatch_detail = _mismatch_detail(kind, item.label, item.note, verifier)
            if renamed is None:
                continue  # another key: nothing here can check it
            key = renamed
            try:
                body = open_note(item.note, renamed)
            except (NoteError, ValueError) as again:
                report_into.fault = (
                    f"checkpoint {item.label} is not validly signed by {renamed.name}: {again}"
                )
                return None
        try:
            checkpoint = Checkpoint.parse(body)
        except (NoteError, ValueError) as exc:
            report_into.fault = f"checkpoint {item.label} does not parse: {exc}"
            return None
        if checkpoint.origin != key.name:
            report_into.fault = (
                f"checkpoint {item.label} names origin {checkpoint.origin!r}, not {key.name!r}"
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
    done = replay.finish()
    done.mismatch, done.mismatch_detail = report.mismatch, report.mismatch_detail
    return done, replay.chain


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
