"""Handling an item: taken up by the chair, disqualified people out of it, discussion closed, the voting order
approved, or the decision declared without a vote (R-DISQ-3/4/5, R-PROP-3/4, R-VOTE-1/4/5)."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from audit.actions import record
from audit.models import AuditAction
from core.bounds import EXPLANATION, check_choice, check_length
from core.db import session_clock
from core.errors import Conflict, InvalidTransition, ValidationFailed
from core.text import translatable
from meetings import lifecycle
from meetings.access import parent_row
from meetings.lifecycle import Operation
from meetings.live.events import EventType, emit
from meetings.live.models import FloorRequest, HandlingState, ItemHandling, LiveMeeting, Proposal, Recusal
from meetings.live.seating import roster_of
from meetings.live.state import (
    NOT_HELD,
    current_item,
    item_votes,
    live_meeting,
    move_seats,
    proposal_rows,
    quorum_facts,
    quorum_now,
    refuse_open_election,
    rule_proposals,
)
from meetings.models import AgendaItem, Body, Disqualification, DisqualificationGround, Meeting
from meetings.rules import voting
from meetings.rules.seats import Disqualification as Recused
from meetings.rules.seats import ItemChange

NOT_PENDING = translatable("This item has already been handled.")
UNFINISHED = translatable("Finish the item being handled first: it has no decision yet.")
NOT_IN_DISCUSSION = translatable("The discussion of this item is not open.")
NOT_VOTING = translatable("The discussion of this item has not been closed.")
VOTE_NEEDED = translatable("A seconded proposal stands against the base proposal: the body votes (R-PROP-3).")
NO_VOTE_NEEDED = translatable("Nothing seconded stands against the base proposal: declare the decision.")
ORDER_FIXED = translatable("The voting order has been approved and voting has begun.")


async def do_take_up_item(session: AsyncSession, *, meeting: Meeting, item: AgendaItem, actor: str) -> None:
    """The chair takes up an item (out of the agenda's order too, with the body's consent). Those who declared
    a disqualification are out of it from the start (R-DISQ-3/5), and seats change hands at the item's start:
    deputies in for the disqualified, members back from their deputies (R-DEP-3).

    Audit: item.taken_up. Not idempotent: an item handled is refused."""
    live = await live_meeting(session, meeting)
    lifecycle.require(meeting.status, Operation.PROCEED, NOT_HELD)
    handling = await _pending(session, item)
    await _require_finished(session, live)
    now = session_clock(session)()
    recused = await _declared(session, item, now)
    live.current_item_id, handling.state, handling.started_at = item.id, HandlingState.DISCUSSION, now
    out_of_order = await _out_of_order(session, meeting, item)
    base = next(p for p in await proposal_rows(session, item.id) if p.kind == voting.ProposalKind.BASE)
    data = {
        "section": item.section,
        "base": base.text,
        "recused": sorted(recused),
        "out_of_order": out_of_order,
    }
    await emit(session, live, EventType.ITEM_TAKEN_UP, data, actor=actor, item_id=item.id)
    body = await parent_row(session, Body, meeting.body_id)
    await move_seats(session, live, await roster_of(session, meeting, body), ItemChange(recused), actor=actor)
    await emit(session, live, EventType.QUORUM, quorum_facts(await quorum_now(session, live)), actor=actor)
    await record(
        session,
        AuditAction.ITEM_TAKEN_UP,
        actor=actor,
        subject=f"item:{item.id}",
        data={"meeting": f"meeting:{meeting.id}", "recused": len(recused), "out_of_order": out_of_order},
    )


async def _pending(session: AsyncSession, item: AgendaItem) -> ItemHandling:
    handling = await session.get(ItemHandling, item.id, populate_existing=True)
    if handling is None or handling.state != HandlingState.PENDING:
        raise InvalidTransition(NOT_PENDING)
    return handling


async def _require_finished(session: AsyncSession, live: LiveMeeting) -> None:
    if live.current_item_id is None:
        return
    handling = await session.get(ItemHandling, live.current_item_id)
    if handling is not None and handling.state != HandlingState.DECIDED:
        raise InvalidTransition(UNFINISHED)


async def _declared(session: AsyncSession, item: AgendaItem, now: object) -> frozenset[int]:
    """The advance declarations become recusals of the item (R-DISQ-5)."""
    query = select(Disqualification).where(
        Disqualification.item_id == item.id, Disqualification.withdrawn_at.is_(None)
    )
    people = set()
    for declared in (await session.execute(query)).scalars():
        session.add(
            Recusal(
                item_id=item.id,
                user_id=declared.user_id,
                ground=declared.ground,
                explanation=declared.explanation,
                decided_by_body=False,
                at=now,
            )
        )
        people.add(declared.user_id)
    return frozenset(people)


async def _out_of_order(session: AsyncSession, meeting: Meeting, item: AgendaItem) -> bool:
    """Whether an earlier item of the agenda is still waiting (the body's consent is then needed)."""
    query = (
        select(AgendaItem.id)
        .join(ItemHandling, ItemHandling.item_id == AgendaItem.id)
        .where(
            AgendaItem.meeting_id == meeting.id,
            AgendaItem.position < item.position,
            ItemHandling.state == HandlingState.PENDING,
        )
    )
    return (await session.execute(query)).first() is not None


async def do_record_recusal(
    session: AsyncSession,
    *,
    meeting: Meeting,
    item: AgendaItem,
    user_id: int,
    ground: str,
    decided_by_body: bool,
    explanation: str = "",
    actor: str,
) -> None:
    """Someone is out of the item being handled: they declare it now (R-DISQ-5), or the body finds them
    disqualified (R-DISQ-4), with the ground (R-DISQ-2). They no longer count, speak or vote in it, their
    floor requests lapse, and their deputy may take the seat (R-DISQ-3, R-DEP-2). Audit: recusal.recorded.
    Idempotent: a second recording changes nothing."""
    live = await live_meeting(session, meeting)
    lifecycle.require(meeting.status, Operation.PROCEED, NOT_HELD)
    await current_item(session, live, item.id)
    chosen = check_choice(DisqualificationGround, ground, "ground")
    check_length(explanation, EXPLANATION, field="explanation")
    if await session.get(Recusal, (item.id, user_id)) is not None:
        return
    now = session_clock(session)()
    session.add(
        Recusal(
            item_id=item.id,
            user_id=user_id,
            ground=chosen,
            decided_by_body=decided_by_body,
            explanation=explanation,
            at=now,
        )
    )
    await _lapse_requests(session, item.id, user_id, now)
    data = {"person": user_id, "ground": str(chosen), "decided_by_body": decided_by_body}
    await emit(session, live, EventType.RECUSED, data, actor=actor)
    body = await parent_row(session, Body, meeting.body_id)
    await move_seats(session, live, await roster_of(session, meeting, body), Recused(user_id), actor=actor)
    await emit(session, live, EventType.QUORUM, quorum_facts(await quorum_now(session, live)), actor=actor)
    await record(
        session,
        AuditAction.RECUSAL_RECORDED,
        actor=actor,
        subject=f"item:{item.id}",
        data={"person": f"user:{user_id}", "ground": str(chosen), "decided_by_body": decided_by_body},
    )


async def _lapse_requests(session: AsyncSession, item_id: int, user_id: int, now: object) -> None:
    await session.execute(
        update(FloorRequest)
        .where(
            FloorRequest.item_id == item_id,
            FloorRequest.user_id == user_id,
            FloorRequest.ended_at.is_(None),
            FloorRequest.withdrawn_at.is_(None),
        )
        .values(withdrawn_at=now)
    )


async def do_close_discussion(
    session: AsyncSession, *, meeting: Meeting, item: AgendaItem, actor: str
) -> None:
    """The chair closes the discussion and states which proposals lapsed for want of seconding and which go to
    the vote, with the default voting order (R-VOTE-1, R-VOTE-4/5). Waiting floor requests lapse.
    Audit: discussion.closed. Not idempotent."""
    live = await live_meeting(session, meeting)
    lifecycle.require(meeting.status, Operation.PROCEED, NOT_HELD)
    _, handling = await current_item(session, live, item.id)
    if handling.state != HandlingState.DISCUSSION:
        raise InvalidTransition(NOT_IN_DISCUSSION)
    now = session_clock(session)()
    proposals = await rule_proposals(session, item.id)
    handling.state, handling.discussion_closed_at = HandlingState.VOTING, now
    handling.order = list(voting.default_order(proposals))
    await session.execute(
        update(FloorRequest)
        .where(
            FloorRequest.item_id == item.id,
            FloorRequest.granted_at.is_(None),
            FloorRequest.withdrawn_at.is_(None),
        )
        .values(withdrawn_at=now)
    )
    data = {
        "lapsed": [p.id for p in voting.lapsed(proposals)],
        "standing": [p.id for p in voting.standing(proposals)],
        "vote_needed": voting.vote_needed(proposals),
        "order": handling.order,
    }
    await emit(session, live, EventType.DISCUSSION_CLOSED, data, actor=actor)
    await record(session, AuditAction.DISCUSSION_CLOSED, actor=actor, subject=f"item:{item.id}", data=data)


async def do_approve_order(
    session: AsyncSession, *, meeting: Meeting, item: AgendaItem, order: list[int], actor: str
) -> None:
    """The voting order as the chair put it and the body approved it (R-VOTE-1); checked against R-VOTE-4/5
    and R-PROP-4. Audit: voting_order.approved. Idempotent until the first vote is opened."""
    live = await live_meeting(session, meeting)
    lifecycle.require(meeting.status, Operation.PROCEED, NOT_HELD)
    _, handling = await current_item(session, live, item.id)
    if handling.state != HandlingState.VOTING:
        raise InvalidTransition(NOT_VOTING)
    proposals = await rule_proposals(session, item.id)
    if not voting.vote_needed(proposals):
        raise Conflict(NO_VOTE_NEEDED)
    if await item_votes(session, item.id):
        raise InvalidTransition(ORDER_FIXED)
    problems = voting.order_problems(proposals, order)
    if problems:
        raise ValidationFailed(problems[0].template, field="order", **problems[0].params)
    handling.order, handling.order_approved_at = list(order), session_clock(session)()
    await emit(session, live, EventType.ORDER_APPROVED, {"order": list(order)}, actor=actor)
    await record(
        session,
        AuditAction.VOTING_ORDER_APPROVED,
        actor=actor,
        subject=f"item:{item.id}",
        data={"order": order},
    )


async def do_decide_without_vote(
    session: AsyncSession, *, meeting: Meeting, item: AgendaItem, actor: str
) -> None:
    """With nothing seconded against the base proposal, the chair declares it the decision (R-PROP-3).
    Audit: decision.made (how: without_vote). Not idempotent."""
    live = await live_meeting(session, meeting)
    lifecycle.require(meeting.status, Operation.PROCEED, NOT_HELD)
    _, handling = await current_item(session, live, item.id)
    if handling.state != HandlingState.VOTING:
        raise InvalidTransition(NOT_VOTING)
    proposals = await rule_proposals(session, item.id)
    if voting.vote_needed(proposals):
        raise Conflict(VOTE_NEEDED)
    base = voting.base_of(proposals)
    await settle(session, live, handling, base.id, "without_vote", actor=actor)


async def settle(
    session: AsyncSession,
    live: LiveMeeting,
    handling: ItemHandling,
    proposal_id: int,
    how: str,
    *,
    actor: str,
    ponnet: tuple[int, ...] = (),
) -> None:
    """Record the item's decision: the text of the proposal that won, or the procedural outcome (R-PROP-4),
    with the council's ponnet adopted after it (R-VOTE-4)."""
    await refuse_open_election(session, handling.item_id)
    proposal = await parent_row(session, Proposal, proposal_id)
    handling.state, handling.decided_at = HandlingState.DECIDED, session_clock(session)()
    text = "" if how == "withdrawn" else proposal.text  # a withdrawn item has no decision, only the fact
    handling.decision, handling.decided_how, handling.decided_proposal_id = text, how, proposal.id
    data = {
        "how": how,
        "proposal": proposal.id,
        "kind": proposal.kind,
        "decision": text,
        "ponnet": list(ponnet),
    }
    await emit(session, live, EventType.DECISION_MADE, data, actor=actor)
    await record(
        session,
        AuditAction.DECISION_MADE,
        actor=actor,
        subject=f"item:{handling.item_id}",
        data={"how": how, "proposal": f"proposal:{proposal.id}", "kind": proposal.kind},
    )
