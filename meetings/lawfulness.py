"""Whether a meeting's call is lawful: the facts the pure call rules need, read afresh, and the refusal."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from core.db import session_clock
from core.errors import ValidationFailed
from core.text import translatable
from meetings.access import parent_row
from meetings.models import (
    AgendaItem,
    Body,
    BodyKind,
    CallDayCount,
    DecisionMode,
    Meeting,
    MeetingMode,
    Publicity,
)
from meetings.queries import meeting_items, organisation
from meetings.rules.call import (
    BodyFacts,
    ItemFacts,
    MeetingFacts,
    Problem,
    after_call_problems,
    call_problems,
)


class CallRefused(ValidationFailed):
    """The call breaks one or more rules; `problems` names each with its rule id."""

    def __init__(self, problems: list[Problem], *, after_call: bool = False) -> None:
        listed = " ".join(f"{p.message} ({p.rule})" for p in problems)
        if after_call:
            super().__init__(
                translatable("The change would make the call that was sent unlawful: {problems}"),
                problems=listed,
            )
        else:
            super().__init__(translatable("The call cannot be sent: {problems}"), problems=listed)
        self.problems = problems


async def body_facts(session: AsyncSession, body: Body) -> BodyFacts:
    org = await organisation(session)
    default_days = org.default_call_period_days if org else 4
    counting = CallDayCount(org.call_day_count) if org else CallDayCount.SENDING_DAY_EXCLUDED
    return BodyFacts(
        BodyKind(body.kind),
        body.call_period_days or default_days,
        counting,
        body.electronic_meetings_allowed,
        body.decision_procedure_allowed,
    )


def meeting_facts(meeting: Meeting, items: list[AgendaItem]) -> MeetingFacts:
    return MeetingFacts(
        meeting.starts_at,
        MeetingMode(meeting.mode),
        meeting.is_public,
        tuple(
            ItemFacts(
                i.section,
                i.title,
                Publicity(i.publicity),
                i.confidentiality_basis,
                DecisionMode(i.decision_mode),
                i.deadline_at,
            )
            for i in items
        ),
    )


async def check_call(session: AsyncSession, meeting: Meeting) -> list[Problem]:
    body = await parent_row(session, Body, meeting.body_id)
    items = await meeting_items(session, meeting)
    return call_problems(
        await body_facts(session, body), meeting_facts(meeting, items), session_clock(session)()
    )


async def still_lawful(session: AsyncSession, meeting: Meeting) -> None:
    """A change after the call must keep the call lawful, e.g. a meeting with items in the electronic
    decision procedure cannot become public (R-EDP-1) nor electronic where the rules forbid it (R-BASE-2).
    The call period is not checked again: the call went out in time."""
    body = await parent_row(session, Body, meeting.body_id)
    facts = meeting_facts(meeting, await meeting_items(session, meeting))
    sent = meeting.call_sent_at or session_clock(session)()
    problems = after_call_problems(await body_facts(session, body), facts, sent)
    if problems:
        raise CallRefused(problems, after_call=True)
