"""SQLite connections that run on the event loop's own thread, for short reads (decision 0006).

aiosqlite hands every call (BEGIN, each statement, each fetch, the cursor's close, ROLLBACK) to a thread of
its own and wakes the event loop when it is done. For the few indexed rows that a page reads, those hand-offs
cost more CPU than the reads: measured on the agenda pages, half of each request. These connections make the
same calls directly. They are opened with `PRAGMA query_only`, so they can never wait for SQLite's write lock
(which would stall the loop); in WAL mode a reader does not wait for writers either. Anything long (a scan of
the audit log, an export) keeps using the threaded engine.

The objects below offer the small part of aiosqlite's interface that SQLAlchemy's aiosqlite dialect uses,
so the dialect, its type handling and its pool stay as they are; they come in through `async_creator`.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

# A reader waits at most this long for SQLite's rare reader locks (WAL recovery after a crash), on the loop.
READ_BUSY_MS = 2000


class _RunNow:
    """Stands in for aiosqlite's job queue, which the dialect reaches into to set the isolation level."""

    def put_nowait(self, job: tuple[asyncio.Future[Any] | None, Callable[[], Any]]) -> None:
        future, function = job
        try:
            result = function()
        except Exception as exc:
            if future is not None:
                future.set_exception(exc)
            return
        if future is not None:
            future.set_result(result)


class InlineCursor:
    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    async def execute(self, sql: str, parameters: Sequence[Any] | dict[str, Any] = ()) -> InlineCursor:
        self._cursor.execute(sql, parameters)
        return self

    async def executemany(self, sql: str, parameters: Sequence[Any]) -> InlineCursor:
        self._cursor.executemany(sql, parameters)
        return self

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(self._cursor.arraysize if size is None else size)

    async def close(self) -> None:
        self._cursor.close()


class InlineConnection:
    """One sqlite3 connection, called on the thread that awaits it."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection: sqlite3.Connection | None = connection
        self._tx = _RunNow()

    @property
    def _conn(self) -> sqlite3.Connection:
        if self._connection is None:
            raise ValueError("no active connection")
        return self._connection

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    async def cursor(self) -> InlineCursor:
        return InlineCursor(self._conn.cursor())

    async def execute(self, sql: str, parameters: Sequence[Any] | dict[str, Any] = ()) -> InlineCursor:
        return InlineCursor(self._conn.execute(sql, parameters))

    async def commit(self) -> None:
        self._conn.commit()

    async def rollback(self) -> None:
        self._conn.rollback()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._conn.create_function(*args, **kwargs)

    async def close(self) -> None:
        self.stop()

    def stop(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def inline_connector(path: str) -> Callable[[], Awaitable[InlineConnection]]:
    """The `async_creator` of a read-only engine on the database file at `path`."""

    async def connect() -> InlineConnection:
        # The pool may close a connection from another thread (at shutdown), hence check_same_thread.
        connection = sqlite3.connect(path, timeout=READ_BUSY_MS / 1000, check_same_thread=False)
        connection.isolation_level = None  # our BEGIN DEFERRED is the one that runs (core.db)
        connection.execute("PRAGMA query_only=ON")
        connection.execute(f"PRAGMA busy_timeout={READ_BUSY_MS}")
        connection.execute("PRAGMA foreign_keys=ON")
        return InlineConnection(connection)

    return connect
