"""Engine, sessions and the declarative Base; SQLite is tuned for one writer at a time."""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, MetaData, TypeDecorator, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.ext.asyncio import create_async_engine as _create_async_engine
from sqlalchemy.orm import DeclarativeBase, Session
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.util import await_only

from core.clock import Clock, system_clock
from core.errors import ValidationFailed
from core.sqlite_inline import inline_connector

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

log = logging.getLogger("kokous")

# The execution option that picks SQLite's BEGIN mode for one transaction.
BEGIN_MODE = "kokous_begin"


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC on every backend (SQLite would otherwise hand back naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _has_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list | tuple):
        return any(_has_nul(v) for v in value)
    if isinstance(value, dict):
        return any(_has_nul(v) for v in value.values())
    return False


@event.listens_for(Engine, "before_cursor_execute")
def _refuse_nul(
    _conn: Connection, _cursor: Any, _statement: str, parameters: Any, _context: Any, _many: bool
) -> None:
    """PostgreSQL stores no NUL character in text and fails the whole transaction on one (SQLite keeps it):
    text with one is refused on every backend alike, before any statement is sent, from any way in."""
    if _has_nul(parameters):
        raise ValidationFailed("Text cannot contain the NUL character.")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


# PostgreSQL's pool. In a burst of requests (a vote: every member's ballot within seconds) each holds a
# connection for a few statements; with SQLAlchemy's default of 5 kept, the others were opened and closed
# again on every burst, each a backend process started by the server. Connections are opened as needed.
POOL_SIZE = 20
MAX_OVERFLOW = 20
PING_AFTER_IDLE_SECONDS = 5.0


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    if not is_sqlite(url):
        options: dict[str, Any] = {"pool_size": POOL_SIZE, "max_overflow": MAX_OVERFLOW}
        if kwargs.get("poolclass") is None:
            kwargs = options | kwargs
        engine = _create_async_engine(url, **kwargs)
        _ping_when_idle(engine)
        return engine
    engine = _create_async_engine(url, connect_args={"timeout": 30}, **kwargs)
    _tune_sqlite(engine)
    return engine


