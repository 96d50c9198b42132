"""Audit appends per second inside transactions (SQLite and PostgreSQL), next to plain one-row inserts."""

from __future__ import annotations

import os
import secrets
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Column, Integer, MetaData, Table, Text, func, insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from audit.actions import record
from audit.canonical import canonical_json
from audit.models import AuditAction, AuditEntry
from audit.notes import Signer
from audit.verify import verify_database
from bench.report import Figure, Section, Target, median
from core.db import Database, create_engine
from web import migration

POSTGRES_URL = os.environ.get(
    "KOKOUS_BENCH_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
ROWS_PER_ROUND = int(os.environ.get("KOKOUS_BENCH_APPEND_ROWS", "1000"))
ROUNDS = 3
BATCH = 100
WARM_UP = 50
SQLITE_TARGET = 5_000
LOCAL_HOSTS = ("127.0.0.1", "localhost")

SCRATCH_METADATA = MetaData()
# The baseline's table: a throwaway one in the benchmark's own database, like audit_entry minus the log.
SCRATCH = Table(
    "bench_scratch",
    SCRATCH_METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("payload", Text, nullable=False),
)

Operation = Callable[[AsyncSession, int], Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class Mode:
    label: str
    per_transaction: int


MODES = (Mode("1 per transaction", 1), Mode(f"{BATCH} per transaction", BATCH))


def login_data(n: int) -> dict[str, Any]:
    """What a real session.started entry holds."""
    return {
        "methods": ["pwd"],
        "address": f"10.0.{n % 256}.{n % 200}",
        "session": f"{n:032x}",
        "user_agent": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
    }


async def append_audit(session: AsyncSession, n: int) -> None:
    user = f"user:{n % 500 + 1}"
    await record(session, AuditAction.SESSION_STARTED, actor=user, subject=user, data=login_data(n))


async def insert_plain(session: AsyncSession, n: int) -> None:
    await session.execute(insert(SCRATCH).values(payload=canonical_json(login_data(n)).decode()))


async def rate(db: Database, operation: Operation, transactions: int, per_transaction: int) -> float:
    """Rows per second over `transactions` write transactions of `per_transaction` rows each."""
    n = 0
    start = time.perf_counter()
    for _ in range(transactions):
        async with db.write() as session:
            for _ in range(per_transaction):
                await operation(session, n)
                n += 1
    return n / (time.perf_counter() - start)


async def compare(db: Database, mode: Mode) -> tuple[float, float]:
    """Median audit and plain rates over alternating rounds, so drift on a shared machine hits both."""
    transactions = max(1, ROWS_PER_ROUND // mode.per_transaction)
    audit_rates: list[float] = []
    plain_rates: list[float] = []
    for round_no in range(ROUNDS):
        pair = [(append_audit, audit_rates), (insert_plain, plain_rates)]
        for operation, rates in pair if round_no % 2 == 0 else reversed(pair):
            rates.append(await rate(db, operation, transactions, mode.per_transaction))
    return median(audit_rates), median(plain_rates)


async def prepare(engine: AsyncEngine) -> Database:
    async with engine.begin() as conn:
        await conn.run_sync(SCRATCH_METADATA.create_all)
    db = Database(engine)
    await rate(db, append_audit, WARM_UP, 1)
    await rate(db, insert_plain, WARM_UP, 1)
    return db


async def entry_count(session: AsyncSession) -> int:
    return int((await session.execute(select(func.count()).select_from(AuditEntry))).scalar_one())


async def check_log(db: Database) -> str | None:
    """The appended entries must still replay; returns the fault, if any."""
    verifier = Signer("bench/audit", Ed25519PrivateKey.generate()).verifier
    async with db.read() as session:
        report = await verify_database(session, verifier)
        count = await entry_count(session)
    if not report.intact or report.entries != count:
        return f"the appended log does not verify: {report.summary()}"
    return None


async def measure(title: str, engine: AsyncEngine, target: float | None) -> Section:
    db = await prepare(engine)
    section = Section(title)
    for mode in MODES:
        audit_rate, plain_rate = await compare(db, mode)
        section.figures.append(
            Figure(
                f"audit appends/s, {mode.label}",
                audit_rate,
                "/s",
                plain_rate,
                f"plain inserts/s, {mode.label}",
            )
        )
        if target is not None:
            section.targets.append(
                Target(
                    f"at least {target:,.0f} appends/s with {mode.label} (was {audit_rate:,.0f}/s)",
                    audit_rate >= target,
                )
            )
    fault = await check_log(db)
    section.failures += [fault] if fault else []
    section.notes.append(
        f"median of {ROUNDS} alternating rounds of {ROWS_PER_ROUND:,} rows per mode; each "
        "transaction is Database.write(); baseline rows go to a scratch table in the same database"
    )
    return section


@asynccontextmanager
async def sqlite_engine() -> AsyncIterator[AsyncEngine]:
    with tempfile.TemporaryDirectory(prefix="kokous-bench-append-") as tmp:
        engine = create_engine(f"sqlite+aiosqlite:///{Path(tmp) / 'bench.sqlite3'}")
        try:
            await migration.upgrade(engine)
            yield engine
        finally:
            await engine.dispose()


@asynccontextmanager
async def postgres_engine(url: str) -> AsyncIterator[AsyncEngine]:
    """A fresh database kokous_bench_<random>, migrated, and dropped afterwards."""
    parsed = make_url(url)
    if parsed.host not in LOCAL_HOSTS:
        raise ValueError(f"the benchmark only targets 127.0.0.1, not {parsed.host}")
    name = f"kokous_bench_{secrets.token_hex(4)}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            engine = create_engine(parsed.set(database=name).render_as_string(hide_password=False))
            try:
                await migration.upgrade(engine)
                yield engine
            finally:
                await engine.dispose()
        finally:
            async with admin.connect() as conn:
                await conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    finally:
        await admin.dispose()


async def run_sqlite() -> Section:
    async with sqlite_engine() as engine:
        return await measure("Audit appends, SQLite (file in a temp dir, WAL)", engine, SQLITE_TARGET)


async def unreachable(url: str) -> str | None:
    """Why PostgreSQL cannot be used, or None when it answers."""
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except (OSError, SQLAlchemyError) as exc:
        return f"{type(exc).__name__}: {exc}".splitlines()[0]
    finally:
        await engine.dispose()
    return None


async def run_postgres() -> Section:
    title = "Audit appends, PostgreSQL (fresh database on 127.0.0.1)"
    reason = await unreachable(POSTGRES_URL)
    if reason:
        return Section(title, notes=[f"skipped: PostgreSQL is not reachable at {POSTGRES_URL} ({reason})"])
    async with postgres_engine(POSTGRES_URL) as engine:
        return await measure(title, engine, None)


async def run() -> list[Section]:
    return [await run_sqlite(), await run_postgres()]
