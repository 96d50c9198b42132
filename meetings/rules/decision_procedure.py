"""Pure rules of the electronic decision procedure (KL 100 §): who answers for a seat, when an item settles.

No I/O, no ORM, no clock: `now` is a parameter, and every answer names its rule in domain.md. Boundaries:

- The deadline is an instant. A stance counts only if stated strictly before it (`at < deadline`); from
  the deadline on (`now >= deadline`) the item has settled and no stance is taken (`stance_allowed`).
- A stance may be changed until the deadline and the latest one counts (R-EDP-5 [INTERP]); the caller
  keeps every change and may pass them all to `settle`, which reads them in time order.
- A demand moves the item to the meeting at once (R-EDP-3(4) [INTERP]): the moment the demand first
  answers a seat is the moment the item settles, and nothing said later brings it back.
- Every seat must be answered (R-EDP-4: a stance from all members, not a quorum). Who may answer for a
  member who is disqualified or prevented is the municipality's setting, `DeputyRule`, cautious by default.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType

from core.errors import InvalidTransition
from core.text import translatable
from meetings.models import DecisionMode, DisqualificationGround
from meetings.rules.call import BodyFacts, ItemFacts, MeetingFacts, Problem, item_problems


class Stance(StrEnum):
    ACCEPT = "accept"  # accept the presenter's proposal (R-EDP-5)
    DEMAND_MEETING = "demand_meeting"  # move the item to the meeting (R-EDP-3(4))
    DISQUALIFIED = "disqualified"  # declared with its ground (R-DISQ-3, R-DISQ-5)


class DeputyRule(StrEnum):
    """Who answers for a seat whose member is disqualified or prevented (R-EDP-4 [MEMORY], R-DEP-2).

    CAUTIOUS (the default): a disqualified member's seat is answered only by their personal deputy;
    without a deputy it stays unanswered, so the item goes to the meeting at the deadline. A deputy never
    answers for a member who is merely prevented: that member answers, or the item goes to the meeting.
    DEPUTY_FOR_PREVENTED: as CAUTIOUS, and the personal deputy also answers for a member who has given
    notice of being prevented, as a deputy sits in at a meeting (R-DEP-2).
    DECLARATION_ANSWERS: the member's declaration of disqualification itself answers their seat and no
    deputy is called ("all members" read as all members who may take part, R-DISQ-3); nobody answers for
    a prevented member.
    """

    CAUTIOUS = "cautious"
    DEPUTY_FOR_PREVENTED = "deputy_for_prevented"
    DECLARATION_ANSWERS = "declaration_answers"


class ProcedureState(StrEnum):
    OPEN = "open"  # waiting for stances until the deadline (R-EDP-3(2))
    MOVED_TO_MEETING = "moved_to_meeting"  # a demand, or a seat unanswered at the deadline (R-EDP-3(4))
    DECIDED = "decided"  # every seat answered, nobody demanded, the deadline passed (R-EDP-3(3), R-EDP-5)
    WITHDRAWN = "withdrawn"  # the item left the agenda or the meeting was cancelled before it settled


class ProcedureEvent(StrEnum):
    STANCE_STATED = "stance_stated"  # stated or changed (R-EDP-3(2), R-EDP-5)
    MEETING_DEMANDED = "meeting_demanded"  # R-EDP-3(4) [INTERP]: at once
    DEADLINE_PASSED_UNANSWERED = "deadline_passed_unanswered"  # R-EDP-3(4), R-EDP-4
    DEADLINE_PASSED_ANSWERED = "deadline_passed_answered"  # R-EDP-3(3)
    WITHDRAWN = "withdrawn"


_S, _E = ProcedureState, ProcedureEvent
TRANSITIONS: Mapping[tuple[ProcedureState, ProcedureEvent], ProcedureState] = MappingProxyType(
    {
        (_S.OPEN, _E.STANCE_STATED): _S.OPEN,
        (_S.OPEN, _E.MEETING_DEMANDED): _S.MOVED_TO_MEETING,
        (_S.OPEN, _E.DEADLINE_PASSED_UNANSWERED): _S.MOVED_TO_MEETING,
        (_S.OPEN, _E.DEADLINE_PASSED_ANSWERED): _S.DECIDED,
        (_S.OPEN, _E.WITHDRAWN): _S.WITHDRAWN,
    }
)

MOVED = translatable("The item has moved to the meeting: its electronic decision procedure is over.")
DECIDED = translatable("The item has already been decided in the electronic decision procedure.")
WITHDRAWN = translatable("The item has been withdrawn from the electronic decision procedure.")
DEADLINE_PASSED = translatable(
    "The deadline has passed: the electronic decision procedure takes no more stances."
)
_REFUSALS = {_S.MOVED_TO_MEETING: MOVED, _S.DECIDED: DECIDED, _S.WITHDRAWN: WITHDRAWN}


def transition(state: ProcedureState, event: ProcedureEvent) -> ProcedureState:
    """The state after `event`; a move the table does not list raises InvalidTransition."""
    try:
        return TRANSITIONS[state, event]
    except KeyError:
        raise InvalidTransition(_REFUSALS.get(state, DEADLINE_PASSED)) from None


def stance_allowed(now: datetime, deadline: datetime, state: ProcedureState) -> bool:
    """A stance is taken only while the item is open, strictly before its deadline (R-CALL-6, R-EDP-3(2))."""
    _require_aware(now, deadline)
    return state == ProcedureState.OPEN and now < deadline


def check_stance_allowed(now: datetime, deadline: datetime, state: ProcedureState) -> None:
    """`stance_allowed`, raising InvalidTransition with the reason a person can read."""
    transition(state, ProcedureEvent.STANCE_STATED)
    if not stance_allowed(now, deadline, state):
        raise InvalidTransition(DEADLINE_PASSED)


# The call's problems about the procedure itself (R-EDP-1, R-EDP-2, R-CALL-6, R-EDP-3), by their codes.
PROCEDURE_PROBLEMS = frozenset(
    {
        "procedure_in_council",
        "procedure_in_public_meeting",
        "procedure_not_allowed",
        "procedure_deadline_missing",
        "procedure_deadline_outside_call",
    }
)


def eligibility_problems(
    body: BodyFacts, meeting: MeetingFacts, item: ItemFacts, sent_at: datetime
) -> list[Problem]:
    """Why `item` cannot be handled in the procedure: the call's own checks (R-EDP-1, R-EDP-2, R-CALL-6)."""
    as_procedure = replace(item, decision_mode=DecisionMode.DECISION_PROCEDURE)
    return [p for p in item_problems(body, meeting, as_procedure, sent_at) if p.code in PROCEDURE_PROBLEMS]


