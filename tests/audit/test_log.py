"""Appending, checkpoints and verification; every kind of tampering is detected and named (DESIGN.md §5)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from audit.actions import checkpoint_if_stale, record, write_checkpoint
from audit.canonical import canonical_json, entry_bytes
from audit.export import checkpoint_notes, export_lines
from audit.merkle import chain_hash, leaf_hash
from audit.models import AuditAction
from audit.notes import Checkpoint, Signer, open_note
from audit.verify import verify_database
from core.clock import FixedClock
from tests.conftest import backend
from web.cli import verify_export
from web.context import AppContext


async def append(context: AppContext, n: int, clock: FixedClock) -> None:
    async with context.db.write() as session:
        for i in range(n):
            clock.advance(seconds=1)
            await record(
                session,
                AuditAction.LOGIN_FAILED,
                actor="anonymous",
                subject=f"user:{i}",
                data={"reason": "wrong password", "address": "192.0.2.1", "n": i},
            )


async def verify(context: AppContext) -> tuple[bool, str, int | None]:
    async with context.db.read() as session:
        report = await verify_database(session, context.signer.verifier)
    return report.intact, report.summary(), report.bad_seq


@pytest.fixture
async def tamperable(context: AppContext) -> AppContext:
    """Switch off the append-only triggers, as an attacker with database access could (rolled back later)."""
    async with context.db.write() as session:
        if backend() == "sqlite":
            for trigger in (
                "audit_entry_no_update",
                "audit_entry_no_delete",
                "audit_checkpoint_no_update",
                "audit_checkpoint_no_delete",
            ):
                await session.execute(text(f"DROP TRIGGER {trigger}"))
        else:
            await session.execute(text("ALTER TABLE audit_entry DISABLE TRIGGER audit_entry_append_only"))
            await session.execute(
                text("ALTER TABLE audit_checkpoint DISABLE TRIGGER audit_checkpoint_append_only")
            )
    return context


async def unprotected(session: AsyncSession, sql: str, **params: object) -> None:
    await session.execute(text(sql), params)


async def test_entries_chain_and_hash_as_documented(context: AppContext, clock: FixedClock) -> None:
    await append(context, 3, clock)
    async with context.db.read() as session:
        rows = (await session.execute(text("SELECT * FROM audit_entry ORDER BY seq"))).mappings().all()
    previous = bytes(32)
    for row in rows:
        fields = {k: row[k] for k in ("seq", "ts", "actor", "action", "subject")} | {
            "data": json.loads(row["data"])
        }
        leaf = leaf_hash(canonical_json(fields))
        assert bytes(row["leaf_hash"]) == leaf
        previous = chain_hash(previous, leaf)
        assert bytes(row["chain_hash"]) == previous
    assert [r["seq"] for r in rows] == [1, 2, 3]


async def test_clean_log_verifies_with_checkpoints(context: AppContext, clock: FixedClock) -> None:
    await append(context, 5, clock)
    async with context.db.write() as session:
        first = await write_checkpoint(session, reason="test")
    await append(context, 4, clock)
    async with context.db.write() as session:
        second = await write_checkpoint(session, reason="test")
    intact, summary, _ = await verify(context)
    assert intact, summary
    assert "9 entries, 2 checkpoints verified" in summary
    assert (first.tree_size, second.tree_size) == (5, 9)


async def test_checkpoint_is_a_signed_note_over_the_merkle_root(
    context: AppContext, clock: FixedClock
) -> None:
    await append(context, 3, clock)
    async with context.db.write() as session:
        checkpoint = await write_checkpoint(session, reason="vote closed")
        again = await write_checkpoint(session, reason="vote closed")
    assert again.id == checkpoint.id  # nothing new: the same checkpoint
    body = Checkpoint.parse(open_note(checkpoint.note, context.signer.verifier))
    assert body.origin == "kokous.test/audit"
    assert body.size == 3


async def test_hourly_checkpoint_only_when_stale_and_grown(context: AppContext, clock: FixedClock) -> None:
    await append(context, 2, clock)
    async with context.db.write() as session:
        assert (await checkpoint_if_stale(session, max_age_seconds=3600)) is not None
    await append(context, 1, clock)
    async with context.db.write() as session:
        assert await checkpoint_if_stale(session, max_age_seconds=3600) is None  # less than an hour
    clock.advance(hours=1)
    async with context.db.write() as session:
        assert (await checkpoint_if_stale(session, max_age_seconds=3600)) is not None


@pytest.mark.parametrize("statement", ["UPDATE audit_entry SET actor = 'x'", "DELETE FROM audit_entry"])
async def test_database_refuses_to_change_entries(
    context: AppContext, clock: FixedClock, statement: str
) -> None:
    await append(context, 1, clock)
    with pytest.raises(DBAPIError, match="append-only"):
        async with context.db.write() as session:
            await session.execute(text(statement))


async def test_edited_entry_is_named(tamperable: AppContext, clock: FixedClock) -> None:
    context = tamperable
    await append(context, 6, clock)
    async with context.db.write() as session:
        await unprotected(session, "UPDATE audit_entry SET actor = 'user:99' WHERE seq = 4")
    intact, summary, bad = await verify(context)
    assert not intact
    assert bad == 4
    assert "entry 4 was changed" in summary


async def test_edited_entry_with_recomputed_hashes_is_caught_by_the_checkpoint(
    tamperable: AppContext, clock: FixedClock
) -> None:
    context = tamperable
    await append(context, 6, clock)
    async with context.db.write() as session:
        await write_checkpoint(session, reason="test")
        # A careful attacker recomputes the leaf and every later chain hash.
        rows = (await session.execute(text("SELECT * FROM audit_entry ORDER BY seq"))).mappings().all()
        previous = bytes(32)
        for row in rows:
            actor = "user:99" if row["seq"] == 2 else row["actor"]
            leaf = leaf_hash(
                entry_bytes(row["seq"], row["ts"], actor, row["action"], row["subject"], row["data"])
            )
            previous = chain_hash(previous, leaf)
            await unprotected(
                session,
                "UPDATE audit_entry SET actor = :a, leaf_hash = :l, chain_hash = :c WHERE seq = :s",
                a=actor,
                l=leaf,
                c=previous,
                s=row["seq"],
            )
        await session.execute(text("UPDATE audit_head SET chain_hash = :c"), {"c": previous})
    intact, summary, _ = await verify(context)
    assert not intact
    assert "checkpoint #" in summary
    assert "does not match" in summary


async def test_deleted_entry_is_named(tamperable: AppContext, clock: FixedClock) -> None:
    context = tamperable
    await append(context, 6, clock)
    async with context.db.write() as session:
        await unprotected(session, "DELETE FROM audit_entry WHERE seq = 3")
    intact, summary, bad = await verify(context)
    assert not intact
    assert bad == 3
    assert "entry 3 is missing" in summary


async def test_swapped_entries_are_named(tamperable: AppContext, clock: FixedClock) -> None:
    context = tamperable
    await append(context, 6, clock)
    async with context.db.write() as session:
        await unprotected(session, "UPDATE audit_entry SET seq = -1 WHERE seq = 3")
        await unprotected(session, "UPDATE audit_entry SET seq = 3 WHERE seq = 4")
        await unprotected(session, "UPDATE audit_entry SET seq = 4 WHERE seq = -1")
    intact, summary, bad = await verify(context)
    assert not intact
    assert bad == 3
    assert "entry 3" in summary


async def test_truncated_tail_is_caught_by_the_head(tamperable: AppContext, clock: FixedClock) -> None:
    context = tamperable
    await append(context, 6, clock)
    async with context.db.write() as session:
        await unprotected(session, "DELETE FROM audit_entry WHERE seq > 4")
    intact, summary, _ = await verify(context)
    assert not intact
    assert "head records 6 entries but 4 are present" in summary


async def test_truncated_tail_is_caught_by_a_checkpoint_even_if_the_head_is_rewound(
    tamperable: AppContext, clock: FixedClock
) -> None:
    context = tamperable
    await append(context, 6, clock)
    async with context.db.write() as session:
        await write_checkpoint(session, reason="test")
        await unprotected(session, "DELETE FROM audit_entry WHERE seq > 4")
        last = (await session.execute(text("SELECT chain_hash FROM audit_entry WHERE seq = 4"))).scalar_one()
        await session.execute(text("UPDATE audit_head SET seq = 4, chain_hash = :c"), {"c": last})
    intact, summary, bad = await verify(context)
    assert not intact
    assert "covers 6 entries but the log ends at 4" in summary
    assert bad == 5


async def test_checkpoint_with_bad_signature_is_refused(tamperable: AppContext, clock: FixedClock) -> None:
    context = tamperable
    await append(context, 3, clock)
    async with context.db.write() as session:
        checkpoint = await write_checkpoint(session, reason="test")
        forged = Signer(context.signer.name, Ed25519PrivateKey.generate())
        note = forged.sign(checkpoint.note.split("\n\n")[0] + "\n")
        await unprotected(
            session, "UPDATE audit_checkpoint SET note = :n WHERE id = :i", n=note, i=checkpoint.id
        )
    intact, summary, _ = await verify(context)
    assert not intact
    assert "is not validly signed" in summary


async def test_export_verifies_independently_of_the_database(
    context: AppContext, clock: FixedClock, tmp_path: Path
) -> None:
    await append(context, 5, clock)
    async with context.db.write() as session:
        await write_checkpoint(session, reason="test")
    async with context.db.read() as session:
        lines = [line async for line in export_lines(session)]
        notes = await checkpoint_notes(session)
    exported = tmp_path / "audit.jsonl"
    exported.write_text("".join(lines))
    checkpoints = tmp_path / "checkpoints.txt"
    checkpoints.write_text("\n\n".join(notes))
    first = json.loads(lines[0])
    assert set(first) == {"seq", "ts", "actor", "action", "subject", "data", "leaf_hash", "chain_hash"}
    report = await verify_export(exported, str(checkpoints), context.signer.verifier)
    assert report.intact, report.summary()
    tampered = tmp_path / "tampered.jsonl"
    tampered.write_text("".join(lines).replace('"n": 2', '"n": 20').replace('"n":2', '"n":20'))
    report = await verify_export(tampered, str(checkpoints), context.signer.verifier)
    assert not report.intact
    assert report.bad_seq == 3
