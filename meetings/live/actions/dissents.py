"""Dissenting opinions: registered right after the decision, while the item is still the one being handled,
by those the law gives the right (R-DISSENT-1); written reasons may follow until the minutes are checked."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy.ext.asyncio import AsyncSession

from audit.actions import record
from audit.models import AuditAction
from core.bounds import LONG_TEXT, check_length
from core.db import session_clock
from core.errors import Forbidden, InvalidTransition
from core.text import translatable
from meetings.live.events import EventType, emit
from meetings.live.models import Dissent, HandlingState
from meetings.live.state import current_item, live_meeting, progress, rule_proposals
from meetings.models import AgendaItem, Meeting
from meetings.rules import voting
from meetings.rules.dissent import dissent_rights

NOT_DECIDED = translatable("A dissent follows the decision: this item has not been decided yet.")
NO_RIGHT = translatable(
    "Only those who voted against the decision or made a proposal that was not adopted, and the presenter "
    "when the decision departs from the proposal, dissent (R-DISSENT-1)."
)


async def do_register_dissent(
    session: AsyncSession, *, meeting: Meeting, item: AgendaItem, user_id: int, reasons: str, actor: str
) -> Dissent:
    """Register a dissent on the decision just made (R-DISSENT-1), with or without written reasons; the
    reasons can be completed by registering again while the item is current. Audit: dissent.registered.
    Idempotent apart from the reasons."""
    live = await live_meeting(session, meeting)
    _, handling = await current_item(session, live, item.id)
    if handling.state != HandlingState.DECIDED or handling.decided_how == "withdrawn":
        raise InvalidTransition(NOT_DECIDED)
    check_length(reasons, LONG_TEXT, field="reasons")
    proposals = await rule_proposals(session, item.id)
    rights = dissent_rights(
        _with_presenter(proposals, item), await progress(session, handling, live.chaired_by)
    )
    if not rights.get(user_id):
        raise Forbidden(NO_RIGHT)
    dissent = await session.get(Dissent, (item.id, user_id))
    if dissent is None:
        dissent = Dissent(
            item_id=item.id, user_id=user_id, reasons=reasons.strip(), at=session_clock(session)()
        )
        session.add(dissent)
    else:
        dissent.reasons = reasons.strip()
    grounds = sorted(str(g) for g in rights[user_id])
    await emit(
        session, live, EventType.DISSENT_REGISTERED, {"person": user_id, "grounds": grounds}, actor=actor
    )
    await record(
        session,
        AuditAction.DISSENT_REGISTERED,
        actor=actor,
        subject=f"item:{item.id}",
        data={"person": f"user:{user_id}", "grounds": grounds, "reasons": bool(reasons.strip())},
    )
    return dissent


def _with_presenter(proposals: list[voting.Proposal], item: AgendaItem) -> list[voting.Proposal]:
    """The base proposal is the presenter's (R-DISSENT-1: the presenter may dissent from a departure)."""
    return [
        replace(p, made_by=item.presenter_id) if p.kind == voting.ProposalKind.BASE else p for p in proposals
    ]
