"""Pure rules for meeting calls: when a call is on time and what a valid call contains.

No I/O, no ORM, no clock: frozen facts in, problems out. Each problem names its rule in domain.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from core.clock import LOCAL
from meetings.models import BodyKind, CallDayCount, DecisionMode, MeetingMode, Publicity

COUNCIL_CALL_DAYS = 4  # KL 94 § 3 mom; a council cannot shorten it
LATE = "call_late"  # the one problem that a call already sent cannot come to have


@dataclass(frozen=True, slots=True)
class BodyFacts:
    kind: BodyKind
    call_period_days: int
    call_day_count: CallDayCount
    electronic_meetings_allowed: bool
    decision_procedure_allowed: bool


@dataclass(frozen=True, slots=True)
class ItemFacts:
    section: int
    title: str
    publicity: Publicity
    confidentiality_basis: str
    decision_mode: DecisionMode
    deadline_at: datetime | None


@dataclass(frozen=True, slots=True)
class MeetingFacts:
    starts_at: datetime
    mode: MeetingMode
    is_public: bool
    items: tuple[ItemFacts, ...]


@dataclass(frozen=True, slots=True)
class Problem:
    """A broken rule; `template` is the untranslated text and `params` fill its {placeholders}.

    `code` names the problem itself: several problems cite the same rule (R-CALL-3 is both a late call and an
    empty agenda), and code that treats one of them specially must not catch the others."""

    code: str
    rule: str
    template: str
    section: int | None = None
    params: dict[str, str] = field(default_factory=dict)

    @property
    def message(self) -> str:
        return self.template.format(**self.params) if self.params else self.template


def call_period(body: BodyFacts) -> int:
    return (
        max(body.call_period_days, COUNCIL_CALL_DAYS)
        if body.kind == BodyKind.COUNCIL
        else body.call_period_days
    )


def latest_call_date(starts_at: datetime, days: int, counting: CallDayCount) -> date:
    """The last local calendar day on which the call may be sent (R-CALL-3, R-CALL-5)."""
    meeting_day = starts_at.astimezone(LOCAL).date()
    extra = 1 if counting == CallDayCount.BOTH_DAYS_EXCLUDED else 0
    return meeting_day - timedelta(days=days + extra)


def timing_problems(body: BodyFacts, meeting: MeetingFacts, sent_at: datetime) -> list[Problem]:
    days = call_period(body)
    latest = latest_call_date(meeting.starts_at, days, body.call_day_count)
    if sent_at.astimezone(LOCAL).date() <= latest:
        return []
    rule = "R-CALL-3" if body.kind == BodyKind.COUNCIL else "R-CALL-5"
    params = {
        "days": str(days),
        "meeting_day": f"{meeting.starts_at.astimezone(LOCAL):%d.%m.%Y}",
        "latest": f"{latest:%d.%m.%Y}",
    }
    return [
        Problem(
            LATE,
            rule,
            "The call is too late: this body's call period is {days} days, so for a meeting on {meeting_day} "
            "it had to be sent by {latest}.",
            params=params,
        )
    ]


def mode_problems(body: BodyFacts, meeting: MeetingFacts) -> list[Problem]:
    if meeting.mode != MeetingMode.IN_PERSON and not body.electronic_meetings_allowed:
        return [
            Problem(
                "mode_not_allowed",
                "R-BASE-2",
                "The administrative rules do not allow this body to meet electronically "
                "(a hybrid meeting is an electronic meeting).",
            )
        ]
    return []


def item_problems(
    body: BodyFacts, meeting: MeetingFacts, item: ItemFacts, sent_at: datetime
) -> list[Problem]:
    problems = []
    if item.publicity != Publicity.PUBLIC and not item.confidentiality_basis.strip():
        problems.append(
            Problem(
                "confidentiality_basis_missing",
                "R-MIN-3",
                "A confidential item needs the legal basis of its confidentiality.",
                item.section,
            )
        )
    if item.decision_mode == DecisionMode.DECISION_PROCEDURE:
        problems += _procedure_problems(body, meeting, item, sent_at)
    return problems


def _procedure_problems(
    body: BodyFacts, meeting: MeetingFacts, item: ItemFacts, sent_at: datetime
) -> list[Problem]:
    section = item.section
    if body.kind == BodyKind.COUNCIL:
        return [
            Problem(
                "procedure_in_council",
                "R-EDP-1",
                "The council cannot use the electronic decision procedure.",
                section,
            )
        ]
    if meeting.is_public:
        return [
            Problem(
                "procedure_in_public_meeting",
                "R-EDP-1",
                "The electronic decision procedure is closed: it cannot be used for an item "
                "of a public meeting.",
                section,
            )
        ]
    if not body.decision_procedure_allowed:
        return [
            Problem(
                "procedure_not_allowed",
                "R-EDP-2",
                "The administrative rules do not allow this body to use the electronic decision procedure.",
                section,
            )
        ]
    if item.deadline_at is None:
        return [
            Problem(
                "procedure_deadline_missing",
                "R-CALL-6",
                "An item in the electronic decision procedure needs a deadline.",
                section,
            )
        ]
    if not sent_at < item.deadline_at <= meeting.starts_at:
        return [
            Problem(
                "procedure_deadline_outside_call",
                "R-EDP-3",
                "The deadline of the electronic decision procedure must fall after the call "
                "is sent and no later than the meeting.",
                section,
            )
        ]
    return []


def call_problems(body: BodyFacts, meeting: MeetingFacts, sent_at: datetime) -> list[Problem]:
    """Everything that stops this call from being sent now, in the order a secretary fixes them."""
    problems = timing_problems(body, meeting, sent_at) + mode_problems(body, meeting)
    if not meeting.items:
        problems.append(
            Problem(
                "agenda_empty",
                "R-CALL-3",
                "The call must list the matters to be handled: the agenda is empty.",
            )
        )
    for item in meeting.items:
        problems += item_problems(body, meeting, item, sent_at)
    return problems


def after_call_problems(body: BodyFacts, meeting: MeetingFacts, sent_at: datetime) -> list[Problem]:
    """What a change after the call would make unlawful: everything but the call's timing, since the call
    went out in time (R-CALL-3/5)."""
    return [p for p in call_problems(body, meeting, sent_at) if p.code != LATE]
