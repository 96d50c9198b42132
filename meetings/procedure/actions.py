"""The procedure's changes: opened by the call, stances, reminders and settlement; each one audited.

Every change to an open item first claims its row with a conditional UPDATE (`... WHERE state = 'open'`):
on PostgreSQL the row stays locked until the commit and a second process's UPDATE, re-checked after that
commit, matches nothing; on SQLite a writer holds the database's write lock (BEGIN IMMEDIATE). So a stance
and the deadline never cross, and an item settles exactly once however many processes run the scheduler.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import CursorResult, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from audit.actions import record
from audit.models import AuditAction
from auth.models import User
from core.bounds import EXPLANATION, check_choice, check_length
from core.clock import LOCAL, rfc3339
from core.db import session_clock, signal
from core.errors import Forbidden, InvalidTransition, ValidationFailed
from core.text import translatable
from meetings.access import active_on, parent_row
from meetings.delivery import queue_mail
from meetings.mail import Mail, Recipient
from meetings.models import (
    AgendaItem,
    Body,
    DecisionMode,
    DisqualificationGround,
    Meeting,
    MeetingStatus,
    MemberRole,
    Membership,
    Publicity,
)
from meetings.procedure import mail
from meetings.procedure.lifecycle import AUDIT, ProcedureEvent, ProcedureState, transition
from meetings.procedure.models import DEFAULT_REMINDER_HOURS, ProcedureItem, ProcedureSetting, ProcedureStance
from meetings.rules.decision_procedure import (
    DeputyRule,
    Seat,
    Settlement,
    Stance,
    StatedStance,
    check_stance_allowed,
    current_stances,
    deputy_may_answer,
    may_state,
    settle,
)

ACTOR = "system:procedure"
# The signal that wakes this process's scheduler after a commit that set a deadline (scheduler.py).
DEADLINE_SET = "procedure.deadline_set"
# A settlement later than this after its moment was not made on time: the service was not running.
LATE_AFTER = timedelta(seconds=30)
CANCELLED = translatable("The meeting has been cancelled: the electronic decision procedure is over.")
NOT_A_SEAT = translatable(
    "Only the body's members state a stance, and a personal deputy only when answering for their member."
)
GROUND_NEEDED = translatable("Choose the ground of the disqualification.")
GROUND_ONLY_WITH_DISQUALIFICATION = translatable("A ground is given only with a disqualification.")


# ---- reading what the rules need ------------------------------------------------------------------


async def procedure_setting(session: AsyncSession) -> tuple[DeputyRule, timedelta]:
    """The municipal setting (R-EDP-4) and the reminder's lead time; the cautious defaults without a row."""
    row = await session.get(ProcedureSetting, 1)
    if row is None:
        return DeputyRule.CAUTIOUS, timedelta(hours=DEFAULT_REMINDER_HOURS)
    return DeputyRule(row.deputy_rule), timedelta(hours=row.reminder_hours)


async def do_set_procedure_setting(
    session: AsyncSession, *, deputy_rule: str, reminder_hours: int, actor: str
) -> ProcedureSetting:
    """The administrator records the municipality's choice (R-EDP-4). Audit: organisation.updated.
    Items already open keep the rule they were opened with."""
    rule = check_choice(DeputyRule, deputy_rule, "deputy_rule")
    if not 0 <= reminder_hours <= 24 * 14:
        raise ValidationFailed(
            "Give the reminder's lead time in hours, from 0 to 336.", field="reminder_hours"
        )
    row = await session.get(ProcedureSetting, 1)
    now = session_clock(session)()
    if row is None:
        row = ProcedureSetting(id=1, deputy_rule=rule, reminder_hours=reminder_hours, updated_at=now)
        session.add(row)
    else:
        row.deputy_rule, row.reminder_hours, row.updated_at = rule, reminder_hours, now
    await record(
        session,
        AuditAction.ORGANISATION_UPDATED,
        actor=actor,
        subject="procedure_setting:1",
        data={"deputy_rule": str(rule), "reminder_hours": reminder_hours},
    )
    return row


