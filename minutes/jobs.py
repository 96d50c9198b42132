"""The background job that takes personal data off published minutes when their period ends (R-PUB-4).

Time comes from the database's injected clock; each removal is its own audited transaction
(minutes.workflow.do_remove_personal_data), so one failure leaves the others done.
"""

from __future__ import annotations

import asyncio
import logging

from core.db import Database
from minutes.models import MinutesRecord
from minutes.workflow import SYSTEM, do_remove_personal_data, due_for_removal

log = logging.getLogger("kokous.minutes")
EVERY_SECONDS = 600


async def remove_due_personal_data(db: Database) -> int:
    """Depersonalise every published copy whose period has ended; returns how many."""
    async with db.read() as session:
        due = [m.id for m in await due_for_removal(session, db.clock())]
    for minutes_id in due:
        async with db.write() as session:
            minutes = await session.get(MinutesRecord, minutes_id)
            if minutes is not None:
                await do_remove_personal_data(session, minutes=minutes, actor=SYSTEM)
    return len(due)


async def personal_data_loop(db: Database, interval: float = EVERY_SECONDS) -> None:
    while True:
        try:
            await remove_due_personal_data(db)
        except Exception:
            log.exception("minutes personal data removal failed")
        await asyncio.sleep(interval)
