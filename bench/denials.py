"""Refused reads: a hidden meeting against a missing one (the baseline), in process on SQLite.

Both must do the same work (web.viewer.record_hidden records both), so the ratio should stay near 1.00: once
while every refusal is written in full (a new client address every few requests), once while one address
floods and all but the first few are only counted (auth.failures).
"""

from __future__ import annotations

import tempfile
import time
from datetime import timedelta
from pathlib import Path

import httpx
from litestar import Litestar

from auth.failures import FULL_PER_WINDOW
from bench.report import Figure, Section, median
from core.clock import system_clock
from core.config import TEST_PASSWORD_PROFILE, Settings
from core.db import Database, create_engine
from meetings.actions.bodies import BodySpec, do_create_body
from meetings.actions.meetings import MeetingSpec, do_create_meeting
from web import migration
from web.app import create_app

REQUESTS = 400
MISSING = 7_654_321


async def _hidden_meeting(db: Database) -> int:
    """A draft meeting, which the public may not know of."""
    async with db.write() as session:
        spec = BodySpec(slug="kh", name="Kunnanhallitus", kind="executive", seats=9)
        body = await do_create_body(session, spec=spec, actor="system:bench")
        when = system_clock() + timedelta(days=30)
        meeting = MeetingSpec(starts_at=when, place="Kunnantalo")
        return (await do_create_meeting(session, body=body, spec=meeting, actor="system:bench")).id


async def _timed(app: Litestar, path: str, address: str) -> float:
    # Litestar's ASGI types are narrower than httpx's for the same three callables.
    transport = httpx.ASGITransport(app=app, client=(address, 50000))  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        start = time.perf_counter()
        response = await client.get(path)
        elapsed = time.perf_counter() - start
    assert response.status_code == 404, response.text
    return elapsed * 1000


async def _compare(app: Litestar, hidden: int, *, flood: bool) -> tuple[float, float]:
    """Median milliseconds of the hidden and the missing meeting, asked alternately."""
    times: dict[str, list[float]] = {"hidden": [], "missing": []}
    for n in range(REQUESTS):
        address = "198.51.100.1" if flood else f"10.{n // 250}.{n % 250}.{n // FULL_PER_WINDOW % 250}"
        for name, meeting in (("hidden", hidden), ("missing", MISSING))[:: 1 if n % 2 else -1]:
            times[name].append(await _timed(app, f"/api/meetings/{meeting}", address))
    return median(times["hidden"]), median(times["missing"])


async def run() -> Section:
    with tempfile.TemporaryDirectory() as scratch:
        settings = Settings(
            data_dir=Path(scratch), base_url="http://bench", password_profile=TEST_PASSWORD_PROFILE
        )
        engine = create_engine(settings.resolved_database_url)
        await migration.upgrade(engine)
        app = create_app(settings, background_jobs=False)
        hidden = await _hidden_meeting(app.state.context.db)
        section = Section("Refusals: a hidden meeting against a missing one (GET /api/meetings/{id}, 404)")
        for flood, label in ((False, "each refusal written in full"), (True, "one address flooding")):
            seen, absent = await _compare(app, hidden, flood=flood)
            section.figures.append(Figure(f"hidden, {label}", seen, "ms", absent, "missing"))
        await app.state.context.db.dispose()
        await engine.dispose()
    section.notes.append("A ratio near 1.00 means the answer's timing does not tell that the meeting exists.")
    return section