async def seats_of(session: AsyncSession, meeting: Meeting) -> tuple[Seat, ...]:
    """The body's seats on the meeting day: each member with their personal deputy (R-EDP-4, R-DEP-2)."""
    on = meeting.starts_at.astimezone(LOCAL).date()
    query = (
        select(Membership)
        .where(
            Membership.body_id == meeting.body_id,
            Membership.role.in_([MemberRole.MEMBER, MemberRole.DEPUTY]),
            active_on(on),
        )
        .order_by(Membership.id)
    )
    rows = list((await session.execute(query)).scalars())
    personal = {
        d.deputy_for_id: d.user_id
        for d in rows
        if d.role == MemberRole.DEPUTY and d.deputy_for_id is not None
    }
    seats: dict[int, Seat] = {}
    for member in (m for m in rows if m.role == MemberRole.MEMBER):
        deputy = personal.get(member.id)
        seats.setdefault(member.user_id, Seat(member.user_id, deputy if deputy != member.user_id else None))
    used: set[int] = set()
    distinct = []
    for seat in seats.values():  # a person stands in for one seat only (the rules refuse anything else)
        deputy = seat.deputy if seat.deputy not in used and seat.deputy not in seats else None
        used.add(seat.member)
        if deputy is not None:
            used.add(deputy)
        distinct.append(Seat(seat.member, deputy))
    return tuple(distinct)


async def stance_rows(session: AsyncSession, procedure_id: int) -> list[ProcedureStance]:
    query = (
        select(ProcedureStance)
        .where(ProcedureStance.procedure_id == procedure_id)
        .order_by(ProcedureStance.stated_at, ProcedureStance.id)
    )
    return list((await session.execute(query)).scalars())


def stated(rows: Sequence[ProcedureStance]) -> list[StatedStance]:
    return [
        StatedStance(
            r.user_id,
            Stance(r.stance),
            r.stated_at,
            DisqualificationGround(r.ground) if r.ground else None,
        )
        for r in rows
    ]


async def where_it_stands(
    session: AsyncSession, procedure: ProcedureItem, *, now: datetime
) -> tuple[Settlement, tuple[Seat, ...], list[ProcedureStance]]:
    """The completion rule applied to the stored stances (R-EDP-3, R-EDP-4)."""
    meeting = await parent_row(session, Meeting, procedure.meeting_id)
    seats = await seats_of(session, meeting)
    rows = await stance_rows(session, procedure.id)
    found = settle(
        seats, stated(rows), deadline=procedure.deadline_at, now=now, rule=DeputyRule(procedure.deputy_rule)
    )
    return found, seats, rows


