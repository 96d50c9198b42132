"""Row locks that make concurrent changes to one meeting run one after another (decision 0007)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from meetings.models import (
    Meeting,
)


async def lock_meeting(session: AsyncSession, meeting: Meeting, *rows: object) -> None:
    """Lock the meeting's row and read it afresh, so that changes to one meeting run one after another:
    two of them never write the same calendar SEQUENCE or agenda version, give two items one position, nor
    mail a meeting that another just cancelled.
    `rows` (the item or attachment at hand) are read afresh after it, so the change builds on what another
    change just committed. (PostgreSQL: FOR UPDATE. SQLite ignores it; BEGIN IMMEDIATE serialises writers.)"""
    await session.flush()  # what this session changed is stored before the row is read again
    query = (
        select(Meeting)
        .where(Meeting.id == meeting.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    await session.execute(query)
    for row in rows:  # the item or attachment being changed, read afresh (and locked) after the meeting
        await session.refresh(row, with_for_update=True)