def _ping_when_idle(engine: AsyncEngine) -> None:
    """Check a connection that lay idle before handing it out, so a restarted or failed-over server costs no
    request an error; one that was in use a moment ago is not checked. (SQLAlchemy's pre-ping checks every
    checkout, three round trips each on asyncpg: a quarter of a ballot's time in a vote storm.)"""

    @event.listens_for(engine.sync_engine, "connect")
    def _fresh(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkin")
    def _returned(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _checked_out(_dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: Any) -> None:
        if time.monotonic() - record.info.get("idle_since", 0.0) < PING_AFTER_IDLE_SECONDS:
            return
        try:
            await_only(record.driver_connection.fetchrow(";"))  # type: ignore[union-attr]
        except Exception as exc:
            raise DisconnectionError("the idle connection is gone") from exc  # the pool opens another


def _tune_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control from the driver so that our BEGIN below is the one that runs.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode survives a process crash; only a power cut may lose the last commits.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # A deferred transaction that later writes fails at once with "database is locked";
        # writers therefore take the write lock up front (DESIGN.md §1).
        mode = connection.get_execution_options().get(BEGIN_MODE, "IMMEDIATE")
        connection.exec_driver_sql(f"BEGIN {mode}")


def _bounded_reader(engine: AsyncEngine) -> AsyncEngine | None:
    """A read-only engine whose connections run on the event loop's thread (decision 0006); None for
    other databases and for in-memory SQLite (whose connections would each see a database of their own)."""
    path = engine.url.database
    if not is_sqlite(engine.url.drivername) or not path or path == ":memory:" or path.startswith("file:"):
        return None
    reader = _create_async_engine(
        engine.url,
        async_creator=inline_connector(path),
        # No thread per connection: enough of them that the request burst never waits for the pool.
        pool_size=20,
        max_overflow=60,
    )

    @event.listens_for(reader.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN DEFERRED")

    return reader


def on_commit(session: AsyncSession, callback: Callable[[], None]) -> None:
    """Run `callback` once after the session's transaction commits; dropped on rollback."""
    pending: list[Callable[[], None]] = session.sync_session.info.setdefault("after_commit", [])
    pending.append(callback)


@event.listens_for(Session, "after_commit")
def _run_after_commit(session: Session) -> None:
    for callback in session.info.pop("after_commit", []):
        callback()


@event.listens_for(Session, "after_soft_rollback")
def _drop_after_rollback(session: Session, _previous: Any) -> None:
    if not session.in_transaction():
        session.info.pop("after_commit", None)


class Signals:
    """What committed transactions tell the running process, by topic: e-mail was queued, a meeting changed.

    Domain code raises a signal with `signal()` inside its transaction; the listeners that the app subscribed
    run after the commit, never after a rollback, and one failing listener does not stop the others."""

    def __init__(self) -> None:
        self._listeners: dict[str, list[Callable[[Any], None]]] = {}

    def subscribe(self, topic: str, listener: Callable[[Any], None]) -> None:
        self._listeners.setdefault(topic, []).append(listener)

    def emit(self, topic: str, payload: Any) -> None:
        for listener in self._listeners.get(topic, ()):
            try:
                listener(payload)
            except Exception:
                log.exception("a listener of %s failed", topic)


def signal(session: AsyncSession, topic: str, payload: Any = None) -> None:
    """Tell the process's listeners of `topic` once this session's transaction has committed."""
    signals: Signals | None = session.sync_session.info.get("signals")
    if signals is not None:
        on_commit(session, functools.partial(signals.emit, topic, payload))


class Database:
    """The engine and its sessions. `write()` and `read()` each own one transaction."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        clock: Clock = system_clock,
        services: dict[str, Any] | None = None,
        bind: AsyncConnection | None = None,
        inline_reads: bool = True,
    ) -> None:
        self.engine = engine
        self.clock = clock
        # Process-wide collaborators that actions reach through their session (signing keys, limiter).
        self.services = dict(services or {})
        self.signals = Signals()
        self.url = engine.url.render_as_string(hide_password=False)
        self.sqlite = is_sqlite(self.url)
        self._bound = bind is not None
        # Tests bind to one connection with an outer transaction and roll it back afterwards.
        self._factory = async_sessionmaker(
            bind=bind or engine,
            expire_on_commit=False,
            join_transaction_mode="create_savepoint",
        )
        self._reader = _bounded_reader(engine) if bind is None and inline_reads else None
        self._bounded = (
            async_sessionmaker(bind=self._reader, expire_on_commit=False) if self._reader else self._factory
        )

    def session(self, *, write: bool = True, bounded: bool = False) -> AsyncSession:
        """`bounded`: the caller reads a few indexed rows and writes nothing, so on SQLite the session may
        run on the event loop's thread (decision 0006). A write through it fails at once."""
        session = (self._bounded if bounded and not write else self._factory)()
        session.sync_session.info["clock"] = self.clock
        session.sync_session.info["services"] = self.services
        session.sync_session.info["signals"] = self.signals
        if self.sqlite and not write and not self._bound:
            session.sync_session.info["read_only"] = True
        return session

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        async with self.session() as session, session.begin():
            yield session

    @asynccontextmanager
    async def read(self, *, bounded: bool = False) -> AsyncIterator[AsyncSession]:
        """A read transaction; `bounded` as for `session`. Scans and streams leave it False."""
        async with self.session(write=False, bounded=bounded) as session, session.begin():
            await begin_read(session)
            yield session

    async def dispose(self) -> None:
        if self._reader is not None:
            await self._reader.dispose()
        await self.engine.dispose()


async def begin_read(session: AsyncSession) -> None:
    """Open a read transaction that does not take SQLite's write lock."""
    if session.sync_session.info.get("read_only"):
        await session.connection(execution_options={BEGIN_MODE: "DEFERRED"})


def session_clock(session: AsyncSession) -> Clock:
    clock: Clock = session.sync_session.info.get("clock", system_clock)
    return clock


def session_service(session: AsyncSession, name: str) -> Any:
    """A collaborator registered on the Database, such as the audit signer."""
    services: dict[str, Any] = session.sync_session.info.get("services", {})
    if name not in services:
        raise LookupError(f"no {name!r} service is configured for this database")
    return services[name]