async def _claim(session: AsyncSession, procedure_id: int, *conditions: Any) -> bool:
    """Take the open row for this transaction (see the module's docstring); False if it is not open."""
    result: CursorResult[Any] = await session.execute(  # type: ignore[assignment]
        update(ProcedureItem)
        .where(ProcedureItem.id == procedure_id, ProcedureItem.state == ProcedureState.OPEN, *conditions)
        .values(version=ProcedureItem.version + 1)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


async def _fresh(session: AsyncSession, procedure_id: int) -> ProcedureItem:
    found = await session.get(ProcedureItem, procedure_id, populate_existing=True)
    if found is None:
        raise LookupError(f"procedure {procedure_id} vanished")
    return found


# ---- the mail -------------------------------------------------------------------------------------


async def _notice(session: AsyncSession, procedure: ProcedureItem, base_url: str) -> mail.ProcedureNotice:
    item = await parent_row(session, AgendaItem, procedure.item_id)
    meeting = await parent_row(session, Meeting, procedure.meeting_id)
    body = await parent_row(session, Body, meeting.body_id)
    return mail.ProcedureNotice(
        body_name=body.name,
        body_name_sv=body.name_sv,
        number=meeting.number,
        year=meeting.year,
        section=item.section,
        title=item.title if item.publicity == Publicity.PUBLIC else "",
        deadline_at=procedure.deadline_at,
        meeting_starts_at=meeting.starts_at,
        url=f"{base_url.rstrip('/')}/procedure/{procedure.id}",
    )


async def _recipients(session: AsyncSession, user_ids: Sequence[int]) -> list[Recipient]:
    if not user_ids:
        return []
    query = select(User).where(User.id.in_(user_ids), User.is_active.is_(True)).order_by(User.id)
    users = (await session.execute(query)).scalars()
    return [Recipient(u.display_name, u.email) for u in users if u.email]


async def _body_recipients(session: AsyncSession, meeting: Meeting) -> list[Recipient]:
    """Everyone with a role in the body on the meeting day: they are told where the item went."""
    on = meeting.starts_at.astimezone(LOCAL).date()
    query = select(Membership.user_id).where(Membership.body_id == meeting.body_id, active_on(on)).distinct()
    return await _recipients(session, sorted((await session.execute(query)).scalars()))


def _queue(session: AsyncSession, procedure: ProcedureItem, kind: str, mails: list[Mail]) -> int:
    return queue_mail(session, kind=kind, reference=f"procedure:{procedure.id}", mails=mails)


# ---- opening: the call ----------------------------------------------------------------------------


async def open_procedures(session: AsyncSession, meeting: Meeting, *, base_url: str, actor: str) -> int:
    """The call opens the procedure for each of its items marked for it (R-EDP-3(1), R-CALL-6).

    The call has already refused an item that breaks R-EDP-1/2 or R-CALL-6 (meetings/rules/call.py). Each
    member is mailed that the procedure started. Audit: procedure.opened per item. Returns how many opened.
    """
    now = session_clock(session)()
    rule, lead = await procedure_setting(session)
    items = (
        await session.execute(
            select(AgendaItem)
            .where(
                AgendaItem.meeting_id == meeting.id,
                AgendaItem.decision_mode == DecisionMode.DECISION_PROCEDURE,
                AgendaItem.deadline_at.is_not(None),
            )
            .order_by(AgendaItem.position)
        )
    ).scalars()
    opened = 0
    seats = await seats_of(session, meeting)
    for item in list(items):
        if item.deadline_at is None:  # the query excludes it; this narrows the type
            continue
        remind_at = item.deadline_at - lead if lead else None
        procedure = ProcedureItem(
            item_id=item.id,
            meeting_id=meeting.id,
            body_id=meeting.body_id,
            state=ProcedureState.OPEN,
            deadline_at=item.deadline_at,
            remind_at=remind_at if remind_at is not None and remind_at > now else None,
            deputy_rule=rule,
            opened_at=now,
            late=False,
            rule="",
            version=1,
        )
        session.add(procedure)
        await session.flush()
        notice = await _notice(session, procedure, base_url)
        sent = _queue(
            session,
            procedure,
            "procedure.opened",
            mail.opened_messages(notice, await _recipients(session, [s.member for s in seats])),
        )
        await record(
            session,
            AuditAction.PROCEDURE_OPENED,
            actor=actor,
            subject=f"item:{item.id}",
            data={
                "procedure": f"procedure:{procedure.id}",
                "deadline": rfc3339(item.deadline_at),
                "deputy_rule": str(rule),
                "seats": len(seats),
                "mailed": sent,
                "rule": "R-EDP-3(1)",
            },
        )
        opened += 1
    if opened:
        signal(session, DEADLINE_SET)
    return opened


# ---- stances --------------------------------------------------------------------------------------


async def do_state_stance(
    session: AsyncSession,
    *,
    procedure: ProcedureItem,
    user_id: int,
    stance: str,
    ground: str | None,
    explanation: str,
    base_url: str,
    actor: str,
) -> ProcedureStance:
    """A member (or a deputy answering for their seat) states or changes a stance (R-EDP-3(2), R-EDP-5).

    Taken only while the item is open and strictly before its deadline (InvalidTransition otherwise). Every
    change is a new row. A demand moves the item to the meeting at once (R-EDP-3(4)) and the body is told.
    Audit: procedure.stance_stated, and procedure.moved_to_meeting after a demand.
    """
    chosen = check_choice(Stance, stance, "stance")
    if chosen == Stance.DISQUALIFIED:
        if not ground:
            raise ValidationFailed(GROUND_NEEDED, field="ground")
        chosen_ground: DisqualificationGround | None = check_choice(DisqualificationGround, ground, "ground")
        check_length(explanation, EXPLANATION, field="explanation")
        if chosen_ground == DisqualificationGround.OTHER and not explanation.strip():
            raise ValidationFailed("Explain the ground when it is 'other'.", field="explanation")
    else:
        if ground:
            raise ValidationFailed(GROUND_ONLY_WITH_DISQUALIFICATION, field="ground")
        chosen_ground, explanation = None, ""
    now = session_clock(session)()
    if not await _claim(session, procedure.id, ProcedureItem.deadline_at > now):
        fresh = await _fresh(session, procedure.id)
        check_stance_allowed(now, fresh.deadline_at, ProcedureState(fresh.state))
        raise InvalidTransition(CANCELLED)  # not reached: the claim failed for one of those reasons
    procedure = await _fresh(session, procedure.id)
    meeting = await parent_row(session, Meeting, procedure.meeting_id)
    if meeting.status == MeetingStatus.CANCELLED:
        raise InvalidTransition(CANCELLED)
    transition(ProcedureState(procedure.state), ProcedureEvent.STANCE_STATED)
    seats = await seats_of(session, meeting)
    rows = await stance_rows(session, procedure.id)
    rule = DeputyRule(procedure.deputy_rule)
    current = current_stances(stated(rows), deadline=procedure.deadline_at, now=now)
    if not may_state(seats, user_id, current, rule):
        raise Forbidden(NOT_A_SEAT)
    previous = current.get(user_id)
    row = ProcedureStance(
        procedure_id=procedure.id,
        user_id=user_id,
        stance=chosen,
        ground=chosen_ground,
        explanation=explanation.strip(),
        stated_at=now,
    )
    session.add(row)
    await session.flush()
    await record(
        session,
        AuditAction.PROCEDURE_STANCE_STATED,
        actor=actor,
        subject=f"procedure:{procedure.id}",
        data={
            "user": f"user:{user_id}",
            "stance": str(chosen),
            "ground": str(chosen_ground) if chosen_ground else None,
            "previous": str(previous.stance) if previous else None,
            "stance_id": row.id,
            "rule": "R-EDP-5" if previous else "R-EDP-3(2)",
        },
    )
    found = settle(seats, [*stated(rows), *stated([row])], deadline=procedure.deadline_at, now=now, rule=rule)
    if found.state == ProcedureState.MOVED_TO_MEETING:
        await _finish(session, procedure, found, now=now, base_url=base_url, actor=actor, reason="demand")
    return row


# ---- settling: the scheduler's work ---------------------------------------------------------------


def _outcome(found: Settlement, names: dict[int, str]) -> dict[str, object]:
    """The seats and what answered them, frozen when the item settles (what the minutes cite, R-MIN-2)."""
    return {
        "seats": [
            {
                "member": seat.member,
                "member_name": names.get(seat.member, ""),
                "answered_by": seat.answer.person if seat.answer else None,
                "answered_by_name": names.get(seat.answer.person, "") if seat.answer else "",
                "stance": str(seat.answer.stance) if seat.answer else None,
                "ground": str(seat.answer.ground) if seat.answer and seat.answer.ground else None,
                "at": rfc3339(seat.answer.at) if seat.answer else None,
            }
            for seat in found.seats
        ],
        "missing": list(found.missing),
        "demand_by": found.demand.person if found.demand else None,
    }


class _Facts:
    """Rows read once per transaction: a pass settles many items of few meetings in one transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._seats: dict[int, tuple[Seat, ...]] = {}
        self._people: dict[int, list[Recipient]] = {}
        self._names: dict[int, str] = {}

    async def seats(self, meeting: Meeting) -> tuple[Seat, ...]:
        if meeting.id not in self._seats:
            self._seats[meeting.id] = await seats_of(self.session, meeting)
        return self._seats[meeting.id]

    async def people(self, meeting: Meeting) -> list[Recipient]:
        if meeting.id not in self._people:
            self._people[meeting.id] = await _body_recipients(self.session, meeting)
        return self._people[meeting.id]

    async def names(self, ids: set[int]) -> dict[int, str]:
        wanted = ids - set(self._names)
        if wanted:
            rows = await self.session.execute(select(User.id, User.display_name).where(User.id.in_(wanted)))
            self._names.update(dict(list(rows.tuples())))
        return {i: self._names.get(i, "") for i in ids}


async def _finish(
    session: AsyncSession,
    procedure: ProcedureItem,
    found: Settlement,
    *,
    now: datetime,
    base_url: str,
    actor: str,
    reason: str,
    facts: _Facts | None = None,
) -> ProcedureState:
    """Record the settlement on the claimed row, move the item if it goes to the meeting, tell the body."""
    if found.event is None or found.settled_at is None:
        raise ValueError("only a settled item is finished")
    facts = facts or _Facts(session)
    state = transition(ProcedureState(procedure.state), found.event)
    late = now - found.settled_at > LATE_AFTER
    procedure.state, procedure.settled_at, procedure.processed_at = state, found.settled_at, now
    procedure.late, procedure.rule = late, found.rule
    people_ids = {s.member for s in found.seats} | {s.answer.person for s in found.seats if s.answer}
    procedure.outcome = _outcome(found, await facts.names(people_ids))
    item = await parent_row(session, AgendaItem, procedure.item_id)
    meeting = await parent_row(session, Meeting, procedure.meeting_id)
    notice = await _notice(session, procedure, base_url)
    people = await facts.people(meeting)
    if state == ProcedureState.MOVED_TO_MEETING:
        # An ordinary item of the meeting's agenda from now on, its § kept (R-EDP-3(4)).
        item.decision_mode = DecisionMode.MEETING
        item.updated_at = now
        mails = mail.moved_messages(notice, people, demanded=found.event == ProcedureEvent.MEETING_DEMANDED)
        _queue(session, procedure, "procedure.moved", mails)
    else:
        _queue(session, procedure, "procedure.decided", mail.decided_messages(notice, people))
    why = reason
    if late:
        delay = int((now - found.settled_at).total_seconds())
        why = f"{reason}: settled {delay} s after its moment; the service was not running then"
    await record(
        session,
        AUDIT[state],
        actor=actor,
        subject=f"procedure:{procedure.id}",
        data={
            "item": f"item:{item.id}",
            "section": item.section,
            "rule": found.rule,
            "event": str(found.event),
            "settled_at": rfc3339(found.settled_at),
            "processed_at": rfc3339(now),
            "deadline": rfc3339(procedure.deadline_at),
            "late": late,
            "reason": why,
            "missing": [f"user:{m}" for m in found.missing],
            "stances": {f"user:{s.member}": str(s.answer.stance) if s.answer else None for s in found.seats},
        },
    )
    return state


async def _claim_due(
    session: AsyncSession, ids: Sequence[int] | None, now: datetime, *, limit: int
) -> list[int]:
    """Claim the open items among `ids` (None: any, earliest first) whose deadline has passed, for this
    transaction only.

    On PostgreSQL the rows are first locked with SELECT ... FOR UPDATE SKIP LOCKED: another process settling
    some of them skips those instead of waiting (and two batches never deadlock); SQLite has one writer and
    ignores the clause. The conditional UPDATE then takes only rows still open: a row another process settled
    and committed meanwhile is no longer 'open' and is left alone.
    """
    due = (ProcedureItem.state == ProcedureState.OPEN, ProcedureItem.deadline_at <= now)
    among = () if ids is None else (ProcedureItem.id.in_(ids),)
    locked = (
        select(ProcedureItem.id)
        .where(*among, *due)
        .order_by(ProcedureItem.deadline_at, ProcedureItem.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    free = list((await session.execute(locked)).scalars())
    if not free:
        return []
    claimed = await session.execute(
        update(ProcedureItem)
        .where(ProcedureItem.id.in_(free), *due)
        .values(version=ProcedureItem.version + 1)
        .returning(ProcedureItem.id)
        .execution_options(synchronize_session=False)
    )
    return sorted(claimed.scalars())


async def settle_due(
    session: AsyncSession,
    ids: Sequence[int] | None,
    *,
    base_url: str,
    actor: str = ACTOR,
    reason: str = "deadline",
    limit: int = 100,
) -> dict[int, ProcedureState]:
    """Settle the items among `ids` (None: the `limit` earliest due) whose deadline has passed and which
    nobody has settled (R-EDP-3(3)/(4)).

    The claim comes first and the stances are read after it, so a stance committed just before the claim
    counts and none can come after it. A cancelled meeting's item is withdrawn instead. Returns what this
    transaction settled; items another process settled are not in it.
    """
    now = session_clock(session)()
    claimed = await _claim_due(session, ids, now, limit=limit)
    if not claimed:
        return {}
    procedures = list(
        (
            await session.execute(
                select(ProcedureItem)
                .where(ProcedureItem.id.in_(claimed))
                .order_by(ProcedureItem.deadline_at, ProcedureItem.id)
                .execution_options(populate_existing=True)
            )
        ).scalars()
    )
    # Read together and held here: the session's identity map keeps only rows someone refers to.
    held: list[object] = []
    for query in (
        select(Meeting).where(Meeting.id.in_({p.meeting_id for p in procedures})),
        select(AgendaItem).where(AgendaItem.id.in_([p.item_id for p in procedures])),
        select(Body).where(Body.id.in_({p.body_id for p in procedures})),
    ):
        held += (await session.execute(query)).scalars().all()
    stance_query = (
        select(ProcedureStance)
        .where(ProcedureStance.procedure_id.in_(claimed))
        .order_by(ProcedureStance.stated_at, ProcedureStance.id)
    )
    stances: dict[int, list[ProcedureStance]] = {}
    for row in (await session.execute(stance_query)).scalars():
        stances.setdefault(row.procedure_id, []).append(row)
    facts = _Facts(session)
    settled: dict[int, ProcedureState] = {}
    for procedure in procedures:
        meeting = await parent_row(session, Meeting, procedure.meeting_id)
        if meeting.status == MeetingStatus.CANCELLED:
            settled[procedure.id] = await _withdraw(session, procedure, now=now, actor=actor)
            continue
        found = settle(
            await facts.seats(meeting),
            stated(stances.get(procedure.id, [])),
            deadline=procedure.deadline_at,
            now=now,
            rule=DeputyRule(procedure.deputy_rule),
        )
        settled[procedure.id] = await _finish(
            session, procedure, found, now=now, base_url=base_url, actor=actor, reason=reason, facts=facts
        )
    return settled


async def settle_one(
    session: AsyncSession, procedure_id: int, *, base_url: str, actor: str = ACTOR, reason: str = "deadline"
) -> ProcedureState | None:
    """`settle_due` for one item: its new state, or None if it was not due or another process settled it."""
    settled = await settle_due(session, [procedure_id], base_url=base_url, actor=actor, reason=reason)
    return settled.get(procedure_id)


async def _withdraw(
    session: AsyncSession, procedure: ProcedureItem, *, now: datetime, actor: str
) -> ProcedureState:
    state = transition(ProcedureState(procedure.state), ProcedureEvent.WITHDRAWN)
    procedure.state, procedure.processed_at, procedure.rule = state, now, ""
    await record(
        session,
        AuditAction.PROCEDURE_WITHDRAWN,
        actor=actor,
        subject=f"procedure:{procedure.id}",
        data={
            "item": f"item:{procedure.item_id}",
            "reason": "meeting cancelled",
            "processed_at": rfc3339(now),
        },
    )
    return state


async def withdraw_procedures(session: AsyncSession, meeting: Meeting, *, actor: str) -> int:
    """The meeting was cancelled: its open items leave the procedure at once (withdrawn, audited each).
    Returns how many were withdrawn."""
    now = session_clock(session)()
    query = select(ProcedureItem.id).where(
        ProcedureItem.meeting_id == meeting.id, ProcedureItem.state == ProcedureState.OPEN
    )
    withdrawn = 0
    for procedure_id in list((await session.execute(query)).scalars()):
        if await _claim(session, procedure_id):
            await _withdraw(session, await _fresh(session, procedure_id), now=now, actor=actor)
            withdrawn += 1
    return withdrawn


async def remind_one(
    session: AsyncSession, procedure_id: int, *, base_url: str, actor: str = ACTOR
) -> int | None:
    """Remind the seats still without a stance, once (R-EDP-3(2)); None if it was not due or was done.

    A disqualified member's seat is reminded through the deputy who may answer for it; nobody who has
    answered is reminded. Audit: procedure.reminded with how many were mailed.
    """
    now = session_clock(session)()
    due = (
        ProcedureItem.reminded_at.is_(None),
        ProcedureItem.remind_at <= now,
        ProcedureItem.deadline_at > now,
    )
    if not await _claim(session, procedure_id, *due):
        return None
    procedure = await _fresh(session, procedure_id)
    procedure.reminded_at = now
    found, seats, rows = await where_it_stands(session, procedure, now=now)
    current = current_stances(stated(rows), deadline=procedure.deadline_at, now=now)
    rule = DeputyRule(procedure.deputy_rule)
    whom: list[int] = []
    for seat in seats:
        if seat.member not in found.missing:
            continue
        own = current.get(seat.member)
        if own is None:
            whom.append(seat.member)
        if seat.deputy is not None and deputy_may_answer(seat, own, rule):
            whom.append(seat.deputy)
    notice = await _notice(session, procedure, base_url)
    sent = _queue(
        session,
        procedure,
        "procedure.reminder",
        mail.reminder_messages(notice, await _recipients(session, whom)),
    )
    await record(
        session,
        AuditAction.PROCEDURE_REMINDED,
        actor=actor,
        subject=f"procedure:{procedure.id}",
        data={"users": [f"user:{u}" for u in whom], "mailed": sent},
    )
    return sent
