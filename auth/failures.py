"""Failures worth auditing (refused requests, forged tokens, guesses), summarised when one source floods them.

Each is written in full up to FULL_PER_WINDOW times per source address and kind in each fixed window of
WINDOW_SECONDS; beyond that it is counted, and one `failures.summarised` entry per address and window says
how many of each kind were left out. The counters and tallies live in the Limiter (memory, or Redis shared by
every worker), so a flood costs the database a few entries per kind and minute however many workers serve it.
docs/security.md ("Audit of failures") says when summaries are written and what a crash can lose.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from audit.actions import record
from audit.models import AuditAction
from auth.ratelimit import Limiter
from auth.services import AuthServices
from core.clock import rfc3339
from core.db import Database

FULL_PER_WINDOW = 5
WINDOW_SECONDS = 60
# A tally that no flush took (every worker stopped at once) is kept this long, for the next one to write.
TALLY_SECONDS = 24 * 3600
TALLY = "failure-tally:"
SYSTEM = "system"


@dataclass(frozen=True, slots=True)
class Failure:
    """One failure: `action` is what a full entry records; `kind` (a short word such as "csrf") is what
    is counted per source address. `data` adds details to the full entry, beside `reason` and `address`."""

    action: AuditAction
    kind: str
    actor: str
    subject: str
    reason: str
    address: str
    data: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Tally:
    """What was left out from one address in the window starting at `start` (a Unix time)."""

    address: str
    start: int
    counts: dict[str, int]


def window_start(moment: datetime) -> int:
    now = int(moment.timestamp())
    return now - now % WINDOW_SECONDS


def _limiter(db: Database) -> Limiter:
    auth: AuthServices = db.services["auth"]
    return auth.limiter


def _tally_key(start: int, address: str) -> str:
    return f"{TALLY}{start}:{address}"


async def record_failure(db: Database, failure: Failure) -> bool:
    """The one way to audit a failure, in a transaction of its own (the request's rolls back when it fails).

    Writes `failure.action` in full while its (address, kind) has had at most FULL_PER_WINDOW in this window,
    else only counts it. The first failure of a kind in a new window also writes the summary of the window
    before, if that left something out. Returns True when the failure was written in full.
    """
    limiter = _limiter(db)
    start = window_start(db.clock())
    hit = await limiter.hit(f"failure:{failure.kind}:{failure.address}", window=WINDOW_SECONDS)
    due = (
        await _take(limiter, [_tally_key(start - WINDOW_SECONDS, failure.address)]) if hit.count == 1 else []
    )
    full = hit.count <= FULL_PER_WINDOW
    if not full:
        await limiter.add(_tally_key(start, failure.address), failure.kind, ttl=TALLY_SECONDS)
    if full or due:
        await _write(db, limiter, due, failure if full else None)
    return full


async def flush_failure_summaries(db: Database, *, everything: bool = False) -> int:
    """Write the summaries of the windows that have ended (of all of them, `everything`, at shutdown).

    Any worker may run it at any time: a tally is taken by one of them only. Returns the summaries written.
    """
    limiter = _limiter(db)
    current = window_start(db.clock())
    keys = [k for k in await limiter.tallies(TALLY) if everything or _start_of(k) < current]
    due = await _take(limiter, keys)
    if due:
        await _write(db, limiter, due, None)
    return len(due)


def _start_of(key: str) -> int:
    return int(key.removeprefix(TALLY).split(":", 1)[0])


async def _take(limiter: Limiter, keys: Iterable[str]) -> list[Tally]:
    found = []
    for key in keys:
        counts = await limiter.take(key)
        if counts:
            start, address = key.removeprefix(TALLY).split(":", 1)
            found.append(Tally(address, int(start), counts))
    return sorted(found, key=lambda t: (t.start, t.address))


async def _write(db: Database, limiter: Limiter, due: list[Tally], failure: Failure | None) -> None:
    """Summaries first (they are older), then the failure itself; a tally is put back if this fails."""
    try:
        async with db.write() as session:
            for tally in due:
                await do_summarise_failures(session, tally=tally)
            if failure is not None:
                data = {**failure.data, "reason": failure.reason, "address": failure.address}
                await record(session, failure.action, actor=failure.actor, subject=failure.subject, data=data)
    except Exception:
        for tally in due:
            for kind, count in tally.counts.items():
                await limiter.add(
                    _tally_key(tally.start, tally.address), kind, amount=count, ttl=TALLY_SECONDS
                )
        raise


async def do_summarise_failures(session: AsyncSession, *, tally: Tally) -> None:
    """Record how many failures of each kind one address had beyond those written in full in one window.

    Audit: failures.summarised (actor `system`, subject `address:<address>`). Not idempotent: the caller
    took the tally from the Limiter, so it is written once.
    """
    start = datetime.fromtimestamp(tally.start, UTC)
    end = datetime.fromtimestamp(tally.start + WINDOW_SECONDS, UTC)
    await record(
        session,
        AuditAction.FAILURES_SUMMARISED,
        actor=SYSTEM,
        subject=f"address:{tally.address}"[:200],
        data={
            "address": tally.address,
            "window_start": rfc3339(start),
            "window_end": rfc3339(end),
            "suppressed": dict(sorted(tally.counts.items())),
            "total": sum(tally.counts.values()),
        },
    )