def eligible_items(body: BodyFacts, meeting: MeetingFacts, sent_at: datetime) -> tuple[ItemFacts, ...]:
    """The items a call sent at `sent_at` opens the procedure for: marked for it and passing its checks."""
    return tuple(
        item
        for item in meeting.items
        if item.decision_mode == DecisionMode.DECISION_PROCEDURE
        and not eligibility_problems(body, meeting, item, sent_at)
    )


@dataclass(frozen=True, slots=True)
class Seat:
    """A member's seat in the body; `deputy` is their personal deputy (R-DEP-2), if they have one."""

    member: int
    deputy: int | None = None
    prevented: bool = False  # the member has given notice that they cannot take part


@dataclass(frozen=True, slots=True)
class StatedStance:
    """One stance as a person stated it; a change is a new one with a later `at`."""

    person: int
    stance: Stance
    at: datetime
    ground: DisqualificationGround | None = None

    def __post_init__(self) -> None:
        _require_aware(self.at)
        if (self.stance == Stance.DISQUALIFIED) != (self.ground is not None):
            raise ValueError("a ground goes with a disqualification and only with it (R-DISQ-5)")


@dataclass(frozen=True, slots=True)
class SeatAnswer:
    """How a seat stands: `answer` is the stance that answers it (the member's or the deputy's), or None."""

    member: int
    answer: StatedStance | None

    @property
    def by_deputy(self) -> bool:
        return self.answer is not None and self.answer.person != self.member


@dataclass(frozen=True, slots=True)
class Settlement:
    """Where an item stands at `now`, with its reason and, once settled, the moment it settled.

    `rule` names the rule that decided the state; `missing` lists the members whose seats have no answer
    (whom to remind while open; who kept the item from being decided at the deadline); `demand` is the
    stance that moved the item. `seats` are the facts to freeze when the item settles.
    """

    state: ProcedureState
    rule: str
    event: ProcedureEvent | None
    settled_at: datetime | None
    demand: StatedStance | None
    missing: tuple[int, ...]
    seats: tuple[SeatAnswer, ...]


def current_stances(
    stances: Iterable[StatedStance], *, deadline: datetime, now: datetime
) -> dict[int, StatedStance]:
    """Each person's latest stance that counts: stated by `now` and strictly before the deadline (R-EDP-5)."""
    current: dict[int, StatedStance] = {}
    for stated in _counted(stances, deadline, now):
        current[stated.person] = stated
    return current


def deputy_may_answer(seat: Seat, member_stance: StatedStance | None, rule: DeputyRule) -> bool:
    """Whether the seat's personal deputy answers for it now (R-EDP-4 [MEMORY], R-DEP-2)."""
    if seat.deputy is None:
        return False
    if member_stance is not None and member_stance.stance == Stance.DISQUALIFIED:
        return rule != DeputyRule.DECLARATION_ANSWERS
    return member_stance is None and seat.prevented and rule == DeputyRule.DEPUTY_FOR_PREVENTED


