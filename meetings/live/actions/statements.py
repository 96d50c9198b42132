"""Persons heard on the item under way (R-MIN-2 "statements by persons heard"): an expert, an official or a
party to the matter, recorded by the chair or the secretary with the time and, if wanted, a short summary."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from audit.actions import record
from audit.models import AuditAction
from core.bounds import check_length
from core.db import session_clock
from core.errors import InvalidTransition, ValidationFailed
from core.text import translatable
from meetings.live.events import EventType, emit
from meetings.live.models import HandlingState, HeardStatement
from meetings.live.state import current_item, live_meeting
from meetings.models import AgendaItem, Meeting

NAME = translatable("Give the name of the person heard, in at most 200 characters.")
DECIDED = translatable("Persons are heard before the item is decided.")
SUMMARY = 2_000  # a short summary: the minutes are no transcript


async def do_record_statement(
    session: AsyncSession,
    *,
    meeting: Meeting,
    item: AgendaItem,
    name: str,
    title: str,
    summary: str,
    recorded_by: int,
    actor: str,
) -> HeardStatement:
    """Record that `name` (with their title or organisation) was heard on the item under way, now.
    Audit: statement.recorded. Not idempotent: hearing someone twice is recorded twice."""
    live = await live_meeting(session, meeting)
    _, handling = await current_item(session, live, item.id)
    if handling.state == HandlingState.DECIDED:
        raise InvalidTransition(DECIDED)
    if not 0 < len(name.strip()) <= 200:
        raise ValidationFailed(NAME, field="name")
    check_length(title.strip(), 200, field="title")
    check_length(summary.strip(), SUMMARY, field="summary")
    heard = HeardStatement(
        item_id=item.id,
        name=name.strip(),
        title=title.strip(),
        summary=summary.strip(),
        heard_at=session_clock(session)(),
        recorded_by=recorded_by,
    )
    session.add(heard)
    await session.flush()
    data = {"statement": heard.id, "name": heard.name, "title": heard.title, "summary": heard.summary}
    await emit(session, live, EventType.STATEMENT_RECORDED, data, actor=actor)
    await record(
        session,
        AuditAction.STATEMENT_RECORDED,
        actor=actor,
        subject=f"item:{item.id}",
        data={"statement": heard.id, "name": heard.name, "title": heard.title},
    )
    return heard
