"""When a meeting call may be sent, and what it must contain: the pure rules, table by table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from meetings.models import BodyKind, CallDayCount, DecisionMode, MeetingMode, Publicity
from meetings.rules.call import (
    BodyFacts,
    ItemFacts,
    MeetingFacts,
    after_call_problems,
    call_problems,
    latest_call_date,
)

# A Friday meeting at 16.00 Finnish time (UTC+2 in December).
MEETING_AT = datetime(2026, 12, 4, 14, 0, tzinfo=UTC)


def body(
    kind: BodyKind = BodyKind.COMMITTEE,
    days: int = 4,
    counting: CallDayCount = CallDayCount.SENDING_DAY_EXCLUDED,
    electronic: bool = False,
    procedure: bool = False,
) -> BodyFacts:
    return BodyFacts(kind, days, counting, electronic, procedure)


def item(
    publicity: Publicity = Publicity.PUBLIC,
    basis: str = "",
    mode: DecisionMode = DecisionMode.MEETING,
    deadline: datetime | None = None,
) -> ItemFacts:
    return ItemFacts(12, "Talousarvio", publicity, basis, mode, deadline)


def meeting(
    *items: ItemFacts, mode: MeetingMode = MeetingMode.IN_PERSON, public: bool = False
) -> MeetingFacts:
    return MeetingFacts(MEETING_AT, mode, public, items or (item(),))


def rules(problems: list) -> list[str]:  # type: ignore[type-arg]
    return [p.rule for p in problems]


@pytest.mark.parametrize(
    ("sent", "counting", "days", "expected"),
    [
        # R-CALL-3: "at least 4 days before", sending day excluded: Friday's meeting, call by Monday.
        (
            datetime(2026, 11, 30, 21, 59, tzinfo=UTC),
            CallDayCount.SENDING_DAY_EXCLUDED,
            4,
            [],
        ),  # Mon 23.59 local
        (
            datetime(2026, 11, 30, 22, 0, tzinfo=UTC),
            CallDayCount.SENDING_DAY_EXCLUDED,
            4,
            ["R-CALL-5"],
        ),  # Tue 00.00
        # Counting four whole days in between moves the last day to Sunday.
        (datetime(2026, 11, 29, 12, 0, tzinfo=UTC), CallDayCount.BOTH_DAYS_EXCLUDED, 4, []),
        (datetime(2026, 11, 30, 12, 0, tzinfo=UTC), CallDayCount.BOTH_DAYS_EXCLUDED, 4, ["R-CALL-5"]),
        # R-CALL-5: another body's own period from its administrative rules.
        (datetime(2026, 12, 1, 12, 0, tzinfo=UTC), CallDayCount.SENDING_DAY_EXCLUDED, 3, []),
        (datetime(2026, 12, 2, 12, 0, tzinfo=UTC), CallDayCount.SENDING_DAY_EXCLUDED, 3, ["R-CALL-5"]),
    ],
)
def test_call_period(sent: datetime, counting: CallDayCount, days: int, expected: list[str]) -> None:
    assert rules(call_problems(body(days=days, counting=counting), meeting(), sent)) == expected


def test_council_call_period_is_at_least_four_days_whatever_the_setting() -> None:
    """R-CALL-3: the law's four days bind the council even if its setting says fewer."""
    sent = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)  # Tuesday: three days before
    assert rules(call_problems(body(BodyKind.COUNCIL, days=3), meeting(public=True), sent)) == ["R-CALL-3"]
    assert latest_call_date(MEETING_AT, 4, CallDayCount.SENDING_DAY_EXCLUDED).isoformat() == "2026-11-30"


