"""The decision procedure's record, checked before the meeting (KL 100 § 3 mom, R-CHECK-5).

When items of a meeting have been decided in the electronic decision procedure (R-EDP-3), the body's
secretary or chair opens a record of them before the meeting is held: the decided items drafted as the
minutes' sections (minutes.drafting.procedure_sections), frozen when it is opened, and two members of the
body who check it. They check it by the minutes' own rule (minutes.rules.checking): every checker approves,
or a rejection with a comment leaves those sections to be checked with the meeting's minutes (R-CHECK-2).
Once checked, the decisions count as made (R-CHECK-3) and the meeting's minutes carry the day and the §s
(`Checking.decision_procedure_checked_on`), so that the minutes' checkers do not check them again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from audit.actions import record
from audit.models import AuditAction
from auth.models import User
from core.bounds import EXPLANATION, check_length
from core.clock import LOCAL
from core.db import session_clock
from core.errors import Conflict, Forbidden, InvalidTransition, ValidationFailed
from core.text import translatable
from meetings.access import active_on
from meetings.decision_procedure.queries import procedure_decisions
from meetings.live.models import LiveMeeting
from meetings.locks import lock_meeting
from meetings.models import AgendaItem, Meeting, MeetingStatus, MemberRole, Membership
from meetings.rules.decision_procedure import ProcedureState
from minutes.drafting import planned_publication, procedure_sections
from minutes.models import (
    MinutesRecord,
    MinutesState,
    ProcedureCheck,
    ProcedureCheckReview,
    ProcedureCheckState,
)
from minutes.rules.checking import Review, review_step
from minutes.serialise import plain
from minutes.workflow import checked_on

NOTHING_DECIDED = translatable("No item of this meeting has been decided in the decision procedure yet.")
MEETING_OPENED = translatable(
    "The meeting has been opened: its decision-procedure items are checked with its minutes."
)
TWO_CHECKERS = translatable("Choose two different members of the body as checkers.")
ALREADY_REVIEWED = translatable(
    "A checker has already checked the record: its checkers can no longer change."
)
NOT_CHECKER = translatable("Only the checkers chosen for this record check it (R-CHECK-5).")
NOT_CHECKING = translatable("The record has already been checked or rejected.")
MINUTES_DRAFTED = translatable(
    "The meeting's minutes have been opened: these sections are checked with them now."
)
# Who checks: the body's members (the chair signs, the secretary keeps the minutes).
CHECKER_ROLES = frozenset({MemberRole.MEMBER, MemberRole.VICE_CHAIR})
# The minutes as they stand when the procedure's items are checked with them instead.
MINUTES_CHECKED = (MinutesState.CHECKED, MinutesState.SIGNING, MinutesState.SIGNED, MinutesState.PUBLISHED)


def _subject(check: ProcedureCheck) -> str:
    return f"procedure_check:{check.id}"


async def _lock(session: AsyncSession, check: ProcedureCheck) -> None:
    """Read the record afresh under a row lock, so that two checkers' reviews run one after the other and
    the second sees the first (else both would find the other's approval missing). SQLite's BEGIN
    IMMEDIATE already serialises writers; PostgreSQL needs FOR UPDATE."""
    await session.flush()
    await session.refresh(check, with_for_update=True)


async def check_of_meeting(session: AsyncSession, meeting_id: int) -> ProcedureCheck | None:
    query = select(ProcedureCheck).where(ProcedureCheck.meeting_id == meeting_id)
    return (await session.execute(query)).scalar_one_or_none()


async def minutes_opened(session: AsyncSession, meeting_id: int) -> bool:
    """Whether the meeting's minutes exist: from then on its sections are checked with them (R-CHECK-2/5)."""
    query = select(MinutesRecord.id).where(MinutesRecord.meeting_id == meeting_id)
    return (await session.execute(query)).first() is not None


async def eligible_checkers(session: AsyncSession, meeting: Meeting) -> list[tuple[int, str]]:
    """The body's members today, by name, but not its chair, who signs the minutes: whom the record's
    checkers are chosen from."""
    today = session_clock(session)().astimezone(LOCAL).date()
    chairs = select(Membership.user_id).where(
        Membership.body_id == meeting.body_id, Membership.role == MemberRole.CHAIR, active_on(today)
    )
    query = (
        select(User.id, User.display_name)
        .join(Membership, Membership.user_id == User.id)
        .where(
            Membership.body_id == meeting.body_id,
            Membership.role.in_(list(CHECKER_ROLES)),
            active_on(today),
            User.id.not_in(chairs),
        )
        .distinct()
        .order_by(User.display_name, User.id)
    )
    return [(int(i), str(n)) for i, n in (await session.execute(query)).tuples()]


async def _checked_checkers(session: AsyncSession, meeting: Meeting, checkers: list[int]) -> list[int]:
    chosen = list(dict.fromkeys(checkers))
    allowed = {i for i, _ in await eligible_checkers(session, meeting)}
    if len(chosen) != 2 or not set(chosen) <= allowed:
        raise ValidationFailed(TWO_CHECKERS, field="checkers")
    return chosen


async def do_open_procedure_check(
    session: AsyncSession, *, meeting: Meeting, checkers: list[int], user_id: int, actor: str
) -> ProcedureCheck:
    """The secretary or the chair (the caller checks CHOOSE_CHECKERS) opens the record of the meeting's
    items decided in the procedure, with its two checkers, while the meeting is called and not yet opened
    (R-CHECK-5).
    Audit: procedure_check.opened. Idempotent: a record already opened is returned as it is."""
    await lock_meeting(session, meeting)  # two openings at once: the second finds the first's record
    existing = await check_of_meeting(session, meeting.id)
    if existing is not None:
        return existing
    if meeting.status != MeetingStatus.CALLED:
        raise Conflict(MEETING_OPENED)
    chosen = await _checked_checkers(session, meeting, checkers)
    publish_at = planned_publication(meeting.starts_at.astimezone(LOCAL).date())
    items, people = await procedure_sections(session, meeting, publish_at=publish_at)
    if not items:
        raise Conflict(NOTHING_DECIDED)
    now = session_clock(session)()
    check = ProcedureCheck(
        meeting_id=meeting.id,
        state=ProcedureCheckState.CHECKING,
        opened_by=user_id,
        checkers=chosen,
        sections=[i.section for i in items],
        content={"items": plain(items), "people": plain(people)},
        created_at=now,
        updated_at=now,
    )
    session.add(check)
    await session.flush()
    await record(
        session,
        AuditAction.PROCEDURE_CHECK_OPENED,
        actor=actor,
        subject=_subject(check),
        data={
            "meeting": f"meeting:{meeting.id}",
            "sections": check.sections,
            "checkers": [f"user:{c}" for c in chosen],
        },
    )
    return check


async def reviews_of_check(session: AsyncSession, check: ProcedureCheck) -> list[ProcedureCheckReview]:
    query = (
        select(ProcedureCheckReview)
        .where(ProcedureCheckReview.check_id == check.id)
        .order_by(ProcedureCheckReview.id)
    )
    return list((await session.execute(query)).scalars())


async def do_choose_procedure_checkers(
    session: AsyncSession, *, check: ProcedureCheck, meeting: Meeting, checkers: list[int], actor: str
) -> None:
    """The secretary or the chair changes the record's two checkers before either has checked it.
    Audit: procedure_check.checkers_chosen. Idempotent."""
    await _lock(session, check)
    if ProcedureCheckState(check.state) != ProcedureCheckState.CHECKING:
        raise InvalidTransition(NOT_CHECKING)
    if await reviews_of_check(session, check):
        raise Conflict(ALREADY_REVIEWED)
    chosen = await _checked_checkers(session, meeting, checkers)
    if chosen == list(check.checkers):
        return
    check.checkers, check.updated_at = chosen, session_clock(session)()
    await record(
        session,
        AuditAction.PROCEDURE_CHECK_CHECKERS_CHOSEN,
        actor=actor,
        subject=_subject(check),
        data={"checkers": [f"user:{c}" for c in chosen]},
    )


NEXT_STATE = {
    Review.APPROVE: ProcedureCheckState.CHECKING,
    Review.APPROVE_LAST: ProcedureCheckState.CHECKED,
    Review.REJECT: ProcedureCheckState.REJECTED,
}


async def do_review_procedure_check(
    session: AsyncSession, *, check: ProcedureCheck, user_id: int, approve: bool, comment: str, actor: str
) -> ProcedureCheckReview:
    """A chosen checker approves or rejects the record (R-CHECK-5). When both have approved it is checked
    and its decisions count as made (R-CHECK-3); a rejection needs a comment and leaves its sections to be
    checked with the meeting's minutes (R-CHECK-2), as they are once the minutes are opened unchecked.
    Audit: procedure_check.approved or procedure_check.rejected. Not idempotent: each checker reviews once."""
    await _lock(session, check)
    if user_id not in [int(c) for c in check.checkers]:
        raise Forbidden(NOT_CHECKER)
    if ProcedureCheckState(check.state) != ProcedureCheckState.CHECKING:
        raise InvalidTransition(NOT_CHECKING)
    if await minutes_opened(session, check.meeting_id):
        raise Conflict(MINUTES_DRAFTED)
    check_length(comment, EXPLANATION, field="comment")
    earlier = [(r.checker_id, r.approved) for r in await reviews_of_check(session, check)]
    step = review_step(check.checkers, earlier, user_id=user_id, approve=approve, comment=comment)
    now = session_clock(session)()
    check.state, check.updated_at = NEXT_STATE[step], now
    if step == Review.APPROVE_LAST:
        check.checked_at = now
    row = ProcedureCheckReview(
        check_id=check.id, checker_id=user_id, approved=approve, comment=comment.strip(), at=now
    )
    session.add(row)
    await record(
        session,
        AuditAction.PROCEDURE_CHECK_APPROVED if approve else AuditAction.PROCEDURE_CHECK_REJECTED,
        actor=actor,
        subject=_subject(check),
        data={"checked": step == Review.APPROVE_LAST, "comment": bool(comment.strip())},
    )
    return row


@dataclass(frozen=True, slots=True)
class Made:
    """When an item decided in the procedure counts as made (R-CHECK-3): the day its record was checked."""

    on: date
    before_the_meeting: bool  # checked on its own (R-CHECK-5), not with the meeting's minutes


async def decision_made(session: AsyncSession, meeting_id: int, section: int) -> Made | None:
    """The day the decision of § `section` was checked, before the meeting or with its minutes; None while
    it is not checked and so does not yet count as made (R-CHECK-3)."""
    check = await check_of_meeting(session, meeting_id)
    if (
        check is not None
        and check.state == ProcedureCheckState.CHECKED
        and check.checked_at is not None
        and section in [int(s) for s in check.sections]
    ):
        return Made(check.checked_at.astimezone(LOCAL).date(), before_the_meeting=True)
    minutes = (
        await session.execute(select(MinutesRecord).where(MinutesRecord.meeting_id == meeting_id))
    ).scalar_one_or_none()
    if minutes is None or minutes.state not in MINUTES_CHECKED:
        return None
    day = await checked_on(session, minutes)
    return Made(day, before_the_meeting=False) if day else None


async def last_chosen_checkers(session: AsyncSession, body_id: int) -> list[int]:
    """The checkers the body chose at its latest meeting that chose any: what the form offers first."""
    query = (
        select(LiveMeeting.checkers)
        .join(Meeting, Meeting.id == LiveMeeting.meeting_id)
        .where(Meeting.body_id == body_id)
        .order_by(Meeting.starts_at.desc())
        .limit(5)
    )
    found = [list(c) for c in (await session.execute(query)).scalars() if c]
    return [int(c) for c in found[0]] if found else []


async def sections_to_check(session: AsyncSession, meeting_id: int) -> list[tuple[int, str]]:
    """The § and title of each item of the meeting decided in the procedure: what a record would hold."""
    decided = [d for d in await procedure_decisions(session, meeting_id) if d.state == ProcedureState.DECIDED]
    if not decided:
        return []
    query = select(AgendaItem.section, AgendaItem.title).where(
        AgendaItem.id.in_([d.item_id for d in decided])
    )
    return sorted((int(s), str(t)) for s, t in (await session.execute(query)).tuples())
