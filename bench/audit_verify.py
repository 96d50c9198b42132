"""`audit verify` time over a large SQLite log, next to the time to merely read the same rows."""

from __future__ import annotations

import cProfile
import io
import os
import pstats
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select

from audit.actions import entry_fields, write_checkpoint
from audit.canonical import canonical_json, entry_bytes
from audit.merkle import ZERO_CHAIN, chain_hash, leaf_hash
from audit.models import AuditAction, AuditEntry
from audit.notes import Signer, Verifier
from audit.verify import Report, verify_database
from bench.report import Figure, Section, Target
from core.clock import rfc3339
from core.db import Database, create_engine
from web import migration

FULL_SIZE = 1_000_000
ENTRIES = int(os.environ.get("KOKOUS_BENCH_AUDIT_ENTRIES", str(FULL_SIZE)))
PROFILE = os.environ.get("KOKOUS_BENCH_PROFILE") == "1"
CHUNK = 50_000
CHECKPOINTS = 10
TARGET_SECONDS = 20.0
VARIANTS = 1_000
START = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
INSERT_ENTRY = (
    "INSERT INTO audit_entry (seq, ts, actor, action, subject, data, leaf_hash, chain_hash) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
UPSERT_HEAD = (
    "INSERT INTO audit_head (id, seq, chain_hash) VALUES (1, ?, ?) "
    "ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, chain_hash = excluded.chain_hash"
)
COLUMNS = select(
    AuditEntry.seq,
    AuditEntry.ts,
    AuditEntry.actor,
    AuditEntry.action,
    AuditEntry.subject,
    AuditEntry.data,
    AuditEntry.leaf_hash,
    AuditEntry.chain_hash,
).order_by(AuditEntry.seq)


def variant(n: int) -> tuple[str, dict[str, Any]]:
    """An action and its data, shaped like what the app records."""
    user = n % 500 + 1
    choices: list[tuple[str, dict[str, Any]]] = [
        (
            AuditAction.SESSION_STARTED,
            {
                "methods": ["pwd", "otp"],
                "address": f"10.0.{n % 256}.7",
                "user_agent": "Mozilla/5.0 (X11; Linux x86_64)",
                "session": f"{n:032x}",
            },
        ),
        (AuditAction.SESSION_REFRESHED, {"session": f"{n:032x}", "address": f"10.0.{n % 256}.7"}),
        (
            AuditAction.LOGIN_FAILED,
            {"username": f"user{user}", "address": "192.0.2.1", "reason": "wrong password"},
        ),
        (AuditAction.ROLE_GRANTED, {"role": "member", "scope": f"body:{n % 40}"}),
    ]
    action, data = choices[n % len(choices)]
    return str(action), data


def variants() -> list[tuple[str, str, dict[str, Any]]]:
    """Canonical data text computed once per variant; the rows then differ in seq, ts, actor and hashes."""
    out = []
    for n in range(VARIANTS):
        action, data = variant(n)
        out.append((action, canonical_json(data).decode(), data))
    return out


def rows(
    first: int, count: int, previous: bytes, kinds: list[tuple[str, str, dict[str, Any]]]
) -> Iterator[tuple[Any, ...]]:
    """Entries first..first+count-1, hashed exactly as audit.actions.record hashes them."""
    chain = previous
    for seq in range(first, first + count):
        action, data_json, _ = kinds[seq % VARIANTS]
        ts = rfc3339(START + timedelta(milliseconds=seq * 250))
        actor = f"user:{seq % 500 + 1}"
        leaf = leaf_hash(entry_bytes(seq, ts, actor, action, actor, data_json))
        chain = chain_hash(chain, leaf)
        yield (seq, ts, actor, action, actor, data_json, leaf, chain)


def check_hashing_matches_record(kinds: list[tuple[str, str, dict[str, Any]]]) -> None:
    """The fast path above must produce the bytes record() hashes (canonical_json of entry_fields)."""
    for seq in range(1, 5):
        row = next(rows(seq, 1, ZERO_CHAIN, kinds))
        fields = entry_fields(seq, row[1], row[2], row[3], row[4], kinds[seq % VARIANTS][2])
        assert leaf_hash(canonical_json(fields)) == row[6], (
            "benchmark hashing differs from audit.actions.record"
        )


def insert_chunk(
    path: Path, first: int, count: int, previous: bytes, kinds: list[tuple[str, str, dict[str, Any]]]
) -> bytes:
    """Append `count` entries and move the head, in one transaction; returns the new chain hash."""
    batch = list(rows(first, count, previous, kinds))
    chain: bytes = batch[-1][7]
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute("PRAGMA synchronous=OFF")  # setup only; the timed part is read-only
        connection.execute("BEGIN IMMEDIATE")
        connection.executemany(INSERT_ENTRY, batch)
        connection.execute(UPSERT_HEAD, (first + count - 1, chain))
        connection.execute("COMMIT")
    finally:
        connection.close()
    return chain


async def build(db: Database, path: Path, signer: Signer) -> None:
    """ENTRIES entries in chunks, with a signed checkpoint every ENTRIES / CHECKPOINTS entries."""
    kinds = variants()
    check_hashing_matches_record(kinds)
    every = max(1, ENTRIES // CHECKPOINTS)
    chain, seq = ZERO_CHAIN, 1
    while seq <= ENTRIES:
        count = min(CHUNK, ENTRIES - seq + 1, every - (seq - 1) % every)
        chain = insert_chunk(path, seq, count, chain, kinds)
        seq += count
        if (seq - 1) % every == 0 or seq > ENTRIES:
            async with db.write() as session:
                await write_checkpoint(session, reason="bench", signer=signer)
    fold_wal(path)


def fold_wal(path: Path) -> None:
    """Move the bulk load from the WAL into the database file, so every timed pass reads the same file."""
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        connection.close()


async def timed_read(db: Database) -> float:
    """The baseline: stream the columns verify reads, in the same order and partitions, and do nothing."""
    seen = 0
    start = time.perf_counter()
    async with db.read() as session:
        result = await session.stream(COLUMNS.execution_options(yield_per=20_000))
        async for partition in result.partitions():
            seen += len(partition)
    elapsed = time.perf_counter() - start
    assert seen == ENTRIES, f"read {seen} rows, expected {ENTRIES}"
    return elapsed


async def timed_verify(db: Database, verifier: Verifier) -> tuple[float, Report]:
    start = time.perf_counter()
    async with db.read() as session:
        report = await verify_database(session, verifier)
    return time.perf_counter() - start, report


async def profiled_verify(db: Database, verifier: Verifier) -> str:
    """Where verify's time goes (KOKOUS_BENCH_PROFILE=1): the top functions by own time."""
    profile = cProfile.Profile()
    profile.enable()
    await timed_verify(db, verifier)
    profile.disable()
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(15)
    return out.getvalue()


def build_section(verify_seconds: float, reads: list[float], report: Report, built: float) -> Section:
    read = sum(reads) / len(reads)
    section = Section(f"Audit verify, SQLite, {ENTRIES:,} entries")
    section.figures = [
        Figure("verify_database time", verify_seconds, "s", read, "streaming the same rows, mean of 2"),
        Figure("verify throughput", ENTRIES / verify_seconds, "entries/s", ENTRIES / read, "read rows/s"),
    ]
    projected = verify_seconds * FULL_SIZE / ENTRIES
    scaled = "" if ENTRIES == FULL_SIZE else f", projected linearly from {ENTRIES:,}"
    section.targets = [
        Target(
            f"verify 1,000,000 entries under {TARGET_SECONDS:.0f} s ({projected:.1f} s{scaled})",
            projected < TARGET_SECONDS,
        )
    ]
    if not report.intact or report.entries != ENTRIES:
        section.failures.append(f"verify did not report an intact log of {ENTRIES:,}: {report.summary()}")
    section.notes = [
        f"verify said: {report.summary()[:90]}...",
        f"reads before and after verify: {', '.join(f'{r:.2f} s' for r in reads)}",
        f"setup: log built with executemany and {CHECKPOINTS} signed checkpoints in {built:.1f} s",
    ]
    return section


async def run() -> Section:
    with tempfile.TemporaryDirectory(prefix="kokous-bench-verify-") as tmp:
        path = Path(tmp) / "bench.sqlite3"
        engine = create_engine(f"sqlite+aiosqlite:///{path}")
        signer = Signer("bench.kokous/audit", Ed25519PrivateKey.generate())
        db = Database(engine)
        try:
            await migration.upgrade(engine)
            started = time.perf_counter()
            await build(db, path, signer)
            built = time.perf_counter() - started
            reads = [await timed_read(db)]
            verify_seconds, report = await timed_verify(db, signer.verifier)
            reads.append(await timed_read(db))
            section = build_section(verify_seconds, reads, report, built)
            if PROFILE:
                section.notes.append(
                    "cProfile of verify_database:\n" + await profiled_verify(db, signer.verifier)
                )
        finally:
            await engine.dispose()
    return section