def may_state(
    seats: Sequence[Seat], person: int, current: Mapping[int, StatedStance], rule: DeputyRule
) -> bool:
    """Whether `person` may state a stance now: a member always, a deputy when they answer for the seat."""
    return any(
        person == seat.member
        or (person == seat.deputy and deputy_may_answer(seat, current.get(seat.member), rule))
        for seat in seats
    )


def seat_answer(seat: Seat, current: Mapping[int, StatedStance], rule: DeputyRule) -> SeatAnswer:
    """Who answers for the seat, and how (R-EDP-4); a disqualified person never answers (R-DISQ-3)."""
    own = current.get(seat.member)
    if own is not None and own.stance != Stance.DISQUALIFIED:
        return SeatAnswer(seat.member, own)
    if seat.deputy is not None and deputy_may_answer(seat, own, rule):
        stood_in = current.get(seat.deputy)
        taking_part = stood_in is not None and stood_in.stance != Stance.DISQUALIFIED
        return SeatAnswer(seat.member, stood_in if taking_part else None)
    if own is not None and rule == DeputyRule.DECLARATION_ANSWERS:
        return SeatAnswer(seat.member, own)
    return SeatAnswer(seat.member, None)


def settle(
    seats: Sequence[Seat],
    stances: Iterable[StatedStance],
    *,
    deadline: datetime,
    now: datetime,
    rule: DeputyRule = DeputyRule.CAUTIOUS,
) -> Settlement:
    """The completion rule of KL 100 § 2 mom: OPEN, MOVED_TO_MEETING or DECIDED at `now`.

    `stances` may hold every change or only the current ones. A demand settles the item at the moment it first
    answers a seat; otherwise the item waits for the deadline even when every seat has accepted (R-EDP-3(3)).
    """
    _require_aware(deadline, now)
    _require_distinct(seats)
    current: dict[int, StatedStance] = {}
    for stated in _counted(stances, deadline, now):
        current[stated.person] = stated
        answers = _answers(seats, current, rule)
        demand = _first_demand(answers)
        if demand is not None:
            return _moved_by_demand(answers, demand, stated.at)
    return _without_demand(_answers(seats, current, rule), deadline, now)


def _moved_by_demand(answers: tuple[SeatAnswer, ...], demand: StatedStance, at: datetime) -> Settlement:
    return Settlement(
        ProcedureState.MOVED_TO_MEETING,
        "R-EDP-3(4)",
        ProcedureEvent.MEETING_DEMANDED,
        at,
        demand,
        _missing(answers),
        answers,
    )


def _without_demand(answers: tuple[SeatAnswer, ...], deadline: datetime, now: datetime) -> Settlement:
    missing = _missing(answers)
    if now < deadline:
        return Settlement(ProcedureState.OPEN, "R-EDP-3(2)", None, None, None, missing, answers)
    if missing:
        return Settlement(
            ProcedureState.MOVED_TO_MEETING,
            "R-EDP-4",
            ProcedureEvent.DEADLINE_PASSED_UNANSWERED,
            deadline,
            None,
            missing,
            answers,
        )
    return Settlement(
        ProcedureState.DECIDED,
        "R-EDP-3(3)",
        ProcedureEvent.DEADLINE_PASSED_ANSWERED,
        deadline,
        None,
        (),
        answers,
    )


def _counted(stances: Iterable[StatedStance], deadline: datetime, now: datetime) -> list[StatedStance]:
    # sorted() is stable: stances stated at the same instant keep the caller's order.
    return sorted((s for s in stances if s.at < deadline and s.at <= now), key=lambda s: s.at)


def _answers(
    seats: Sequence[Seat], current: Mapping[int, StatedStance], rule: DeputyRule
) -> tuple[SeatAnswer, ...]:
    return tuple(seat_answer(seat, current, rule) for seat in seats)


def _first_demand(answers: Iterable[SeatAnswer]) -> StatedStance | None:
    for seat in answers:
        if seat.answer is not None and seat.answer.stance == Stance.DEMAND_MEETING:
            return seat.answer
    return None


def _missing(answers: Iterable[SeatAnswer]) -> tuple[int, ...]:
    return tuple(seat.member for seat in answers if seat.answer is None)


def _require_aware(*moments: datetime) -> None:
    if any(moment.tzinfo is None or moment.utcoffset() is None for moment in moments):
        raise ValueError("the decision procedure's times must be timezone-aware")


def _require_distinct(seats: Sequence[Seat]) -> None:
    people = [seat.member for seat in seats] + [seat.deputy for seat in seats if seat.deputy is not None]
    if len(set(people)) != len(people):
        raise ValueError("a person holds or stands in for one seat only")