SENT = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
DEADLINE = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("facts", "meeting_facts", "expected"),
    [
        # R-BASE-2 / R-MODE-3: electronic and hybrid meetings only where the administrative rules allow them.
        (body(), meeting(mode=MeetingMode.ELECTRONIC), ["R-BASE-2"]),
        (body(), meeting(mode=MeetingMode.HYBRID), ["R-BASE-2"]),
        (body(electronic=True), meeting(mode=MeetingMode.HYBRID), []),
        # R-CALL-3: the call lists the matters.
        (body(), MeetingFacts(MEETING_AT, MeetingMode.IN_PERSON, False, ()), ["R-CALL-3"]),
        # R-MIN-3: a confidential item states its legal basis.
        (body(), meeting(item(Publicity.CONFIDENTIAL)), ["R-MIN-3"]),
        (body(), meeting(item(Publicity.PARTLY_CONFIDENTIAL, " ")), ["R-MIN-3"]),
        (body(), meeting(item(Publicity.CONFIDENTIAL, "JulkL 24 § 1 mom 25 k")), []),
        # R-EDP-1: not in the council, not in a public meeting.
        (
            body(BodyKind.COUNCIL, procedure=True),
            meeting(item(mode=DecisionMode.DECISION_PROCEDURE, deadline=DEADLINE), public=True),
            ["R-EDP-1"],
        ),
        (
            body(procedure=True),
            meeting(item(mode=DecisionMode.DECISION_PROCEDURE, deadline=DEADLINE), public=True),
            ["R-EDP-1"],
        ),
        # R-EDP-2: only where the administrative rules allow it.
        (body(), meeting(item(mode=DecisionMode.DECISION_PROCEDURE, deadline=DEADLINE)), ["R-EDP-2"]),
        # R-CALL-6: the call states the deadline.
        (body(procedure=True), meeting(item(mode=DecisionMode.DECISION_PROCEDURE)), ["R-CALL-6"]),
        # R-EDP-3: the deadline falls between the call and the meeting.
        (
            body(procedure=True),
            meeting(item(mode=DecisionMode.DECISION_PROCEDURE, deadline=SENT - timedelta(hours=1))),
            ["R-EDP-3"],
        ),
        (
            body(procedure=True),
            meeting(item(mode=DecisionMode.DECISION_PROCEDURE, deadline=MEETING_AT + timedelta(1))),
            ["R-EDP-3"],
        ),
        (body(procedure=True), meeting(item(mode=DecisionMode.DECISION_PROCEDURE, deadline=DEADLINE)), []),
    ],
)
def test_call_content(facts: BodyFacts, meeting_facts: MeetingFacts, expected: list[str]) -> None:
    assert rules(call_problems(facts, meeting_facts, SENT)) == expected


def test_every_problem_is_reported_at_once_with_the_item() -> None:
    problems = call_problems(
        body(),
        meeting(item(Publicity.CONFIDENTIAL), mode=MeetingMode.ELECTRONIC),
        datetime(2026, 12, 3, tzinfo=UTC),
    )
    assert rules(problems) == ["R-CALL-5", "R-BASE-2", "R-MIN-3"]
    assert problems[2].section == 12
    assert "4.12.2026" in problems[0].message


@pytest.mark.parametrize("kind", [BodyKind.COUNCIL, BodyKind.COMMITTEE])
def test_after_the_call_only_its_timing_is_forgiven(kind: BodyKind) -> None:
    """R-CALL-3/5: a call sent in time stays in time; R-CALL-3: it still must list the matters."""
    late = SENT + timedelta(days=10)
    facts = body(kind)
    assert [p.code for p in call_problems(facts, meeting(public=True), late)] == ["call_late"]
    assert after_call_problems(facts, meeting(public=True), late) == []
    empty = MeetingFacts(MEETING_AT, MeetingMode.IN_PERSON, True, ())
    assert [p.code for p in after_call_problems(facts, empty, late)] == ["agenda_empty"]


def test_each_problem_has_its_own_code() -> None:
    problems = call_problems(
        body(),
        meeting(item(Publicity.CONFIDENTIAL), mode=MeetingMode.ELECTRONIC),
        datetime(2026, 12, 3, tzinfo=UTC),
    )
    assert [p.code for p in problems] == ["call_late", "mode_not_allowed", "confidentiality_basis_missing"]
