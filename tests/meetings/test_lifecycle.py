"""The meeting's transition table: every move allowed, every other one refused with a reason."""

from __future__ import annotations

import itertools

import pytest

from core.errors import InvalidTransition
from meetings import lifecycle
from meetings.lifecycle import TRANSITIONS, MeetingEvent, Operation
from meetings.models import MeetingStatus as S

E = MeetingEvent
ALLOWED = [
    (S.DRAFT, E.SEND_CALL, S.CALLED),
    (S.DRAFT, E.CANCEL, S.CANCELLED),
    (S.CALLED, E.CANCEL, S.CANCELLED),
    (S.CALLED, E.OPEN, S.HELD),
    (S.HELD, E.SUSPEND, S.SUSPENDED),
    (S.SUSPENDED, E.RESUME, S.HELD),
    (S.HELD, E.CLOSE, S.CLOSED),
    (S.SUSPENDED, E.CLOSE, S.CLOSED),
]


@pytest.mark.parametrize(("status", "event", "to"), ALLOWED)
def test_allowed_moves(status: S, event: MeetingEvent, to: S) -> None:
    assert lifecycle.next_status(status, event) == to


REFUSED = [
    (status, event)
    for status, event in itertools.product(S, MeetingEvent)
    if (status, event) not in {(s, e) for s, e, _ in ALLOWED}
]


@pytest.mark.parametrize(("status", "event"), REFUSED)
def test_every_other_move_is_refused_with_a_reason(status: S, event: MeetingEvent) -> None:
    with pytest.raises(InvalidTransition) as refused:
        lifecycle.next_status(status, event)
    assert refused.value.message.endswith(".")


def test_the_table_is_exactly_the_documented_moves() -> None:
    assert {(s, e): to for s, e, to in ALLOWED} == TRANSITIONS


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (S.HELD, "An opened meeting cannot be cancelled; it can be suspended or closed."),
        (S.SUSPENDED, "An opened meeting cannot be cancelled; it can be suspended or closed."),
        (S.CLOSED, "The meeting has been closed."),
        (S.CANCELLED, "The meeting has already been cancelled."),
    ],
)
def test_an_opened_meeting_cannot_be_cancelled(status: S, message: str) -> None:
    with pytest.raises(InvalidTransition, match=message):
        lifecycle.next_status(status, E.CANCEL)


@pytest.mark.parametrize(
    ("operation", "permitted"),
    [
        # The § numbers are fixed at the call (R-CALL-3): the agenda is arranged only in a draft.
        (Operation.ARRANGE_AGENDA, {S.DRAFT}),
        # After the call, changes need a reason; once the meeting is opened the agenda is what was called.
        (Operation.EDIT, {S.DRAFT, S.CALLED}),
        # R-DISQ-5: a disqualification is declared for items still to be handled.
        (Operation.DECLARE, {S.DRAFT, S.CALLED, S.HELD, S.SUSPENDED}),
        # R-MIN-3: arrivals and departures are recorded while the meeting lasts, also when it is suspended.
        (Operation.ATTEND, {S.HELD, S.SUSPENDED}),
        # R-PROP-1, R-EMEET-8: a suspended meeting handles nothing until it is resumed.
        (Operation.PROCEED, {S.HELD}),
    ],
)
def test_what_each_state_permits(operation: Operation, permitted: set[S]) -> None:
    assert {s for s in S if lifecycle.permits(s, operation)} == permitted


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (S.CANCELLED, "A cancelled meeting cannot be changed."),
        (S.HELD, lifecycle.UNDER_WAY),
        (S.SUSPENDED, lifecycle.UNDER_WAY),
        (S.CLOSED, lifecycle.OVER),
    ],
)
def test_a_refused_operation_says_why(status: S, message: str) -> None:
    with pytest.raises(InvalidTransition) as refused:
        lifecycle.require(status, Operation.EDIT, "A cancelled meeting cannot be changed.")
    assert refused.value.message == message


def test_the_public_sees_an_agenda_from_the_call_on() -> None:
    assert {s for s in S if lifecycle.published(s)} == {S.CALLED, S.HELD, S.SUSPENDED, S.CLOSED}
