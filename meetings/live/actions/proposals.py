"""Proposals on the item under discussion: counter, tabling, return, rejection and (in the council) ponsi
proposals by those who hold a seat, seconding, and the presenter amending or withdrawing the base proposal
(R-PROP-2/4/5/6)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from audit.actions import record
from audit.models import AuditAction
from core.bounds import LONG_TEXT, check_length
from core.db import session_clock
from core.errors import Forbidden, InvalidTransition, ValidationFailed
from core.text import translatable
from meetings import lifecycle
from meetings.access import parent_row
from meetings.lifecycle import Operation
from meetings.live.actions.items import settle
from meetings.live.events import EventType, emit
from meetings.live.models import HandlingState, LiveMeeting, Proposal, Recusal, Seconding
from meetings.live.state import NOT_HELD, current_item, live_meeting, seating_of
from meetings.models import AgendaItem, Body, BodyKind, Meeting
from meetings.rules.voting import ProposalKind

CLOSED = translatable("The discussion of this item is closed: no more proposals.")
NO_SEAT = translatable("Only those who hold a seat in the meeting make and second proposals.")
RECUSED = translatable("You are disqualified in this item: you take no part in handling it (R-DISQ-3).")
KIND = translatable("Choose the kind of proposal.")
PONSI = translatable("Only the council adopts a ponsi (R-PROP-5).")
EMPTY = translatable("Write the proposal.")
OWN = translatable("You made this proposal: someone else seconds it.")
GONE = translatable("This proposal has been withdrawn.")
NOT_PRESENTER = translatable("Only the presenter amends or withdraws the base proposal (R-PROP-6).")
NOT_MAKER = translatable("Only the one who made a proposal withdraws it.")
BASE_SECONDED = translatable("The base proposal needs no seconding (R-PROP-2).")
MADE = (
    ProposalKind.COUNTER,
    ProposalKind.TABLING,
    ProposalKind.RETURN,
    ProposalKind.REJECTION,
    ProposalKind.PONSI,
)


async def _in_discussion(session: AsyncSession, meeting: Meeting, item: AgendaItem) -> LiveMeeting:
    live = await live_meeting(session, meeting)
    lifecycle.require(meeting.status, Operation.PROCEED, NOT_HELD)
    _, handling = await current_item(session, live, item.id)
    if handling.state != HandlingState.DISCUSSION:
        raise InvalidTransition(CLOSED)
    return live


async def _seated(session: AsyncSession, live: LiveMeeting, item_id: int, user_id: int) -> None:
    """Proposals and seconding belong to those who sit in the body now, present and not disqualified."""
    seating = seating_of(live)
    holders = {seat.holder for seat in seating.seats}
    if user_id not in holders or user_id in seating.disconnected:
        raise Forbidden(NO_SEAT)
    if await session.get(Recusal, (item_id, user_id)) is not None:
        raise Forbidden(RECUSED)


async def do_make_proposal(
    session: AsyncSession,
    *,
    meeting: Meeting,
    item: AgendaItem,
    user_id: int,
    kind: str,
    text: str,
    actor: str,
) -> Proposal:
    """A seat holder proposes; every proposal but the base needs seconding to be voted on (R-PROP-2).
    Audit: proposal.made. Not idempotent."""
    live = await _in_discussion(session, meeting, item)
    await _seated(session, live, item.id, user_id)
    if kind not in {str(k) for k in MADE}:
        raise ValidationFailed(KIND, field="kind")
    body = await parent_row(session, Body, meeting.body_id)
    if kind == ProposalKind.PONSI and body.kind != BodyKind.COUNCIL:
        raise ValidationFailed(PONSI, field="kind")
    if not text.strip():
        raise ValidationFailed(EMPTY, field="text")
    check_length(text, LONG_TEXT, field="text")
    proposal = Proposal(
        item_id=item.id, kind=kind, text=text.strip(), made_by=user_id, made_at=session_clock(session)()
    )
    session.add(proposal)
    await session.flush()
    data = {"proposal": proposal.id, "kind": kind, "by": user_id, "text": proposal.text}
    await emit(session, live, EventType.PROPOSAL_MADE, data, actor=actor)
    await record(
        session,
        AuditAction.PROPOSAL_MADE,
        actor=actor,
        subject=f"proposal:{proposal.id}",
        data={"item": f"item:{item.id}", "kind": kind},
    )
    return proposal


async def do_second_proposal(
    session: AsyncSession, *, meeting: Meeting, proposal: Proposal, user_id: int, actor: str
) -> None:
    """Another seat holder seconds a proposal (R-PROP-2). Audit: proposal.seconded. Idempotent."""
    item = await parent_row(session, AgendaItem, proposal.item_id)
    live = await _in_discussion(session, meeting, item)
    await _seated(session, live, item.id, user_id)
    await session.refresh(proposal)
    if proposal.withdrawn_at is not None:
        raise InvalidTransition(GONE)
    if proposal.kind == ProposalKind.BASE:
        raise InvalidTransition(BASE_SECONDED)
    if proposal.made_by == user_id:
        raise InvalidTransition(OWN)
    if await session.get(Seconding, (proposal.id, user_id)) is not None:
        return
    session.add(Seconding(proposal_id=proposal.id, user_id=user_id, at=session_clock(session)()))
    data = {"proposal": proposal.id, "by": user_id}
    await emit(session, live, EventType.PROPOSAL_SECONDED, data, actor=actor)
    await record(
        session,
        AuditAction.PROPOSAL_SECONDED,
        actor=actor,
        subject=f"proposal:{proposal.id}",
        data={"by": f"user:{user_id}"},
    )


async def do_amend_proposal(
    session: AsyncSession, *, meeting: Meeting, proposal: Proposal, user_id: int, text: str, actor: str
) -> None:
    """The presenter amends the base proposal before the discussion ends (R-PROP-6).
    Audit: proposal.amended."""
    item = await parent_row(session, AgendaItem, proposal.item_id)
    live = await _in_discussion(session, meeting, item)
    if proposal.kind != ProposalKind.BASE or item.presenter_id != user_id:
        raise Forbidden(NOT_PRESENTER)
    if not text.strip():
        raise ValidationFailed(EMPTY, field="text")
    check_length(text, LONG_TEXT, field="text")
    proposal.text, proposal.amended_at = text.strip(), session_clock(session)()
    data = {"proposal": proposal.id, "text": proposal.text}
    await emit(session, live, EventType.PROPOSAL_AMENDED, data, actor=actor)
    await record(session, AuditAction.PROPOSAL_AMENDED, actor=actor, subject=f"proposal:{proposal.id}")


async def do_withdraw_proposal(
    session: AsyncSession, *, meeting: Meeting, proposal: Proposal, user_id: int, actor: str
) -> None:
    """Whoever made a proposal withdraws it before the discussion ends. The presenter withdrawing the base
    proposal withdraws the item from the meeting (R-PROP-6): its decision records that.
    Audit: proposal.withdrawn (and decision.made for a withdrawn item). Not idempotent."""
    item = await parent_row(session, AgendaItem, proposal.item_id)
    live = await _in_discussion(session, meeting, item)
    base = proposal.kind == ProposalKind.BASE
    if (base and item.presenter_id != user_id) or (not base and proposal.made_by != user_id):
        raise Forbidden(NOT_PRESENTER if base else NOT_MAKER)
    if proposal.withdrawn_at is not None:
        raise InvalidTransition(GONE)
    proposal.withdrawn_at = session_clock(session)()
    await emit(session, live, EventType.PROPOSAL_WITHDRAWN, {"proposal": proposal.id}, actor=actor)
    await record(session, AuditAction.PROPOSAL_WITHDRAWN, actor=actor, subject=f"proposal:{proposal.id}")
    if base:
        _, handling = await current_item(session, live, item.id)
        await settle(session, live, handling, proposal.id, "withdrawn", actor=actor)
