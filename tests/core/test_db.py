"""SQLite: readers never wait for a writer, concurrent writers queue instead of failing, times stay aware."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, insert, select, text
from sqlalchemy.exc import StatementError
from sqlalchemy.ext.asyncio import AsyncEngine

from core.db import Database, UTCDateTime, create_engine

metadata = MetaData()
counter = Table("counter", metadata, Column("id", Integer, primary_key=True), Column("at", UTCDateTime()))


@pytest.fixture
async def sqlite(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}")
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    yield engine
    await engine.dispose()


async def test_pragmas_are_set(sqlite: AsyncEngine) -> None:
    async with Database(sqlite).read() as session:
        assert (await session.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
        assert (await session.execute(text("PRAGMA foreign_keys"))).scalar() == 1
        assert (await session.execute(text("PRAGMA busy_timeout"))).scalar() == 30000


async def test_reader_proceeds_while_a_writer_holds_the_lock(sqlite: AsyncEngine) -> None:
    db = Database(sqlite)
    async with db.write() as writer:
        await writer.execute(insert(counter).values(id=1, at=datetime.now(UTC)))
        async with db.read() as reader:
            assert (await reader.execute(select(counter))).all() == []  # the uncommitted row is invisible


async def test_concurrent_read_modify_write_transactions_all_succeed(sqlite: AsyncEngine) -> None:
    db = Database(sqlite)

    async def bump(n: int) -> None:
        async with db.write() as session:
            count = len((await session.execute(select(counter.c.id))).all())
            await asyncio.sleep(0.001)
            await session.execute(insert(counter).values(id=count + 1, at=datetime.now(UTC)))

    await asyncio.gather(*(bump(n) for n in range(20)))
    async with db.read() as session:
        assert [r.id for r in (await session.execute(select(counter).order_by(counter.c.id))).all()] == list(
            range(1, 21)
        )


async def test_times_come_back_timezone_aware(sqlite: AsyncEngine) -> None:
    moment = datetime(2026, 11, 28, 9, 30, tzinfo=UTC)
    db = Database(sqlite)
    async with db.write() as session:
        await session.execute(insert(counter).values(id=1, at=moment))
    async with db.read() as session:
        assert (await session.execute(select(counter.c.at))).scalar_one() == moment
    with pytest.raises(StatementError, match="naive"):
        async with db.write() as session:
            await session.execute(insert(counter).values(id=2, at=datetime(2026, 1, 1)))  # noqa: DTZ001
