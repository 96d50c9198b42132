"""After-commit signals: listeners hear of a committed transaction once, and never of a rolled-back one."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text

from core.db import Database, create_engine, signal


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(create_engine(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}"))
    yield database
    await database.dispose()


async def test_listeners_hear_after_the_commit(db: Database) -> None:
    heard: list[object] = []
    db.signals.subscribe("meeting.changed", heard.append)
    async with db.write() as session:
        await session.execute(text("SELECT 1"))
        signal(session, "meeting.changed", 7)
        signal(session, "other.topic", 8)
        assert heard == []
    assert heard == [7]


async def test_a_rollback_tells_nobody(db: Database) -> None:
    heard: list[object] = []
    db.signals.subscribe("mail.queued", heard.append)

    async def failing_action() -> None:
        async with db.write() as session:
            signal(session, "mail.queued")
            raise RuntimeError("the action failed")

    with pytest.raises(RuntimeError):
        await failing_action()
    async with db.write() as session:
        await session.execute(text("SELECT 1"))
    assert heard == []


async def test_a_failing_listener_does_not_silence_the_others(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    heard: list[object] = []

    def broken(_: object) -> None:
        raise ValueError("listener bug")

    db.signals.subscribe("mail.queued", broken)
    db.signals.subscribe("mail.queued", heard.append)
    async with db.write() as session:
        signal(session, "mail.queued", "x")
    assert heard == ["x"]
    assert "a listener of mail.queued failed" in caplog.text
