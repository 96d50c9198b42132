"""A meeting's lifecycle as data: its states, the moves between them, and what each state permits.

    draft ──send_call──> called ──open──> held ──close──> closed
      │                    │               │  ^
      └──────cancel────────┴──> cancelled  suspend/resume
                                           v  │
                                         suspended ──close──> closed

Once held, a meeting can no longer be cancelled: it is suspended, resumed and closed (the live meeting's
rules decide when). Code asks `next_status` for a move and `require` before an operation; neither compares
statuses by hand, so adding a state means changing these tables only.
"""

from __future__ import annotations

from enum import StrEnum

from core.errors import InvalidTransition
from core.text import translatable
from meetings.models import MeetingStatus


class MeetingEvent(StrEnum):
    SEND_CALL = "send_call"
    CANCEL = "cancel"
    OPEN = "open"
    SUSPEND = "suspend"
    RESUME = "resume"
    CLOSE = "close"


class Operation(StrEnum):
    """What people do to a meeting without moving it to another state."""

    ARRANGE_AGENDA = "arrange_agenda"  # add, remove and reorder items: the § numbers are not fixed yet
    EDIT = "edit"  # change the meeting's details, items and attachments (after the call with a reason)
    DECLARE = "declare"  # declare or withdraw a disqualification for an item
    ATTEND = "attend"  # record arrivals, departures and connections
    PROCEED = "proceed"  # handle items: the floor, proposals, votes, decisions


S, E = MeetingStatus, MeetingEvent
TRANSITIONS: dict[tuple[MeetingStatus, MeetingEvent], MeetingStatus] = {
    (S.DRAFT, E.SEND_CALL): S.CALLED,
    (S.DRAFT, E.CANCEL): S.CANCELLED,
    (S.CALLED, E.CANCEL): S.CANCELLED,
    (S.CALLED, E.OPEN): S.HELD,
    (S.HELD, E.SUSPEND): S.SUSPENDED,
    (S.SUSPENDED, E.RESUME): S.HELD,
    (S.HELD, E.CLOSE): S.CLOSED,
    (S.SUSPENDED, E.CLOSE): S.CLOSED,
}

# From the call on, a public meeting's agenda is published (R-CALL-7); a cancelled meeting shows only that.
PUBLISHED = frozenset({S.CALLED, S.HELD, S.SUSPENDED, S.CLOSED})

PERMITTED: dict[Operation, frozenset[MeetingStatus]] = {
    Operation.ARRANGE_AGENDA: frozenset({S.DRAFT}),
    Operation.EDIT: frozenset({S.DRAFT, S.CALLED}),
    Operation.DECLARE: frozenset({S.DRAFT, S.CALLED, S.HELD, S.SUSPENDED}),
    Operation.ATTEND: frozenset({S.HELD, S.SUSPENDED}),
    Operation.PROCEED: frozenset({S.HELD}),  # a suspended meeting decides nothing (R-PROP-1, R-EMEET-8)
}

# Why a move is refused, by the state it is tried in; the message is shown to the person who tried.
NOT_CALLED = translatable("The meeting's call has not been sent yet.")
NOT_OPENED = translatable("The meeting has not been opened yet.")
UNDER_WAY_MOVE = translatable("The meeting is being held: it can only be suspended or closed.")
SUSPENDED_MOVE = translatable("The meeting is suspended: it can only be resumed or closed.")
CLOSED = translatable("The meeting has been closed.")
CANCELLED = translatable("The meeting has been cancelled.")
ALREADY_CALLED = translatable("The call of this meeting has already been sent.")
ALREADY_OPEN = translatable("The meeting is already open.")
NO_CANCEL_WHEN_OPENED = translatable("An opened meeting cannot be cancelled; it can be suspended or closed.")
ALREADY_CANCELLED = translatable("The meeting has already been cancelled.")
REFUSALS: dict[MeetingStatus, str] = {
    S.DRAFT: NOT_CALLED,
    S.CALLED: NOT_OPENED,
    S.HELD: UNDER_WAY_MOVE,
    S.SUSPENDED: SUSPENDED_MOVE,
    S.CLOSED: CLOSED,
    S.CANCELLED: CANCELLED,
}
SPECIFIC_REFUSALS: dict[tuple[MeetingStatus, MeetingEvent], str] = {
    (S.CALLED, E.SEND_CALL): ALREADY_CALLED,
    (S.HELD, E.OPEN): ALREADY_OPEN,
    (S.HELD, E.CANCEL): NO_CANCEL_WHEN_OPENED,
    (S.SUSPENDED, E.CANCEL): NO_CANCEL_WHEN_OPENED,
    (S.CANCELLED, E.CANCEL): ALREADY_CANCELLED,
}


def next_status(status: str, event: MeetingEvent) -> MeetingStatus:
    """The state `event` leads to from `status`; InvalidTransition when the table has no such move."""
    current = MeetingStatus(status)
    found = TRANSITIONS.get((current, event))
    if found is None:
        raise InvalidTransition(SPECIFIC_REFUSALS.get((current, event), REFUSALS[current]))
    return found


def permits(status: str, operation: Operation) -> bool:
    return MeetingStatus(status) in PERMITTED[operation]


SUSPENDED_NOW = translatable("The meeting is suspended: the chair resumes it first.")
UNDER_WAY = translatable("The meeting is under way: this can no longer be changed.")
OVER = translatable("The meeting has been closed: this can no longer be changed.")


def published(status: str) -> bool:
    return MeetingStatus(status) in PUBLISHED


def require(status: str, operation: Operation, refusal: str) -> None:
    """Raise InvalidTransition unless the meeting's state permits `operation`. `refusal` explains it for a
    meeting not yet opened (a draft, a called or a cancelled one); a meeting under way or over says so."""
    if permits(status, operation):
        return
    current = MeetingStatus(status)
    if current == S.SUSPENDED and operation == Operation.PROCEED:
        raise InvalidTransition(SUSPENDED_NOW)
    if current in (S.HELD, S.SUSPENDED):
        raise InvalidTransition(UNDER_WAY)
    raise InvalidTransition(OVER if current == S.CLOSED else refusal)
