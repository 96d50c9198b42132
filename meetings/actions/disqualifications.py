"""Members' advance declarations of disqualification for an item (R-DISQ-5)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from audit.actions import record
from audit.models import AuditAction
from core.bounds import EXPLANATION, check_choice, check_length
from core.db import session_clock
from core.errors import NotFound, ValidationFailed
from core.text import translatable
from meetings import lifecycle
from meetings.access import parent_row
from meetings.lifecycle import Operation
from meetings.locks import lock_meeting
from meetings.models import (
    AgendaItem,
    Disqualification,
    DisqualificationGround,
    Meeting,
)


async def do_declare_disqualification(
    session: AsyncSession, *, item: AgendaItem, user_id: int, ground: str, explanation: str, actor: str
) -> Disqualification:
    """A member declares in advance that they are disqualified for an item (R-DISQ-5, R-DISQ-2 grounds).

    Audit: disqualification.declared. Declaring again replaces the earlier declaration. Refused for an
    item of a cancelled meeting (InvalidTransition): it will not be handled.
    """
    await _require_declarable(
        session,
        item,
        translatable("The meeting has been cancelled: a disqualification can no longer be declared."),
    )
    chosen = check_choice(DisqualificationGround, ground, "ground")
    check_length(explanation, EXPLANATION, field="explanation")
    if chosen == DisqualificationGround.OTHER and not explanation.strip():
        raise ValidationFailed("Explain the ground when it is 'other'.", field="explanation")
    now = session_clock(session)()
    for earlier in await _declarations(session, item.id, user_id):
        earlier.withdrawn_at = now
    declaration = Disqualification(
        item_id=item.id, user_id=user_id, ground=chosen, explanation=explanation.strip(), declared_at=now
    )
    session.add(declaration)
    await session.flush()
    await record(
        session,
        AuditAction.DISQUALIFICATION_DECLARED,
        actor=actor,
        subject=f"item:{item.id}",
        data={"user": f"user:{user_id}", "ground": str(chosen)},
    )
    return declaration


async def _require_declarable(session: AsyncSession, item: AgendaItem, refusal: str) -> None:
    """A cancelled meeting's items will not be handled: no disqualification is declared or withdrawn. The
    meeting is locked and read afresh, so a cancellation committed meanwhile is seen."""
    meeting = await parent_row(session, Meeting, item.meeting_id)
    await lock_meeting(session, meeting)
    lifecycle.require(meeting.status, Operation.DECLARE, refusal)


async def _declarations(session: AsyncSession, item_id: int, user_id: int) -> list[Disqualification]:
    query = select(Disqualification).where(
        Disqualification.item_id == item_id,
        Disqualification.user_id == user_id,
        Disqualification.withdrawn_at.is_(None),
    )
    return list((await session.execute(query)).scalars().all())


async def do_withdraw_disqualification(
    session: AsyncSession, *, item: AgendaItem, user_id: int, actor: str
) -> None:
    """Withdraw one's declaration. Audit: disqualification.withdrawn. Not found if there is none;
    refused for an item of a cancelled meeting (InvalidTransition), whose declarations stay as they were.
    """
    await _require_declarable(
        session,
        item,
        translatable("The meeting has been cancelled: a disqualification can no longer be withdrawn."),
    )
    declarations = await _declarations(session, item.id, user_id)
    if not declarations:
        raise NotFound("You have not declared a disqualification for this item.")
    for declaration in declarations:
        declaration.withdrawn_at = session_clock(session)()
    await record(
        session,
        AuditAction.DISQUALIFICATION_WITHDRAWN,
        actor=actor,
        subject=f"item:{item.id}",
        data={"user": f"user:{user_id}"},
    )
