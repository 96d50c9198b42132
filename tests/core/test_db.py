"""SQLite: readers never wait for a writer, concurrent writers queue instead of failing, times stay aware."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, insert, select, text
from sqlalchemy.exc import OperationalError, StatementError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import Session

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


AT = datetime(2026, 1, 1, tzinfo=UTC)  # a row's value only; nothing compares it with now


async def test_pragmas_are_set(sqlite: AsyncEngine) -> None:
    async with Database(sqlite).read() as session:
        assert (await session.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
        assert (await session.execute(text("PRAGMA foreign_keys"))).scalar() == 1
        assert (await session.execute(text("PRAGMA busy_timeout"))).scalar() == 30000


async def test_reader_proceeds_while_a_writer_holds_the_lock(sqlite: AsyncEngine) -> None:
    db = Database(sqlite)
    async with db.write() as writer:
        await writer.execute(insert(counter).values(id=1, at=AT))
        async with db.read() as reader:
            assert (await reader.execute(select(counter))).all() == []  # the uncommitted row is invisible


async def test_concurrent_read_modify_write_transactions_all_succeed(sqlite: AsyncEngine) -> None:
    db = Database(sqlite)

    async def bump(n: int) -> None:
        async with db.write() as session:
            count = len((await session.execute(select(counter.c.id))).all())
            await asyncio.sleep(0.001)
            await session.execute(insert(counter).values(id=count + 1, at=AT))

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


# ---- bounded reads on the event loop's thread (decision 0006) ---------------------------------------


async def thread_of(session: AsyncSession) -> int:
    """The thread on which SQLite runs this session's statements."""

    def register(sync: Session) -> None:
        raw = sync.connection().connection.dbapi_connection
        assert raw is not None
        raw.create_function("thread_id", 0, threading.get_ident)

    await session.run_sync(register)
    return int((await session.execute(text("SELECT thread_id()"))).scalar_one())


async def test_bounded_reads_run_on_the_loops_thread_and_others_do_not(sqlite: AsyncEngine) -> None:
    db = Database(sqlite)
    async with db.read(bounded=True) as session:
        assert await thread_of(session) == threading.get_ident()
        assert (await session.execute(text("PRAGMA query_only"))).scalar() == 1
        assert (await session.execute(text("PRAGMA foreign_keys"))).scalar() == 1
    async with db.read() as session:
        assert await thread_of(session) != threading.get_ident()
    async with db.write() as session:
        assert await thread_of(session) != threading.get_ident()
    await db.dispose()


async def test_inline_reads_can_be_switched_off(sqlite: AsyncEngine) -> None:
    """KOKOUS_SQLITE_INLINE_READS=0: bounded reads use aiosqlite's thread like any other (decision 0006)."""
    db = Database(sqlite, inline_reads=False)
    async with db.read(bounded=True) as session:
        assert await thread_of(session) != threading.get_ident()
    await db.dispose()


async def test_bounded_reads_see_commits_and_not_a_writers_open_transaction(sqlite: AsyncEngine) -> None:
    db = Database(sqlite)
    async with db.write() as session:
        await session.execute(insert(counter).values(id=1, at=AT))
    async with db.write() as writer:
        await writer.execute(insert(counter).values(id=2, at=AT))
        async with db.read(bounded=True) as reader:  # does not wait for the writer's lock
            assert [r.id for r in (await reader.execute(select(counter.c.id))).all()] == [1]
    async with db.read(bounded=True) as reader:
        assert [r.id for r in (await reader.execute(select(counter.c.id).order_by(counter.c.id)))] == [1, 2]
    await db.dispose()


async def test_a_write_through_a_bounded_read_fails_at_once(sqlite: AsyncEngine) -> None:
    db = Database(sqlite)
    with pytest.raises(OperationalError, match="readonly"):
        async with db.read(bounded=True) as session:
            await session.execute(insert(counter).values(id=1, at=AT))
    async with db.read() as session:
        assert (await session.execute(select(counter))).all() == []
    await db.dispose()


async def test_many_bounded_reads_at_once_share_the_pool(sqlite: AsyncEngine) -> None:
    db = Database(sqlite)
    async with db.write() as session:
        await session.execute(insert(counter).values(id=1, at=AT))

    async def read() -> int:
        async with db.read(bounded=True) as session:
            await asyncio.sleep(0.01)  # hold the connection across an await, as a handler does
            return len((await session.execute(select(counter))).all())

    assert await asyncio.gather(*(read() for _ in range(100))) == [1] * 100
    await db.dispose()


async def test_in_memory_databases_read_through_the_one_engine() -> None:
    engine = create_engine("sqlite+aiosqlite:///:memory:")
    db = Database(engine)
    async with db.read(bounded=True) as session:
        assert await thread_of(session) != threading.get_ident()
    await db.dispose()
